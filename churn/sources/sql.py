"""Reading a SQL source: one snapshot (``--as-of``) of a query or table, straight to Arrow.

Rows come through ADBC's PostgreSQL driver (``adbc-driver-postgresql``, libpq and PostgreSQL's
binary protocol into Arrow arrays; chosen over connectorx and ``pandas.read_sql`` by the
measurement in ``benchmarks/bench_sql.py``), by PostgreSQL's binary ``COPY``. The query's
``:as_of`` is bound as a transaction's session setting, ``churn.as_of``, which the query reads
(:mod:`churn.sources.sql_text`): never formatted into the text. Columns are given the types
a file would have: integers as int64, ``numeric`` as float64, ``real`` as float64; the
contract checks the rest.

The snapshot's sha256 does not depend on the order the server returns rows in: the table is
sorted by the spec's id column, then by every column, before it is hashed
(:mod:`churn.sources.snapshot_hash`).

Failures are :class:`~churn.errors.SourceError` (exit 5) naming ``host:port`` and, for a
query the server refuses, the spec's line of the query; an empty result is a
:class:`~churn.errors.DataContractError` (exit 3). No message holds the password.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from churn.errors import DataContractError, SourceError, one_line
from churn.sources.database_url import DatabaseUrl, database_url
from churn.sources.snapshot_hash import snapshot_sha256
from churn.sources.sql_text import SET_PARAMETER, SETTING_PREFIX, with_settings
from churn.spec.sources import SqlSource

if TYPE_CHECKING:
    from adbc_driver_manager.dbapi import Connection

    from churn.spec import Spec

CONNECT_ATTEMPTS = 3
"""Connections tried before an unreachable server is reported (1 s, then 2 s apart)."""
_LOST = ("08", "57P")
"""SQLSTATE classes of a connection lost or a server shutting down."""
_LOGIN = ("28",)
"""SQLSTATE class of a refused login (wrong password, unknown user)."""


@dataclass(frozen=True)
class Snapshot:
    """The rows of one read, the read itself, and their order-free sha256."""

    table: pa.Table
    read: SqlRead
    sha256: str


@dataclass(frozen=True)
class SqlRead:
    """What one read of a SQL source runs, worked out before connecting."""

    source: SqlSource
    url: DatabaseUrl
    sql: str
    """The text sent: ``:as_of`` read from the setting ``churn.as_of``."""
    settings: tuple[tuple[str, str], ...]
    """The settings bound before it: (name, value as text)."""
    parameters: dict[str, str]
    where: str
    """The spec's ``FILE:LINE: data.source.query`` (or ``.table``)."""

    def record(self) -> dict[str, Any]:
        """The fields a run records about the read (``DataRecord``): no password."""
        recorded: dict[str, Any] = {"kind": "sql", "url": self.url.shown}
        if self.source.table is not None:
            recorded["table"] = self.source.table
        else:
            recorded["query"] = self.source.sql
        recorded["parameters"] = self.parameters
        return recorded


def plan_read(spec: Spec, source: SqlSource, as_of: date) -> SqlRead:
    """The URL, the SQL text and its bound values for ``as_of`` (nothing is connected).

    Raises:
        SourceError: No URL, or not a PostgreSQL URL.
        SpecError: The query uses a parameter other than ``:as_of``.
    """
    where = spec.place("data", "source", "query" if source.query is not None else "table")
    return plan_source_read(source, as_of, where, spec.place("data", "source"))


def plan_source_read(source: SqlSource, as_of: date, where: str, url_where: str) -> SqlRead:
    """:func:`plan_read` of a source given outside a spec (``churn outcomes --query``):
    ``where`` names the query and ``url_where`` the URL's origin in messages.

    Raises:
        SourceError: No URL, or not a PostgreSQL URL.
        SpecError: The query uses a parameter other than ``:as_of``.
    """
    sql, names = with_settings(source.sql, where)
    values = {"as_of": as_of}
    parameters = {name: values[name].isoformat() for name in names}
    settings = tuple((f"{SETTING_PREFIX}{name}", text) for name, text in parameters.items())
    url = database_url(source, url_where)
    return SqlRead(source, url, sql, settings, parameters, where)


def read_snapshot(spec: Spec, source: SqlSource, as_of: date) -> Snapshot:
    """Read the rows of ``source`` for ``as_of``.

    Raises:
        SourceError: The database cannot be reached, refuses the login or the query, or drops
            the connection.
        DataContractError: The result has no rows.
        SpecError: The query uses a parameter other than ``:as_of``.
    """
    read = plan_read(spec, source, as_of)
    table = fetch_rows(read)
    id_column = spec.data.id if spec.data.id in table.column_names else None
    return Snapshot(table, read, snapshot_sha256(table, id_column))


