"""Where things live in a registry home, the names allowed there, and writing files into it.

:class:`RegistryHome` is the base of :class:`~churn.registry.Registry`: the home directory,
the paths of its files, the clock, and atomic writes (see :mod:`churn.registry.atomic_io`).

Guarantees:

* A run id or file name that could escape its folder (``..``, slashes, empty, a leading ``.``
  or ``-``) is refused before any path is built from it.
* Registry files are read only through :meth:`RegistryHome.inside`: a path outside the home,
  or one with a symlink anywhere below the home (a run folder, run.json, a model file, the
  champion pointer, the ledger), is refused, so no read leaves the home. The home itself may
  be a symlink (a mounted volume, say).

Nothing happens at import time, and constructing a :class:`RegistryHome` touches no file.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from churn.defaults import DEFAULT_HOME as DEFAULT_HOME  # the one default
from churn.errors import RegistryError
from churn.registry.atomic_io import atomic_write, to_json

HOME_ENV: Final = "CHURN_HOME"
MANIFEST: Final = "run.json"

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def resolve_home(home: str | Path | None = None) -> Path:
    """The registry home: ``home``, else ``$CHURN_HOME``, else ``./artifacts`` (absolute).

    Args:
        home: An explicit home directory, or None to read the environment.
    """
    if home is not None:
        return Path(home).expanduser().resolve()
    from churn.settings import load_settings  # pydantic-settings only when the environment is read

    return load_settings().home.expanduser().resolve()


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def new_run_id(now: datetime) -> str:
    """A sortable, unique run id such as ``20261126T190912.123456Z-3f2a1c``.

    Microseconds keep two runs started in the same second in start order; the random suffix
    keeps ids unique.

    Args:
        now: A timezone-aware time; it is converted to UTC.

    Raises:
        ValueError: ``now`` is naive.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("new_run_id needs a timezone-aware datetime, got a naive one")
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(3)}"


def is_safe_name(name: str) -> bool:
    """Whether ``name`` is a run id or file name that stays inside its folder."""
    return _SAFE_NAME.fullmatch(name) is not None


def check_name(name: str, what: str) -> str:
    """Return ``name``, refusing names that could escape their folder (``..``, slashes, empty).

    Args:
        name: The run id or file name.
        what: What the name names, for the error message.

    Raises:
        RegistryError: The name is not safe (see :func:`is_safe_name`).
    """
    if not is_safe_name(name):
        raise RegistryError(
            f"invalid {what} {name!r}: expected letters, digits, '_', '.', '-' "
            "(not starting with '.' or '-', at most 128 characters)"
        )
    return name


class RegistryHome:
    """The paths, clock and atomic writes of a registry home directory.

    Args:
        home: The registry home (see :func:`resolve_home`).
        clock: Returns the current UTC time; injectable for tests.
    """

    def __init__(self, home: Path, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.home = Path(home)
        self._clock = clock

    # ----------------------------------------------------------------------- paths

    @property
    def runs_dir(self) -> Path:
        """The folder holding one folder per run."""
        return self.home / "runs"

    @property
    def champion_path(self) -> Path:
        """champion.json."""
        return self.home / "champion.json"

    @property
    def ledger_path(self) -> Path:
        """ledger.jsonl."""
        return self.home / "ledger.jsonl"

    @property
    def lock_path(self) -> Path:
        """The run lock file."""
        return self.home / ".lock"

    def run_dir(self, run_id: str) -> Path:
        """The folder of one run (the id is checked, so it cannot escape ``runs/``)."""
        return self.runs_dir / check_name(run_id, "run id")

    def inside(self, path: str | Path, what: str = "registry file") -> Path:
        """``path`` (absolute, or relative to the home) if it is in the home through no symlink.

        Args:
            path: The file or folder to read.
            what: What it is, for the error message.

        Raises:
            RegistryError: ``path`` is outside the home, or a part of it below the home is a
                symlink (it need not exist otherwise).
        """
        home = self.home.absolute()
        full = self._resolve(path).absolute()
        try:
            relative = full.relative_to(home)
        except ValueError:
            raise RegistryError(f"{what} {full} is outside the registry {home}") from None
        if ".." in relative.parts:
            raise RegistryError(f"{what} {full}: '..' is not allowed in a registry path")
        current = home
        for part in relative.parts:
            current = current / part
            if current.is_symlink():
                raise RegistryError(
                    f"{what} {full}: {current} is a symlink; registry files are never read "
                    "through a symlink (replace it with the file itself)"
                )
        return full

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat()

    def _resolve(self, path: str | Path) -> Path:
        path = Path(path)
        return path if path.is_absolute() else self.home / path

    # ----------------------------------------------------------------------- atomic writes

    def write_bytes(self, path: str | Path, data: bytes) -> Path:
        """Write bytes atomically; a relative path is taken from the home."""

        def write(handle: IO[bytes]) -> None:
            handle.write(data)

        return atomic_write(self._resolve(path), write)

    def write_text(self, path: str | Path, text: str) -> Path:
        """Write UTF-8 text atomically; a relative path is taken from the home."""
        return self.write_bytes(path, text.encode("utf-8"))

    def write_json(self, path: str | Path, data: Any) -> Path:
        """Write JSON atomically (indented; NaN and infinities become null)."""
        return self.write_text(path, to_json(data, indent=2) + "\n")
