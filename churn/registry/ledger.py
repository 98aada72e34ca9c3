"""The promotion ledger: an append-only JSON-lines file, and the champion history it implies.

Every promotion, rejection, hold and rollback is one line (``timestamp``, ``action``,
``run_id``, ``previous``, ``reason``, and ``recovered`` for a line written after a crash),
read as a :class:`LedgerEntry`.

Guarantees:

* A line is only ever appended, then flushed and fsynced; earlier lines are never rewritten.
  An append that fails (a full disk) cuts its half-written bytes off again, so it leaves no
  torn line.
* A torn last line (a process killed mid-append) stays on its own line: the next append starts
  on a new line, and readers log and skip lines they cannot read (torn, not UTF-8, not JSON,
  nested too deep, over 1 MiB, or not a ledger line) instead of failing.
* A line is validated as a :class:`LedgerEntry` before it is written, so every line churn
  writes reads back.

Nothing happens at import time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final, get_args

from pydantic import ValidationError

from churn.errors import RegistryError
from churn.registry.atomic_io import to_json
from churn.registry.reading import (
    MAX_LEDGER_BYTES,
    MAX_LEDGER_LINE_BYTES,
    open_regular,
    parse_json,
)
from churn.registry.record import Action, ChampionAction, _Record, validation_problems

log = logging.getLogger(__name__)

CHAMPION_ACTIONS: Final = frozenset(get_args(ChampionAction))
"""Ledger actions that move the champion pointer."""
LEDGER_ACTIONS: Final = frozenset(get_args(Action)) | CHAMPION_ACTIONS
"""Every action a ledger line may record: a run's decision, or a move of the champion."""


class LedgerEntry(_Record):
    """One line of ledger.jsonl: a run's decision, or a move of the champion pointer.

    The line on disk keeps its writer's key order; :meth:`as_dict` holds the same keys.
    """

    timestamp: str
    action: Action | ChampionAction
    run_id: str
    previous: str | None = None
    """The champion when the line was written (None: there was none)."""
    reason: str | None = None
    recovered: bool | None = None
    """True on a champion move written after a crash, from champion.json."""

    @property
    def moves_champion(self) -> bool:
        """Whether the line moves the champion pointer (promote, force_promote, rollback)."""
        return self.action in CHAMPION_ACTIONS


def append_event(
    path: Path,
    event: Mapping[str, Any],
    *,
    now: Callable[[], str],
    champion: Callable[[], str | None],
) -> LedgerEntry:
    """Append one JSON line to the ledger at ``path`` (flushed and fsynced) and return it.

    Args:
        path: The ledger file; it and its folder are created if missing.
        event: The line; needs ``action`` and ``run_id``.
        now: Returns the current time as text; the default ``timestamp``.
        champion: Returns the current champion's run id; the default ``previous``. Called only
            when ``event`` has no ``previous``.

    Raises:
        RegistryError: ``action`` is not a ledger action, ``run_id`` is missing, or another
            field does not fit a :class:`LedgerEntry` (nothing is written).
    """
    line = dict(event)
    if line.get("action") not in LEDGER_ACTIONS:
        raise RegistryError(
            f"ledger action must be one of {sorted(LEDGER_ACTIONS)}, got {line.get('action')!r}"
        )
    if not isinstance(line.get("run_id"), str):
        raise RegistryError(f"a ledger line needs a run_id, got {line.get('run_id')!r}")
    if "previous" not in line:
        line["previous"] = champion()
    line = {"timestamp": now(), **line}
    line.setdefault("reason", "")
    try:
        entry = LedgerEntry.model_validate(line)
    except ValidationError as exc:
        raise RegistryError(f"not a ledger line: {validation_problems(exc)}") from None
    append_json_line(path, line, what="ledger", about=f"{entry.action} of run {entry.run_id}")
    return entry


def append_json_line(path: Path, line: Mapping[str, Any], *, what: str, about: str) -> None:
    """Append ``line`` as one JSON line to ``path`` (created with its folder if missing),
    flushed and fsynced; a torn last line from a crash stays on its own line.

    Raises:
        RegistryError: ``path`` is not a regular file, or the write failed (the file is
            truncated back; the message names ``what`` and ``about``).
    """
    text = to_json(line) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_regular(path, what=what, limit=None, append=True) as handle:
        start = os.fstat(handle.fileno()).st_size
        if start > 0 and os.pread(handle.fileno(), 1, start - 1) != b"\n":
            text = "\n" + text
        try:
            _write_all(handle.fileno(), text.encode("utf-8"))
        except OSError as exc:
            _truncate(handle, start)
            raise RegistryError(
                f"could not append to the {what} {path}: {exc.strerror or exc}; the line was "
                f"not written ({about})"
            ) from exc


