"""Ctrl-C at any moment of ``churn``'s start-up: one line ``interrupted``, exit 130, no child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

CHURN = Path(sys.executable).with_name("churn")

START_UP_POINTS = (
    "pydantic_core",
    "_multiarray_umath",
    pytest.param("pandas/_libs", marks=pytest.mark.slow),
    pytest.param("sklearn/", marks=pytest.mark.slow),
)
"""Libraries mapped into the process at successive moments of its imports: the interrupt is sent
as soon as each appears, so it lands while the command is still importing."""


def _mapped(pid: int, needle: str) -> bool:
    try:
        return needle in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _as_from_a_shell() -> None:
    """In the child before it runs ``churn``: SIGINT at its default and unblocked, as a shell
    starts a command. A child inherits an ignored or blocked SIGINT from its parent, and then
    Ctrl-C never reaches ``churn`` (seen once in a full run: the command finished and exited
    0). An xdist worker has SIGINT ignored when pytest was started so, as a script's background
    job or ``nohup`` is (Python keeps an inherited SIG_IGN); no test leaves it changed, which
    the suite's conftest checks after each one."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _interrupt_when_loaded(command: list[str], needle: str) -> tuple[bool, int, str, list[int]]:
    """Start ``command`` in its own process group, send SIGINT to the group (what Ctrl-C does)
    once ``needle`` is mapped; whether it was still running then, its exit code, stderr and the
    pids of its children seen before the signal."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_as_from_a_shell,
    )
    try:
        deadline = time.monotonic() + 60
        while not _mapped(process.pid, needle) and process.poll() is None:
            assert time.monotonic() < deadline, f"{needle} never loaded"
            time.sleep(0.002)
        children = [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
        running = process.poll() is None
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
    except BaseException:
        process.kill()
        raise
    return running, process.returncode, err.decode(), children


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
@pytest.mark.parametrize("needle", START_UP_POINTS)
def test_ctrl_c_while_importing_is_one_line_and_exit_130(needle: str, tmp_path: Path) -> None:
    spec = Path(__file__).resolve().parents[2] / "spec" / "telco.yaml"
    command = [str(CHURN), "check", str(spec), "--home", str(tmp_path)]

    running, code, err, children = _interrupt_when_loaded(command, needle)

    if not running:
        pytest.skip(f"the command ended before {needle} was seen")
    assert (code, err) == (130, "interrupted\n")
    assert not [pid for pid in children if psutil.pid_exists(pid)]
