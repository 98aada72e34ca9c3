"""The run registry on disk: runs, the champion pointer, the promotion ledger and the run lock.

Layout under the home directory (``$CHURN_HOME``, default ``./artifacts``)::

    runs/<run_id>/run.json   manifest: ids, times, status, model hash, metrics, gates, decision
    runs/<run_id>/...        spec copy, model file, plots, report, predictions
    champion.json            pointer to the serving model (replaced atomically)
    ledger.jsonl             append-only: every promotion, rejection, hold and rollback
    .lock                    held (flock) by the one process that may change the registry

Guarantees:

* Every file is written to a temporary file in the same folder, fsynced, then ``os.replace``d
  over the target, so a reader sees the old file or the new one, never half of one. A run that
  dies half-way therefore leaves ``champion.json`` and ``ledger.jsonl`` exactly as they were.
* A model is unpickled only after the sha256 of its bytes matches the hash recorded when it was
  saved (in ``run.json`` and ``champion.json``); joblib unpickling runs arbitrary code, so a
  tampered or swapped file is refused instead of loaded.
* Methods that change the registry do not lock by themselves: wrap a whole run, or a
  ``promote`` / ``rollback`` command, in ``with registry.lock(run_id):``. Readers (the API)
  never lock.

Nothing happens at import time, and constructing a :class:`Registry` touches no file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import logging
import math
import os
import platform
import re
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

import joblib

from churn import __version__
from churn.errors import RegistryError

log = logging.getLogger(__name__)

HOME_ENV: Final = "CHURN_HOME"
DEFAULT_HOME: Final = "artifacts"
MANIFEST: Final = "run.json"
LEDGER_ACTIONS: Final = frozenset(
    {"promote", "reject", "keep_champion", "hold", "force_promote", "rollback"}
)
"""Every action a ledger line may record."""
CHAMPION_ACTIONS: Final = frozenset({"promote", "force_promote", "rollback"})
"""Ledger actions that move the champion pointer."""

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_MANIFEST_LOCK = threading.RLock()
"""Serialises read-merge-write of manifests between threads (flow tasks run in a thread pool)."""


class RunNotFound(RegistryError):
    """The run does not exist, or has no readable run.json."""


def resolve_home(home: str | Path | None = None) -> Path:
    """The registry home: ``home``, else ``$CHURN_HOME``, else ``./artifacts`` (absolute).

    Args:
        home: An explicit home directory, or None to read the environment.
    """
    chosen = home if home is not None else os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Path(chosen).expanduser().resolve()


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def new_run_id(now: datetime) -> str:
    """A sortable, unique run id such as ``20261126T190912Z-3f2a1c``.

    Args:
        now: A timezone-aware time; it is converted to UTC.

    Raises:
        ValueError: ``now`` is naive.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("new_run_id needs a timezone-aware datetime, got a naive one")
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_name(name: str, what: str) -> str:
    """Refuse names that could escape their folder (``..``, slashes, empty)."""
    if not _SAFE_NAME.fullmatch(name):
        raise RegistryError(
            f"invalid {what} {name!r}: expected letters, digits, '_', '.', '-' "
            "(not starting with '.' or '-', at most 128 characters)"
        )
    return name


def _jsonable(value: Any) -> Any:
    """A copy with non-finite floats as None and numpy / Path / datetime values as plain JSON."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _jsonable(value.tolist())
    raise TypeError(f"cannot write {type(value).__name__} as JSON: {value!r}")


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort where directories can't be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_CREATE_MODE: Final = 0o666


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


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write via a temp file in the same folder, fsync, os.replace; remove the temp on error."""
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


