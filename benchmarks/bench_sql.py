"""SQL source benchmark: 1M Telco-shaped rows in a real PostgreSQL, read and written.

``churn synth`` writes the rows (Parquet); a throwaway PostgreSQL cluster
(``tests/postgres_server.py``, Debian's ``postgresql``) gets them in a table with a
``snapshot_date``. In one run, on the same rows and the same ``WHERE snapshot_date = :as_of``:

* read: ADBC's PostgreSQL driver (churn's path: the date bound into a session setting, then the
  query streamed by binary ``COPY``; the same query with ``$1`` bound, which the driver runs as a
  prepared statement; then churn's whole read with types and the order-free hash), connectorx
  (Arrow; it cannot bind parameters, so the date is formatted into its text),
  ``pandas.read_sql`` over SQLAlchemy + psycopg 3, and the same rows from Parquet
  (``pyarrow.parquet.read_table``, and churn's file read of them);
* write: 1M score rows into a table by ``write_scores`` (one transaction, COPY ingest) vs the
  same record batches into a Parquet file;
* the server's floor, no client at all: ``COPY (query) TO '/dev/null'`` and ``COPY table FROM``
  a file the server wrote, both binary: what any client must wait for.

Each is timed twice (the faster kept): wall clock, this process's CPU time (user+sys) and the
server's (the postmaster's own and its reaped backends', from ``/proc``), since a busy shared
machine inflates wall clocks far more than CPU time. Needs ``pip install -e '.[bench]'``.

    python -m benchmarks.bench_sql [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import yaml  # noqa: E402

from churn.contract.reading import read_frame_and_hash  # noqa: E402
from churn.sources.database_url import parse  # noqa: E402
from churn.sources.score_table import SCORE_SCHEMA, table_name, write_scores  # noqa: E402
from churn.sources.sql import read_snapshot  # noqa: E402
from churn.sources.sql_text import SET_PARAMETER  # noqa: E402
from churn.spec.loader import load_spec  # noqa: E402
from churn.synth import synthesize  # noqa: E402

SPEC = ROOT / "spec" / "telco.yaml"
RESULTS = ROOT / "benchmarks" / "results"
AS_OF = date(2026, 12, 1)
REPEATS = 2


def server_cpu(postmaster: int) -> float:
    """CPU seconds of the PostgreSQL server: the postmaster and its reaped backends."""
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def timed(work: Callable[[], Any], postmaster: int) -> dict[str, float]:
    """The faster of :data:`REPEATS` calls: wall seconds, this process's CPU seconds and the
    server's (its backends are reaped, so counted, once their connection closes)."""
    best: dict[str, float] = {}
    for _ in range(REPEATS):
        cpu, server, wall = os.times(), server_cpu(postmaster), time.perf_counter()
        work()
        wall = time.perf_counter() - wall
        time.sleep(0.5)  # the postmaster reaps the closed connection's backend
        after = os.times()
        used = after.user - cpu.user + after.system - cpu.system
        if not best or wall < best["wall_s"]:
            best = {
                "wall_s": round(wall, 3),
                "cpu_s": round(used, 3),
                "server_cpu_s": round(server_cpu(postmaster) - server, 3),
            }
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from postgres_server import running_postgres

    with tempfile.TemporaryDirectory() as scratch, running_postgres() as server:
        folder = Path(scratch)
        telco = load_spec(SPEC)
        parquet = folder / "telco.parquet"
        synthesize(telco, args.rows, parquet, seed=1)
        columns = list(telco.columns)
        table = pq.read_table(parquet)
        dated = table.append_column("snapshot_date", pa.array([AS_OF] * table.num_rows))
        _load(server, dated)
        quoted = ", ".join(f'"{name}"' for name in columns)
        query = f"SELECT {quoted} FROM telco WHERE snapshot_date = :as_of"
        spec_path = _sql_spec(folder, query)
        os.environ["CHURN_DATABASE_URL"] = server.url
        sql_spec = load_spec(spec_path)
        sql_source = sql_spec.sql_source
        assert sql_source is not None
        file_spec = load_spec(_file_spec(folder, parquet))
        positional = query.replace(":as_of", "$1")
        setting = query.replace(":as_of", "(SELECT current_setting('churn.as_of')::date)")
        results: dict[str, Any] = {"rows": args.rows, "load_before": os.getloadavg()}

        def adbc_fetch() -> None:
            import adbc_driver_postgresql.dbapi as dbapi

            with dbapi.connect(server.url) as connection, connection.cursor() as cursor:
                cursor.execute(SET_PARAMETER, parameters=("churn.as_of", AS_OF.isoformat()))
                cursor.fetchall()
                cursor.execute(setting)
                assert cursor.fetch_arrow_table().num_rows == args.rows

        def adbc_prepared() -> None:
            import adbc_driver_postgresql.dbapi as dbapi

            with dbapi.connect(server.url) as connection, connection.cursor() as cursor:
                cursor.execute(positional, parameters=(AS_OF,))
                assert cursor.fetch_arrow_table().num_rows == args.rows

        def connectorx_fetch() -> None:
            import connectorx as cx

            text = query.replace(":as_of", f"'{AS_OF.isoformat()}'")
            assert cx.read_sql(server.url, text, return_type="arrow").num_rows == args.rows

        def pandas_read_sql() -> None:
            import pandas as pd
            import sqlalchemy

            engine = sqlalchemy.create_engine(
                server.url.replace("postgresql://", "postgresql+psycopg://")
            )
            with engine.connect() as connection:
                frame = pd.read_sql(sqlalchemy.text(query), connection, params={"as_of": AS_OF})
            engine.dispose()
            assert len(frame) == args.rows

        reads = {
            "adbc: date in a bound setting, binary COPY (chosen)": adbc_fetch,
            "adbc: $1 bound, a prepared statement": adbc_prepared,
            "churn SQL read (adbc + types + order-free sha256)": lambda: read_snapshot(
                sql_spec, sql_source, AS_OF
            ),
            "churn SQL read to the raw frame": lambda: read_frame_and_hash(
                sql_spec, sql_spec.source_path, as_of=AS_OF
            ),
            "connectorx read_sql (arrow)": connectorx_fetch,
            "pandas.read_sql over SQLAlchemy + psycopg": pandas_read_sql,
            "server alone: COPY (query) TO '/dev/null' (binary)": lambda: server.execute(
                f"COPY ({query.replace(':as_of', repr(AS_OF.isoformat()))}) "
                "TO '/dev/null' (FORMAT binary)"
            ),
            "parquet pq.read_table": lambda: pq.read_table(parquet),
            "churn Parquet read to the raw frame (+ sha256)": lambda: read_frame_and_hash(
                file_spec, parquet
            ),
        }
        postmaster = int((server.socket_dir / "data" / "postmaster.pid").read_text().split()[0])
        results["read"] = {name: timed(work, postmaster) for name, work in reads.items()}
        scores = _scores(args.rows)
        url = parse(server.secret_url(), "bench")
        dump = server.socket_dir / "scores.bin"  # the server's own folder: it may write there
        results["write"] = {
            "write_scores into a table (COPY ingest, one transaction)": timed(
                lambda: write_scores(
                    url,
                    table_name("public.scores"),
                    scores.to_batches(),
                    run_id="bench",
                    as_of=AS_OF,
                ),
                postmaster,
            ),
            "server alone: COPY FROM a binary file it wrote (no index)": timed(
                lambda: _server_copy_in(server, dump), postmaster
            ),
            "the same batches into a Parquet file": timed(
                lambda: pq.write_table(scores, folder / "scores.parquet"), postmaster
            ),
        }
        results["load_after"] = os.getloadavg()
    _report(results)


