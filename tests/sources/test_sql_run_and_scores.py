"""One run trained on a PostgreSQL snapshot, then scored back into a table: what run.json
records (never the password), ``churn reproduce`` on the same and on changed rows, and the
score table's transaction (created, idempotent, refused when it does not fit, unchanged by a
write cut half-way or by a contract failure)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from factories import subscriptions_frame, train_run
from postgres_server import PostgresServer
from sqltools import AS_OF, COLUMNS, EARLIER, load_table, snapshots_frame, sql_spec
from typer.testing import CliRunner

from churn.cli.app import app
from churn.cli.reproduce import reproduce_run
from churn.errors import DataContractError, SourceError
from churn.registry import Registry
from churn.serving.score_file import scoring_model
from churn.serving.score_rows import score_batches, score_to_table
from churn.sources.database_url import parse
from churn.sources.score_table import table_name, write_scores
from churn.spec.loader import load_spec

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres")]

RUN_TABLE = "run_snapshots"
RUN_QUERY = f"SELECT {COLUMNS} FROM {RUN_TABLE} WHERE snapshot_date = :as_of"


@dataclass(frozen=True)
class TrainedRun:
    """A run trained on :data:`RUN_TABLE` at :data:`AS_OF`, with everything it printed."""

    server: PostgresServer
    spec: Path
    home: Path
    manifest: dict[str, Any]
    printed: str


@pytest.fixture(scope="session")
def trained(
    subscriptions_db: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrainedRun]:
    """One whole run (no orchestrator, no report: 45 s with it, here) on the snapshot."""
    import logging

    folder = tmp_path_factory.mktemp("sql-run")
    load_table(subscriptions_db, RUN_TABLE, snapshots_frame())
    spec = sql_spec(folder, query=RUN_QUERY)
    records: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    logger = logging.getLogger("churn")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHURN_DATABASE_URL", subscriptions_db.url)
        patch.setenv("CHURN_AS_OF", AS_OF.isoformat())
        started = time.perf_counter()
        try:
            manifest = train_run(spec, folder / "home").as_dict()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
        print(f"whole run: {time.perf_counter() - started:.1f} s")
        yield TrainedRun(subscriptions_db, spec, folder / "home", manifest, "\n".join(records))


@pytest.fixture
def scoring_env(trained: TrainedRun, monkeypatch: pytest.MonkeyPatch) -> TrainedRun:
    monkeypatch.setenv("CHURN_DATABASE_URL", trained.server.url)
    monkeypatch.delenv("CHURN_AS_OF", raising=False)
    return trained


def test_run_json_records_the_source_query_parameters_rows_and_hash(trained: TrainedRun) -> None:
    data = trained.manifest["data"]
    port = trained.server.port
    assert data["kind"] == "sql"
    assert data["url"] == f"postgresql://churn@127.0.0.1:{port}/postgres"
    assert data["query"] == RUN_QUERY
    assert data["parameters"] == {"as_of": "2026-12-01"}
    assert data["rows"] == 600
    assert len(trained.manifest["data_sha256"]) == 64
    assert trained.manifest["status"] == "succeeded"


def test_the_password_appears_in_no_output_of_the_run(trained: TrainedRun) -> None:
    password = trained.server.password.encode()
    files = [path for path in trained.home.rglob("*") if path.is_file()]
    assert any(path.name == "run.json" for path in files)
    assert [path for path in files if password in path.read_bytes()] == []
    assert trained.printed and trained.server.password not in trained.printed


def test_reproduce_rereads_the_recorded_snapshot(scoring_env: TrainedRun) -> None:
    found = reproduce_run(Registry(scoring_env.home), scoring_env.manifest["run_id"])
    assert found.problems == []
    assert found.matches


def test_reproduce_says_when_the_database_no_longer_returns_the_same_rows(
    scoring_env: TrainedRun,
) -> None:
    server = scoring_env.server
    change = f"UPDATE {RUN_TABLE} SET monthly_fee = monthly_fee + 1 WHERE account_id = 'A00007'"
    server.execute(change + f" AND snapshot_date = '{AS_OF}'")
    try:
        found = reproduce_run(Registry(scoring_env.home), scoring_env.manifest["run_id"])
    finally:
        server.execute(change.replace("+ 1", "- 1") + f" AND snapshot_date = '{AS_OF}'")
    assert not found.matches
    assert found.problems == [
        f"postgresql://churn@127.0.0.1:{server.port}/postgres: the database no longer returns "
        "the same rows for sql query (as_of=2026-12-01): sha256 differs (600 rows now, 600 "
        "recorded)"
    ]


def _scores(server: PostgresServer, table: str) -> list[tuple[Any, ...]]:
    return server.query(f"SELECT as_of, run_id, count(*), min(scored_at) FROM {table} "
                        "GROUP BY as_of, run_id ORDER BY as_of")  # fmt: skip


def _score(trained: TrainedRun, table: str, as_of: date = AS_OF, **kwargs: Any) -> Any:
    model = scoring_model(Registry(trained.home))
    spec = load_spec(trained.spec)
    return score_to_table(spec, model, None, table_name(table), as_of, **kwargs)


def test_scores_go_into_a_new_table_with_the_declared_columns(scoring_env: TrainedRun) -> None:
    server = scoring_env.server
    server.execute("DROP TABLE IF EXISTS public.scores_new")
    summary = _score(scoring_env, "public.scores_new")
    assert summary.rows == 600
    columns = server.query(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = 'scores_new' ORDER BY ordinal_position"
    )
    assert columns == [
        ("id", "text", "NO"),
        ("run_id", "text", "NO"),
        ("scored_at", "timestamp with time zone", "NO"),
        ("as_of", "date", "YES"),  # the prediction log's API rows have none
        ("churn_probability", "double precision", "NO"),
        ("will_churn", "boolean", "NO"),
    ]
    rows = server.query("SELECT count(DISTINCT id), sum(will_churn::int), min(churn_probability),"
                        " max(churn_probability) FROM scores_new")  # fmt: skip
    assert rows[0][0] == 600 and rows[0][1] == summary.churn
    assert 0 <= rows[0][2] <= rows[0][3] <= 1
    assert scoring_env.server.password not in summary.to_text()


def test_scoring_the_same_date_and_run_again_replaces_its_rows(scoring_env: TrainedRun) -> None:
    server = scoring_env.server
    server.execute("DROP TABLE IF EXISTS scores_again")
    _score(scoring_env, "scores_again")
    first = _scores(server, "scores_again")
    _score(scoring_env, "scores_again")
    second = _scores(server, "scores_again")
    assert [row[:3] for row in first] == [row[:3] for row in second]
    assert second[0][2] == 600 and second[0][3] > first[0][3]  # the new rows replaced the old
    _score(scoring_env, "scores_again", EARLIER)
    assert [(row[0], row[2]) for row in _scores(server, "scores_again")] == [
        (EARLIER, 600),
        (AS_OF, 600),
    ]


def test_a_table_whose_columns_do_not_fit_is_refused_naming_them(
    scoring_env: TrainedRun,
) -> None:
    server = scoring_env.server
    server.execute(
        "DROP TABLE IF EXISTS scores_odd",
        "CREATE TABLE scores_odd (id text, run_id text, scored_at text, as_of date, "
        "probability float8)",
    )
    with pytest.raises(SourceError) as caught:
        _score(scoring_env, "scores_odd")
    assert str(caught.value) == (
        "table public.scores_odd does not fit the scores: scored_at is text (expected "
        "timestamp with time zone); churn_probability is missing (expected double precision); "
        "will_churn is missing (expected boolean); use another --to-table, or let churn create it"
    )
    assert server.query("SELECT count(*) FROM scores_odd") == [(0,)]


def test_a_write_cut_half_way_leaves_the_table_as_it_was(scoring_env: TrainedRun) -> None:
    server = scoring_env.server
    server.execute("DROP TABLE IF EXISTS scores_cut")
    _score(scoring_env, "scores_cut")
    before = _scores(server, "scores_cut")
    model = scoring_model(Registry(scoring_env.home))
    spec = load_spec(scoring_env.spec)
    frame = subscriptions_frame(600).drop(columns=["churned"])

    def cut_after_the_first_batch() -> Iterator[pa.RecordBatch]:
        for index, batch in enumerate(score_batches(spec, model, frame, AS_OF, chunk_rows=100)):
            if index == 2:
                _terminate_copy(server)
            yield batch

    url = parse(server.secret_url(), "test")
    with pytest.raises(SourceError) as caught:
        write_scores(url, table_name("scores_cut"), cut_after_the_first_batch(),
                     run_id=model.run_id, as_of=AS_OF)  # fmt: skip
    assert "was lost while writing" in str(caught.value)
    assert "the table is unchanged" in str(caught.value)
    assert server.password not in str(caught.value)
    assert _scores(server, "scores_cut") == before


def test_a_contract_failure_writes_nothing(scoring_env: TrainedRun) -> None:
    server = scoring_env.server
    broken = subscriptions_frame(50, seed=9).assign(snapshot_date=AS_OF)
    broken.loc[4, "months_active"] = -1
    load_table(server, "broken_snapshot", broken)
    server.execute("DROP TABLE IF EXISTS scores_broken")
    query = f"SELECT {COLUMNS} FROM broken_snapshot WHERE snapshot_date = :as_of"
    spec = sql_spec(scoring_env.spec.parent / "broken", query=query)
    model = scoring_model(Registry(scoring_env.home))
    with pytest.raises(DataContractError, match="months_active: below min 0: 1 row failed at "
                       "account_id 'A00004'"):  # fmt: skip
        score_to_table(load_spec(spec), model, None, table_name("scores_broken"), AS_OF)
    assert server.query("SELECT count(*) FROM pg_tables WHERE tablename = 'scores_broken'") == [
        (0,)
    ]


def test_churn_score_to_table_from_the_command_line(
    scoring_env: TrainedRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHURN_AS_OF", "2026-12-01")  # restored after --as-of overwrites it
    server = scoring_env.server
    server.execute("DROP TABLE IF EXISTS public.nightly")
    args = ["score", "--spec", str(scoring_env.spec), "--home", str(scoring_env.home)]
    result = CliRunner().invoke(app, [*args, "--as-of", "2026-11-30", "--to-table", "nightly"])
    assert result.exit_code == 0, result.output
    assert "public.nightly: 600 rows for as_of 2026-11-30 scored by" in result.output
    assert server.password not in result.output
    assert server.query("SELECT DISTINCT as_of FROM nightly") == [(EARLIER,)]
    assert os.environ["CHURN_AS_OF"] == "2026-11-30"  # what the run's workers would read


@pytest.mark.parametrize("as_of", ["2026-13-01", "yesterday", "2026-1-1", "20261201"])
def test_a_malformed_as_of_is_a_usage_error(scoring_env: TrainedRun, as_of: str) -> None:
    args = ["score", "--spec", str(scoring_env.spec), "--home", str(scoring_env.home)]
    result = CliRunner().invoke(app, [*args, "--as-of", as_of, "--to-table", "nightly"])
    assert result.exit_code == 2
    assert "expected a date YYYY-MM-DD" in result.output


def test_a_database_failure_exits_5_from_the_command_line(
    scoring_env: TrainedRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = scoring_env.server.url.replace(scoring_env.server.password, "wrong")
    monkeypatch.setenv("CHURN_DATABASE_URL", wrong)
    args = ["score", "--spec", str(scoring_env.spec), "--home", str(scoring_env.home)]
    result = CliRunner().invoke(app, [*args, "--to-table", "nightly"])
    assert result.exit_code == 5
    assert "refused the login" in result.output
    assert scoring_env.server.password not in result.output


def _terminate_copy(server: PostgresServer) -> None:
    """Terminate the backend running the ingest's COPY (the write under test)."""
    for _ in range(50):
        rows = server.query("SELECT pid FROM pg_stat_activity WHERE query LIKE 'COPY%' "
                            "AND pid <> pg_backend_pid()")  # fmt: skip
        if rows:
            server.execute(f"SELECT pg_terminate_backend({rows[0][0]})")
            time.sleep(0.2)
            return
        time.sleep(0.05)
    raise AssertionError("no COPY to cut")


