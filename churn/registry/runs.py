"""Run folders: ``runs/<run_id>/``, their ``run.json`` manifests and their model files.

:class:`RunStore` is the base of :class:`~churn.registry.Registry` that creates runs, reads and
merges their manifests, records how they ended, and saves and loads their models.

Guarantees:

* A manifest is rewritten atomically, and read-merge-write of a manifest is serialised between
  the threads of one process; across processes the run lock keeps one writer per run.
* A run's model is loaded only when its bytes match the hash recorded in ``run.json`` (see
  :mod:`churn.registry.model_files`).

Nothing happens at import time, and constructing a :class:`RunStore` touches no file.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
from pathlib import Path
from typing import Any, Final

from churn import __version__
from churn.errors import RegistryError
from churn.registry.home import MANIFEST, RegistryHome, check_name, is_safe_name
from churn.registry.model_files import dump_model, load_verified, read_verified
from churn.registry.reading import read_regular
from churn.registry.record import (
    RECORD_VERSION,
    ModelFileRecord,
    RunManifest,
    RunNotFound,
    as_manifest,
    read_manifest,
    write_manifest,
)

__all__ = ["MAX_SPEC_COPY_BYTES", "SPEC_COPY", "RunNotFound", "RunStore"]

SPEC_COPY: Final = "spec.yaml"
"""The copy of the spec a run was trained with, in its folder."""
MAX_SPEC_COPY_BYTES: Final = 1_048_576
"""As ``churn.spec.loader.MAX_SPEC_BYTES`` (the registry does not import the spec package; a
test keeps the two equal)."""

log = logging.getLogger(__name__)

_MANIFEST_LOCK = threading.RLock()
"""Serialises read-merge-write of manifests between threads (the API and tests use threads)."""


class RunStore(RegistryHome):
    """Runs and their models under one home directory (see :class:`RegistryHome`).

    Manifests are :class:`~churn.registry.record.RunManifest` records, and every read returns
    them (:meth:`record`, :meth:`records`, :meth:`latest_record`); ``as_dict()`` is their JSON.
    """

    def start_run(self, run_id: str, **fields: Any) -> Path:
        """Create ``runs/<run_id>/`` and its run.json with status ``running``.

        Args:
            run_id: A new run id (see :func:`~churn.registry.home.new_run_id`).
            **fields: Further manifest fields (spec name, seed, ...; see ``RunManifest``).

        Returns:
            The run folder.

        Raises:
            RegistryError: The run already exists, or a field is not a manifest field.
        """
        folder = self.run_dir(run_id)
        manifest = as_manifest(
            {
                "record_version": RECORD_VERSION,
                "run_id": run_id,
                "status": "running",
                "started_at": self._now(),
                "ended_at": None,
                "pid": os.getpid(),
                "host": platform.node(),
                "churn_version": __version__,
                "python": platform.python_version(),
                **fields,
            },
            source=f"run {run_id}",
        )
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir()
        except FileExistsError:
            raise RegistryError(f"run {run_id} already exists ({folder})") from None
        write_manifest(folder / MANIFEST, manifest)
        return folder

    def record(self, run_id: str) -> RunManifest:
        """The run's run.json as a validated record.

        Raises:
            RunNotFound: No such run, or its run.json is unreadable or not a run record.
        """
        path = self.run_dir(run_id) / MANIFEST
        try:
            self.inside(path, f"run {run_id}:")
        except RegistryError as exc:
            raise RunNotFound(str(exc)) from None
        return read_manifest(path, run_id)

    def spec_copy_text(self, run_id: str) -> str:
        """The text of the run's spec copy (``spec.yaml``), to parse with the spec loader.

        Read as every registry file is: inside the home through no symlink, a regular file of at
        most :data:`MAX_SPEC_COPY_BYTES`, UTF-8.

        Raises:
            RegistryError: The copy is missing, unreadable, too large or not UTF-8.
        """
        path = self.inside(self.run_dir(run_id) / SPEC_COPY, f"run {run_id}: spec copy")
        what = f"run {run_id}: spec copy"
        try:
            raw = read_regular(path, what=what, limit=MAX_SPEC_COPY_BYTES)
        except FileNotFoundError:
            raise RegistryError(f"{what} {path} is missing") from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RegistryError(f"{what} {path}: not UTF-8 at byte {exc.start}") from None

    def update_manifest(self, run_id: str, **fields: Any) -> RunManifest:
        """Replace top-level ``fields`` of run.json, validated, atomically; return the record.

        Thread-safe within a process; across processes, the run lock keeps one writer per run.

        Raises:
            RegistryError: A field is not a manifest field or its value does not fit.
        """
        with _MANIFEST_LOCK:
            manifest = self.record(run_id).updated(**fields)
            write_manifest(self.run_dir(run_id) / MANIFEST, manifest)
        return manifest

    def finish_run(self, run_id: str, *, status: str = "succeeded", **fields: Any) -> RunManifest:
        """Record the end of a run that completed (``succeeded``, or ``failed`` on gates)."""
        return self.update_manifest(run_id, status=status, ended_at=self._now(), **fields)

    def mark_incomplete(self, run_id: str, error: str) -> RunManifest:
        """Record that a run died half-way: status ``failed``, ``incomplete``, error, ended_at."""
        return self.update_manifest(
            run_id, status="failed", incomplete=True, error=error, ended_at=self._now()
        )

    def run_ids(self) -> list[str]:
        """Every run folder's id, newest first (ids start with the run's UTC start time).

        A symlinked run folder is not a run: it is left out (and :meth:`record` refuses it).
        """
        if not self.runs_dir.is_dir() or self.runs_dir.is_symlink():
            return []
        return sorted(
            (f.name for f in self.runs_dir.iterdir() if _is_run_folder(f)),
            reverse=True,
        )

    def records(self, limit: int | None = None) -> list[RunManifest]:
        """Readable run records, newest first, at most ``limit``; unreadable ones are skipped.

        Only as many run.json files are read as the answer needs, so the latest run costs one
        read however long the history grows.
        """
        found: list[RunManifest] = []
        for run_id in self.run_ids():
            if limit is not None and len(found) >= limit:
                break
            try:
                found.append(self.record(run_id))
            except RunNotFound as exc:
                log.warning("skipping run folder %s: %s", self.run_dir(run_id), exc)
        return found

    def latest_record(self) -> RunManifest | None:
        """The newest readable run record, or None."""
        records = self.records(limit=1)
        return records[0] if records else None

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
        for manifest in self.records():
            if manifest.status != "running" or manifest.run_id == exclude:
                continue
            self.mark_incomplete(
                manifest.run_id, "interrupted: the process ended before the run finished"
            )
            marked.append(manifest.run_id)
        return marked

    # ----------------------------------------------------------------------- models

    def save_model(self, run_id: str, obj: Any, name: str = "model.joblib") -> ModelFileRecord:
        """Write ``obj`` with joblib (compress=3) into the run folder and record it in run.json.

        The manifest's ``model`` field becomes ``{"name", "path", "sha256", "bytes"}``; that hash
        is the one ``promote`` checks and :meth:`load_model` requires.

        Returns:
            The model file's record (``path`` relative to the home).
        """
        path = self.run_dir(run_id) / check_name(name, "model file name")
        self.record(run_id)  # the run must exist
        digest = dump_model(path, obj)
        info = ModelFileRecord(name=name, path=path.relative_to(self.home).as_posix(), **digest)
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
        return load_verified(self._model_file(run_id, name), sha256)

    def verify_model(self, run_id: str, sha256: str, *, name: str = "model.joblib") -> None:
        """:meth:`load_model`'s checks without unpickling.

        Raises:
            RegistryError: As :meth:`load_model`.
        """
        read_verified(self._model_file(run_id, name), sha256)

    def _model_file(self, run_id: str, name: str) -> Path:
        path = self.run_dir(run_id) / check_name(name, "model file name")
        return self.inside(path, "model file")


def _is_run_folder(folder: Path) -> bool:
    """A real folder (not a symlink) with a safe name."""
    return is_safe_name(folder.name) and folder.is_dir() and not folder.is_symlink()
