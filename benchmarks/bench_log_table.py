"""Prediction log benchmark: one flush into the database table vs one Parquet file.

The cost the recorder's thread pays per flush (the API process's CPU, what competes with the
requests), in one run, on the same flushes of 100 and 1,000 records: ``PredictionTableWriter``
(``CHURN_PREDICTION_LOG_TABLE``: one transaction of ADBC bulk ingest on a kept connection)
into a throwaway PostgreSQL (``tests/postgres_server.py``, Debian's ``postgresql``) against
``PredictionLogFolder`` (one zstd Parquet file, atomic rename). This process's CPU time
(user+sys) per flush and the wall clock; the server's own work is not counted.

    python -m benchmarks.bench_log_table [--flushes 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from pydantic import SecretStr  # noqa: E402

from churn.monitoring.prediction_log import PredictionLogFolder, log_table  # noqa: E402
from churn.monitoring.prediction_table import PredictionTableWriter  # noqa: E402
from churn.monitoring.scored import ScoredBatch  # noqa: E402
from churn.sources.database_url import parse  # noqa: E402
from churn.sources.score_table import table_name  # noqa: E402


def flushes(count: int, size: int) -> list[pa.Table]:
    """``count`` log tables of ``size`` records each."""
    rng = np.random.default_rng(0)
    ids = [f"C{i:07d}" for i in range(size)]
    out = []
    for _ in range(count):
        proba = rng.random(size)
        out.append(log_table([ScoredBatch(ids, "r1", time.time(), proba, proba >= 0.5)]))
    return out


def timed(write: Callable[[pa.Table], object], tables: list[pa.Table]) -> tuple[float, float]:
    """Milliseconds of CPU and of wall clock per flush."""
    cpu, wall = time.process_time(), time.perf_counter()
    for table in tables:
        write(table)
    return (
        1000 * (time.process_time() - cpu) / len(tables),
        1000 * (time.perf_counter() - wall) / len(tables),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flushes", type=int, default=100)
    args = parser.parse_args()
    from postgres_server import running_postgres

    with tempfile.TemporaryDirectory() as scratch, running_postgres() as server:
        writer = PredictionTableWriter(parse(SecretStr(server.url), "bench"), table_name("log"))
        folder = PredictionLogFolder(Path(scratch), max_bytes=10**12)
        writer.write(flushes(1, 10)[0])  # connect and create the table first
        for size in (100, 1000):
            tables = flushes(args.flushes, size)
            paths: dict[str, Callable[[pa.Table], object]] = {
                "database table": writer.write,
                "Parquet file": lambda table: folder.write(table, datetime.now(UTC)),
            }
            for name, write in paths.items():
                cpu, wall = timed(write, tables)
                print(f"{name:15} {size:5,} records/flush: {cpu:6.2f} ms CPU, {wall:6.2f} ms wall")
        writer.close()


if __name__ == "__main__":
    main()
