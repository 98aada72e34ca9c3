"""Hard stops: a ``kill -9`` of ``churn run`` leaves no process behind, the registry holds, the
next run succeeds and the API keeps serving; a second run is refused before anything starts."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from command_probe import observe_command
from factories import subscriptions_spec, train_run

from churn.registry import Registry

pytestmark = pytest.mark.flow

NO_PREFECT = {"PREFECT_API_URL": "", "CHURN_PREFECT_LOCAL_URL": "http://127.0.0.1:9/api"}
"""No Prefect API to find: ``churn run`` would start its own temporary server."""

SLOW_MODELS = [
    {"name": "logreg", "type": "logistic_regression"},
    {"name": "trees", "type": "random_forest", "params": {"n_estimators": 300, "n_jobs": 1}},
]


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def children_of(root: int) -> dict[int, str]:
    """Every live descendant of ``root`` (read from /proc), with its start time: a pid is only
    the same process while its start time is the same (pids are reused)."""
    parents: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and fields[0] != "Z":
                parents[int(entry.name)] = (int(fields[1]), fields[19])
    found: dict[int, str] = {}
    frontier = {root}
    while frontier:
        frontier = {pid for pid, (parent, _) in parents.items() if parent in frontier} - set(found)
        found |= {pid: parents[pid][1] for pid in frontier}
    return found


def alive(family: dict[int, str]) -> set[int]:
    """The processes of ``family`` that still run: the same start time, not a zombie or dead,
    and still holding their memory (a process tearing itself down has an empty cmdline)."""
    running = set()
    for pid, started in family.items():
        fields = _stat(pid)
        if fields is None or fields[19] != started or fields[0] in ("Z", "X", "x"):
            continue
        if cmdlines({pid}) not in ([], [""]):
            running.add(pid)
    return running


def cmdlines(pids: Iterable[int]) -> list[str]:
    lines = []
    for pid in pids:
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return lines


def write_spec(folder: Path, name: str, comment: str = "") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(subscriptions_spec(models=SLOW_MODELS)) + comment)
    return path


def churn_run(spec: Path, home: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = {**os.environ, **env}
    return subprocess.Popen(
        [sys.executable, "-m", "churn.cli", "run", str(spec), "--home", str(home)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def kill_and_check_nothing_survives(process: subprocess.Popen[bytes]) -> None:
    family = children_of(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 15
    while alive(family) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = alive(family)
    for pid in survivors:  # do not leak them into the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"left behind after kill -9: {cmdlines(survivors)}"


@pytest.mark.slow  # a whole run killed mid-training: 18 s
def test_kill_9_during_training_leaves_no_server_worker_or_tracker_behind(project: Path) -> None:
    """Its own temporary Prefect server and the training workers (forked from the run, so
    their command line is the run's): all go with it."""
    home = project / "home"
    process = churn_run(write_spec(project, "slow.yaml"), home, **NO_PREFECT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        lines = cmdlines(children_of(process.pid))
        server = any("churn.flows.server:ephemeral_app" in line for line in lines)
        workers = sum("churn.cli run" in line for line in lines)
        if server and workers >= 2:  # both workers forked
            break
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.2)
    else:
        pytest.fail("the run never reached training")
    kill_and_check_nothing_survives(process)


def test_a_second_run_is_refused_at_once_before_prefect_or_the_ml_stack_loads(
    project: Path,
) -> None:
    """Refused before Prefect is sought: with no API to find, a run that got that far would
    start a temporary server (seen as a started process), and before the ML stack or the
    training pool. Observed from inside the command (``command_probe``), not by the wall
    clock, which a busy machine stretches; the CPU time is the command's own (0.9 s here)."""
    home = project / "home"
    spec = write_spec(project, "s.yaml")
    with Registry(home).lock("20261126T000000Z-aaaaaa"):
        seen = observe_command(
            ["run", str(spec), "--home", str(home)], {**os.environ, **NO_PREFECT}
        )
    assert seen.code == 1
    assert "another run holds the lock" in seen.message
    assert "Traceback" not in seen.message
    assert (seen.sleeps, seen.started, seen.heavy) == ([], [], [])
    assert seen.cpu_seconds < 2.0, f"refused after {seen.cpu_seconds:.1f} s of CPU"


@pytest.fixture
def api(project: Path, prefect_server: None) -> Iterator[tuple[str, Path]]:
    """A champion, and ``churn serve`` on it in a child process."""
    home = project / "home"
    train_run(write_spec(project, "first.yaml"), home)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "churn.cli",
            "serve",
            "--home",
            str(home),
            "--port",
            str(port),
            "--spec",
            str(project / "first.yaml"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/app-info"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        yield url, home
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_ten_kills_at_seeded_random_moments_leave_a_consistent_registry(
    project: Path, api: tuple[str, Path]
) -> None:
    url, home = api
    failures: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                body: dict[str, Any] = json.loads(urllib.request.urlopen(url, timeout=5).read())
                if not body.get("run_id"):
                    failures.append(f"no champion served: {body}")
            except OSError as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.05)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    moments = random.Random(20261202).sample([x / 10 for x in range(5, 90)], 10)
    try:
        for number, moment in enumerate(moments):
            spec = write_spec(project, f"kill-{number}.yaml", comment=f"\n# attempt {number}\n")
            process = churn_run(spec, home)
            try:
                process.wait(timeout=moment)  # a run that ends sooner is not waited for
            except subprocess.TimeoutExpired:
                kill_and_check_nothing_survives(process)
            assert_consistent(home)
        final = churn_run(write_spec(project, "final.yaml", comment="\n# final\n"), home)
        assert final.wait(timeout=300) == 0, final.stderr.read() if final.stderr else ""
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert_consistent(home)
    assert not failures, failures[:5]
    assert all(m.status != "running" for m in Registry(home).records())


def assert_consistent(home: Path) -> None:
    """After the next lock's recovery (as any command does): champion.json names a verified
    model, every ledger line parses, and the ledger's last champion is that one."""
    registry = Registry(home)
    with registry.lock():
        pass
    champion = registry.verify_champion()
    assert champion is not None
    lines = (home / "ledger.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert registry.champion_history()[-1] == champion.run_id, events[-3:]
