"""The pieces of a SQL source that need no server: the spec block, the URL and its printable
form, named parameters, the order-free hash, table names and --as-of dates."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import SecretStr
from sqltools import sql_spec

from churn.errors import SourceError, SpecError
from churn.sources.as_of import parse_as_of
from churn.sources.database_url import database_url, parse
from churn.sources.score_table import table_name
from churn.sources.snapshot_hash import snapshot_sha256
from churn.sources.sql_text import with_settings
from churn.spec.loader import load_spec
from churn.spec.sources import SqlSource

SECRET = "s3cr3t-Pa55"


def test_the_printed_url_keeps_user_host_port_and_database_but_no_password() -> None:
    url = parse(SecretStr(f"postgresql://crm:{SECRET}@db.internal:6543/churn?sslmode=require"), "w")
    assert url.shown == "postgresql://crm@db.internal:6543/churn"
    assert url.where == "db.internal:6543"
    assert "connect_timeout=5" in url.connect_url() and "sslmode=require" in url.connect_url()
    assert SECRET not in repr(url)


def test_a_space_in_the_urls_options_stays_a_space_for_libpq() -> None:
    from urllib.parse import parse_qsl, urlsplit

    text = "postgresql://crm@db:5432/churn?options=-c%20statement_timeout%3D5000"
    query = urlsplit(parse(SecretStr(text), "w").connect_url()).query
    assert "+" not in query  # libpq reads '+' literally, not as a space
    assert dict(parse_qsl(query))["options"] == "-c statement_timeout=5000"


@pytest.mark.parametrize(
    "text", [f"mysql://u:{SECRET}@h/db", f"postgresql://u:{SECRET}@/db", f"u:{SECRET}@h:x/db"]
)
def test_a_url_that_is_not_postgresql_is_refused_without_quoting_it(text: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse(SecretStr(text), "spec.yaml:4: data.source")
    assert str(caught.value).startswith("spec.yaml:4: data.source: the database URL")
    assert SECRET not in str(caught.value)


def test_an_unset_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_URL", raising=False)
    source = SqlSource(kind="sql", url_env="CRM_URL", table="customers")
    with pytest.raises(SourceError, match="w: the environment variable CRM_URL is not set"):
        database_url(source, "w")


def test_a_named_variable_and_a_file_hold_the_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CRM_URL", f"postgresql://a:{SECRET}@h1/db")
    assert database_url(SqlSource(kind="sql", url_env="CRM_URL", table="t"), "w").host == "h1"
    (tmp_path / "url").write_text(f"postgresql://a:{SECRET}@h2:7/db\n")
    from_file = database_url(SqlSource(kind="sql", url_file=str(tmp_path / "url"), table="t"), "w")
    assert (from_file.host, from_file.port) == ("h2", 7)
    with pytest.raises(SourceError, match=r"w: cannot read url_file .*missing: No such file"):
        database_url(SqlSource(kind="sql", url_file=str(tmp_path / "missing"), table="t"), "w")


def test_a_source_with_both_or_neither_of_query_and_table_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"spec.yaml:\d+: data.source.*exactly one of query or t"):
        load_spec(sql_spec(tmp_path, query="SELECT 1", table="t"))
    with pytest.raises(SpecError, match=r"url_env or url_file, not both"):
        load_spec(sql_spec(tmp_path, table="t", url_env="A_B", url_file="/x"))


def test_as_of_becomes_one_bound_setting_outside_strings_and_comments() -> None:
    sql = "SELECT a::date, ':as_of' AS s -- :as_of\nFROM t WHERE d = :as_of OR e = :as_of - 1"
    setting = "(SELECT current_setting('churn.as_of')::date)"
    assert with_settings(sql, "w") == (
        f"SELECT a::date, ':as_of' AS s -- :as_of\nFROM t WHERE d = {setting} OR e = {setting} - 1",
        ["as_of"],
    )
    assert with_settings("SELECT 1", "w") == ("SELECT 1", [])


def test_the_hash_is_the_same_for_any_row_order_and_chunking() -> None:
    table = pa.table({"id": ["c", "a", "b", "a"], "x": [3.0, 1.0, 2.0, 0.5], "y": [1, 2, None, 4]})
    shuffled = pa.concat_tables([table.slice(2), table.slice(0, 2)])
    assert snapshot_sha256(table, "id") == snapshot_sha256(shuffled, "id")
    assert snapshot_sha256(table, None) == snapshot_sha256(shuffled.take([3, 1, 0, 2]), None)
    changed = table.set_column(1, "x", pa.array([3.0, 1.0, 2.0, 0.25]))
    assert snapshot_sha256(changed, "id") != snapshot_sha256(table, "id")


@pytest.mark.parametrize(
    ("text", "schema", "table"),
    [("scores", "public", "scores"), ("crm.churn_scores", "crm", "churn_scores")],
)
def test_table_names(text: str, schema: str, table: str) -> None:
    name = table_name(text)
    assert (name.schema, name.table) == (schema, table)


@pytest.mark.parametrize("text", ["a.b.c", "x; DROP TABLE y", "1abc", ""])
def test_a_table_name_that_is_not_schema_dot_table_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected SCHEMA\.TABLE"):
        table_name(text)


def test_as_of_dates() -> None:
    assert parse_as_of("2026-02-28").isoformat() == "2026-02-28"
    for text in ("2026-02-30", "2026-2-3", "20260203", "today"):
        with pytest.raises(ValueError, match="expected a date YYYY-MM-DD"):
            parse_as_of(text)


def test_a_unix_socket_folder_is_a_host_too() -> None:
    url = parse(SecretStr(f"postgresql://crm:{SECRET}@/churn?host=/run/pg&port=5433"), "w")
    assert url.shown == "postgresql://crm@/churn?host=/run/pg&port=5433"
    assert url.where == "/run/pg/.s.PGSQL.5433"
    assert "host=%2Frun%2Fpg" in url.connect_url() and SECRET not in url.shown
    default_port = parse(SecretStr(f"postgresql://crm:{SECRET}@/churn?host=%2Frun%2Fpg"), "w")
    assert (default_port.shown, default_port.where) == (
        "postgresql://crm@/churn?host=/run/pg",
        "/run/pg/.s.PGSQL.5432",
    )