def fetch_rows(read: SqlRead) -> pa.Table:
    """The rows of a planned read, in the types a file would give (:func:`file_types`).

    Raises:
        SourceError: The database cannot be reached, refuses the login or the query, or drops
            the connection.
        DataContractError: The result has no rows.
    """
    with connect_database(read.url) as connection, connection.cursor() as cursor:
        try:
            for setting in read.settings:
                cursor.execute(SET_PARAMETER, parameters=setting)
                cursor.fetchall()
            cursor.execute(read.sql)
            table = cursor.fetch_arrow_table()
        except Exception as exc:  # noqa: BLE001 - every driver error is worded below
            raise database_failure(exc, read.url, "reading", read.where) from None
        connection.rollback()
    if table.num_rows == 0:
        shown = ", ".join(f"{k}={v}" for k, v in read.parameters.items())
        source = read.source
        raise DataContractError(
            source.label,
            [f"the {source.label} returned no rows{f' for {shown}' if shown else ''} "
             f"({read.where})"],
        )  # fmt: skip
    return file_types(table)


def connect_database(url: DatabaseUrl, *, attempts: int | None = None) -> Connection:
    """An ADBC connection (autocommit off), tried ``attempts`` (default
    :data:`CONNECT_ATTEMPTS`) times when the server cannot be reached; a refused login is not
    retried.

    Raises:
        SourceError: The server is unreachable or refuses the login.
    """
    import adbc_driver_postgresql.dbapi as dbapi

    tries = CONNECT_ATTEMPTS if attempts is None else attempts
    for attempt in range(1, tries + 1):
        try:
            connection: Connection = dbapi.connect(url.connect_url())
            return connection
        except Exception as exc:  # noqa: BLE001 - worded below
            text = _driver_text(exc, url)
            if _is_login_refused(exc, text) or attempt >= tries:
                raise database_failure(exc, url, "connecting", None, attempts=attempt) from None
            time.sleep(attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def database_failure(
    exc: BaseException, url: DatabaseUrl, doing: str, where: str | None, *, attempts: int = 1
) -> SourceError:
    """One :class:`SourceError` for a driver error: host and port, what failed, the server's
    words (the password scrubbed), and ``where`` (the spec's line) for a refused statement."""
    text = _driver_text(exc, url)
    state = str(getattr(exc, "sqlstate", None) or "")
    if doing == "connecting":
        if _is_login_refused(exc, text):
            return SourceError(f"the database at {url.where} refused the login of {url.shown}: "
                               f"{text}; check the user and password in the URL")  # fmt: skip
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        return SourceError(f"cannot reach the database at {url.where}{tries}: {text}")
    if state.startswith(_LOST) or ("connection" in text.lower() and not state):
        kept = "the table is unchanged" if doing == "writing" else "nothing was recorded"
        return SourceError(
            f"the connection to the database at {url.where} was lost while {doing}: {text}; {kept}"
        )
    refused = f"{where}: " if where else ""
    what = "query" if doing == "reading" else "write"
    return SourceError(f"{refused}the database at {url.where} refused the {what}: {text}")


def _is_login_refused(exc: BaseException, text: str) -> bool:
    state = str(getattr(exc, "sqlstate", None) or "")
    return (
        state.startswith(_LOGIN)
        or "authentication failed" in text
        or ("role" in text and ("does not exist" in text))
    )


def _driver_text(exc: BaseException, url: DatabaseUrl) -> str:
    """The driver's message on one line: no ``IO: [libpq]`` prefix, no echoed query, no
    password (scrubbed wherever it appears)."""
    text = str(exc)
    for marker in ("\nQuery was:", ". SQLSTATE:"):
        text = text.split(marker)[0]
    for prefix in ("IO: ", "[libpq] ", "NOT_FOUND: ", "INVALID_ARGUMENT: ", "INTERNAL: "):
        text = text.removeprefix(prefix)
    text = one_line(Exception(text))
    secret = url.secret.get_secret_value()
    from urllib.parse import urlsplit

    password = urlsplit(secret).password
    for hidden in (secret, password):
        if hidden:
            text = text.replace(hidden, "***")
    return text


def file_types(table: pa.Table) -> pa.Table:
    """The columns as a file would give them: int64, float64, and ``numeric`` as float64."""
    for index, field in enumerate(table.schema):
        column = table.column(index)
        target = _file_type(field.type)
        if target is None:
            continue
        if isinstance(field.type, pa.BaseExtensionType):
            column = pa.chunked_array(
                [chunk.storage for chunk in column.chunks], type=field.type.storage_type
            )
        try:
            column = pc.cast(column, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue  # the contract names the values that do not fit
        table = table.set_column(index, pa.field(field.name, target), column)
    return table


def _file_type(kind: pa.DataType) -> pa.DataType | None:
    if isinstance(kind, pa.BaseExtensionType):
        storage = kind.storage_type
        numeric = getattr(kind, "type_name", "") == "numeric" and pa.types.is_string(storage)
        return pa.float64() if numeric else storage
    if pa.types.is_integer(kind) and kind != pa.int64():
        return pa.int64()
    if pa.types.is_floating(kind) and kind != pa.float64():
        return pa.float64()
    if pa.types.is_decimal(kind):
        return pa.float64()
    return None


def sql_record(spec: Spec, as_of: date) -> dict[str, Any]:
    """What a run records about its SQL source read at ``as_of`` (``{}`` for a file)."""
    source = spec.sql_source
    return {} if source is None else plan_read(spec, source, as_of).record()
