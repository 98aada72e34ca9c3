"""`churn score FILE -o OUT`: a whole file scored in chunks, equal to the pipeline's own answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import subscriptions_frame, subscriptions_spec, train_run, write_project
from typer.testing import CliRunner

from churn.cli.app import app
from churn.contract import load_dataset
from churn.registry import Registry
from churn.spec.loader import load_spec

runner = CliRunner()
FOREST = [{"name": "forest", "type": "random_forest", "params": {"n_estimators": 15, "n_jobs": 1}}]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two runs of the subscriptions project; the champion is the first."""
    folder = tmp_path_factory.mktemp("score")
    spec = write_project(folder)
    home = folder / "home"
    first = train_run(spec, home).run_id
    other = tmp_path_factory.mktemp("score2")
    second = train_run(write_project(other, subscriptions_spec(models=FOREST)), home).run_id
    registry = Registry(home)
    if registry.champion().run_id != first:  # type: ignore[union-attr]
        with registry.lock():
            registry.rollback(reason="tests score with the first run", to=first)
    return {"spec": spec, "home": home, "first": first, "second": second}


def invoke(project: dict[str, Any], *args: str) -> tuple[int, str]:
    base = ["score", *args, "--home", str(project["home"]), "--spec", str(project["spec"])]
    result = runner.invoke(app, base)
    return result.exit_code, result.output


def _unlabelled(tmp_path: Path, rows: int = 250) -> Path:
    path = tmp_path / "customers.csv"
    subscriptions_frame(rows, seed=7).drop(columns=["churned"]).to_csv(path, index=False)
    return path


def _expected(project: dict[str, Any], source: Path, run_id: str) -> tuple[np.ndarray, float]:
    registry = Registry(project["home"])
    manifest = registry.record(run_id).as_dict()
    pipeline = registry.load_model(run_id, manifest["model"]["sha256"])
    spec = load_spec(project["spec"])
    frame = pd.read_csv(source).assign(churned=0)
    frame.loc[0, "churned"] = 1  # the training contract wants both classes
    valid = load_dataset(spec, _write(frame, source.with_name("labelled.csv")))
    return pipeline.predict_proba(valid[spec.feature_columns])[:, 1], manifest["threshold"]


def _write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_score_writes_each_id_with_the_pipelines_probability_and_decision(
    project, tmp_path: Path, suffix: str
) -> None:
    source = _unlabelled(tmp_path)
    out = tmp_path / f"scores{suffix}"
    code, output = invoke(project, str(source), "-o", str(out), "--chunk-rows", "60")
    assert code == 0, output
    assert "250 rows scored by " + project["first"] in output
    got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    proba, threshold = _expected(project, source, project["first"])
    assert list(got.columns) == ["account_id", "churn_probability", "will_churn"]
    assert got["account_id"].tolist() == pd.read_csv(source)["account_id"].tolist()
    assert np.array_equal(got["churn_probability"].to_numpy(), proba)
    assert got["will_churn"].tolist() == (proba >= threshold).tolist()


def test_score_reads_parquet_and_ignores_a_target_column(project, tmp_path: Path) -> None:
    source = tmp_path / "labelled.parquet"
    subscriptions_frame(90, seed=3).to_parquet(source)
    out = tmp_path / "scores.csv"
    code, output = invoke(project, str(source), "-o", str(out), "--run", project["second"])
    assert code == 0, output
    assert len(pd.read_csv(out)) == 90
    assert project["second"] in output


def test_a_named_run_scores_with_its_own_model(project, tmp_path: Path) -> None:
    source = _unlabelled(tmp_path)
    out = tmp_path / "scores.csv"
    code, output = invoke(project, str(source), "-o", str(out), "--run", project["second"])
    assert code == 0, output
    proba, threshold = _expected(project, source, project["second"])
    got = pd.read_csv(out)
    assert np.array_equal(got["churn_probability"].to_numpy(), proba)
    assert got["will_churn"].tolist() == (proba >= threshold).tolist()


def test_a_bad_row_in_a_later_chunk_names_its_file_line_and_writes_nothing(
    project, tmp_path: Path
) -> None:
    frame = subscriptions_frame(200, seed=7).drop(columns=["churned"])
    frame["plan"] = frame["plan"].astype(object)
    frame.loc[[130, 151], "plan"] = "platinum"
    source = _write(frame, tmp_path / "bad.csv")
    out = tmp_path / "scores.csv"
    code, output = invoke(project, str(source), "-o", str(out), "--chunk-rows", "50")
    assert code == 3
    assert "bad.csv: data contract violated" in output
    assert "line 132;" in output and "line 153;" in output  # line 1 is the header
    assert "'platinum'" in output
    assert not out.exists()


def test_unknown_formats_and_runs_are_clear_errors(project, tmp_path: Path) -> None:
    source = _unlabelled(tmp_path)
    code, output = invoke(project, str(source), "-o", str(tmp_path / "scores.xlsx"))
    assert code == 3 and "use .csv or .parquet" in output
    code, output = invoke(project, str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o.csv"))
    assert code == 3 and "missing.csv" in output
    code, output = invoke(project, str(source), "-o", str(tmp_path / "o.csv"), "--run", "nope")
    assert code == 1 and "nope" in output


def test_the_score_command_module_imports_no_heavy_library() -> None:
    heavy = "{'sklearn', 'pandas', 'pyarrow'}"
    code = f"import sys, churn.cli.score; print(sorted({heavy} & set(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_score_explain_adds_each_rows_top_reasons(project, tmp_path: Path, suffix: str) -> None:
    from churn.explain import PipelineExplainer

    source = _unlabelled(tmp_path)
    plain, explained = tmp_path / f"plain{suffix}", tmp_path / f"explained{suffix}"
    # the same chunks both times: a linear model's dot product may differ in the last bits
    # between a 70-row and a 250-row call (another BLAS kernel; seen here on 2026-12-07)
    chunks = ("--chunk-rows", "70")
    assert invoke(project, str(source), "-o", str(plain), *chunks)[0] == 0
    code, output = invoke(project, str(source), "-o", str(explained), "--explain", "3", *chunks)
    assert code == 0, output
    read = pd.read_csv if suffix == ".csv" else pd.read_parquet
    got, before = read(explained), read(plain)
    assert np.array_equal(got["churn_probability"], before["churn_probability"])
    assert list(got.columns[3:]) == [
        *(f"reason_{i}{part}" for i in (1, 2, 3) for part in ("", "_value", "_contribution")),
        "explanation_base",
    ]
    registry = Registry(project["home"])
    _, pipeline = registry.load_champion()  # type: ignore[misc]
    frame = pd.read_csv(source).drop(columns="account_id")
    explanation, values = PipelineExplainer(pipeline).explain_frame(frame)
    for row in (0, 100, 249):
        for i in (1, 2, 3):
            column = got.loc[row, f"reason_{i}"]
            j = explanation.columns.index(column)
            assert got.loc[row, f"reason_{i}_contribution"] == pytest.approx(
                explanation.contributions[row, j], abs=1e-12
            )
            assert str(got.loc[row, f"reason_{i}_value"]) == str(values[column][row])


def test_score_explain_out_of_range_names_the_option(project, tmp_path: Path) -> None:
    from churn.cli.bounds import MAX_EXPLAIN
    from churn.explain import MAX_REASONS

    assert MAX_EXPLAIN == MAX_REASONS
    out = tmp_path / "scores.csv"
    code, output = invoke(project, str(_unlabelled(tmp_path)), "-o", str(out), "--explain", "21")
    assert code == 2 and "--explain" in output
    assert not out.exists()
