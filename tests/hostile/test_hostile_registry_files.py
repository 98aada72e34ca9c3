"""Hostile registry files (issue 20, items 6-9): JSON nested 100,000 deep, a byte that is not
UTF-8 in the ledger, a FIFO in place of a registry file, a champion pointer whose fields lie,
a run.json that names another run. Each is named and skipped where it can be, refused (exit 1,
or 503 under the API) where it cannot, and never a traceback, a 500 or a hang."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from fastapi.testclient import TestClient
from hostile_tools import World, snapshot, twin

from churn.api.app import create_app
from churn.api.settings import Settings

DEEP = "[" * 100_000 + "]" * 100_000
"""100,000 nested lists: Python's json recurses past its limit on it."""
HANG = 120
"""Seconds after which a command counts as hung (a loaded machine takes 40 s for a check)."""
T = TypeVar("T")


def edit_pointer(world: World, **fields: Any) -> Path:
    """Replace fields of champion.json (NaN is written as the bare word)."""
    path = world.home / "champion.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **fields}))
    return path


def fifo_in_place_of(path: Path) -> Path:
    """Replace ``path`` by a named pipe nobody writes to."""
    path.unlink()
    os.mkfifo(path)
    return path


def release(fifo: Path, seconds: float = 5.0) -> None:
    """Keep giving readers blocked on ``fifo`` an end of file for a while (so a hung test ends)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):  # ENXIO: nobody is reading right now
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        time.sleep(0.01)


def without_hang(call: Callable[[], T], fifo: Path | None = None) -> T:
    """``call()`` in a daemon thread; a test failure if it has not returned after :data:`HANG` s
    (the thread is then left behind, never waited for)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG)
    if thread.is_alive():
        if fifo is not None:
            release(fifo)
        pytest.fail(f"hung for {HANG} s" + (f" on the FIFO {fifo}" if fifo else ""))
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def api_answers(world: World, paths: list[str], fifo: Path | None = None) -> dict[str, Any]:
    """Start the API on the world (the lifespan loads the champion) and GET each path."""

    def serve() -> dict[str, Any]:
        settings = Settings(home=world.home, spec=world.spec, reload_interval=0)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            return {path: client.get(path) for path in paths}

    return without_hang(serve, fifo)


def assert_clean(code: int, output: str, *, exit_code: int, says: str) -> None:
    assert code == exit_code, output
    assert says in output, output
    assert "Traceback" not in output and "unexpected error" not in output, output


# --------------------------------------------------------------------------- item 6: JSON bounds


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [(("runs", "--json"), 0), (("show", "{run}"), 1), (("promote", "{run}", "--reason", "r"), 1)],
    ids=["runs", "show", "promote"],
)
def test_a_deeply_nested_run_json_is_named_and_skipped_by_the_cli(
    world: World, args: tuple[str, ...], exit_code: int
) -> None:
    (world.run / "run.json").write_text(DEEP)
    before = snapshot(world.home)
    code, output = world.churn(*(a.format(run=world.run_id) for a in args))
    says = "[]" if exit_code == 0 else f"{world.run / 'run.json'}: JSON nested deeper than 32"
    assert_clean(code, output, exit_code=exit_code, says=says)
    assert snapshot(world.home) == before


@pytest.mark.parametrize("command", [("champion",), ("rollback", "--reason", "r")])
def test_a_deeply_nested_champion_pointer_is_named_by_the_cli(
    world: World, command: tuple[str, ...]
) -> None:
    (world.home / "champion.json").write_text(DEEP)
    code, output = world.churn(*command)
    assert_clean(code, output, exit_code=1, says=f"unreadable {world.home / 'champion.json'}")


def test_a_deeply_nested_champion_pointer_is_named_by_check(world: World) -> None:
    (world.home / "champion.json").write_text(DEEP)
    code, output = world.check()
    assert_clean(code, output, exit_code=1, says=f"unreadable {world.home / 'champion.json'}")


def test_a_deeply_nested_run_json_is_skipped_by_the_api(world: World) -> None:
    (world.run / "run.json").write_text(DEEP)
    answers = api_answers(world, ["/runs", "/metrics", "/app-info", f"/runs/{world.run_id}"])
    assert [answer.status_code for answer in answers.values()] == [200, 200, 200, 404]
    assert answers["/runs"].json()["runs"] == []


