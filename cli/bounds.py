"""Upper bounds of the sizes a user passes to ``churn score`` and ``churn synth``.

A value outside its range is refused by typer before anything is read or written, naming the
option and the bound (``Invalid value for '--chunk-rows': Input should be less than or equal to
1000000``), with exit code 2. Plain numbers, so ``churn --help`` loads nothing more.
"""

from __future__ import annotations

from typing import Final

MAX_CHUNK_ROWS: Final = 1_000_000
"""Rows held in memory at once. ``churn synth`` on Telco peaks at 1.3 GB with 1,000,000-row
chunks (0.43 GB with the default 100,000); 10**9 was a MemoryError."""

MAX_SYNTH_ROWS: Final = 100_000_000
"""Rows ``churn synth`` writes: 20 times the scale benchmark's largest size; at the measured
~50,000 rows/s that is about 35 minutes and 2.6 GB of Parquet (more as CSV)."""

MAX_EXPLAIN: Final = 20
"""Reasons per row ``churn score --explain`` adds: ``churn.explain.MAX_REASONS`` (a test checks
that the two agree), repeated here so the option's bound loads nothing."""