def _server_copy_in(server: Any, dump: Path) -> None:
    """The server alone loads the scores: binary COPY from a file it wrote itself."""
    if not dump.exists():
        server.execute(f"COPY public.scores TO '{dump}' (FORMAT binary)")
    server.execute(
        "DROP TABLE IF EXISTS floor_scores",
        "CREATE TABLE floor_scores (LIKE public.scores)",
        f"COPY floor_scores FROM '{dump}' (FORMAT binary)",
    )


def _load(server: Any, table: pa.Table) -> None:
    import adbc_driver_postgresql.dbapi as dbapi

    with dbapi.connect(server.url) as connection, connection.cursor() as cursor:
        cursor.adbc_ingest("telco", table, mode="create")
        connection.commit()
    # Freshly loaded rows make their first reader set hint bits (writes) on every page: vacuum
    # first, so the first path timed is not charged for it.
    with dbapi.connect(server.url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute("VACUUM (FREEZE, ANALYZE) telco")


def _sql_spec(folder: Path, query: str) -> Path:
    spec = yaml.safe_load(SPEC.read_text())
    spec["data"]["source"] = {"kind": "sql", "query": query}
    path = folder / "sql.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _file_spec(folder: Path, parquet: Path) -> Path:
    spec = yaml.safe_load(SPEC.read_text())
    spec["data"]["source"] = str(parquet)
    path = folder / "file.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _scores(rows: int) -> pa.Table:
    ids = pc.cast(pa.array(range(rows)), pa.string())
    proba = pc.divide(pc.cast(pa.array(range(rows)), pa.float64()), float(rows))
    now = datetime.now(UTC)
    stamp = SCORE_SCHEMA.field("scored_at").type
    return pa.table(
        [ids, pa.array(["bench"] * rows), pa.array([now] * rows, stamp),
         pa.array([AS_OF] * rows, pa.date32()), proba, pc.greater_equal(proba, 0.5)],
        schema=SCORE_SCHEMA,
    )  # fmt: skip


def _report(results: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"sql-{stamp}.json").write_text(json.dumps(results, indent=2))
    loads = f"{results['load_before']} -> {results['load_after']}"
    print(f"{results['rows']:,} rows; load average {loads}")
    for block in ("read", "write"):
        for name, numbers in results[block].items():
            wall, cpu, server = numbers["wall_s"], numbers["cpu_s"], numbers["server_cpu_s"]
            times = f"{wall:>7.2f} s wall {cpu:>6.2f} s CPU + {server:>6.2f} s server"
            print(f"{block:<6} {name:<57} {times}")
    for goal, (slow, fast) in GOALS.items():
        a, b = results[slow[0]][slow[1]], results[fast[0]][fast[1]]
        total = (a["cpu_s"] + a["server_cpu_s"]) / max(b["cpu_s"] + b["server_cpu_s"], 1e-9)
        print(f"{goal:<60} {a['wall_s'] / b['wall_s']:>6.1f}x wall {total:>6.1f}x CPU")


CHOSEN = ("read", "adbc: date in a bound setting, binary COPY (chosen)")
PARQUET_READ = ("read", "parquet pq.read_table")
PARQUET_WRITE = ("write", "the same batches into a Parquet file")
GOALS = {
    "pandas.read_sql / chosen (goal >= 5)": (
        ("read", "pandas.read_sql over SQLAlchemy + psycopg"),
        CHOSEN,
    ),
    "chosen / Parquet read (goal <= 2)": (CHOSEN, PARQUET_READ),
    "churn's SQL read / churn's Parquet read (same frame)": (
        ("read", "churn SQL read to the raw frame"),
        ("read", "churn Parquet read to the raw frame (+ sha256)"),
    ),
    "the server alone / Parquet read (the floor)": (
        ("read", "server alone: COPY (query) TO '/dev/null' (binary)"),
        PARQUET_READ,
    ),
    "write_scores / Parquet write (goal <= 2)": (
        ("write", "write_scores into a table (COPY ingest, one transaction)"),
        PARQUET_WRITE,
    ),
    "the server alone / Parquet write (the floor)": (
        ("write", "server alone: COPY FROM a binary file it wrote (no index)"),
        PARQUET_WRITE,
    ),
}
"""Each goal's ratio: (slower, faster), as (block, name) in the results."""


if __name__ == "__main__":
    main()