def test_a_deeply_nested_champion_pointer_leaves_the_api_up_and_says_why(world: World) -> None:
    (world.home / "champion.json").write_text(DEEP)
    answers = api_answers(world, ["/ready", "/runs", "/metrics", "/app-info"])
    assert [answer.status_code for answer in answers.values()] == [503, 200, 200, 200]
    assert str(world.home / "champion.json") in answers["/ready"].json()["reason"]
    assert answers["/app-info"].json()["status"] == "no_model"


LEDGER_DAMAGE: dict[str, bytes] = {
    "invalid-utf8-byte": b'{"action": "promote", "run_id": "\xff"}\n',
    "nested-100000-deep": DEEP.encode() + b"\n",
    "two-mebibyte-line": b'{"reason": "' + b"x" * 2_000_000 + b'"}\n',
}


@pytest.mark.parametrize("damage", LEDGER_DAMAGE.values(), ids=LEDGER_DAMAGE.keys())
def test_an_unreadable_ledger_line_is_skipped_and_rollback_still_works(
    world: World, damage: bytes
) -> None:
    second = twin(world)
    assert world.churn("promote", second, "--reason", "second")[0] == 0
    with (world.home / "ledger.jsonl").open("ab") as ledger:
        ledger.write(damage)
    code, output = world.churn("rollback", "--reason", "back", "--json")
    assert_clean(code, output, exit_code=0, says=world.run_id)
    assert json.loads((world.home / "champion.json").read_text())["run_id"] == world.run_id


# --------------------------------------------------------------------------- item 7: the pointer


def other_runs_model(world: World) -> str:
    second = twin(world)
    edit_pointer(world, model_path=f"runs/{second}/model.joblib")
    return f"model_path 'runs/{second}/model.joblib' is not the model file of run {world.run_id}"


def another_file_as_model(world: World) -> str:
    """The pointer names a file of the run that is not its model, with that file's own hash."""
    other = world.run / "metrics.csv"
    edit_pointer(
        world,
        model_name=other.name,
        model_path=f"runs/{world.run_id}/{other.name}",
        model_sha256=hashlib.sha256(other.read_bytes()).hexdigest(),
    )
    return f"is not the model run {world.run_id} recorded"


def pointer_field(says: str, **fields: Any) -> Callable[[World], str]:
    def damage(world: World) -> str:
        edit_pointer(world, **fields)
        return says

    return damage


POINTER_LIES: dict[str, Callable[[World], str]] = {
    "threshold-nan": pointer_field("threshold: Input should be a finite", threshold=math.nan),
    "threshold-five": pointer_field("threshold: Input should be less than or equal", threshold=5),
    "threshold-negative": pointer_field("threshold: Input should be greater", threshold=-0.1),
    "metric-infinite": pointer_field(
        "metrics.roc_auc: Input should be a finite", metrics={"roc_auc": math.inf}
    ),
    "run-id-traversal": pointer_field("run_id: String should match pattern", run_id="../../etc"),
    "unknown-key": pointer_field("serve_anyway: Extra inputs are not permitted", serve_anyway=1),
    "model-of-another-run": other_runs_model,
    "another-file-with-its-own-hash": another_file_as_model,
}


@pytest.mark.parametrize("lie", POINTER_LIES.values(), ids=POINTER_LIES.keys())
def test_every_field_of_the_champion_pointer_is_checked_by_check(
    world: World, lie: Callable[[World], str]
) -> None:
    says = lie(world)
    before = snapshot(world.home)
    code, output = world.check()
    assert_clean(code, output, exit_code=1, says=says)
    assert str(world.home / "champion.json") in output
    assert snapshot(world.home) == before


@pytest.mark.parametrize("lie", POINTER_LIES.values(), ids=POINTER_LIES.keys())
def test_a_champion_pointer_that_lies_is_not_served(
    world: World, lie: Callable[[World], str]
) -> None:
    says = lie(world)
    answers = api_answers(world, ["/ready", "/models/champion", "/app-info", "/runs"])
    assert [answer.status_code for answer in answers.values()] == [503, 503, 200, 200]
    assert says in answers["/ready"].json()["reason"]
    assert "NaN" not in answers["/app-info"].text


# --------------------------------------------------------------------------- item 8: FIFOs


