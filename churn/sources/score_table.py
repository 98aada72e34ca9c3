"""Writing scores into a database table: ``churn score --to-table SCHEMA.TABLE``.

One transaction on one connection: the table is created when missing (:data:`SCORE_COLUMNS`,
its declared schema), an existing table is checked to have those columns with those types (a
table that does not fit is refused, naming the columns), the rows of the same ``as_of`` and
``run_id`` are deleted, and the new rows go in by ADBC's bulk ingest (PostgreSQL ``COPY``, not
row-by-row INSERTs), streamed from the scoring as record batches. Only then is it committed:
a failure at any point (a contract failure in a later chunk, a dropped connection, a refused
write) rolls back, and the table is as it was. Scoring the same ``as_of`` with the same run
again replaces those rows, so the nightly job may be re-run.

The same table may hold the prediction log (``CHURN_PREDICTION_LOG_TABLE``,
:mod:`churn.monitoring.prediction_table`): the API's rows have no snapshot, so their ``as_of``
is NULL (the column is created nullable), and the DELETE of a re-scored night never touches
them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa

from churn.errors import ChurnError, SourceError
from churn.settings import ChurnSettings, load_settings
from churn.sources.database_url import DatabaseUrl, database_url, default_database_url
from churn.sources.sql import connect_database, database_failure

if TYPE_CHECKING:
    from adbc_driver_manager.dbapi import Cursor

    from churn.spec import Spec

SCORE_COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    "id": (pa.string(), "text"),
    "run_id": (pa.string(), "text"),
    "scored_at": (pa.timestamp("us", tz="UTC"), "timestamp with time zone"),
    "as_of": (pa.date32(), "date"),
    "churn_probability": (pa.float64(), "double precision"),
    "will_churn": (pa.bool_(), "boolean"),
}
"""The score table's columns: Arrow type of the rows written, PostgreSQL type of the column."""
NULLABLE = frozenset({"as_of"})
"""Columns created without NOT NULL: the prediction log's API rows have no ``as_of``."""
SCORE_SCHEMA = pa.schema([pa.field(name, kind, nullable=False) for name, (kind, _) in
                          SCORE_COLUMNS.items()])  # fmt: skip
_ALSO_FITS = {"text": ("character varying",)}
"""Other PostgreSQL types a column of an existing table may have."""
_NAME = re.compile(r"^(?:([A-Za-z_][A-Za-z0-9_]*)\.)?([A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class TableName:
    """``schema.table`` (schema ``public`` when omitted)."""

    schema: str
    table: str

    @property
    def quoted(self) -> str:
        """The name as SQL text."""
        return f'"{self.schema}"."{self.table}"'

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"


def table_name(text: str) -> TableName:
    """Parse ``--to-table``.

    Raises:
        ValueError: Not ``TABLE`` or ``SCHEMA.TABLE`` of letters, digits and underscores.
    """
    match = _NAME.match(text)
    if match is None:
        raise ValueError(f"expected SCHEMA.TABLE (letters, digits, _), got {text!r}")
    return TableName(match.group(1) or "public", match.group(2))


def write_scores(
    url: DatabaseUrl, name: TableName, batches: Iterable[pa.RecordBatch], *, run_id: str,
    as_of: date,
) -> int:  # fmt: skip
    """Replace the rows of (``as_of``, ``run_id``) in ``name`` with ``batches``, in one
    transaction; the number of rows written.

    Raises:
        SourceError: The database cannot be reached, the table does not fit, or the write fails
            (rolled back: the table is unchanged).
        ChurnError: Raised by ``batches`` (a contract failure), after the rollback.
    """
    rows = 0

    def counted() -> Iterable[pa.RecordBatch]:
        nonlocal rows
        for batch in batches:
            rows += batch.num_rows
            yield batch

    with connect_database(url) as connection, connection.cursor() as cursor:
        try:
            ensure_score_table(cursor, name, option="--to-table")
            cursor.execute(
                f"DELETE FROM {name.quoted} WHERE as_of = $1 AND run_id = $2",
                parameters=(as_of, run_id),
            )
            reader = pa.RecordBatchReader.from_batches(SCORE_SCHEMA, counted())
            cursor.adbc_ingest(name.table, reader, mode="append", db_schema_name=name.schema)
            connection.commit()
        except ChurnError:
            _rollback(connection)
            raise
        except Exception as exc:  # noqa: BLE001 - every driver error is worded
            _rollback(connection)
            raise database_failure(exc, url, "writing", f"table {name}") from None
    return rows


def _rollback(connection: object) -> None:
    """Roll back; a lost connection has rolled back on the server already."""
    with contextlib.suppress(Exception):
        connection.rollback()  # type: ignore[attr-defined]


def ensure_score_table(
    cursor: Cursor, name: TableName, *, option: str, as_of_nullable: bool = False
) -> frozenset[str]:
    """Create the table when missing; refuse one whose columns do not fit (``option`` names
    the setting that chose the table). The table's column names.

    Raises:
        SourceError: A column is missing or of another type, or (``as_of_nullable``, for rows
            without ``as_of``) ``as_of`` is NOT NULL.
    """
    cursor.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = $1 AND table_name = $2",
        parameters=(name.schema, name.table),
    )
    rows = cursor.fetchall()
    found = {str(column): str(kind) for column, kind, _ in rows}
    nullable = {str(column) for column, _, null in rows if str(null) == "YES"}
    if not found:
        columns = ", ".join(
            f"{col} {kind}{'' if col in NULLABLE else ' NOT NULL'}"
            for col, (_, kind) in SCORE_COLUMNS.items()
        )
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {name.quoted} ({columns})")
        # BRIN: a few pages for the whole table, nearly free to keep up as the nights are
        # appended in date order (a btree on (as_of, run_id) cost a third more server CPU per
        # write in a 300,000-row check), and enough for the DELETE of a re-scored night; the
        # one on scored_at serves `churn outcomes`' date window on the prediction log.
        for column in ("as_of", "scored_at"):
            cursor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name.table}_{column}" ON {name.quoted} '
                f"USING brin ({column})"
            )
        return frozenset(SCORE_COLUMNS)
    problems = []
    for column, (_, kind) in SCORE_COLUMNS.items():
        if column not in found:
            problems.append(f"{column} is missing (expected {kind})")
        elif found[column] != kind and found[column] not in _ALSO_FITS.get(kind, ()):
            problems.append(f"{column} is {found[column]} (expected {kind})")
    if as_of_nullable and "as_of" in found and "as_of" not in nullable:
        problems.append(
            "as_of is NOT NULL, and the API's rows have no as_of "
            f"(ALTER TABLE {name.quoted} ALTER COLUMN as_of DROP NOT NULL)"
        )
    if problems:
        raise SourceError(
            f"table {name} does not fit the scores: {'; '.join(problems)}; use another "
            f"{option}, or let churn create it"
        )
    return frozenset(found)


def scores_database(spec: Spec, settings: ChurnSettings | None = None) -> DatabaseUrl:
    """The database of the score table and the prediction log table: the spec's SQL
    source's, else ``CHURN_DATABASE_URL`` or ``CHURN_DATABASE_URL_FILE`` (of ``settings``,
    else read now).

    Raises:
        SourceError: Neither is set, or the URL is not a PostgreSQL URL.
    """
    settings = settings or load_settings()
    if spec.sql_source is not None:
        return database_url(spec.sql_source, spec.place("data", "source"), settings)
    return default_database_url(settings, "a score table")
