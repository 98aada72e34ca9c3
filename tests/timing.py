"""What starting Python costs on this machine now, for tests that bound a command's time."""

from __future__ import annotations

import subprocess
import sys
import time


def python_start_cost(code: str = "import churn.spec") -> float:
    """Seconds a fresh interpreter takes to run ``code`` now: a busy machine's share of a
    command's time, which is not the command's fault."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    return time.monotonic() - started
