"""Registry: atomic writes, crash safety, hash-checked models, champion, ledger, rollback, lock."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import joblib
import pytest

from churn.errors import RegistryError
from churn.registry import Registry, RunNotFound, new_run_id, resolve_home, sha256_file

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 26, 19, 9, 12, tzinfo=UTC)


class Clock:
    """A clock that moves one minute per reading, so run order is deterministic."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


class Boom:
    """Unpickling this touches a marker file: proof that a file was (or wasn't) unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "home", clock=Clock())


def finished_run(
    reg: Registry, run_id: str, *, auc: float = 0.84, status: str = "succeeded"
) -> dict[str, Any]:
    """A run with a saved model, metrics and threshold, as a training run leaves it."""
    reg.start_run(run_id, spec_name="telco-churn")
    info = reg.save_model(run_id, {"model": run_id})
    reg.finish_run(run_id, status=status, metrics={"roc_auc": auc}, threshold=0.4)
    return info


def snapshot(reg: Registry) -> tuple[bytes | None, bytes | None]:
    """The exact bytes of champion.json and ledger.jsonl (None when absent)."""

    def read(path: Path) -> bytes | None:
        return path.read_bytes() if path.exists() else None

    return read(reg.champion_path), read(reg.ledger_path)


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def run_python(code: str, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


# --------------------------------------------------------------------------- ids and home


def test_run_id_is_utc_time_plus_six_hex_chars() -> None:
    local = datetime(2026, 11, 26, 20, 9, 12, tzinfo=timezone(timedelta(hours=1)))

    assert re.fullmatch(r"20261126T190912\.000000Z-[0-9a-f]{6}", new_run_id(local))


def test_run_ids_sort_by_time_and_are_unique() -> None:
    ids = [new_run_id(T0 + timedelta(seconds=s)) for s in (0, 1, 60, 3600)]
    same_second = {new_run_id(T0) for _ in range(200)}

    assert ids == sorted(ids)
    assert len(same_second) == 200


def test_run_id_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        new_run_id(datetime(2026, 11, 26))


def test_home_is_explicit_else_env_else_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHURN_HOME", raising=False)
    assert resolve_home(None) == tmp_path.resolve() / "artifacts"

    monkeypatch.setenv("CHURN_HOME", str(tmp_path / "env-home"))
    assert resolve_home(None) == tmp_path.resolve() / "env-home"
    assert resolve_home(tmp_path / "explicit") == tmp_path.resolve() / "explicit"


def test_reading_an_empty_registry_creates_nothing(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "nowhere")

    assert (reg.champion(), reg.records(), reg.latest_record(), reg.ledger()) == (
        None,
        [],
        None,
        [],
    )
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    "bad",
    ["../escape", "a/b", ".hidden", "", "x" * 200],
    ids=["dot-dot", "slash", "leading-dot", "empty", "too-long"],
)
def test_run_ids_that_could_escape_the_runs_folder_are_refused(reg: Registry, bad: str) -> None:
    with pytest.raises(RegistryError, match="invalid run id"):
        reg.record(bad).as_dict()


# --------------------------------------------------------------------------- manifests


def test_start_run_writes_a_running_manifest(reg: Registry) -> None:
    folder = reg.start_run("r1", spec_name="telco-churn")

    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["run_id"] == "r1"
    assert manifest["status"] == "running"
    assert manifest["ended_at"] is None
    assert manifest["spec_name"] == "telco-churn"
    assert datetime.fromisoformat(manifest["started_at"]).tzinfo is not None


def test_starting_an_existing_run_is_refused(reg: Registry) -> None:
    reg.start_run("r1")

    with pytest.raises(RegistryError, match="already exists"):
        reg.start_run("r1")


def test_update_manifest_merges_fields(reg: Registry) -> None:
    reg.start_run("r1")
    reg.update_manifest("r1", metrics={"roc_auc": 0.8})
    reg.update_manifest("r1", winner="logreg")

    manifest = reg.record("r1").as_dict()
    assert manifest["metrics"] == {"roc_auc": 0.8}
    assert manifest["winner"] == "logreg"
    assert manifest["status"] == "running"


def test_concurrent_manifest_updates_from_threads_lose_nothing(reg: Registry) -> None:
    reg.start_run("r1")

    fields = {
        "spec_name": "s",
        "spec_path": "p",
        "spec_sha256": "h",
        "seed": 7,
        "selection_metric": "roc_auc",
        "champion_before": "r0",
        "data_sha256": "d",
        "winner": "w",
        "threshold": 0.4,
        "error": "e",
    }
    updates = [{name: value} for name, value in fields.items()] * 4

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda update: reg.update_manifest("r1", **update), updates))

    manifest = reg.record("r1").as_dict()
    assert {name: manifest[name] for name in fields} == fields


def test_manifest_of_an_unknown_run_raises_run_not_found(reg: Registry) -> None:
    with pytest.raises(RunNotFound, match="run nope not found"):
        reg.record("nope").as_dict()


def test_write_json_turns_nan_and_numpy_values_into_plain_json(reg: Registry) -> None:
    import numpy as np

    path = reg.write_json("x.json", {"nan": float("nan"), "i": np.int64(3), "a": np.arange(2)})

    assert json.loads(path.read_text()) == {"nan": None, "i": 3, "a": [0, 1]}


def test_runs_are_listed_newest_first_by_their_time_stamped_ids(reg: Registry) -> None:
    first, second, third = (new_run_id(T0 + timedelta(minutes=m)) for m in (0, 1, 2))
    for run_id in (second, third, first):  # created out of order
        reg.start_run(run_id)

    assert [m.run_id for m in reg.records()] == [third, second, first]
    assert [m.run_id for m in reg.records(limit=2)] == [third, second]
    assert reg.latest_record().run_id == third  # type: ignore[union-attr]


def test_the_latest_run_reads_one_manifest_however_long_the_history(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    for minute in range(30):
        reg.start_run(new_run_id(T0 + timedelta(minutes=minute)))
    reads: list[str] = []
    real = Registry.record
    monkeypatch.setattr(
        Registry, "record", lambda self, run_id: reads.append(run_id) or real(self, run_id)
    )
    reg.latest_record()
    assert len(reads) == 1


def test_runs_listing_skips_corrupt_and_missing_manifests(
    reg: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    reg.start_run("good")
    reg.start_run("corrupt")
    (reg.run_dir("corrupt") / "run.json").write_text('{"run_id": "corr')
    (reg.runs_dir / "no-manifest").mkdir()
    (reg.runs_dir / "stray-file.txt").write_text("x")
    (reg.runs_dir / "list").mkdir()
    (reg.runs_dir / "list" / "run.json").write_text("[1, 2]")

    assert [m.run_id for m in reg.records()] == ["good"]
    assert "corrupt" in caplog.text


def test_mark_incomplete_records_failure(reg: Registry) -> None:
    reg.start_run("r1")

    reg.mark_incomplete("r1", "ValueError: boom")

    manifest = reg.record("r1").as_dict()
    assert (manifest["status"], manifest["incomplete"]) == ("failed", True)
    assert manifest["error"] == "ValueError: boom"
    assert manifest["ended_at"] is not None


# --------------------------------------------------------------------------- atomic writes


def test_failed_replace_keeps_the_old_file_and_leaves_no_temp_files(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg.write_json("champion.json", {"run_id": "old"})
    before = reg.champion_path.read_bytes()

    def refuse(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        reg.write_json("champion.json", {"run_id": "new"})

    assert reg.champion_path.read_bytes() == before
    assert temp_files(reg.home) == []


def test_exception_while_writing_leaves_no_temp_files(reg: Registry) -> None:
    reg.start_run("r1")

    with pytest.raises(TypeError, match="cannot write object"):
        reg.write_json(reg.run_dir("r1") / "x.json", {"bad": object()})

    assert temp_files(reg.home) == []
    assert not (reg.run_dir("r1") / "x.json").exists()


# --------------------------------------------------------------------------- models


def test_save_model_records_path_hash_and_size_in_the_manifest(reg: Registry) -> None:
    reg.start_run("r1")

    info = reg.save_model("r1", {"weights": [1, 2, 3]})

    path = reg.home / info.path
    assert info.path == "runs/r1/model.joblib"
    assert info.sha256 == sha256_file(path)
    assert info.bytes == path.stat().st_size
    assert reg.record("r1").model == info
    assert reg.load_model("r1", info.sha256) == {"weights": [1, 2, 3]}


def test_a_tampered_model_is_refused_before_it_is_unpickled(reg: Registry, tmp_path: Path) -> None:
    info = finished_run(reg, "r1")
    marker = tmp_path / "unpickled"
    joblib.dump(Boom(marker), reg.home / info.path)

    with pytest.raises(RegistryError, match="does not match its recorded hash"):
        reg.load_model("r1", info.sha256)
    assert not marker.exists()


def test_loading_a_missing_model_file_is_a_registry_error(reg: Registry) -> None:
    info = finished_run(reg, "r1")
    (reg.home / info.path).unlink()

    with pytest.raises(RegistryError, match="model file missing"):
        reg.load_model("r1", info.sha256)


def test_saving_a_model_for_an_unknown_run_is_refused(reg: Registry) -> None:
    with pytest.raises(RunNotFound):
        reg.save_model("ghost", {"x": 1})


# --------------------------------------------------------------------------- champion and ledger


def test_first_promotion_writes_pointer_and_ledger_line(reg: Registry) -> None:
    info = finished_run(reg, "r1", auc=0.84)

    pointer = reg.promote("r1", reason="first run, no champion", forced=False)

    assert reg.champion() == pointer
    assert pointer.run_id == "r1"
    assert pointer.model_name == "model.joblib"
    assert pointer.model_path == "runs/r1/model.joblib"
    assert pointer.model_sha256 == info.sha256
    assert pointer.metrics == {"roc_auc": 0.84}
    assert pointer.threshold == 0.4
    assert pointer.previous is None
    assert pointer.action == "promote"
    assert datetime.fromisoformat(pointer.promoted_at).utcoffset() == timedelta(0)
    (line,) = reg.ledger()
    assert {k: line.as_dict()[k] for k in ("action", "run_id", "previous", "reason")} == {
        "action": "promote",
        "run_id": "r1",
        "previous": None,
        "reason": "first run, no champion",
    }
    loaded = reg.load_champion()
    assert loaded is not None and loaded[1] == {"model": "r1"}


def test_promotion_records_the_replaced_champion(reg: Registry) -> None:
    finished_run(reg, "r1")
    finished_run(reg, "r2")
    reg.promote("r1", reason="first", forced=False)

    pointer = reg.promote("r2", reason="better", forced=False)

    assert pointer.previous == "r1"
    assert reg.ledger()[-1].previous == "r1"


def test_forced_promotion_needs_a_reason(reg: Registry) -> None:
    finished_run(reg, "r1", status="failed")

    with pytest.raises(RegistryError, match="forced promotion needs a reason"):
        reg.promote("r1", reason="  ", forced=True)
    assert reg.champion() is None


def test_forced_promotion_of_a_gate_failed_run_is_recorded_as_forced(reg: Registry) -> None:
    finished_run(reg, "r1", status="failed")

    with pytest.raises(RegistryError, match="forced promotion and a reason"):
        reg.promote("r1", reason="gates", forced=False)
    pointer = reg.promote("r1", reason="incident 42: old model broken", forced=True)

    assert pointer.action == "force_promote"
    assert reg.ledger()[-1].action == "force_promote"
    assert reg.ledger()[-1].reason == "incident 42: old model broken"


def test_promoting_a_run_without_a_model_is_refused(reg: Registry) -> None:
    reg.start_run("r1")

    with pytest.raises(RegistryError, match="has no saved model"):
        reg.promote("r1", reason="x", forced=True)


def test_promoting_a_tampered_model_is_refused_and_changes_nothing(reg: Registry) -> None:
    finished_run(reg, "r1")
    info = finished_run(reg, "r2")
    reg.promote("r1", reason="first", forced=False)
    before = snapshot(reg)
    (reg.home / info.path).write_bytes(b"not the model")

    with pytest.raises(RegistryError, match="does not match its recorded hash"):
        reg.promote("r2", reason="x", forced=True)
    assert snapshot(reg) == before


def test_promoting_the_current_champion_is_refused(reg: Registry) -> None:
    finished_run(reg, "r1")
    reg.promote("r1", reason="first", forced=False)

    with pytest.raises(RegistryError, match="already the champion"):
        reg.promote("r1", reason="again", forced=True)


def test_a_corrupt_champion_pointer_is_an_error_not_no_champion(reg: Registry) -> None:
    reg.home.mkdir(parents=True)
    reg.champion_path.write_text("{not json")

    with pytest.raises(RegistryError, match="unreadable"):
        reg.champion()


def test_ledger_records_decisions_with_the_champion_at_the_time(reg: Registry) -> None:
    finished_run(reg, "r1")
    reg.promote("r1", reason="first", forced=False)

    line = reg.append_ledger({"action": "keep_champion", "run_id": "r2", "reason": "regressed"})

    assert line.previous == "r1"
    assert datetime.fromisoformat(line.timestamp).tzinfo is not None
    assert reg.ledger()[-1] == line


@pytest.mark.parametrize(
    "event",
    [{"action": "launch", "run_id": "r1"}, {"action": "reject"}],
    ids=["unknown-action", "no-run-id"],
)
def test_malformed_ledger_events_are_refused(reg: Registry, event: dict[str, Any]) -> None:
    with pytest.raises(RegistryError):
        reg.append_ledger(event)
    assert reg.ledger() == []


def test_a_torn_last_ledger_line_is_skipped_and_does_not_swallow_the_next(reg: Registry) -> None:
    reg.append_ledger({"action": "reject", "run_id": "r1", "reason": "a"})
    with reg.ledger_path.open("a") as handle:
        handle.write('{"action": "rej')  # a crash mid-write

    reg.append_ledger({"action": "hold", "run_id": "r2", "reason": "b"})

    assert [e.run_id for e in reg.ledger()] == ["r1", "r2"]


# --------------------------------------------------------------------------- rollback


@pytest.fixture
def three_champions(reg: Registry) -> Registry:
    for run_id in ("r1", "r2", "r3"):
        finished_run(reg, run_id)
        reg.promote(run_id, reason=f"promote {run_id}", forced=False)
    return reg


def test_rollback_steps_back_through_previous_champions(three_champions: Registry) -> None:
    reg = three_champions

    first = reg.rollback(reason="r3 misbehaves")
    second = reg.rollback(reason="r2 too")

    assert (first.run_id, first.previous) == ("r2", "r3")
    assert (second.run_id, second.previous) == ("r1", "r2")
    assert [e.action for e in reg.ledger()[-2:]] == ["rollback", "rollback"]
    assert reg.ledger()[-1].reason == "r2 too"
    with pytest.raises(RegistryError, match="nothing to roll back to: r1"):
        reg.rollback(reason="again")


def test_rollback_to_a_named_run(three_champions: Registry) -> None:
    pointer = three_champions.rollback(reason="back to the first", to="r1")

    assert (pointer.run_id, pointer.action) == ("r1", "rollback")
    assert three_champions.champion_history() == ["r1"]


def test_rollback_after_promotion_resumes_from_the_new_history(three_champions: Registry) -> None:
    reg = three_champions
    reg.rollback(reason="r3 bad")
    finished_run(reg, "r4")
    reg.promote("r4", reason="fixed", forced=False)

    assert reg.champion_history() == ["r1", "r2", "r4"]
    assert reg.rollback(reason="r4 bad").run_id == "r2"


def test_rollback_without_champion_or_reason_is_refused(reg: Registry) -> None:
    with pytest.raises(RegistryError, match="no champion"):
        reg.rollback(reason="why not")
    with pytest.raises(RegistryError, match="needs a reason"):
        reg.rollback(reason="")


def test_rollback_to_an_unknown_run_is_refused(three_champions: Registry) -> None:
    before = snapshot(three_champions)

    with pytest.raises(RunNotFound):
        three_champions.rollback(reason="x", to="ghost")
    assert snapshot(three_champions) == before


# --------------------------------------------------------------------------- crash safety


def test_run_dying_half_way_leaves_champion_and_ledger_untouched(reg: Registry) -> None:
    finished_run(reg, "r1")
    reg.promote("r1", reason="first", forced=False)
    before = snapshot(reg)

    with pytest.raises(RuntimeError, match="died"), reg.lock("r2"):
        try:
            reg.start_run("r2")
            reg.save_model("r2", {"model": "r2"})
            raise RuntimeError("died while scoring")
        except RuntimeError as exc:
            reg.mark_incomplete("r2", repr(exc))
            raise

    assert snapshot(reg) == before
    manifest = reg.record("r2").as_dict()
    assert (manifest["status"], manifest["incomplete"]) == ("failed", True)
    assert "died while scoring" in manifest["error"]


def test_crash_while_switching_the_pointer_leaves_champion_and_ledger_untouched(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished_run(reg, "r1")
    reg.promote("r1", reason="first", forced=False)
    finished_run(reg, "r2")
    before = snapshot(reg)
    real_replace = os.replace

    def crash_on_champion(src: Any, dst: Any) -> None:
        if Path(dst).name == "champion.json":
            raise KeyboardInterrupt  # the process is interrupted at the worst moment
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_champion)
    with pytest.raises(KeyboardInterrupt):
        reg.promote("r2", reason="better", forced=False)

    assert snapshot(reg) == before
    assert temp_files(reg.home) == []


def test_killed_run_leaves_registry_intact_and_is_marked_incomplete_on_next_lock(
    reg: Registry,
) -> None:
    finished_run(reg, "r1")
    reg.promote("r1", reason="first", forced=False)
    before = snapshot(reg)
    child = run_python(
        """
        import os, sys
        from pathlib import Path
        from churn.registry import Registry
        reg = Registry(Path(sys.argv[1]))
        with reg.lock("r2"):
            reg.start_run("r2")
            reg.save_model("r2", {"model": "r2"})
            os._exit(9)  # killed between writing the model and switching the pointer
        """,
        str(reg.home),
    )
    assert child.wait(timeout=30) == 9, child.stderr.read() if child.stderr else ""

    assert snapshot(reg) == before
    assert reg.record("r2").as_dict()["status"] == "running"
    with reg.lock("r3"):  # the dead process's flock is gone
        pass
    manifest = reg.record("r2").as_dict()
    assert (manifest["status"], manifest["incomplete"]) == ("failed", True)
    assert "interrupted" in manifest["error"]


# --------------------------------------------------------------------------- lock


def test_second_lock_in_the_same_process_fails_at_once_naming_the_holder(reg: Registry) -> None:
    with reg.lock("r1"):
        expected = f"another run holds the lock: pid {os.getpid()}, run r1, since .* \\("
        with pytest.raises(RegistryError, match=expected) as info, reg.lock("r2"):
            pass  # pragma: no cover
        assert str(reg.lock_path) in str(info.value)

    with reg.lock("r2") as holder:
        assert holder["run_id"] == "r2"


def test_lock_held_by_another_process_is_refused_until_it_exits(reg: Registry) -> None:
    child = run_python(
        """
        import sys
        from pathlib import Path
        from churn.registry import Registry
        with Registry(Path(sys.argv[1])).lock("other-run"):
            print("locked", flush=True)
            sys.stdin.readline()
        """,
        str(reg.home),
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        refused = pytest.raises(RegistryError, match=f"pid {child.pid}, run other-run")
        with refused, reg.lock("mine"):
            pass  # pragma: no cover
    finally:
        child.communicate("\n", timeout=30)

    with reg.lock("mine"):
        pass


def test_lock_is_released_when_the_holder_is_killed(reg: Registry) -> None:
    child = run_python(
        """
        import sys, time
        from pathlib import Path
        from churn.registry import Registry
        with Registry(Path(sys.argv[1])).lock("doomed"):
            print("locked", flush=True)
            time.sleep(60)
        """,
        str(reg.home),
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    child.kill()
    child.communicate(timeout=30)

    with reg.lock("next") as holder:
        assert holder["pid"] == os.getpid()


def test_a_child_forked_by_the_holder_does_not_keep_the_lock_after_the_holder_is_killed(
    reg: Registry,
) -> None:
    """``churn run`` forks its training workers while it holds the lock: they close their
    copy of its descriptor, so a killed run's lock is free although a child still runs."""
    child = run_python(
        """
        import os, sys, time
        from pathlib import Path
        from churn.registry import Registry
        with Registry(Path(sys.argv[1])).lock("forking"):
            forked = os.fork()
            if forked == 0:
                os.write(1, b"forked\\n")  # os.fork's after-fork hooks have run here
                time.sleep(60)
                os._exit(0)
            os.write(1, f"{forked}\\n".encode())  # one write each: the two may not interleave
            time.sleep(60)
        """,
        str(reg.home),
    )
    assert child.stdout is not None
    # both lines, in either order: the holder may die before the child's hooks ran otherwise
    lines = {child.stdout.readline().strip(), child.stdout.readline().strip()}
    assert "forked" in lines, lines
    forked = int((lines - {"forked"}).pop())
    try:
        child.kill()
        child.wait(timeout=30)  # not communicate: the forked child holds the pipes open
        with reg.lock("next") as holder:  # the forked child still runs
            assert holder["pid"] == os.getpid()
            os.kill(forked, 0)
    finally:
        os.kill(forked, signal.SIGKILL)
        for pipe in (child.stdin, child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()


def test_lock_leaves_its_own_running_run_alone(reg: Registry) -> None:
    reg.start_run("mine")

    with reg.lock("mine"):
        assert reg.record("mine").as_dict()["status"] == "running"


def test_registry_files_get_the_mode_a_plain_open_would(tmp_path: Path) -> None:
    import os
    import stat

    mask = os.umask(0o022)
    try:
        path = Registry(tmp_path).write_text("x.json", "{}")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