def read_events(path: Path) -> list[LedgerEntry]:
    """Every readable line of the ledger at ``path``, oldest first (none if it is missing).

    Unreadable lines (torn, not UTF-8, not JSON, nested too deep, longer than
    :data:`~churn.registry.reading.MAX_LEDGER_LINE_BYTES`, not a :class:`LedgerEntry`) are
    logged and skipped.

    Raises:
        RegistryError: The ledger is not a regular file or is larger than
            :data:`~churn.registry.reading.MAX_LEDGER_BYTES`.
    """
    events = []
    try:
        with open_regular(path, what="ledger", limit=MAX_LEDGER_BYTES) as handle:
            for number, line in enumerate(_bounded_lines(handle), start=1):
                event = _event(line, f"{path}:{number}")
                if event is not None:
                    events.append(event)
    except FileNotFoundError:
        return []
    return events


def _bounded_lines(handle: IO[bytes]) -> Iterator[bytes | None]:
    """The file's lines; None in place of a line longer than the bound (read in pieces)."""
    while line := handle.readline(MAX_LEDGER_LINE_BYTES + 1):
        if len(line) <= MAX_LEDGER_LINE_BYTES or line.endswith(b"\n"):
            yield line
            continue
        while (rest := handle.readline(MAX_LEDGER_LINE_BYTES)) and not rest.endswith(b"\n"):
            pass
        yield None


def _event(line: bytes | None, source: str) -> LedgerEntry | None:
    """One ledger line; None (logged) when it is blank, unreadable or not a ledger line."""
    if line is None:
        log.warning("%s: skipping a line over %d bytes", source, MAX_LEDGER_LINE_BYTES)
        return None
    if not line.strip():
        return None
    try:
        event = parse_json(line, source=source)
    except RegistryError as exc:
        log.warning("skipping unreadable ledger line: %s", exc)
        return None
    if not isinstance(event, dict):
        log.warning("%s: skipping a line that is not a JSON object", source)
        return None
    try:
        return LedgerEntry.model_validate(event)
    except ValidationError as exc:
        problems = validation_problems(exc)
        log.warning("%s: skipping a line that is not a ledger line: %s", source, problems)
        return None


def champion_history(events: Iterable[LedgerEntry]) -> list[str]:
    """Champion run ids as a stack, oldest first, replayed from ledger lines (oldest first).

    A promotion pushes its run; a rollback pops back to its target (or pushes a run that was
    never champion), so rolling back twice goes two champions back rather than toggling.
    """
    stack: list[str] = []
    for event in events:
        run_id = event.run_id
        if not event.moves_champion:
            continue
        if event.action == "rollback" and run_id in stack:
            del stack[len(stack) - stack[::-1].index(run_id) :]
        else:
            stack.append(run_id)
    return stack


def champion_before(history: list[str], current: str) -> str | None:
    """The champion before ``current`` in a :func:`champion_history`, or None if there is none."""
    if current in history:
        history = history[: len(history) - 1 - history[::-1].index(current)]
    earlier = [run_id for run_id in history if run_id != current]
    return earlier[-1] if earlier else None


def ledger_disagreement(champion: str, events: Iterable[LedgerEntry], ledger: Path) -> str | None:
    """Why champion.json and the ledger disagree, or None when its last champion move is it.

    Args:
        champion: The run id champion.json names.
        events: The ledger's lines, oldest first.
        ledger: The ledger file, for the message.
    """
    moves = [e for e in events if e.moves_champion]
    if moves and moves[-1].run_id == champion:
        return None
    last = (
        f"the last champion move is to run {moves[-1].run_id}"
        if moves
        else "no run was ever made champion"
    )
    return f"champion.json names run {champion}, but in the ledger {ledger} {last}"


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` and fsync it (a short write is continued)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def _truncate(handle: IO[bytes], size: int) -> None:
    """Cut a half-written line off (best effort: the disk may refuse this too)."""
    try:
        os.ftruncate(handle.fileno(), size)
        os.fsync(handle.fileno())
    except OSError:
        log.warning("could not remove a half-written ledger line from %s", handle.name)
