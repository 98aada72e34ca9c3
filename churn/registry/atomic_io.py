"""All-or-nothing file writes, file hashes, and values made ready for JSON.

Guarantees:

* :func:`atomic_write` writes to a temporary file in the same folder, fsyncs it, then
  ``os.replace``s it over the target and fsyncs the folder, so a reader sees the old file or the
  new one, never half of one. On any error (or interrupt) the temporary file is removed and the
  target is left as it was. Where Linux allows (``O_TMPFILE``: ext4, xfs, btrfs, tmpfs), the
  temporary file has no name until it is complete, so even a ``kill -9`` mid-write leaves
  nothing behind (the kernel frees the unnamed file); it is linked as ``.NAME.*.tmp`` only for
  the instant before the rename. Elsewhere a named ``.NAME.*.tmp`` file is written; a writer
  holds an ``flock`` on its temporary file, and the next write of the same file removes the
  ones a killed writer left (:mod:`churn.registry.stale_temps`).
* The new file gets the mode a plain ``open()`` would give it (0666 less the umask), not the
  0600 of a temporary file, so that another user (the API, a pod) can read it.
* :func:`to_json` never writes ``NaN`` or infinities: they become ``null``.

Nothing happens at import time.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final

from churn.registry.stale_temps import hold, remove_stale_temps

_CREATE_MODE: Final = 0o666


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def jsonable(value: Any) -> Any:
    """A copy with non-finite floats as None and numpy / Path / datetime values as plain JSON.

    Raises:
        TypeError: A value has no JSON form.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalar or array
        return jsonable(value.tolist())
    raise TypeError(f"cannot write {type(value).__name__} as JSON: {value!r}")


def to_json(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON text (see :func:`jsonable`); NaN and infinities become null.

    Args:
        value: What to write.
        indent: Indent nested levels by this many spaces; None writes one line.
    """
    return json.dumps(jsonable(value), indent=indent, allow_nan=False)


def atomic_write(
    path: Path, write: Callable[[IO[bytes]], object], *, unique_name: bool = False
) -> Path:
    """Write via a temp file in the same folder, fsync, os.replace; remove the temp on error.

    Args:
        path: The file to create or replace; its folder is created if missing.
        write: Writes the content to the open temporary file (binary).
        unique_name: ``path`` is a name never written before (the prediction log's files), so
            no earlier writer's temporary file of it can exist: the folder is not searched for
            them (a glob of the whole folder, 0.1 s of CPU in one of 86,400 files).

    Returns:
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not unique_name:
        remove_stale_temps(path)
    unnamed = _unnamed_file(path.parent)
    if unnamed is None:
        _write_named(path, write)
    else:
        hold(unnamed)
        raw = io.FileIO(unnamed, "wb")
        raw.name = f"/proc/self/fd/{unnamed}"  # a name a writer may read back (to hash it)
        with io.BufferedWriter(raw) as handle:
            write(handle)
            handle.flush()
            os.fsync(unnamed)
            _name_and_replace(unnamed, path)
    _fsync_dir(path.parent)
    return path


def _write_named(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """:func:`atomic_write` through a named temporary file (removed on any error)."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, before the replace
        mode="wb", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    tmp = Path(handle.name)
    try:
        hold(handle.fileno())
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; give the file the mode a plain open() would (the API or a
        # pod may read the registry as another user).
        tmp.chmod(_CREATE_MODE & ~_current_umask())
        os.replace(tmp, path)  # noqa: PTH105 - the atomic step, named as the contract names it
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _unnamed_file(folder: Path) -> int | None:
    """A descriptor of a new file in ``folder`` without a name (``O_TMPFILE``), or None.

    None where the platform, the file system or a missing ``/proc`` rules it out; the caller
    then writes a named temporary file. The mode is a plain ``open()``'s (0666 less the umask).
    """
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):  # noqa: PTH112 - a str path
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY | os.O_CLOEXEC, _CREATE_MODE)
    except OSError:  # EOPNOTSUPP, EISDIR (old kernel), ...: the named way says what is wrong
        return None


def _name_and_replace(fd: int, path: Path) -> None:
    """Give the complete unnamed file ``fd`` a temporary name beside ``path``, then rename it."""
    tmp = _link_beside(fd, path)
    try:
        os.replace(tmp, path)  # noqa: PTH105 - the atomic step, named as the contract names it
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _link_beside(fd: int, path: Path) -> Path:
    """A new name ``.NAME.*.tmp`` beside ``path`` for the unnamed file ``fd``.

    ``linkat`` with ``AT_SYMLINK_FOLLOW`` on ``/proc/self/fd/N`` names an ``O_TMPFILE`` file;
    ``os.link`` passes that flag only when it is given a directory descriptor.
    """
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        while True:
            name = f".{path.name}.{secrets.token_hex(4)}.tmp"
            try:
                os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=folder, follow_symlinks=True)
            except FileExistsError:
                continue
            return path.parent / name
    finally:
        os.close(folder)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort where directories can't be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _current_umask() -> int:
    """The process umask, read without changing it where Linux allows (threads may be writing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
