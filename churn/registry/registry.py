"""The run registry on disk: runs, the champion pointer, the promotion ledger and the run lock.

Layout under the home directory (``$CHURN_HOME``, default ``./artifacts``)::

    runs/<run_id>/run.json   manifest: ids, times, status, model hash, metrics, gates, decision
    runs/<run_id>/...        spec copy, model file, plots, report, predictions
    champion.json            pointer to the serving model (replaced atomically)
    ledger.jsonl             append-only: every promotion, rejection, hold and rollback
    .lock                    held (flock) by the one process that may change the registry

This module is the public entry point: :class:`Registry` ties together the pieces, each in a
module of its own, and every name below is importable from here:

* :mod:`churn.registry.home`: the home, run ids, safe names, paths and atomic writes;
* :mod:`churn.registry.runs`: run folders, their manifests and their model files;
* :mod:`churn.registry.record`: the typed run record (run.json), read and written in one place;
* :mod:`churn.registry.atomic_io`: all-or-nothing writes, file hashes, JSON-ready values;
* :mod:`churn.registry.model_files`: model files, hashed when written and verified before loading;
* :mod:`churn.registry.ledger`: the ledger file and the champion history it implies;
* :mod:`churn.registry.lock`: the flock-based run lock.

Guarantees, in short (each module's docstring says them in full):

* Every file is replaced atomically, so a reader sees the old file or the new one, never half
  of one; a run that dies half-way leaves ``champion.json`` and ``ledger.jsonl`` exactly as
  they were.
* A model is unpickled only after the sha256 of its bytes matches the hash recorded when it was
  saved (in ``run.json`` and ``champion.json``), so a tampered or swapped file is refused.
* Methods that change the registry do not lock by themselves: wrap a whole run, or a
  ``promote`` / ``rollback`` command, in ``with registry.lock(run_id):``. Readers (the API)
  never lock.

Nothing happens at import time, and constructing a :class:`Registry` touches no file.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from churn.errors import RegistryError
from churn.registry.atomic_io import jsonable
from churn.registry.home import (
    check_name,
)
from churn.registry.ledger import (
    CHAMPION_ACTIONS,
    LedgerEntry,
    append_event,
    champion_before,
    champion_history,
    ledger_disagreement,
    read_events,
)
from churn.registry.lock import hold_run_lock
from churn.registry.model_files import load_verified, read_verified
from churn.registry.pointer import MAX_REASON_CHARS, ChampionPointer, as_pointer, read_pointer
from churn.registry.record import RunManifest
from churn.registry.runs import RunStore

log = logging.getLogger(__name__)


class Registry(RunStore):
    """Runs, champion pointer, ledger and lock under one home directory.

    Runs and their models come from :class:`~churn.registry.runs.RunStore`; paths and atomic
    writes from :class:`~churn.registry.home.RegistryHome`.

    Args:
        home: The registry home (see :func:`resolve_home`).
        clock: Returns the current UTC time; injectable for tests.
    """

    def __repr__(self) -> str:
        return f"Registry({str(self.home)!r})"

    # ----------------------------------------------------------------------- models

    def load_champion(self) -> tuple[ChampionPointer, Any] | None:
        """The champion pointer and its verified model, or None when there is no champion.

        Raises:
            RegistryError: The pointer is damaged, disagrees with its run's record, or its
                model file is missing or altered.
        """
        champion = self.champion()
        if champion is None:
            return None
        return champion, load_verified(self._recorded_model(champion), champion.model_sha256)

    def verify_champion_model(self) -> ChampionPointer | None:
        """:meth:`load_champion`'s checks without unpickling: the pointer, or None when there
        is no champion (for a caller that scores with a form of the model recorded elsewhere).

        Raises:
            RegistryError: As :meth:`load_champion`.
        """
        champion = self.champion()
        if champion is not None:
            read_verified(self._recorded_model(champion), champion.model_sha256)
        return champion

    def verify_champion(self) -> ChampionPointer | None:
        """The champion pointer after checking it against its run's record, the model file's hash
        and the ledger (nothing is unpickled).

        Cheap enough to run before anything trains, so a damaged champion stops a run at once.

        Raises:
            RegistryError: champion.json is unreadable or a field does not fit, its model file is
                not the one its run recorded, is missing or altered, or the ledger's last
                champion move names another run.
        """
        champion = self.champion()
        if champion is None:
            return None
        try:
            read_verified(self._recorded_model(champion), champion.model_sha256)
        except RegistryError as exc:
            raise RegistryError(
                f"the champion (run {champion.run_id}) cannot be served: {exc}; repair the "
                "pointer with `churn rollback --reason ...` or `churn promote RUN --reason ...`"
            ) from None
        disagreement = ledger_disagreement(champion.run_id, self.ledger(), self.ledger_path)
        if disagreement:
            raise RegistryError(
                f"{disagreement}: a promote or rollback died half-way; the next `churn run`, "
                "`churn promote` or `churn rollback` writes the missing ledger line"
            )
        return champion

    def _recorded_model(self, champion: ChampionPointer) -> Path:
        """The champion's model file, if it is the one its run's own record names (path, hash).

        Raises:
            RegistryError: The run's record is unreadable, has no model, or names another file
                or hash; or the file is outside the home or reached through a symlink.
        """
        run_id = champion.run_id
        model = self.record(run_id).model
        if model is None or (model.path, model.sha256) != (
            champion.model_path,
            champion.model_sha256,
        ):
            recorded = "no model" if model is None else f"{model.path} (sha256 {model.sha256})"
            raise RegistryError(
                f"{self.champion_path}: model_path {champion.model_path} (sha256 "
                f"{champion.model_sha256}) is not the model run {run_id} recorded: {recorded}"
            )
        return self.inside(model.path, "champion model file")

    # ----------------------------------------------------------------------- champion

    def champion(self) -> ChampionPointer | None:
        """champion.json, every field checked, or None when no model has been promoted yet.

        Raises:
            RegistryError: champion.json exists but is unreadable or a field does not fit (see
                :mod:`churn.registry.pointer`); never treated as "no champion", which would let
                the next run silently replace it.
        """
        return read_pointer(self.inside(self.champion_path, "champion pointer"))

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
    ) -> ChampionPointer:
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
            The new champion pointer (what champion.json now holds).
        """
        if action not in CHAMPION_ACTIONS:
            raise RegistryError(f"action must be one of {sorted(CHAMPION_ACTIONS)}, got {action!r}")
        if len(reason) > MAX_REASON_CHARS:
            raise RegistryError(
                f"the reason is {len(reason):,} characters long; at most {MAX_REASON_CHARS:,}"
            )
        path = self.run_dir(run_id) / check_name(model_name, "model file name")
        read_verified(self.inside(path, "model file"), model_sha256)
        previous = self.champion()
        pointer = as_pointer(
            jsonable(
                {
                    "run_id": run_id,
                    "model_name": model_name,
                    "model_path": path.relative_to(self.home).as_posix(),
                    "model_sha256": model_sha256,
                    "metrics": dict(metrics),
                    "threshold": threshold,
                    "promoted_at": self._now(),
                    "previous": previous.run_id if previous else None,
                    "reason": reason,
                    "action": action,
                }
            ),
            source=f"the champion pointer to run {run_id}",
        )
        self.write_json(self.champion_path, pointer.as_dict())  # the commit point
        try:
            self.append_ledger(
                {
                    "action": action,
                    "run_id": run_id,
                    "previous": pointer.previous,
                    "reason": reason,
                }
            )
        except RegistryError as exc:
            raise RegistryError(
                f"run {run_id} is now the champion ({self.champion_path} was replaced), but {exc}; "
                "the next `churn run`, `churn promote` or `churn rollback` writes it"
            ) from None
        return pointer

    def mark_incomplete(self, run_id: str, error: str) -> RunManifest:
        """Record a run that died half-way, reconciling a promotion that had already committed.

        Replacing champion.json is a promotion's commit point. A run that died after it (before
        its ledger line or its final manifest were written) is the champion: its ledger line is
        written now from champion.json and the run is recorded as succeeded, with the error kept.
        Any other run is marked failed and incomplete.
        """
        champion = self.champion()
        if champion is None or champion.run_id != run_id:
            return super().mark_incomplete(run_id, error)
        self._ledger_catch_up(champion)
        return self.update_manifest(
            run_id,
            status="succeeded",
            champion_after=run_id,
            error=f"died after its promotion committed: {error}",
            ended_at=self._now(),
        )

    def _ledger_catch_up(self, champion: ChampionPointer) -> None:
        """Append the ledger line of the current champion when a crash left it out."""
        if not ledger_disagreement(champion.run_id, self.ledger(), self.ledger_path):
            return
        self.append_ledger(
            {
                "action": champion.action,
                "run_id": champion.run_id,
                "previous": champion.previous,
                "reason": champion.reason,
                "recovered": True,
            }
        )

    def promote(self, run_id: str, *, reason: str, forced: bool) -> ChampionPointer:
        """Make a run's saved model the champion.

        Reads ``model``, ``metrics`` and ``threshold`` from the run's run.json. A forced promotion
        (overriding the gates) needs a non-empty reason; an unforced one refuses a failed run.

        Raises:
            RegistryError: No reason for a forced promotion, unknown run, failed run (unforced), no
                recorded model, model file missing or altered, or already the champion.
        """
        if forced and not reason.strip():
            raise RegistryError("a forced promotion needs a reason (--reason '...')")
        manifest = self.record(run_id)
        if not forced and manifest.status == "failed":
            raise RegistryError(
                f"run {run_id} failed; promote it only with a forced promotion and a reason"
            )
        return self._point_at(
            run_id, manifest, reason=reason, action="force_promote" if forced else "promote"
        )

    def _point_at(
        self, run_id: str, manifest: RunManifest, *, reason: str, action: str
    ) -> ChampionPointer:
        model = manifest.model
        if model is None:
            raise RegistryError(f"run {run_id} has no saved model; only runs with a model qualify")
        current = self.champion()
        if current is not None and current.run_id == run_id:
            raise RegistryError(f"run {run_id} is already the champion")
        return self.set_champion(
            run_id,
            model_name=model.name,
            model_sha256=model.sha256,
            metrics=manifest.metrics or {},
            threshold=manifest.threshold,
            reason=reason,
            action=action,
        )

    def champion_history(self) -> list[str]:
        """Champion run ids as a stack, oldest first, replayed from the ledger.

        A promotion pushes its run; a rollback pops back to its target (or pushes a run that was
        never champion), so rolling back twice goes two champions back rather than toggling.
        """
        return champion_history(self.ledger())

    def rollback(self, *, reason: str, to: str | None = None) -> ChampionPointer:
        """Move the champion pointer back to the previous champion, or to the run ``to``.

        Raises:
            RegistryError: No reason, no champion, nothing before the current champion, a target
                that failed and never served, or one that cannot be promoted (see
                :meth:`promote`).
        """
        if not reason.strip():
            raise RegistryError("a rollback needs a reason (--reason '...')")
        current = self.champion()
        if current is None:
            raise RegistryError(f"nothing to roll back: no champion in {self.home}")
        target = to if to is not None else self._previous_champion(current.run_id)
        manifest = self.record(target)
        if manifest.status == "failed" and target not in self.champion_history():
            raise RegistryError(
                f"run {target} failed and never served; a rollback returns to an earlier "
                f"champion. To serve it anyway: churn promote {target} --reason '...'"
            )
        return self._point_at(target, manifest, reason=reason, action="rollback")

    def _previous_champion(self, current: str) -> str:
        previous = champion_before(self.champion_history(), current)
        if previous is None:
            raise RegistryError(
                f"nothing to roll back to: {current} is the only champion in the ledger "
                f"({self.ledger_path}); name a run with --to"
            )
        return previous

    # ----------------------------------------------------------------------- ledger

    def append_ledger(self, event: Mapping[str, Any]) -> LedgerEntry:
        """Append one JSON line to ledger.jsonl (flushed and fsynced) and return it.

        ``timestamp`` defaults to now and ``previous`` to the current champion's run id.

        Raises:
            RegistryError: ``action`` is not a ledger action, ``run_id`` is missing, or
                another field does not fit a ledger line (nothing is written).
        """
        path = self.inside(self.ledger_path, "ledger")
        return append_event(path, event, now=self._now, champion=self.champion_id)

    def champion_id(self) -> str | None:
        """The champion's run id, or None."""
        champion = self.champion()
        return champion.run_id if champion else None

    def ledger(self) -> list[LedgerEntry]:
        """Every readable ledger line, oldest first; unreadable lines are logged and skipped."""
        return read_events(self.inside(self.ledger_path, "ledger"))

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
        lock_path = self.inside(self.lock_path, "run lock")
        with hold_run_lock(lock_path, run_id, now=self._now) as holder:
            self.recover_interrupted(exclude=run_id)
            self._recover_champion_move()
            yield holder

    def _recover_champion_move(self) -> None:
        """Write the ledger line of a promote or rollback that died after its commit point.

        Replacing champion.json commits a move; a process killed (or a disk that filled) before
        its ledger line was written leaves the pointer ahead of the ledger. A damaged pointer
        is left alone here: the promote or rollback that repairs it writes its own line.
        """
        try:
            champion = self.champion()
        except RegistryError as exc:
            log.warning("champion pointer not reconciled with the ledger: %s", exc)
            return
        if champion is not None:
            self._ledger_catch_up(champion)
