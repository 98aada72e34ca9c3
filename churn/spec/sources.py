"""The ``data.source`` of a spec that reads a database: ``{kind: sql, ...}``.

The connection URL (with its password) is never written in the spec: ``url_env`` names the
environment variable that holds it (``CHURN_DATABASE_URL`` by default) and ``url_file`` a file
that holds it (a mounted Kubernetes Secret). Rows come from ``query`` (which may use the
snapshot date as ``:as_of``, bound as a parameter) or from a whole ``table``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from churn.spec.base import StrictModel

DEFAULT_URL_ENV = "CHURN_DATABASE_URL"
"""The environment variable a SQL source reads its URL from when it names neither."""
_VARIABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_TABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$"


class SqlSource(StrictModel):
    """Rows from a PostgreSQL database: a query (``:as_of`` bound) or a whole table."""

    kind: Literal["sql"] = Field(description="`sql`: read the rows from a database.")
    url_env: str | None = Field(
        default=None,
        pattern=_VARIABLE_NAME,
        description="Environment variable holding the URL "
        "(`postgresql://user:password@host:port/db`); default CHURN_DATABASE_URL.",
    )
    url_file: str | None = Field(
        default=None,
        min_length=1,
        description="A file holding the URL (e.g. a mounted Kubernetes Secret); instead of "
        "url_env.",
    )
    query: str | None = Field(
        default=None,
        min_length=1,
        description="A SELECT; `:as_of` is the snapshot date (`churn run --as-of`), bound as "
        "a parameter, never formatted into the text.",
    )
    table: str | None = Field(
        default=None,
        pattern=_TABLE_NAME,
        description="A whole table (`name` or `schema.name`), instead of query.",
    )

    @model_validator(mode="after")
    def _one_of_each(self) -> SqlSource:
        if self.url_env is not None and self.url_file is not None:
            raise ValueError("give url_env or url_file, not both")
        if (self.query is None) == (self.table is None):
            raise ValueError("give exactly one of query or table")
        return self

    @property
    def url_variable(self) -> str:
        """The environment variable that holds the URL (when ``url_file`` is not set)."""
        return self.url_env or DEFAULT_URL_ENV

    @property
    def sql(self) -> str:
        """The SQL text that is run: the query, or a SELECT of the whole table."""
        if self.query is not None:
            return self.query
        assert self.table is not None
        return "SELECT * FROM " + ".".join(f'"{part}"' for part in self.table.split("."))

    @property
    def label(self) -> str:
        """How messages name the source: ``sql table X`` or ``sql query``."""
        return f"sql table {self.table}" if self.table is not None else "sql query"
