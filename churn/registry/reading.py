"""Reading registry files: regular files only, bounded in size, JSON bounded in depth.

Every read of a registry file (``run.json``, ``champion.json``, the ledger, a model file, a
run's spec copy, the lock's holder record) goes through :func:`open_regular`, and every JSON
value read from one through :func:`parse_json`.

Guarantees:

* A file is opened with ``O_NONBLOCK | O_NOFOLLOW`` and checked with ``fstat`` before a byte is
  read: a FIFO, a device, a socket or a folder in place of a registry file is refused at once
  (it never blocks the reader), and so is a symlink.
* A file larger than its bound is refused before it is read; a file that grows while it is
  read is refused too, so no read takes more than its bound of memory.
* JSON is parsed by pydantic-core (never Python's recursion): text that is not UTF-8, not
  JSON, or nested deeper than :data:`MAX_JSON_DEPTH` levels is a
  :class:`~churn.errors.RegistryError` naming the file (and line and column), never a
  ``RecursionError``.

Nothing happens at import time.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

import pydantic_core

from churn.errors import RegistryError

MAX_JSON_DEPTH: Final = 32
"""JSON read from the registry may nest at most this many levels (run.json needs about 8)."""
MAX_RECORD_BYTES: Final = 16 * 1024 * 1024
"""A run.json may be at most 16 MiB (one with four candidates is about 20 KB)."""
MAX_POINTER_BYTES: Final = 1024 * 1024
"""champion.json may be at most 1 MiB (it is about 1 KB)."""
MAX_LEDGER_LINE_BYTES: Final = 1024 * 1024
"""A ledger line may be at most 1 MiB; a longer one is skipped like any unreadable line."""
MAX_LEDGER_BYTES: Final = 64 * 1024 * 1024
"""The ledger may be at most 64 MiB (about 200,000 lines; a nightly run writes one a day)."""

_KINDS: Final = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


@contextlib.contextmanager
def open_regular(
    path: Path, *, what: str, limit: int | None, append: bool = False
) -> Iterator[IO[bytes]]:
    """Open ``path`` in binary if it is a regular file of at most ``limit`` bytes.

    Args:
        path: The file.
        what: What it is, for the error message (``run 2026...: run.json``).
        limit: The most bytes it may hold; None for no bound (model files).
        append: Open it for appending (created if missing, unbuffered) instead of reading.

    Raises:
        FileNotFoundError: There is no such file (when reading).
        RegistryError: It is not a regular file, is a symlink, cannot be opened, or is too large.
    """
    flags = os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_RDWR | os.O_APPEND | os.O_CREAT if append else os.O_RDONLY
    try:
        fd = os.open(path, flags, 0o666)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise RegistryError(
                f"{what} {path} is a symlink; registry files are never read through a symlink "
                "(replace it with the file itself)"
            ) from None
        raise RegistryError(f"{what} {path}: cannot open it: {exc.strerror or exc}") from None
    try:
        size = regular_size(fd, path, what=what)
        if limit is not None and size > limit:
            raise RegistryError(_too_large(what, path, size, limit))
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "ab", buffering=0) if append else os.fdopen(fd, "rb") as handle:
        yield handle


def regular_size(fd: int, path: Path, *, what: str) -> int:
    """The size of the open file ``fd``, refusing anything but a regular file.

    Raises:
        RegistryError: ``fd`` is a FIFO, a device, a socket or a folder.
    """
    mode = os.fstat(fd)
    for test, kind in _KINDS:
        if test(mode.st_mode):
            raise RegistryError(
                f"{what} {path} is {kind}, not a regular file; registry files are read "
                "from regular files only (replace it with the file itself)"
            )
    return mode.st_size


def read_regular(path: Path, *, what: str, limit: int | None) -> bytes:
    """The bytes of ``path`` (see :func:`open_regular`; a file that grew past ``limit`` too).

    Raises:
        FileNotFoundError: There is no such file.
        RegistryError: It is not a regular file, is a symlink, or is larger than ``limit``.
    """
    with open_regular(path, what=what, limit=limit) as handle:
        data = handle.read() if limit is None else handle.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise RegistryError(_too_large(what, path, len(data), limit))
    return data


def parse_json(data: bytes, *, source: str) -> Any:
    """The JSON value in ``data`` (UTF-8), nested at most :data:`MAX_JSON_DEPTH` levels.

    Args:
        data: The bytes of a file or a ledger line.
        source: Where they come from (``FILE`` or ``FILE:LINE``), for the error message.

    Raises:
        RegistryError: Not UTF-8 or not JSON (with the line and column), or nested too deep.
    """
    too_deep = f"{source}: JSON nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        value = pydantic_core.from_json(data)
    except ValueError as exc:
        if "recursion limit" in str(exc):  # pydantic-core stops at 200 levels
            raise RegistryError(f"{too_deep} ({exc})") from None
        raise RegistryError(f"{source}: not valid JSON: {exc}") from None
    if _nested_deeper(value, MAX_JSON_DEPTH):
        raise RegistryError(too_deep)
    return value


def _nested_deeper(value: Any, limit: int) -> bool:
    """Whether lists and objects in ``value`` nest more than ``limit`` levels (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _too_large(what: str, path: Path, size: int, limit: int) -> str:
    return f"{what} {path} is {size:,} bytes; at most {limit:,} are read (is it a registry file?)"
