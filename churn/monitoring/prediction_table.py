"""The prediction log in a database table: ``CHURN_PREDICTION_LOG_TABLE=SCHEMA.TABLE``.

The recorder's thread hands each flush (:func:`~churn.monitoring.prediction_log.log_table`: the
log's columns, whatever they are) to :class:`PredictionTableWriter`, which appends it by ADBC's
bulk ingest (PostgreSQL ``COPY``) in one transaction on a connection it keeps open. The table is
the score table of ``churn score --to-table`` (:mod:`churn.sources.score_table`: created when
missing, refused when it does not fit), so one table holds both: the API's rows have
``as_of`` NULL (a live request reads no snapshot), and only the columns the table has are
written (a log column the table lacks stays out of it).

A broken or unreachable database never reaches a request. A flush that cannot be written is
kept, with the flushes before it, in a backlog of at most ``max_backlog`` records that the next
attempt writes first, in the same transaction; past the bound the oldest records are dropped
(counted ``dropped``), and so are those still kept when the process stops (after one last
attempt). After a failure the next attempts wait 1, 2, 4, ... up to 30 s (flushes meanwhile
join the backlog), so a server that is down costs one connection attempt per back-off, not one
per second.

A hung database never holds the recorder's thread for long: the writer's connections carry
``statement_timeout`` and ``lock_timeout`` (``write_timeout``, 10 s by default; a table locked
by a long migration, a server that stopped answering mid-``COPY``) and libpq's
``tcp_user_timeout`` (a peer gone from the network), besides the ``connect_timeout`` of every
churn connection. A write that times out is a failed flush like any other: kept in the
backlog, counted ``failed``, logged once with the server's words ("canceling statement due to
statement timeout").

:func:`read_table_predictions` reads the table back for ``churn outcomes``: only the log's
columns and the rows of a date window, filtered by the server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyarrow as pa
from pydantic import SecretStr

from churn.errors import SourceError
from churn.monitoring.prediction_log import LOG_SCHEMA, log_table
from churn.monitoring.scored import Count, ScoredBatch, Sink
from churn.settings import ChurnSettings
from churn.sources.database_url import DatabaseUrl, default_database_url
from churn.sources.score_table import TableName, ensure_score_table, scores_database, table_name
from churn.sources.sql import connect_database, database_failure

if TYPE_CHECKING:
    from adbc_driver_manager.dbapi import Connection

    from churn.spec import Spec

log = logging.getLogger(__name__)

SINK_NAME: Final = "prediction_log_table"
"""The sink's name in ``churn_recorded_records_total{sink}``."""
MAX_BACKLOG_RECORDS: Final = 300_000
"""Records kept for a retry while the database is unreachable: five minutes at 1,000 records
a second, about 30 MB."""
WRITE_TIMEOUT_SECONDS: Final = 10.0
"""The longest a flush's statements (and the wait for a lock) may take before the server
cancels them."""
RETRY_SECONDS: Final = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
"""Waits before the next attempt after 1, 2, ... failures in a row."""
OPTION: Final = "CHURN_PREDICTION_LOG_TABLE"


def prediction_table_target(
    settings: ChurnSettings, spec: Spec | None
) -> tuple[DatabaseUrl, TableName] | None:
    """The database and table of ``CHURN_PREDICTION_LOG_TABLE`` (None when unset): the
    spec's SQL source's database, else ``CHURN_DATABASE_URL`` (or ``CHURN_DATABASE_URL_FILE``).

    Raises:
        SourceError: The table is set but no database is, or the URL is not PostgreSQL's.
    """
    if settings.prediction_log_table is None:
        return None
    name = table_name(settings.prediction_log_table)  # the setting's pattern checked it
    if spec is not None:
        return scores_database(spec, settings), name
    return default_database_url(settings, OPTION), name


def unusable_table_sink(error: SourceError) -> Sink:
    """The sink of a log table whose database is not configured: every flush fails with
    ``error`` (so it is logged and counted, and the alert fires, but nothing stops)."""

    def consume(batches: Sequence[ScoredBatch]) -> int:
        raise error

    return Sink(SINK_NAME, consume)


