"""The registry's run lock: one process at a time may change the registry.

Guarantees:

* The lock is ``fcntl.flock(LOCK_EX | LOCK_NB)`` on a lock file: a second holder fails at once
  with a :class:`~churn.errors.RegistryError` naming the holder (pid, run id, since when),
  instead of waiting.
* The OS drops a flock when its process dies, so a crashed run never leaves a stale lock. A
  process forked while the lock is held (``churn run``'s training workers) closes its copy of
  the descriptor at once, so the lock never waits for a child to end.
* The holder record is written into the lock file while the lock is held and cleared on
  release; it is only ever read for the error message.

Nothing happens at import time.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from churn.errors import RegistryError
from churn.registry.reading import parse_json, regular_size

_HELD: Final[set[int]] = set()
"""Descriptors of the locks this process holds (a forked child closes its copies)."""
_FORK_HOOK: list[bool] = []


def _close_in_child() -> None:
    """In a forked child: close the inherited lock descriptors (the parent still holds)."""
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


@contextlib.contextmanager
def hold_run_lock(
    path: Path, run_id: str | None, *, now: Callable[[], str]
) -> Iterator[dict[str, Any]]:
    """Hold the lock on ``path``, or fail at once if another open lock holds it.

    Args:
        path: The lock file; it and its folder are created if missing.
        run_id: The holder's run id (None for commands such as promote or rollback).
        now: Returns the current time as text, for the holder record.

    Yields:
        The holder record ``{"pid", "run_id", "since"}``.

    Raises:
        RegistryError: Another open lock (any process, this one included) holds it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise RegistryError(f"run lock {path}: cannot open it: {exc.strerror or exc}") from None
    try:
        regular_size(fd, path, what="run lock")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise RegistryError(_held_message(fd, path)) from None
        holder = {"pid": os.getpid(), "run_id": run_id, "since": now()}
        _rewrite(fd, json.dumps(holder).encode("utf-8"))
        if not _FORK_HOOK:
            os.register_at_fork(after_in_child=_close_in_child)
            _FORK_HOOK.append(True)
        _HELD.add(fd)
        try:
            yield holder
        finally:
            _HELD.discard(fd)
            _rewrite(fd, b"")
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _held_message(fd: int, path: Path) -> str:
    try:
        holder = parse_json(os.pread(fd, 4096, 0), source=str(path))
    except (OSError, RegistryError):
        holder = {}
    if not isinstance(holder, dict):
        holder = {}
    pid = holder.get("pid", "unknown")
    run_id = holder.get("run_id") or "none"
    since = holder.get("since", "unknown")
    return f"another run holds the lock: pid {pid}, run {run_id}, since {since} ({path})"


def _rewrite(fd: int, data: bytes) -> None:
    """Replace the whole content of an open file."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    os.fsync(fd)
