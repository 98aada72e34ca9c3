"""The defaults the CLI names in its signatures, as plain values importable without
pydantic-settings: the spec, the registry home (:mod:`churn.settings` re-exports both) and
the chunk sizes of ``churn score`` and ``churn synth``."""

from __future__ import annotations

from pathlib import Path
from typing import Final

DEFAULT_SPEC: Final = Path("spec/telco.yaml")
"""The spec every command uses when none is named."""
DEFAULT_HOME: Final = Path("artifacts")
"""The registry home when neither ``--home`` nor ``CHURN_HOME`` names one."""
SCORE_CHUNK_ROWS: Final = 50_000
"""Rows ``churn score`` reads, checks and scores at once (``--chunk-rows``)."""
SYNTH_CHUNK_ROWS: Final = 100_000
"""Rows ``churn synth`` generates and writes at once (``--chunk-rows``)."""
