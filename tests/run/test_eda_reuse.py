"""A run on data already drawn copies the earlier EDA plots, byte for byte, instead of drawing;
with worker processes on this machine, the EDA step runs in one of them."""

from __future__ import annotations

import json
import logging
import multiprocessing
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from factories import edited_spec, subscriptions_spec, train_run, write_project

import churn.report
from churn.contract import load_dataset
from churn.report import PlotSet, eda_reuse
from churn.run.head_start import HeadStart
from churn.run.pool import InlineExecutor, WorkerPool, works_here
from churn.run.report_steps import eda_plots
from churn.spec.loader import load_spec

pytestmark = pytest.mark.xdist_group("eda-reuse")
"""One worker runs the module, so the first run (:func:`drawn`) is trained once."""

EDA_PLOTS = {
    "eda_class_balance.png",
    "eda_numeric_distributions.png",
    "eda_categorical_churn_rate.png",
    "eda_correlation.png",
    "eda_missing_values.png",
}


def eda_files(home: Path, run_id: str) -> dict[str, bytes]:
    plots = home / "runs" / run_id / "plots"
    return {path.name: path.read_bytes() for path in plots.glob("eda_*.png")}


class LocalWorkers(ThreadPoolExecutor):
    """The worker pool's interface (``describe``: processes on this machine), in threads, so
    a test's monkeypatch reaches the calls; records what it was asked to run."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.ran: list[Any] = []

    def describe(self) -> dict[str, Any]:
        return {"executor": "processes", "workers": 2}

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.ran.append(fn)
        return super().submit(fn, *args, **kwargs)


def eda_record(home: Path, run_id: str) -> dict[str, object]:
    return json.loads((home / "runs" / run_id / "plots" / eda_reuse.RECORD).read_text())


def refuse_to_draw(*_: object) -> PlotSet:
    raise AssertionError("EDA was drawn again")


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[Any]]:
    """A project after one run with its report (EDA drawn) in :class:`LocalWorkers`: its
    folder, the run's id and what the pool was asked to run."""
    folder = tmp_path_factory.mktemp("eda-drawn")
    drawing = LocalWorkers()
    with drawing:
        spec = write_project(folder, rows=300)
        first = train_run(spec, folder / "home", pool=drawing, report=True).run_id
    return folder, first, drawing.ran


def first_run(drawn: tuple[Path, str, list[Any]], tmp_path: Path) -> tuple[Path, Path, str]:
    """A private copy of the :func:`drawn` project: its spec, home and first run."""
    folder = shutil.copytree(drawn[0], tmp_path / "project", symlinks=True)
    return folder / "spec.yaml", folder / "home", drawn[1]


def test_a_run_on_unchanged_data_copies_the_eda_plots_without_drawing(
    drawn: tuple[Path, str, list[Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec, home, first = first_run(drawn, tmp_path)
    copying = LocalWorkers()
    assert set(eda_files(home, first)) == EDA_PLOTS
    assert eda_record(home, first)["reused_from"] is None

    monkeypatch.setattr(churn.report, "draw_eda", refuse_to_draw)
    with caplog.at_level(logging.INFO, logger="churn.run"):
        second = train_run(edited_spec(spec), home, pool=copying, report=True).run_id

    assert eda_files(home, second) == eda_files(home, first)
    assert eda_record(home, second)["reused_from"] == first
    assert f"eda: reused 5 plots of run {first}" in caplog.text
    report = (home / "runs" / second / "report.html").read_text()
    assert f"Copied from run {first}" in report
    assert "EDA failed" not in report
    assert eda_plots in drawn[2] and eda_plots in copying.ran  # in a worker, both times


def test_only_worker_processes_on_this_machine_draw_the_eda() -> None:
    processes = WorkerPool(2, multiprocessing.get_context("forkserver"))  # none started yet
    try:
        assert works_here(processes)
        assert works_here(HeadStart(processes, {}, split=None))
    finally:
        processes.shutdown()
    assert not works_here(InlineExecutor())  # the calling thread draws: fits wait for nothing
    assert not works_here(ThreadPoolExecutor(1))  # a foreign executor, maybe remote


def test_other_eda_settings_draw_the_plots_again(
    drawn: tuple[Path, str, list[Any]], tmp_path: Path
) -> None:
    spec, home, first = first_run(drawn, tmp_path)
    raw = subscriptions_spec(output={"eda_max_rows": 1000})
    changed = spec.with_name("changed.yaml")
    changed.write_text(json.dumps(raw))
    second = train_run(changed, home, report=True).run_id
    assert eda_record(home, second)["reused_from"] is None
    assert eda_record(home, second)["key"] != eda_record(home, first)["key"]


def test_a_changed_or_linked_plot_is_not_reused(tmp_path: Path) -> None:
    spec = load_spec(write_project(tmp_path, rows=300))
    frame_plots = churn.report.draw_eda(spec, load_dataset(spec), tmp_path / "a")
    eda_reuse.write_record(frame_plots, tmp_path / "a", "k", reused_from=None)
    assert eda_reuse.reuse("k", [("a", tmp_path / "a")], tmp_path / "b") is not None
    assert eda_reuse.reuse("other", [("a", tmp_path / "a")], tmp_path / "c") is None

    tampered = tmp_path / "a" / "eda_correlation.png"
    tampered.write_bytes(tampered.read_bytes() + b"\0")
    assert eda_reuse.reuse("k", [("a", tmp_path / "a")], tmp_path / "d") is None
    linked = shutil.copytree(tmp_path / "b", tmp_path / "linked")
    assert eda_reuse.reuse("k", [("linked", linked)], tmp_path / "copy") is not None
    (linked / eda_reuse.RECORD).unlink()
    (linked / eda_reuse.RECORD).symlink_to(tmp_path / "b" / eda_reuse.RECORD)
    assert eda_reuse.reuse("k", [("linked", linked)], tmp_path / "e") is None
    assert not (tmp_path / "d").exists() and not (tmp_path / "e").exists()
