"""A promote or rollback that dies half-way (issue 20, item 2): ``kill -9`` between replacing
champion.json and writing its ledger line, and a disk that refuses the ledger line. ``churn
check`` names the disagreement, the next command that takes the lock writes the missing line,
and a refused append leaves no torn line."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap

from hostile_tools import World, twin

from churn.registry import Registry

KILLED_AFTER_THE_POINTER = textwrap.dedent(
    """
    import os, signal, sys
    from churn.registry import registry

    def die(self, event):  # champion.json is replaced; its ledger line is not written yet
        os.kill(os.getpid(), signal.SIGKILL)

    registry.Registry.append_ledger = die
    from churn.cli.app import main

    sys.argv = ["churn", *sys.argv[1:]]
    main()
    """
)
TIMEOUT = 300


def churn_process(
    world: World, *args: str, code: str | None = None, file_size: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``churn ARGS`` in a process of its own: ``code`` instead of the CLI's entry point, and
    ``file_size`` as its RLIMIT_FSIZE (a write past it fails with EFBIG, like a full disk)."""

    def limit() -> None:
        if file_size is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    command = ["-c", code] if code is not None else ["-m", "churn.cli"]
    env = {**os.environ, "CHURN_HOME": str(world.home)}
    if file_size is not None:  # coverage.py could not save a capped process's data: not measured
        env = {name: value for name, value in env.items() if not name.startswith("COVERAGE_")}
    return subprocess.run(
        [sys.executable, *command, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=limit,
    )


def pointer(world: World) -> str:
    return str(json.loads((world.home / "champion.json").read_text())["run_id"])


def moves(world: World) -> list[tuple[str, str]]:
    """(action, run id) of every champion move in the ledger; every line must be JSON."""
    lines = (world.home / "ledger.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    return [
        (e["action"], e["run_id"])
        for e in events
        if e["action"] in ("promote", "force_promote", "rollback")
    ]


def test_a_promote_killed_after_the_pointer_is_named_by_check_and_completed_by_the_next_lock(
    world: World,
) -> None:
    second = twin(world)
    killed = churn_process(
        world, "promote", second, "--reason", "try it", code=KILLED_AFTER_THE_POINTER
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert pointer(world) == second
    assert moves(world) == [("promote", world.run_id)]

    code, output = world.check()
    assert code == 1, output
    assert f"champion.json names run {second}, but in the ledger" in output
    assert f"the last champion move is to run {world.run_id}" in output
    assert "Traceback" not in output and "unexpected error" not in output

    code, output = world.churn("rollback", "--reason", "back")
    assert code == 0, output
    assert pointer(world) == world.run_id
    assert moves(world) == [
        ("promote", world.run_id),
        ("force_promote", second),
        ("rollback", world.run_id),
    ]
    assert world.check()[0] == 0


def test_a_rollback_killed_after_the_pointer_is_completed_by_the_next_promote(
    world: World,
) -> None:
    second = twin(world)
    assert world.churn("promote", second, "--reason", "second")[0] == 0
    killed = churn_process(world, "rollback", "--reason", "back", code=KILLED_AFTER_THE_POINTER)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert pointer(world) == world.run_id
    code, output = world.check()
    assert code == 1 and f"the last champion move is to run {second}" in output, output

    code, output = world.churn("promote", second, "--reason", "again")
    assert code == 0, output
    assert moves(world)[-2:] == [("rollback", world.run_id), ("force_promote", second)]
    recovered = json.loads((world.home / "ledger.jsonl").read_text().splitlines()[-2])
    assert recovered["recovered"] is True and recovered["reason"] == "back"
    assert Registry(world.home).champion_history() == [world.run_id, second]


def test_a_full_disk_leaves_no_torn_ledger_line_and_says_what_happened(world: World) -> None:
    second = twin(world)
    registry = Registry(world.home)
    while registry.ledger_path.stat().st_size < 4096:  # longer than champion.json
        registry.append_ledger({"action": "reject", "run_id": world.run_id, "reason": "padding"})
    ledger = registry.ledger_path.read_bytes()
    refused = churn_process(
        world, "promote", second, "--reason", "full", file_size=len(ledger) + 16
    )
    assert refused.returncode == 1, refused.stderr
    assert f"run {second} is now the champion" in refused.stderr
    assert "could not append to the ledger" in refused.stderr
    assert "File too large" in refused.stderr
    assert "Traceback" not in refused.stderr and "unexpected error" not in refused.stderr
    assert registry.ledger_path.read_bytes() == ledger  # no torn line
    assert pointer(world) == second

    code, output = world.check()
    assert code == 1 and f"champion.json names run {second}" in output, output
    assert world.churn("rollback", "--reason", "back")[0] == 0
    assert moves(world)[-2:] == [("force_promote", second), ("rollback", world.run_id)]


def test_a_pointer_and_ledger_that_agree_are_not_touched_by_the_lock(world: World) -> None:
    files = (world.home / "ledger.jsonl", world.home / "champion.json")
    before = {path: path.read_bytes() for path in files}
    with Registry(world.home).lock():
        pass
    assert {path: path.read_bytes() for path in files} == before


def test_the_lock_leaves_a_damaged_pointer_to_the_command_that_repairs_it(world: World) -> None:
    (world.home / "champion.json").write_text('{"run_id": ')
    ledger = (world.home / "ledger.jsonl").read_bytes()
    with Registry(world.home).lock():
        pass
    assert (world.home / "ledger.jsonl").read_bytes() == ledger
