"""The temporary files of :func:`churn.registry.atomic_io.atomic_write`: held, and swept.

A writer holds an ``flock`` on its temporary file ``.NAME.*.tmp`` from creation to rename; the
OS drops it when the writer dies, even by ``kill -9``. Before each write of ``NAME``,
:func:`remove_stale_temps` removes the ``.NAME.*.tmp`` files that nobody holds and that have not
changed for :data:`STALE_SECONDS` (the age covers the instant between a temporary file's
creation and its lock). Such files come from a killed writer on a file system without
``O_TMPFILE``, or from a version of churn that wrote named temporary files. Nothing happens at
import time.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import stat
import time
from pathlib import Path
from typing import Final

STALE_SECONDS: Final = 60.0
"""A temporary file unchanged for this long, and held by no writer, is a dead writer's."""


def hold(fd: int) -> None:
    """Mark the temporary file ``fd`` as being written (until it is closed or its writer dies)."""
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove the dead writers' temporary files of ``path``; return the ones removed."""
    removed: list[Path] = []
    try:
        candidates = list(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    except OSError:
        return removed
    for candidate in candidates:
        with contextlib.suppress(OSError):  # gone meanwhile, held, or not ours to remove
            if _is_stale(candidate):
                candidate.unlink()
                removed.append(candidate)
    return removed


def _is_stale(candidate: Path) -> bool:
    """A regular file, unchanged for :data:`STALE_SECONDS`, that no live writer holds."""
    fd = os.open(candidate, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or time.time() - found.st_mtime < STALE_SECONDS:
            return False
        try:
            hold(fd)  # released when fd is closed, just below
        except BlockingIOError:
            return False
        return True
    finally:
        os.close(fd)