class Registry:
    """Runs, champion pointer, ledger and lock under one home directory.

    Args:
        home: The registry home (see :func:`resolve_home`).
        clock: Returns the current UTC time; injectable for tests.
    """

    def __init__(self, home: Path, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.home = Path(home)
        self._clock = clock

    def __repr__(self) -> str:
        return f"Registry({str(self.home)!r})"

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
        return self.runs_dir / _check_name(run_id, "run id")

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

        return _atomic_write(self._resolve(path), write)

    def write_text(self, path: str | Path, text: str) -> Path:
        """Write UTF-8 text atomically; a relative path is taken from the home."""
        return self.write_bytes(path, text.encode("utf-8"))

    def write_json(self, path: str | Path, data: Any) -> Path:
        """Write JSON atomically (indented; NaN and infinities become null)."""
        text = json.dumps(_jsonable(data), indent=2, allow_nan=False)
        return self.write_text(path, text + "\n")

    # ----------------------------------------------------------------------- runs

    def start_run(self, run_id: str, **fields: Any) -> Path:
        """Create ``runs/<run_id>/`` and its run.json with status ``running``.

        Args:
            run_id: A new run id (see :func:`new_run_id`).
            **fields: Extra top-level manifest fields (spec name, data hash, ...).

        Returns:
            The run folder.

        Raises:
            RegistryError: The run already exists.
        """
        folder = self.run_dir(run_id)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir()
        except FileExistsError:
            raise RegistryError(f"run {run_id} already exists ({folder})") from None
        manifest = {
            "run_id": run_id,
            "status": "running",
            "started_at": self._now(),
            "ended_at": None,
            "pid": os.getpid(),
            "host": platform.node(),
            "churn_version": __version__,
            "python": platform.python_version(),
            **fields,
        }
        self.write_json(folder / MANIFEST, manifest)
        return folder

    def manifest(self, run_id: str) -> dict[str, Any]:
        """The run's run.json.

        Raises:
            RunNotFound: No such run, or its run.json is unreadable.
        """
        path = self.run_dir(run_id) / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunNotFound(f"run {run_id} not found (no {path})") from None
        except (OSError, ValueError) as exc:
            raise RunNotFound(f"run {run_id}: unreadable {path}: {exc}") from None
        if not isinstance(data, dict):
            raise RunNotFound(f"run {run_id}: {path} is not a JSON object")
        return data

    def update_manifest(self, run_id: str, **fields: Any) -> dict[str, Any]:
        """Merge top-level ``fields`` into run.json and rewrite it atomically; return the result.

        Thread-safe within a process; across processes, the run lock keeps one writer per run.
        """
        with _MANIFEST_LOCK:
            manifest = {**self.manifest(run_id), **fields}
            self.write_json(self.run_dir(run_id) / MANIFEST, manifest)
        return manifest

    def finish_run(
        self, run_id: str, *, status: str = "succeeded", **fields: Any
    ) -> dict[str, Any]:
        """Record the end of a run that completed (``succeeded``, or ``failed`` on gates)."""
        return self.update_manifest(run_id, status=status, ended_at=self._now(), **fields)

    def mark_incomplete(self, run_id: str, error: str) -> dict[str, Any]:
        """Record that a run died half-way: status ``failed``, ``incomplete``, error, ended_at."""
        return self.update_manifest(
            run_id, status="failed", incomplete=True, error=error, ended_at=self._now()
        )

    def runs(self) -> list[dict[str, Any]]:
        """Every readable run manifest, newest first; unreadable ones are logged and skipped."""
        if not self.runs_dir.is_dir():
            return []
        found = []
        for folder in self.runs_dir.iterdir():
            if not folder.is_dir() or not _SAFE_NAME.fullmatch(folder.name):
                continue
            try:
                found.append(self.manifest(folder.name))
            except RunNotFound as exc:
                log.warning("skipping run folder %s: %s", folder, exc)
        return sorted(found, key=_run_sort_key, reverse=True)

    def latest_run(self) -> dict[str, Any] | None:
        """The newest readable run manifest, or None."""
        runs = self.runs()
        return runs[0] if runs else None

    def recover_interrupted(self, *, exclude: str | None = None) -> list[str]:
        """Mark runs still ``running`` as incomplete; call only while holding the lock.

        Every run holds the lock while it runs, so a run that says ``running`` while we hold the
        lock died without cleaning up (OOM kill, SIGKILL, power loss).

        Args:
            exclude: A run id to leave alone (the lock holder's own run).

        Returns:
            The ids of the runs marked.
        """
        marked = []
        for manifest in self.runs():
            run_id = manifest.get("run_id")
            if manifest.get("status") != "running" or not isinstance(run_id, str):
                continue
            if run_id == exclude:
                continue
            self.mark_incomplete(run_id, "interrupted: the process ended before the run finished")
            marked.append(run_id)
        return marked

    # ----------------------------------------------------------------------- models

    def save_model(self, run_id: str, obj: Any, name: str = "model.joblib") -> dict[str, Any]:
        """Write ``obj`` with joblib (compress=3) into the run folder and record it in run.json.

        The manifest's ``model`` field becomes ``{"name", "path", "sha256", "bytes"}``; that hash
        is the one :meth:`promote` checks and :meth:`load_model` requires.

        Returns:
            ``{"name", "path" (relative to the home), "sha256", "bytes"}``.
        """
        path = self.run_dir(run_id) / _check_name(name, "model file name")
        self.manifest(run_id)  # the run must exist
        digest: dict[str, Any] = {}

        def dump(handle: IO[bytes]) -> None:
            joblib.dump(obj, handle, compress=3)
            handle.flush()
            digest["sha256"] = sha256_file(Path(handle.name))
            digest["bytes"] = os.fstat(handle.fileno()).st_size

        _atomic_write(path, dump)
        info = {"name": name, "path": path.relative_to(self.home).as_posix(), **digest}
        self.update_manifest(run_id, model=info)
        return info

    def load_model(self, run_id: str, sha256: str, *, name: str = "model.joblib") -> Any:
        """Load a run's model, refusing it unless its bytes hash to ``sha256``.

        The file is read once, hashed, and unpickled from those same bytes, so it cannot change
        between the check and the load. Unpickling runs code from the file: never call this with
        a hash taken from the file itself; pass the one recorded in run.json or champion.json.

        Raises:
            RegistryError: The file is missing or its hash does not match.
        """
        return self._load_verified(
            self.run_dir(run_id) / _check_name(name, "model file name"), sha256
        )

    def load_champion(self) -> tuple[dict[str, Any], Any] | None:
        """The champion pointer and its verified model, or None when there is no champion."""
        champion = self.champion()
        if champion is None:
            return None
        path = self._resolve(champion["model_path"])
        return champion, self._load_verified(path, champion["model_sha256"])

    def _read_verified(self, path: Path, sha256: str) -> bytes:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise RegistryError(f"model file missing: {path}") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise RegistryError(
                f"model file {path} does not match its recorded hash: expected sha256 {sha256}, "
                f"found {actual}; refusing to unpickle it (restore the file or retrain)"
            )
        return data

    def _load_verified(self, path: Path, sha256: str) -> Any:
        return joblib.load(io.BytesIO(self._read_verified(path, sha256)))

    # ----------------------------------------------------------------------- champion

    def champion(self) -> dict[str, Any] | None:
        """champion.json, or None when no model has been promoted yet.

        Raises:
            RegistryError: champion.json exists but is unreadable (never treated as "no champion",
                which would let the next run silently replace it).
        """
        try:
            data = json.loads(self.champion_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise RegistryError(
                f"unreadable {self.champion_path}: {exc}; restore it (ledger.jsonl lists every "
                "champion) or remove it to start without a champion"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("run_id"), str):
            raise RegistryError(f"{self.champion_path} is not a champion pointer: {data!r}")
        return data

    def set_champion(
        self,
        run_id: str,
        *,
        model_name: str,
        model_sha256: str,
        metrics: Mapping[str, Any],
        threshold: float | None,
        reason: str,
        action: str,
    ) -> dict[str, Any]:
        """Point champion.json at a run's model (atomically), then append a ledger line.

        The model file's hash is checked first, so the pointer never names a file that would be
        refused at load time.

        Args:
            run_id: The run whose model becomes the champion.
            model_name: The model file name inside the run folder.
            model_sha256: The hash recorded when the model was saved.
            metrics: The model's hold-out metrics.
            threshold: The model's decision threshold.
            reason: Why; recorded in champion.json and the ledger.
            action: ``promote``, ``force_promote`` or ``rollback``.

        Returns:
            The new champion.json content.
        """
        if action not in CHAMPION_ACTIONS:
            raise RegistryError(f"action must be one of {sorted(CHAMPION_ACTIONS)}, got {action!r}")
        path = self.run_dir(run_id) / _check_name(model_name, "model file name")
        self._read_verified(path, model_sha256)
        previous = self.champion()
        pointer = {
            "run_id": run_id,
            "model_name": model_name,
            "model_path": path.relative_to(self.home).as_posix(),
            "model_sha256": model_sha256,
            "metrics": dict(metrics),
            "threshold": threshold,
            "promoted_at": self._now(),
            "previous": previous["run_id"] if previous else None,
            "reason": reason,
            "action": action,
        }
        self.write_json(self.champion_path, pointer)
        self.append_ledger(
            {"action": action, "run_id": run_id, "previous": pointer["previous"], "reason": reason}
        )
        return pointer

    def promote(self, run_id: str, *, reason: str, forced: bool) -> dict[str, Any]:
        """Make a run's saved model the champion.

        Reads ``model``, ``metrics`` and ``threshold`` from the run's run.json. A forced promotion
        (overriding the gates) needs a non-empty reason; an unforced one refuses a failed run.

        Raises:
            RegistryError: No reason for a forced promotion, unknown run, failed run (unforced), no
                recorded model, model file missing or altered, or already the champion.
        """
        if forced and not reason.strip():
            raise RegistryError("a forced promotion needs a reason (--reason '...')")
        manifest = self.manifest(run_id)
        if not forced and manifest.get("status") == "failed":
            raise RegistryError(
                f"run {run_id} failed; promote it only with a forced promotion and a reason"
            )
        return self._point_at(
            run_id, manifest, reason=reason, action="force_promote" if forced else "promote"
        )

    def _point_at(
        self, run_id: str, manifest: Mapping[str, Any], *, reason: str, action: str
    ) -> dict[str, Any]:
        model = manifest.get("model")
        if not isinstance(model, dict) or "sha256" not in model or "name" not in model:
            raise RegistryError(f"run {run_id} has no saved model; only runs with a model qualify")
        current = self.champion()
        if current is not None and current["run_id"] == run_id:
            raise RegistryError(f"run {run_id} is already the champion")
        return self.set_champion(
            run_id,
            model_name=model["name"],
            model_sha256=model["sha256"],
            metrics=manifest.get("metrics") or {},
            threshold=manifest.get("threshold"),
            reason=reason,
            action=action,
        )

    def champion_history(self) -> list[str]:
        """Champion run ids as a stack, oldest first, replayed from the ledger.

        A promotion pushes its run; a rollback pops back to its target (or pushes a run that was
        never champion), so rolling back twice goes two champions back rather than toggling.
        """
        stack: list[str] = []
        for event in self.ledger():
            run_id, action = event.get("run_id"), event.get("action")
            if not isinstance(run_id, str) or action not in CHAMPION_ACTIONS:
                continue
            if action == "rollback" and run_id in stack:
                del stack[len(stack) - stack[::-1].index(run_id) :]
            else:
                stack.append(run_id)
        return stack

    def rollback(self, *, reason: str, to: str | None = None) -> dict[str, Any]:
        """Move the champion pointer back to the previous champion, or to the run ``to``.

        Raises:
            RegistryError: No reason, no champion, nothing before the current champion, or the
                target run cannot be promoted (see :meth:`promote`).
        """
        if not reason.strip():
            raise RegistryError("a rollback needs a reason (--reason '...')")
        current = self.champion()
        if current is None:
            raise RegistryError(f"nothing to roll back: no champion in {self.home}")
        target = to if to is not None else self._previous_champion(current["run_id"])
        return self._point_at(target, self.manifest(target), reason=reason, action="rollback")

    def _previous_champion(self, current: str) -> str:
        history = self.champion_history()
        if current in history:
            history = history[: len(history) - 1 - history[::-1].index(current)]
        earlier = [run_id for run_id in history if run_id != current]
        if not earlier:
            raise RegistryError(
                f"nothing to roll back to: {current} is the only champion in the ledger "
                f"({self.ledger_path}); name a run with --to"
            )
        return earlier[-1]

    # ----------------------------------------------------------------------- ledger

    def append_ledger(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Append one JSON line to ledger.jsonl (flushed and fsynced) and return it.

        ``timestamp`` defaults to now and ``previous`` to the current champion's run id.

        Raises:
            RegistryError: ``action`` is not a ledger action or ``run_id`` is missing.
        """
        line = dict(event)
        if line.get("action") not in LEDGER_ACTIONS:
            raise RegistryError(
                f"ledger action must be one of {sorted(LEDGER_ACTIONS)}, got {line.get('action')!r}"
            )
        if not isinstance(line.get("run_id"), str):
            raise RegistryError(f"a ledger line needs a run_id, got {line.get('run_id')!r}")
        if "previous" not in line:
            champion = self.champion()
            line["previous"] = champion["run_id"] if champion else None
        line = {"timestamp": self._now(), **line}
        line.setdefault("reason", "")
        text = json.dumps(_jsonable(line), allow_nan=False) + "\n"
        self.home.mkdir(parents=True, exist_ok=True)
        with self.ledger_path.open("ab") as handle:
            if handle.tell() > 0 and not _ends_with_newline(self.ledger_path):
                text = "\n" + text  # a torn last line from a crash stays on its own line
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        return line

    def ledger(self) -> list[dict[str, Any]]:
        """Every readable ledger line, oldest first; unreadable lines are logged and skipped."""
        try:
            lines = self.ledger_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        events = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                log.warning("%s:%d: skipping unreadable ledger line", self.ledger_path, number)
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    # ----------------------------------------------------------------------- lock

    @contextlib.contextmanager
    def lock(self, run_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Hold the registry's run lock, or fail at once if another process holds it.

        The lock is ``fcntl.flock(LOCK_EX | LOCK_NB)`` on ``.lock``, which records the holder's
        pid, run id and start time for the error message. The OS drops a flock when its process
        dies, so a crashed run never leaves a stale lock. On entry, runs left ``running`` by a
        dead process are marked incomplete (see :meth:`recover_interrupted`).

        Args:
            run_id: The holder's run id (None for commands such as promote or rollback).

        Yields:
            The holder record ``{"pid", "run_id", "since"}``.

        Raises:
            RegistryError: Another open lock (any process, this one included) holds it.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise RegistryError(self._held_message(fd)) from None
            holder = {"pid": os.getpid(), "run_id": run_id, "since": self._now()}
            _rewrite(fd, json.dumps(holder).encode("utf-8"))
            try:
                self.recover_interrupted(exclude=run_id)
                yield holder
            finally:
                _rewrite(fd, b"")
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _held_message(self, fd: int) -> str:
        try:
            holder = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        except (OSError, ValueError):
            holder = {}
        if not isinstance(holder, dict):
            holder = {}
        pid = holder.get("pid", "unknown")
        run_id = holder.get("run_id") or "none"
        since = holder.get("since", "unknown")
        return (
            f"another run holds the lock: pid {pid}, run {run_id}, since {since} ({self.lock_path})"
        )


def _rewrite(fd: int, data: bytes) -> None:
    """Replace the whole content of an open file."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    os.fsync(fd)


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _run_sort_key(manifest: Mapping[str, Any]) -> tuple[str, str]:
    return str(manifest.get("started_at") or ""), str(manifest.get("run_id") or "")
