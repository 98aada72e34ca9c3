"""A fresh ``PREFECT_HOME`` starts from churn's template of Prefect's migrated database."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from churn.flows.server import DatabaseTemplate, database_template
from churn.settings import ChurnSettings, load_settings


def wal_database(path: Path, rows: int) -> sqlite3.Connection:
    """A SQLite database in WAL mode whose rows are still in its WAL file while the returned
    connection stays open."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE alembic_version (version_num TEXT)")
    db.executemany("INSERT INTO alembic_version VALUES (?)", [(str(i),) for i in range(rows)])
    db.commit()
    return db


def rows_of(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as db:
        return [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]


def test_keep_saves_a_consistent_copy_once_and_fill_copies_it_only_into_a_missing_database(
    tmp_path: Path,
) -> None:
    first = DatabaseTemplate(tmp_path / "a" / "prefect.db", tmp_path / "t" / "prefect-3.db")
    with (
        closing(wal_database(first.database, rows=3)),
        closing(wal_database(tmp_path / "b" / "prefect.db", rows=5)),
    ):
        first.keep()
        DatabaseTemplate(tmp_path / "b" / "prefect.db", first.template).keep()  # one exists

    assert rows_of(first.template) == ["0", "1", "2"]
    fresh = DatabaseTemplate(tmp_path / "c" / "home" / "prefect.db", first.template)
    assert fresh.fill()
    assert rows_of(fresh.database) == ["0", "1", "2"]
    existing = DatabaseTemplate(tmp_path / "b" / "prefect.db", first.template)
    assert not existing.fill()
    assert len(rows_of(existing.database)) == 5
    assert not DatabaseTemplate(tmp_path / "d" / "prefect.db", tmp_path / "none.db").fill()
    assert sorted(p.name for p in first.template.parent.iterdir()) == ["prefect-3.db"]


def test_no_template_when_prefects_database_is_configured_elsewhere(tmp_path: Path) -> None:
    home = tmp_path / "prefect-home"
    plain = ChurnSettings(prefect_home=home, prefect_template_dir=tmp_path / "templates")
    template = database_template(plain)
    assert template is not None
    assert template.database == home / "prefect.db"
    assert template.template.parent == tmp_path / "templates"
    assert template.template.name.startswith("prefect-3.")

    url = "postgresql+asyncpg://u:p@db/prefect"
    configured = ChurnSettings(prefect_home=home, prefect_database_url=url)
    assert database_template(configured) is None
    home.mkdir()
    (home / "profiles.toml").write_text(
        f'active = "local"\n[profiles.local]\nPREFECT_API_DATABASE_CONNECTION_URL = "{url}"\n'
    )
    assert database_template(ChurnSettings(prefect_home=home)) is None


@pytest.mark.slow
def test_a_fresh_home_started_from_the_template_answers_at_the_same_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from churn.flows.runtime import prefect_api

    monkeypatch.setenv("PREFECT_API_URL", "")
    monkeypatch.setenv("CHURN_PREFECT_LOCAL_URL", "http://127.0.0.1:9/api")
    said: list[str] = []
    monkeypatch.setenv("CHURN_PREFECT_TEMPLATE_DIR", str(tmp_path / "templates"))
    for home in ("first", "second"):
        monkeypatch.setenv("PREFECT_HOME", str(tmp_path / home))  # the server's, too
        with prefect_api(said.append, load_settings()) as ready:
            assert ready()["PREFECT_API_URL"].startswith("http://127.0.0.1:")
    starts = [line for line in said if line.startswith("starting Prefect's local server")]
    assert len(starts) == 2
    assert "first start creates its database" in starts[0]
    assert "copied from churn's template" in starts[1]
    revisions = [rows_of(tmp_path / home / "prefect.db") for home in ("first", "second")]
    assert revisions[0] == revisions[1] and len(revisions[0]) == 1


def schema_of(path: Path) -> list[tuple[str, str, list[str]]]:
    """Every table, index and trigger of a SQLite database with its definition's lines sorted
    (reflection may order a table's constraints differently from one migration to the next)."""
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        return [
            (kind, name, sorted(line.strip().rstrip(",") for line in (sql or "").split("\n")))
            for kind, name, sql in rows
        ]


@pytest.mark.flow
def test_the_session_servers_fresh_database_was_created_by_churn_at_prefects_head(
    prefect_server: None, tmp_path: Path
) -> None:
    """The session's server started on a fresh home: churn created its database
    (:func:`create_fresh_database`), every flow test then runs against it."""
    from churn.flows.server import create_fresh_database, prefect_sqlite_migrations
    from churn.private_apis import alembic_head

    database = load_settings().prefect_home.expanduser() / "prefect.db"
    assert rows_of(database) == [alembic_head(*prefect_sqlite_migrations()[:2])]
    before = database.stat().st_mtime_ns, database.stat().st_ino
    assert not create_fresh_database(database)  # an existing database is never replaced
    assert (database.stat().st_mtime_ns, database.stat().st_ino) == before


@pytest.mark.slow
def test_churns_migration_of_a_fresh_database_gives_prefects_own_schema(tmp_path: Path) -> None:
    """Prefect's own start-up path (its async engine) against churn's synchronous replay of the
    same migrations: the same tables, columns, constraints, indexes and revision."""
    import os
    import subprocess
    import sys

    from churn.flows.server import prefect_sqlite_migrations
    from churn.private_apis import migrate_sqlite

    prefects = tmp_path / "prefect-home"
    create = "import asyncio; from prefect.server.database import provide_database_interface as p"
    subprocess.run(
        [sys.executable, "-c", f"{create}; asyncio.run(p().create_db())"],
        env={**os.environ, "PREFECT_HOME": str(prefects)},
        check=True,
        capture_output=True,
        timeout=600,
    )
    ours = tmp_path / "churn.db"
    revision = migrate_sqlite(ours, *prefect_sqlite_migrations())
    assert rows_of(ours) == rows_of(prefects / "prefect.db") == [revision]
    assert schema_of(ours) == schema_of(prefects / "prefect.db")
