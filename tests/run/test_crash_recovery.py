"""A run that dies after its promotion committed (the champion.json swap) is reconciled."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import edited_spec, train_run, write_project

from churn.errors import DataContractError, RegistryError, SpecError
from churn.registry import Registry, new_run_id


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    return write_project(tmp_path), tmp_path / "home"


def die_on_ledger_append(monkeypatch: pytest.MonkeyPatch, action: str) -> None:
    real = Registry.append_ledger

    def append(self: Registry, event: Any) -> Any:
        if event.get("action") == action:
            raise MemoryError("killed between champion.json and the ledger")
        return real(self, event)

    monkeypatch.setattr(Registry, "append_ledger", append)


def test_a_crash_between_the_pointer_swap_and_the_ledger_is_reconciled_on_the_spot(
    project: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, home = project
    first = train_run(spec, home).run_id
    with monkeypatch.context() as patch:
        die_on_ledger_append(patch, "promote")
        with pytest.raises(MemoryError):
            train_run(edited_spec(spec), home)
    registry = Registry(home)
    second = registry.champion_id()
    assert second is not None and second != first  # the swap had committed

    # What the flow's error handler does with a run that raised:
    registry.mark_incomplete(second, "MemoryError: killed between champion.json and the ledger")

    manifest = registry.record(second).as_dict()
    assert manifest["status"] == "succeeded"
    assert manifest["champion_after"] == second
    assert "died after its promotion committed" in manifest["error"]
    ledger = registry.ledger()
    assert [(e.action, e.run_id) for e in ledger] == [
        ("promote", first),
        ("promote", second),
    ]
    assert ledger[-1].recovered is True
    assert ledger[-1].previous == first


def test_a_process_killed_after_the_swap_is_reconciled_by_the_next_lock(
    project: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, home = project
    with monkeypatch.context() as patch:
        die_on_ledger_append(patch, "promote")
        with pytest.raises(MemoryError):
            train_run(spec, home)  # first run: nobody marks it (as after a SIGKILL)
    registry = Registry(home)
    champion = registry.champion_id()
    assert registry.record(str(champion)).as_dict()["status"] == "running"

    with registry.lock():
        pass

    assert registry.record(str(champion)).as_dict()["status"] == "succeeded"
    assert [(e.action, e.run_id) for e in registry.ledger()] == [("promote", champion)]


def test_a_run_that_died_before_the_swap_is_failed_and_changes_nothing(
    project: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, home = project
    train_run(spec, home)
    before = (home / "champion.json").read_bytes(), (home / "ledger.jsonl").read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(Registry, "set_champion", _raise)
        with pytest.raises(MemoryError):
            train_run(edited_spec(spec), home)
    registry = Registry(home)
    latest = registry.latest_record()
    assert latest is not None
    registry.mark_incomplete(latest.run_id, "MemoryError")
    assert registry.record(latest.run_id).status == "failed"
    assert ((home / "champion.json").read_bytes(), (home / "ledger.jsonl").read_bytes()) == before


def _raise(*args: Any, **kwargs: Any) -> Any:
    raise MemoryError("killed before the swap")


def test_runs_started_in_the_same_second_list_in_start_order(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    second = datetime(2026, 11, 26, 21, 0, 0, tzinfo=UTC)
    earlier, later = (new_run_id(second.replace(microsecond=m)) for m in (1, 2))
    # Random suffixes must not decide the order within a second.
    for run_id in (later, earlier):
        registry.start_run(run_id)
    assert [m.run_id for m in registry.records()] == [later, earlier]


def test_rollback_to_a_run_that_failed_and_never_served_is_refused(
    project: tuple[Path, Path],
) -> None:
    spec, home = project
    train_run(spec, home)
    failed = new_run_id(datetime.now(UTC))
    registry = Registry(home)
    registry.start_run(failed)
    registry.finish_run(failed, status="failed")
    with pytest.raises(RegistryError, match="failed and never served"):
        registry.rollback(reason="oops", to=failed)


@pytest.mark.parametrize(
    "error",
    [
        SpecError(["spec.yaml:3: x: bad"]),
        DataContractError("data.csv", ["plan: values not in allowed set"]),
    ],
    ids=["spec", "data"],
)
def test_errors_keep_their_type_fields_and_exit_code_across_processes(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.exit_code == error.exit_code  # type: ignore[attr-defined]
