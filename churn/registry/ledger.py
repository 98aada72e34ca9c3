"""The promotion ledger: an append-only JSON-lines file, and the champion history it implies.

Every promotion, rejection, hold and rollback is one line (``action``, ``run_id``,
``previous``, ``reason``, ``timestamp``, plus whatever the caller records).

Guarantees:

* A line is only ever appended, then flushed and fsynced; earlier lines are never rewritten.
* A torn last line (a crash mid-append) stays on its own line: the next append starts on a new
  line, and readers log and skip lines they cannot parse instead of failing.

Nothing happens at import time.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from churn.errors import RegistryError
from churn.registry.atomic_io import to_json

log = logging.getLogger(__name__)

LEDGER_ACTIONS: Final = frozenset(
    {"promote", "reject", "keep_champion", "hold", "unchanged", "force_promote", "rollback"}
)
"""Every action a ledger line may record."""
CHAMPION_ACTIONS: Final = frozenset({"promote", "force_promote", "rollback"})
"""Ledger actions that move the champion pointer."""


def append_event(
    path: Path,
    event: Mapping[str, Any],
    *,
    now: Callable[[], str],
    champion: Callable[[], str | None],
) -> dict[str, Any]:
    """Append one JSON line to the ledger at ``path`` (flushed and fsynced) and return it.

    Args:
        path: The ledger file; it and its folder are created if missing.
        event: The line; needs ``action`` and ``run_id``.
        now: Returns the current time as text; the default ``timestamp``.
        champion: Returns the current champion's run id; the default ``previous``. Called only
            when ``event`` has no ``previous``.

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
        line["previous"] = champion()
    line = {"timestamp": now(), **line}
    line.setdefault("reason", "")
    text = to_json(line) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        if handle.tell() > 0 and not _ends_with_newline(path):
            text = "\n" + text  # a torn last line from a crash stays on its own line
        handle.write(text.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    return line


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every readable line of the ledger at ``path``, oldest first (none if it is missing).

    Unreadable lines are logged and skipped.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    events = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            log.warning("%s:%d: skipping unreadable ledger line", path, number)
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def champion_history(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """Champion run ids as a stack, oldest first, replayed from ledger lines (oldest first).

    A promotion pushes its run; a rollback pops back to its target (or pushes a run that was
    never champion), so rolling back twice goes two champions back rather than toggling.
    """
    stack: list[str] = []
    for event in events:
        run_id, action = event.get("run_id"), event.get("action")
        if not isinstance(run_id, str) or action not in CHAMPION_ACTIONS:
            continue
        if action == "rollback" and run_id in stack:
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


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"
