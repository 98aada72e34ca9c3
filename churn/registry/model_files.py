"""Model files: written with joblib and hashed, loaded only when the hash still matches.

Guarantees:

* A model file is written atomically (see :mod:`churn.registry.atomic_io`), and its sha256 is taken
  from the bytes written, so the recorded hash is that of the file on disk.
* A model is unpickled only after the sha256 of its bytes matches the hash recorded when it was
  saved (in ``run.json`` and ``champion.json``); joblib unpickling runs arbitrary code, so a
  tampered or swapped file is refused instead of loaded. The file is read once, hashed, and
  unpickled from those same bytes, so it cannot change between the check and the load.

Nothing happens at import time.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import IO, Any

from churn.errors import RegistryError
from churn.registry.atomic_io import atomic_write, sha256_file
from churn.registry.reading import read_regular


def dump_model(path: Path, obj: Any) -> dict[str, Any]:
    """Write ``obj`` with joblib (compress=3) to ``path`` atomically.

    Returns:
        ``{"sha256", "bytes"}`` of the file written.
    """
    digest: dict[str, Any] = {}

    def dump(handle: IO[bytes]) -> None:
        import joblib  # imported when used: reading a hash or a profile needs none of it

        joblib.dump(obj, handle, compress=3)
        handle.flush()
        digest["sha256"] = sha256_file(Path(handle.name))
        digest["bytes"] = os.fstat(handle.fileno()).st_size

    atomic_write(path, dump)
    return digest


def read_verified(path: Path, sha256: str) -> bytes:
    """The bytes of ``path``, refused unless they hash to ``sha256``.

    Raises:
        RegistryError: The file is missing, is not a regular file, or its hash does not match.
    """
    try:
        data = read_regular(path, what="model file", limit=None)
    except FileNotFoundError:
        raise RegistryError(f"model file missing: {path}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise RegistryError(
            f"model file {path} does not match its recorded hash: expected sha256 {sha256}, "
            f"found {actual}; refusing to unpickle it (restore the file or retrain)"
        )
    return data


def load_verified(path: Path, sha256: str) -> Any:
    """The model in ``path``, unpickled only if its bytes hash to ``sha256``.

    Never pass a hash taken from the file itself: pass the one recorded when it was saved.

    Raises:
        RegistryError: The file is missing or its hash does not match.
    """
    import joblib

    return joblib.load(io.BytesIO(read_verified(path, sha256)))
