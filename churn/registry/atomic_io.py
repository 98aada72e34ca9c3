"""All-or-nothing file writes, file hashes, and values made ready for JSON.

Guarantees:

* :func:`atomic_write` writes to a temporary file in the same folder, fsyncs it, then
  ``os.replace``s it over the target and fsyncs the folder, so a reader sees the old file or the
  new one, never half of one. On any error (or interrupt) the temporary file is removed and the
  target is left as it was.
* The new file gets the mode a plain ``open()`` would give it (0666 less the umask), not the
  0600 of a temporary file, so that another user (the API, a pod) can read it.
* :func:`to_json` never writes ``NaN`` or infinities: they become ``null``.

Nothing happens at import time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final

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


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Write via a temp file in the same folder, fsync, os.replace; remove the temp on error.

    Args:
        path: The file to create or replace; its folder is created if missing.
        write: Writes the content to the open temporary file (binary).

    Returns:
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, before the replace
        mode="wb", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    tmp = Path(handle.name)
    try:
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
    _fsync_dir(path.parent)
    return path


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
