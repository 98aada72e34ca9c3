"""Options shared by more than one command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="Registry folder (default: $CHURN_HOME or ./artifacts)."),
]


def _as_of(value: str | None) -> str | None:
    """Check an ``--as-of`` date (exit 2 when malformed) and hand it on as ``CHURN_AS_OF``."""
    if value is None:
        return None
    from churn.sources.as_of import parse_as_of

    try:
        parsed = parse_as_of(value).isoformat()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    os.environ["CHURN_AS_OF"] = parsed  # read by the settings, in this process and its workers
    return parsed


def refuse_as_of(as_of: str | None, read: str) -> None:
    """A usage error (exit 2) when ``--as-of`` was given for a read it cannot change.

    ``--as-of`` only picks a SQL source's snapshot; a file or URL (``read`` names it) is read
    whole, so the date would be ignored without a word.
    """
    if as_of is not None:
        raise typer.BadParameter(
            f"picks the snapshot of a SQL source (data.source with kind: sql), but {read} is "
            "read whole; leave --as-of out",
            param_hint="--as-of",
        )


AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="YYYY-MM-DD",
        callback=_as_of,
        help="The snapshot date bound as :as_of in a SQL source's query (default: "
        "$CHURN_AS_OF, else today in UTC).",
    ),
]
