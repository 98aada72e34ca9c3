"""Helpers of the SQL source tests: the snapshots they load, tables, specs with a SQL source.

``subscriptions`` has the spec's columns plus ``snapshot_date``: 600 rows dated
:data:`AS_OF` and 600 other rows dated :data:`EARLIER`. Tests that change rows make their own
table (:func:`load_table`), so the shared one stays as loaded.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import yaml
from factories import subscriptions_frame, subscriptions_spec
from postgres_server import PostgresServer

AS_OF = date(2026, 12, 1)
EARLIER = date(2026, 11, 30)
COLUMNS = "account_id, plan, region, monthly_fee, support_calls, months_active, churned"
SNAPSHOT_QUERY = f"SELECT {COLUMNS} FROM subscriptions WHERE snapshot_date = :as_of"
"""The query of :func:`sql_spec` by default: one dated snapshot, ``:as_of`` bound."""


def load_table(server: PostgresServer, name: str, frame: pd.DataFrame) -> None:
    """Replace table ``name`` with ``frame`` (ADBC's bulk ingest; fixture setup)."""
    import adbc_driver_postgresql.dbapi as dbapi

    server.execute(f"DROP TABLE IF EXISTS {name}")
    with dbapi.connect(server.url) as connection, connection.cursor() as cursor:
        schema, _, table = name.rpartition(".")
        data = pa.Table.from_pandas(frame, preserve_index=False)
        cursor.adbc_ingest(table, data, mode="create", db_schema_name=schema or None)
        connection.commit()


def snapshots_frame() -> pd.DataFrame:
    """Both snapshots, with their ``snapshot_date``."""
    today = subscriptions_frame(600, seed=0).assign(snapshot_date=AS_OF)
    before = subscriptions_frame(600, seed=1).assign(snapshot_date=EARLIER)
    return pd.concat([today, before], ignore_index=True)


def sql_spec(folder: Path, **source: Any) -> Path:
    """A subscriptions spec in ``folder`` whose source is ``{kind: sql, **source}`` (default:
    the snapshot query, URL from ``CHURN_DATABASE_URL``)."""
    spec = subscriptions_spec()
    spec["data"]["source"] = {"kind": "sql", **(source or {"query": SNAPSHOT_QUERY})}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path
