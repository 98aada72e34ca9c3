"""One ``churn`` command run in a fresh interpreter and observed from the inside, for the tests
of commands that must answer at once: what it printed, its exit code, the heavy libraries it
loaded, the processes it started, the sleeps it took, and the CPU time of the command itself.

These replace wall-clock bounds, which fail on a busy machine (a loaded CI runner stretches a
0.5 s command to several seconds) without the command doing anything wrong: a command that
waits for a lock sleeps or blocks (seen here, or caught by the timeout), and one that goes
further than it should loads the ML stack or Prefect and starts processes (seen here). The
interpreter's start and the import of the CLI are left out of the CPU time: they are Python's,
not the command's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

HEAVY = ("sklearn", "pandas", "prefect", "xgboost", "matplotlib", "pandera")
"""The libraries a command that only reads or moves pointers never needs."""

PROBE = """
import json, multiprocessing.process, os, subprocess, sys, time
from churn.cli.app import app
started, sleeps = [], []
Process = multiprocessing.process.BaseProcess
_popen_init, _sleep, _fork, _start = subprocess.Popen.__init__, time.sleep, os.fork, Process.start
def _popen(self, args, *rest, **options):
    started.append(str(args))
    _popen_init(self, args, *rest, **options)
def _slept(seconds):
    sleeps.append(seconds)
    _sleep(seconds)
def _forked():
    started.append("fork")
    return _fork()
def _process_start(self):
    started.append(f"process {self.name}")
    _start(self)
subprocess.Popen.__init__, time.sleep, os.fork = _popen, _slept, _forked
Process.start = _process_start
cpu = time.process_time()
code = 0
try:
    app(json.loads(sys.argv[1]), prog_name="churn")
except SystemExit as stopped:
    code = stopped.code if isinstance(stopped.code, int) else 1
seen = {
    "code": code,
    "cpu_seconds": time.process_time() - cpu,
    "heavy": sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules),
    "started": started,
    "sleeps": sleeps,
}
print(json.dumps(seen), file=sys.stderr)
"""


@dataclass(frozen=True)
class Observed:
    """What one command did (see the module's docstring)."""

    code: int
    message: str
    heavy: list[str]
    started: list[str]
    sleeps: list[float]
    cpu_seconds: float


def observe_command(
    args: list[str], env: dict[str, str] | None = None, heavy: tuple[str, ...] = HEAVY
) -> Observed:
    """Run ``churn ARGS`` in a fresh interpreter; ``heavy`` names the libraries to look for.
    The timeout only catches a hang (a command that blocks on a lock held by the test):
    generous, so a busy machine does not trip it."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(heavy)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    *message, last = result.stderr.strip().splitlines() or [""]
    assert last.startswith("{"), result.stderr
    seen: dict[str, Any] = json.loads(last)
    return Observed(message="\n".join(message), **seen)
