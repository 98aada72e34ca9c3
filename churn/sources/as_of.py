"""The snapshot date of a run or a scoring: ``--as-of`` / ``CHURN_AS_OF``, else today (UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from churn.settings import ChurnSettings, load_settings


def as_of_date(settings: ChurnSettings | None = None) -> date:
    """``CHURN_AS_OF`` (which ``--as-of`` sets), else today's date in UTC."""
    chosen = (settings or load_settings()).as_of
    return chosen if chosen is not None else datetime.now(UTC).date()


def parse_as_of(text: str) -> date:
    """An ``--as-of`` value: a calendar date ``YYYY-MM-DD``.

    Raises:
        ValueError: Not such a date; the message says what was expected.
    """
    try:
        if len(text) != len("YYYY-MM-DD"):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a date YYYY-MM-DD (e.g. 2026-12-01), got {text!r}") from None