def test_a_run_whose_database_refuses_records_the_failure_without_the_password(
    subscriptions_db: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = subscriptions_db.url.replace(subscriptions_db.password, "Wr0ng-Pa55")
    monkeypatch.setenv("CHURN_DATABASE_URL", wrong)
    with pytest.raises(SourceError, match="refused the login"):
        train_run(sql_spec(tmp_path), tmp_path / "home")
    registry = Registry(tmp_path / "home")
    assert registry.champion() is None
    files = [path for path in (tmp_path / "home").rglob("*") if path.is_file()]
    assert [path for path in files if b"Wr0ng-Pa55" in path.read_bytes()] == []


def test_churn_run_refuses_a_malformed_as_of_before_anything_starts(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", str(tmp_path / "spec.yaml"), "--as-of", "2026-02-30"])
    assert result.exit_code == 2
    assert "expected a date YYYY-MM-DD" in result.output
    assert not (tmp_path / "artifacts").exists()


def test_churn_drift_reads_the_sql_source_at_as_of(
    scoring_env: TrainedRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``churn drift --as-of`` judges that day's snapshot: the training rows at the run's date
    are ok, a day whose fees rose by half alerts on monthly_fee (issue 23: SQL with --as-of)."""
    monkeypatch.setenv("CHURN_AS_OF", "2026-12-02")  # restored after --as-of overwrites it
    trained_rows = subscriptions_frame(600, seed=0).drop(columns=["churned"])
    raised = trained_rows.assign(monthly_fee=trained_rows["monthly_fee"] * 1.5)
    snapshots = [trained_rows.assign(snapshot_date=AS_OF), raised.assign(snapshot_date=EARLIER)]
    load_table(scoring_env.server, "drift_snapshots", pd.concat(snapshots, ignore_index=True))
    columns = COLUMNS.replace(", churned", "")
    query = f"SELECT {columns} FROM drift_snapshots WHERE snapshot_date = :as_of"
    spec = sql_spec(tmp_path, query=query)
    run_id = scoring_env.manifest["run_id"]
    args = ["drift", "--spec", str(spec), "--home", str(scoring_env.home), "--run", run_id]

    same = CliRunner().invoke(app, [*args, "--as-of", AS_OF.isoformat(), "--json"])
    raised_day = CliRunner().invoke(app, [*args, "--as-of", EARLIER.isoformat(), "--json"])

    assert same.exit_code == 0, same.output
    assert json.loads(same.stdout)["rows"] == 600
    assert json.loads(same.stdout)["alerts"] == []
    assert raised_day.exit_code == 6, raised_day.output
    assert json.loads(raised_day.stdout)["alerts"] == ["monthly_fee"]
    assert scoring_env.server.password not in same.output + raised_day.output