class PredictionTableWriter:
    """Appends the log's flushes to one table, keeping failed ones for a bounded retry."""

    def __init__(
        self,
        url: DatabaseUrl,
        name: TableName,
        *,
        max_backlog: int = MAX_BACKLOG_RECORDS,
        retry_seconds: Sequence[float] = RETRY_SECONDS,
        write_timeout: float = WRITE_TIMEOUT_SECONDS,
        count: Count | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.write_timeout = write_timeout
        self.name = name
        self.max_backlog = max_backlog
        self.retry_seconds = tuple(retry_seconds)
        self._count = count or (lambda sink, result, n: None)
        self._clock = clock
        self._connection: Connection | None = None
        self._columns: frozenset[str] = frozenset()
        self._backlog: deque[pa.Table] = deque()
        self._backlog_rows = 0
        self._failures = 0
        self._retry_at = 0.0
        self._lock = threading.Lock()  # close() may come while a late flush still writes

    @property
    def backlog_rows(self) -> int:
        """Records kept for the next attempt."""
        return self._backlog_rows

    def sink(self) -> Sink:
        """The recorder's sink."""

        def consume(batches: Sequence[ScoredBatch]) -> int:
            return self.write(log_table(batches))

        return Sink(SINK_NAME, consume, close=self.close)

    def write(self, table: pa.Table) -> int:
        """Append ``table`` after the backlog, in one transaction; the records written.

        Raises:
            SourceError: Nothing was written (``table`` is kept for the next attempt), or the
                last failure's back-off has not passed yet.
        """
        with self._lock:
            return self._write(table)

    def _write(self, table: pa.Table) -> int:
        self._keep(table)
        wait = self._retry_at - self._clock()
        if wait > 0:
            raise SourceError(
                f"table {self.name} at {self.url.where}: {self._backlog_rows:,} records wait "
                f"for the next attempt in {wait:.0f} s"
            )
        try:
            written = self._append(pa.concat_tables(self._backlog, promote_options="default"))
        except SourceError:
            self._disconnect()
            self._failures += 1
            delay = self.retry_seconds[min(self._failures, len(self.retry_seconds)) - 1]
            self._retry_at = self._clock() + delay
            raise
        self._backlog.clear()
        self._backlog_rows = self._failures = 0
        return written

    def close(self) -> None:
        """Try the backlog once more (back-off or not), close the connection; the records
        still kept are counted ``dropped``."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._backlog_rows and self._failures:  # one last attempt, whatever the back-off
            with contextlib.suppress(SourceError):
                rows = self._append(pa.concat_tables(self._backlog, promote_options="default"))
                self._count(SINK_NAME, "written", rows)
                self._backlog.clear()
                self._backlog_rows = 0
        self._disconnect()
        if self._backlog_rows:
            log.error("%s: %d records dropped at exit (the database was unreachable)",
                      SINK_NAME, self._backlog_rows)  # fmt: skip
            self._count(SINK_NAME, "dropped", self._backlog_rows)
            self._backlog.clear()
            self._backlog_rows = 0

    def _keep(self, table: pa.Table) -> None:
        self._backlog.append(table)
        self._backlog_rows += table.num_rows
        excess = self._backlog_rows - self.max_backlog
        dropped = 0
        while excess > 0:
            oldest = self._backlog[0]
            if oldest.num_rows <= excess:
                self._backlog.popleft()
                cut = oldest.num_rows
            else:
                self._backlog[0] = oldest.slice(excess)
                cut = excess
            excess -= cut
            dropped += cut
        if dropped:
            self._backlog_rows -= dropped
            self._count(SINK_NAME, "dropped", dropped)

    def _append(self, table: pa.Table) -> int:
        """Ingest ``table``'s columns the database table has; commit.

        Raises:
            SourceError: The database is unreachable, the table does not fit, or the write
                fails (rolled back).
        """
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                if not self._columns:
                    self._columns = ensure_score_table(
                        cursor, self.name, option=OPTION, as_of_nullable=True
                    )
                kept = table.select([c for c in table.column_names if c in self._columns])
                cursor.adbc_ingest(
                    self.name.table, kept, mode="append", db_schema_name=self.name.schema
                )
            connection.commit()
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - every driver error is worded
            raise database_failure(exc, self.url, "writing", f"table {self.name}") from None
        rows: int = table.num_rows
        return rows

    def _connect(self) -> Connection:
        if self._connection is None:
            timed = with_timeouts(self.url, self.write_timeout)
            connection = connect_database(timed, attempts=1)
            try:
                set_timeouts(connection, self.write_timeout)
            except Exception as exc:  # noqa: BLE001 - every driver error is worded
                with contextlib.suppress(Exception):
                    connection.close()
                raise database_failure(exc, self.url, "connecting", None) from None
            self._connection = connection
            self._columns = frozenset()
        return self._connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # a lost connection has rolled back already
                self._connection.rollback()
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None


def with_timeouts(url: DatabaseUrl, seconds: float) -> DatabaseUrl:
    """``url`` whose connections give up on a peer that stops acknowledging after ``seconds``
    (libpq's ``tcp_user_timeout``), unless the URL sets its own."""
    parts = urlsplit(url.secret.get_secret_value())
    options = dict(parse_qsl(parts.query))
    options.setdefault("tcp_user_timeout", str(max(1, round(seconds * 1000))))
    secret = SecretStr(urlunsplit(parts._replace(query=urlencode(options))))
    return dataclasses.replace(url, secret=secret)


def set_timeouts(connection: Connection, seconds: float) -> None:
    """Make the server cancel this session's statements, and its waits for a lock, after
    ``seconds`` (committed: a later rollback keeps them)."""
    millis = max(1, round(seconds * 1000))
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {millis}")
        cursor.execute(f"SET lock_timeout = {millis}")
    connection.commit()


def read_table_predictions(
    url: DatabaseUrl, name: TableName, start: datetime, end: datetime
) -> pa.Table:
    """The log's columns of the rows scored in ``[start, end)`` (:data:`LOG_SCHEMA`).

    Raises:
        SourceError: The database cannot be reached or refuses the query (a missing table).
    """
    columns = ", ".join(LOG_SCHEMA.names)
    sql = f"SELECT {columns} FROM {name.quoted} WHERE scored_at >= $1 AND scored_at < $2"
    with connect_database(url) as connection, connection.cursor() as cursor:
        try:
            cursor.execute(sql, parameters=(start, end))
            table = cursor.fetch_arrow_table()
        except Exception as exc:  # noqa: BLE001 - every driver error is worded
            raise database_failure(exc, url, "reading", f"{OPTION} {name}") from None
        connection.rollback()
    return table.cast(LOG_SCHEMA.remove_metadata())
