"""The prediction log in a database table, against the session's real PostgreSQL: flushes go
into the score table beside `churn score --to-table`'s rows; an unreachable server, one that
goes away mid-run and a table that does not fit never fail a record; `churn outcomes` reads
outcomes from a SQL table and scores from the log table, giving the hand-computed metrics."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from factories import write_project
from postgres_server import PostgresServer
from pydantic import SecretStr
from typer.testing import CliRunner

from churn.cli.app import app
from churn.errors import SourceError
from churn.monitoring.prediction_log import log_table
from churn.monitoring.prediction_table import SINK_NAME, PredictionTableWriter, with_timeouts
from churn.monitoring.recorder import ScoreRecorder
from churn.monitoring.scored import ScoredBatch
from churn.sources.database_url import DatabaseUrl, parse
from churn.sources.score_table import SCORE_SCHEMA, table_name, write_scores

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres")]

runner = CliRunner()
W49 = datetime(2026, 11, 30, 9, tzinfo=UTC)  # a Monday
DEC1 = datetime(2026, 12, 1, 6, tzinfo=UTC)
PASSWORD = secrets.token_urlsafe(12)
"""A password no output may show, made per run (a URL that carries it reaches a closed port)."""
CLOSED_URL = f"postgresql://churn:{PASSWORD}@127.0.0.1:9/x"


def _url(server: PostgresServer, database: str | None = None) -> DatabaseUrl:
    url = server.url if database is None else server.url.rsplit("/", 1)[0] + f"/{database}"
    return parse(SecretStr(url), "test")


def _batch(scores: dict[str, float], run_id: str = "r1", at: datetime = W49) -> ScoredBatch:
    proba = np.array(list(scores.values()))
    return ScoredBatch(list(scores), run_id, at.timestamp(), proba, proba >= 0.5)


def _recorded(
    url: DatabaseUrl, name: str, **options: Any
) -> tuple[PredictionTableWriter, ScoreRecorder, Counter[tuple[str, str]]]:
    """A writer and its recorder sharing one counter, as in the API; the counts."""
    counts: Counter[tuple[str, str]] = Counter()

    def count(sink: str, result: str, n: int) -> None:
        counts[sink, result] += n

    writer = PredictionTableWriter(url, table_name(name), count=count, **options)
    return writer, ScoreRecorder([writer.sink()], interval=0.05, count=count), counts


def _score_rows(ids: dict[str, float], run_id: str, at: datetime, as_of: date) -> pa.RecordBatch:
    proba = np.array(list(ids.values()))
    rows = len(ids)
    return pa.RecordBatch.from_arrays(
        [pa.array(list(ids)), pa.array([run_id] * rows), pa.array([at] * rows, SCORE_SCHEMA.field(
            "scored_at").type), pa.array([as_of] * rows, pa.date32()), pa.array(proba),
         pa.array(proba >= 0.5)],
        schema=SCORE_SCHEMA,
    )  # fmt: skip


def test_flushes_go_into_the_score_table_beside_to_table_rows(
    postgres_server: PostgresServer,
) -> None:
    server, url, name = postgres_server, _url(postgres_server), table_name("public.log_beside")
    server.execute(f"DROP TABLE IF EXISTS {name.quoted}")
    write_scores(url, name, [_score_rows({"N1": 0.7, "N2": 0.1}, "r0", DEC1, DEC1.date())],
                 run_id="r0", as_of=DEC1.date())  # fmt: skip
    _, recorder, counts = _recorded(url, str(name))
    recorder.start()  # the thread
    recorder.record(_batch({"A1": 0.9, "A2": 0.2}, run_id="r0", at=DEC1))
    recorder.record(_batch({"A3": 0.6}, run_id="r0", at=DEC1))
    recorder.close()
    assert counts == {(SINK_NAME, "written"): 3}
    # a log with a column the table lacks (survival curves, say) still writes what fits
    more = log_table([_batch({"A4": 0.4})]).append_column("churn_within_30", pa.array([0.3]))
    assert PredictionTableWriter(url, name).write(more) == 1
    # re-scoring the night with the same run replaces its rows, never the API's (as_of NULL)
    write_scores(url, name, [_score_rows({"N1": 0.8}, "r0", DEC1, DEC1.date())], run_id="r0",
                 as_of=DEC1.date())  # fmt: skip
    rows = server.query(f"SELECT id, run_id, as_of, will_churn FROM {name.quoted} ORDER BY id")
    assert rows == [
        ("A1", "r0", None, True), ("A2", "r0", None, False), ("A3", "r0", None, True),
        ("A4", "r1", None, False), ("N1", "r0", DEC1.date(), True),
    ]  # fmt: skip


@pytest.mark.slow  # a fork server of its own in the postgres group's worker: 2-3 s of CPU
def test_the_recorder_process_writes_the_table_and_sends_back_its_counts(
    postgres_server: PostgresServer,
) -> None:
    from churn.monitoring.recorder import LogPlan
    from churn.monitoring.recorder_process import SinkPlan, SinkProcess

    server, url, name = postgres_server, _url(postgres_server), table_name("public.log_process")
    server.execute(f"DROP TABLE IF EXISTS {name.quoted}")
    counts: Counter[tuple[str, str]] = Counter()

    def count(sink: str, result: str, n: int) -> None:
        counts[sink, result] += n

    plan = SinkPlan(LogPlan(table=(url, name)))  # the URL (a secret) goes through the pipe
    handler = SinkProcess(plan, count, None)
    recorder = ScoreRecorder((), interval=0.05, count=count, handler=handler).start()
    recorder.record(_batch({"P1": 0.9, "P2": 0.2}))
    recorder.record(_batch({"P3": 0.6}))
    recorder.close()
    assert counts == {(SINK_NAME, "written"): 3}
    assert server.query(f"SELECT id FROM {name.quoted} ORDER BY id") == [("P1",), ("P2",), ("P3",)]
    closed = DatabaseUrl(SecretStr(CLOSED_URL), "127.0.0.1", 9,
                         "postgresql://churn@127.0.0.1:9/x")  # fmt: skip
    counts.clear()
    handler = SinkProcess(SinkPlan(LogPlan(table=(closed, name))), count, None)
    recorder = ScoreRecorder((), interval=60, count=count, handler=handler)
    recorder.record(_batch({"Q1": 0.9}))
    recorder.close()  # the process's last attempt fails: dropped at its exit, counted here
    assert counts == {(SINK_NAME, "failed"): 1, (SINK_NAME, "dropped"): 1}


def test_an_unreachable_database_is_counted_logged_once_and_bounded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed = DatabaseUrl(SecretStr(CLOSED_URL), "127.0.0.1", 9,
                         "postgresql://churn@127.0.0.1:9/x")  # fmt: skip
    writer, recorder, counts = _recorded(closed, "log_none", max_backlog=5, retry_seconds=[0])
    with caplog.at_level(logging.ERROR):
        for scores in ({"A1": 0.9, "A2": 0.1, "A3": 0.7}, {"A4": 0.2, "A5": 0.8, "A6": 0.3}):
            recorder.record(_batch(scores))  # never raises, never waits on the database
            assert recorder.flush() == 3
    assert counts == {(SINK_NAME, "failed"): 6, (SINK_NAME, "dropped"): 1}
    assert writer.backlog_rows == 5  # the newest five, kept for the next attempt
    (logged,) = [r.getMessage() for r in caplog.records if SINK_NAME in r.getMessage()]
    assert "cannot reach the database at 127.0.0.1:9" in logged and PASSWORD not in logged
    recorder.close()  # what is still kept when the process stops is given up, and counted
    assert counts[SINK_NAME, "dropped"] == 6 and writer.backlog_rows == 0


def test_a_hung_table_times_out_and_keeps_the_flush_for_later(
    postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    server, url, name = postgres_server, _url(postgres_server), table_name("public.log_hung")
    server.execute(f"DROP TABLE IF EXISTS {name.quoted}")
    writer, recorder, counts = _recorded(url, str(name), write_timeout=0.3, retry_seconds=[0])
    recorder.record(_batch({"A1": 0.9}))
    recorder.flush()  # creates the table
    import adbc_driver_postgresql.dbapi as dbapi

    with dbapi.connect(server.url) as holder, holder.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {name.quoted} IN ACCESS EXCLUSIVE MODE")  # until rollback
        recorder.record(_batch({"A2": 0.8, "A3": 0.1}))
        started = time.monotonic()
        with caplog.at_level(logging.ERROR):
            recorder.flush()  # the server cancels the wait: the thread is free again
        assert time.monotonic() - started < 5
        holder.rollback()
    assert counts == {(SINK_NAME, "written"): 1, (SINK_NAME, "failed"): 2}
    assert writer.backlog_rows == 2
    (logged,) = [r.getMessage() for r in caplog.records if SINK_NAME in r.getMessage()]
    assert "timeout" in logged and "2 records not recorded" in logged
    recorder.record(_batch({"A4": 0.7}))
    recorder.flush()  # the kept flush first, in the same transaction
    recorder.close()
    assert counts[SINK_NAME, "written"] == 4
    assert server.query(f"SELECT id FROM {name.quoted} ORDER BY id") == [
        ("A1",),
        ("A2",),
        ("A3",),
        ("A4",),
    ]


def test_the_tcp_timeout_goes_into_the_url_unless_it_sets_its_own() -> None:
    url = parse(SecretStr("postgresql://u:p@db:5432/x?sslmode=disable"), "t")
    timed = with_timeouts(url, 2.5)
    assert "tcp_user_timeout=2500" in timed.secret.get_secret_value()
    assert (timed.host, timed.shown) == (url.host, url.shown)
    own = parse(SecretStr("postgresql://u:p@db:5432/x?tcp_user_timeout=7"), "t")
    assert with_timeouts(own, 2.5).secret.get_secret_value().endswith("tcp_user_timeout=7")


def test_the_server_going_away_mid_run_keeps_the_records_for_its_return(
    postgres_server: PostgresServer,
) -> None:
    server = postgres_server
    with _autocommit(server) as cursor:
        cursor.execute("DROP DATABASE IF EXISTS churn_going")
        cursor.execute("CREATE DATABASE churn_going")
    writer, recorder, counts = _recorded(_url(server, "churn_going"), "log",
                                         retry_seconds=[0, 0, 600])  # fmt: skip
    try:
        recorder.record(_batch({"A1": 0.9}))
        recorder.flush()
        server.execute(
            "ALTER DATABASE churn_going ALLOW_CONNECTIONS false",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'churn_going'",
        )
        for scores in ({"A2": 0.8}, {"A3": 0.1, "A4": 0.7}):  # the connection lost, then refused
            recorder.record(_batch(scores))
            recorder.flush()
        assert counts == {(SINK_NAME, "written"): 1, (SINK_NAME, "failed"): 3}
        server.execute("ALTER DATABASE churn_going ALLOW_CONNECTIONS true")
        recorder.record(_batch({"A5": 0.2}))
        recorder.flush()  # the backlog first, in the same transaction
        assert counts[SINK_NAME, "written"] == 5 and writer.backlog_rows == 0
        server.execute("ALTER DATABASE churn_going ALLOW_CONNECTIONS false")
        writer.close()  # reconnects at the next flush: refused three times, then 600 s back-off
        for scores in ({"A6": 0.5}, {"A7": 0.4}, {"A8": 0.3}):
            recorder.record(_batch(scores))
            recorder.flush()
        server.execute("ALTER DATABASE churn_going ALLOW_CONNECTIONS true")
        recorder.close()  # one last attempt at exit, back-off or not
        assert counts == {(SINK_NAME, "written"): 8, (SINK_NAME, "failed"): 6}
        going = dataclasses.replace(server, database="churn_going")
        assert going.query("SELECT id FROM log ORDER BY id") == [(f"A{i}",) for i in range(1, 9)]
    finally:
        writer.close()
        server.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'churn_going'"
        )
        with _autocommit(server) as cursor:
            cursor.execute("DROP DATABASE IF EXISTS churn_going")


def test_a_table_that_does_not_fit_is_refused_by_name(postgres_server: PostgresServer) -> None:
    server, url = postgres_server, _url(postgres_server)
    server.execute(
        "DROP TABLE IF EXISTS log_wrong, log_not_null",
        "CREATE TABLE log_wrong (id text, run_id integer)",
        "CREATE TABLE log_not_null (id text, run_id text, scored_at timestamptz, as_of date "
        "NOT NULL, churn_probability double precision, will_churn boolean)",
    )
    flush = log_table([_batch({"A1": 0.9})])
    with pytest.raises(SourceError) as wrong:
        PredictionTableWriter(url, table_name("log_wrong")).write(flush)
    assert "run_id is integer (expected text); scored_at is missing" in str(wrong.value)
    assert "CHURN_PREDICTION_LOG_TABLE" in str(wrong.value)
    with pytest.raises(SourceError, match=r"as_of is NOT NULL.*DROP NOT NULL"):
        PredictionTableWriter(url, table_name("log_not_null")).write(flush)


@contextlib.contextmanager
def _autocommit(server: PostgresServer) -> Iterator[Any]:
    """A cursor outside a transaction (CREATE and DROP DATABASE)."""
    import adbc_driver_postgresql.dbapi as dbapi

    with dbapi.connect(server.url, autocommit=True) as connection, connection.cursor() as cursor:
        yield cursor


@pytest.fixture
def outcomes_db(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """Scores in the log table (the API's at W49 by r1, `--to-table`'s on Dec 1 by r2, one
    scored in January: past the horizon), outcomes in a table; the spec and home."""
    server, url, name = postgres_server, _url(postgres_server), table_name("log_outcomes")
    server.execute(
        "DROP TABLE IF EXISTS log_outcomes, outcomes_planted, outcomes_bad",
        "CREATE TABLE outcomes_planted (account_id text, churned boolean, date date)",
        "INSERT INTO outcomes_planted VALUES ('C0', true, '2026-12-10'), "
        "('C1', false, '2026-12-10'), ('C2', true, '2026-12-10'), ('C3', false, '2026-12-10'), "
        "('C4', true, '2026-12-10'), ('C5', true, '2026-12-10'), ('C6', true, '2026-12-10'), "
        "('C7', true, '2026-12-10'), ('C99', true, '2026-12-10')",
    )
    PredictionTableWriter(url, name).write(
        log_table([_batch({"C0": 0.9, "C1": 0.8, "C2": 0.3, "C3": 0.2}, "r1", W49),
                   _batch({"C7": 0.9}, "r1", datetime(2026, 1, 5, tzinfo=UTC))])
    )  # fmt: skip
    night = _score_rows({"C4": 0.7, "C5": 0.6, "C6": 0.1}, "r2", DEC1, DEC1.date())
    write_scores(url, name, [night], run_id="r2", as_of=DEC1.date())
    monkeypatch.setenv("CHURN_DATABASE_URL", server.url)
    monkeypatch.setenv("CHURN_PREDICTION_LOG_TABLE", "log_outcomes")
    monkeypatch.setattr("churn.sources.sql.CONNECT_ATTEMPTS", 1)
    return write_project(tmp_path), tmp_path / "home"


def test_outcomes_from_a_table_join_the_log_table_with_hand_computed_metrics(
    outcomes_db: tuple[Path, Path],
) -> None:
    spec, home = outcomes_db
    args = ["outcomes", "--table", "public.outcomes_planted", "--spec", str(spec)]
    result = runner.invoke(app, [*args, "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["outcomes"], summary["matched"], summary["unmatched"]) == (9, 7, 2)
    (week,) = summary["realized"]["by_week"]  # flagged C0 C1 C4 C5; churned C0 C2 C4 C5 C6
    assert (week["week"], week["precision"], week["recall"]) == ("2026-W49", 3 / 4, 3 / 5)
    runs = {m["run_id"]: (m["precision"], m["recall"]) for m in summary["realized"]["by_run"]}
    assert runs == {"r1": (1 / 2, 1 / 2), "r2": (1.0, 2 / 3)}  # the API's; --to-table's


def test_database_failures_of_outcomes_exit_5_and_bad_rows_exit_3(
    outcomes_db: tuple[Path, Path], postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, home = outcomes_db
    common = ["--spec", str(spec), "--home", str(home)]
    postgres_server.execute(
        "CREATE TABLE outcomes_bad (account_id text, churned text, date text)",
        "INSERT INTO outcomes_bad VALUES ('C0', 'maybe', '2026-12-10'), ('C1', 'yes', 'soon')",
    )
    bad = runner.invoke(app, ["outcomes", "--query", "SELECT * FROM outcomes_bad", *common])
    assert bad.exit_code == 3, bad.output
    assert "churned: ids 'C0': cannot tell churned from 'maybe'" in bad.output
    assert "date: ids 'C1': not a date: 'soon'" in bad.output
    shape = runner.invoke(app, ["outcomes", "--query", "SELECT account_id FROM outcomes_bad",
                                *common])  # fmt: skip
    assert shape.exit_code == 3 and "column 'date' is missing" in shape.output
    monkeypatch.setenv("CHURN_PREDICTION_LOG_TABLE", "no_such_log")
    missing = runner.invoke(app, ["outcomes", "--table", "outcomes_planted", *common])
    assert missing.exit_code == 5 and 'relation "public.no_such_log" does not exist' in (
        missing.output
    )
    monkeypatch.setenv("CHURN_DATABASE_URL", CLOSED_URL)
    gone = runner.invoke(app, ["outcomes", "--table", "outcomes_planted", *common])
    assert gone.exit_code == 5 and "cannot reach the database at 127.0.0.1:9" in gone.output
    assert PASSWORD not in gone.output
    assert not (home / "monitoring").exists()  # nothing was recorded
    usage = runner.invoke(app, ["outcomes", *common])
    assert usage.exit_code == 2 and "give DATA, or --query or --table" in usage.output
    both = runner.invoke(app, ["outcomes", "--table", "x", "--query", "SELECT 1", *common])
    assert both.exit_code == 2 and "exactly one of query or table" in both.output
