"""Child processes that never outlive the process that started them (Linux ``PR_SET_PDEATHSIG``).

A ``kill -9`` of ``churn run`` gives it no chance to stop what it started; the kernel can. A
child that asks for a parent-death signal receives it when its parent ends, however it ends.
Elsewhere (macOS) these are no-ops and the normal shutdown path stops the children.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def parent_death_hook(sig: int = signal.SIGKILL) -> Callable[[], None]:
    """A function for ``subprocess.Popen(preexec_fn=...)``: the child gets ``sig`` when we end.

    libc is looked up here, in the parent, so the hook itself only calls ``prctl`` and
    ``getppid`` between ``fork`` and ``exec``. If the parent died before the hook ran, the
    child exits at once instead of waiting for a signal that will never come.
    """
    if not sys.platform.startswith("linux"):
        return lambda: None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return hook


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """In a child process already running: get ``sig`` when the parent ends (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def process_running(pid: int) -> bool:
    """True while process ``pid`` exists (another user's process counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