@pytest.mark.parametrize(
    ("relative", "args", "exit_code"),
    [
        ("champion.json", ("champion",), 1),
        ("champion.json", ("rollback", "--reason", "r"), 1),
        ("{run}/run.json", ("show", "{run}"), 1),
        ("{run}/run.json", ("runs", "--json"), 0),
        ("ledger.jsonl", ("rollback", "--reason", "r"), 1),
    ],
    ids=["champion", "rollback", "show", "runs", "rollback-ledger"],
)
def test_a_fifo_in_place_of_a_registry_file_is_refused_by_the_cli_at_once(
    world: World, relative: str, args: tuple[str, ...], exit_code: int
) -> None:
    fifo = fifo_in_place_of(world.home / relative.format(run=f"runs/{world.run_id}"))
    code, output = without_hang(
        lambda: world.churn(*(a.format(run=world.run_id) for a in args)), fifo
    )
    says = "[]" if exit_code == 0 else f"{fifo} is a FIFO, not a regular file"
    assert_clean(code, output, exit_code=exit_code, says=says)


def test_a_fifo_in_place_of_the_champion_pointer_is_refused_by_check(world: World) -> None:
    fifo = fifo_in_place_of(world.home / "champion.json")
    code, output = without_hang(world.check, fifo)
    assert_clean(code, output, exit_code=1, says=f"{fifo} is a FIFO")


def test_a_fifo_in_place_of_the_champion_pointer_leaves_the_api_up(world: World) -> None:
    fifo = fifo_in_place_of(world.home / "champion.json")
    answers = api_answers(world, ["/ready", "/runs", "/app-info", "/metrics"], fifo)
    assert [answer.status_code for answer in answers.values()] == [503, 200, 200, 200]
    assert f"{fifo} is a FIFO" in answers["/ready"].json()["reason"]


def test_a_fifo_in_place_of_a_run_json_is_skipped_by_the_api(world: World) -> None:
    fifo = fifo_in_place_of(world.run / "run.json")
    answers = api_answers(world, ["/runs", f"/runs/{world.run_id}", "/app-info", "/metrics"], fifo)
    assert [answer.status_code for answer in answers.values()] == [200, 404, 200, 200]
    assert answers["/runs"].json()["runs"] == []


def test_a_fifo_in_place_of_the_champion_model_is_refused(world: World) -> None:
    fifo = fifo_in_place_of(world.run / "model.joblib")
    code, output = without_hang(world.check, fifo)
    assert_clean(code, output, exit_code=1, says=f"model file {fifo} is a FIFO")


# --------------------------------------------------------------------------- item 9: run ids


def foreign_id(world: World) -> None:
    path = world.run / "run.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "run_id": "../../../etc"}))


def copied_folder(world: World) -> None:
    shutil.copytree(world.run, world.home / "runs" / (world.run_id[:-6] + "cccccc"))


@pytest.mark.parametrize("damage", [foreign_id, copied_folder], ids=["traversal", "duplicate"])
def test_a_run_json_naming_another_run_is_never_listed(
    world: World, damage: Callable[[World], None]
) -> None:
    damage(world)
    code, output = world.churn("runs", "--json")
    assert code == 0, output
    listed = [run["run_id"] for run in json.loads(output)]
    api = api_answers(world, ["/runs"])["/runs"].json()["runs"]
    for ids in (listed, [run["run_id"] for run in api]):
        assert "../../../etc" not in ids
        assert len(ids) == len(set(ids))
        assert all((world.home / "runs" / run_id).is_dir() for run_id in ids)


def test_show_names_a_run_json_whose_run_id_is_not_its_folder(world: World) -> None:
    foreign_id(world)
    code, output = world.churn("show", world.run_id)
    assert_clean(code, output, exit_code=1, says="says run_id '../../../etc', not the name of")


# ------------------------------------------- issue 19, item 7: the API reads the run's spec copy


def test_a_fifo_in_place_of_the_champions_spec_copy_does_not_hang_the_api(world: World) -> None:
    fifo = fifo_in_place_of(world.run / "spec.yaml")
    answers = api_answers(world, ["/ready", "/models/champion"], fifo)
    assert [answer.status_code for answer in answers.values()] == [200, 200]


def test_the_champions_spec_copy_is_not_read_through_a_symlink(world: World) -> None:
    """An outside file that would refuse the champion (a column's kind changed) if it were read."""
    copy = world.run / "spec.yaml"
    document = yaml.safe_load(copy.read_text())
    document["columns"]["support_calls"]["dtype"] = "str"
    outside = world.folder / "outside.yaml"
    outside.write_text(yaml.safe_dump(document, sort_keys=False))
    copy.unlink()
    copy.symlink_to(outside)
    answers = api_answers(world, ["/ready"])
    assert answers["/ready"].status_code == 200, answers["/ready"].text
