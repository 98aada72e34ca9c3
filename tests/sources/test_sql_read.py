"""A SQL source read from a real PostgreSQL: the same frame and contract as a file, a dated
snapshot bound as a parameter, an order-free hash, and every failure in words."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from factories import subscriptions_frame
from postgres_server import PostgresServer
from sqltools import AS_OF, COLUMNS, EARLIER, SNAPSHOT_QUERY, load_table, sql_spec

from churn.contract import load_dataset, load_dataset_and_hash
from churn.errors import DataContractError, SourceError, SpecError
from churn.spec.loader import load_spec

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres")]


def _read(spec_path: Path, as_of: object = AS_OF) -> tuple[pd.DataFrame, str]:
    return load_dataset_and_hash(load_spec(spec_path), as_of=as_of)  # type: ignore[arg-type]


def test_a_snapshot_reads_as_the_same_frame_as_its_csv_file(
    database_env: PostgresServer, tmp_path: Path
) -> None:
    frame, digest = _read(sql_spec(tmp_path))
    subscriptions_frame(600, seed=0).to_csv(tmp_path / "subscriptions.csv", index=False)
    spec = load_spec(sql_spec(tmp_path)).model_copy()
    from_file = load_dataset(spec.model_copy(update={"data": spec.data.model_copy(
        update={"source": "subscriptions.csv"})}).located_at(tmp_path))  # fmt: skip
    ordered = frame.sort_values("account_id", ignore_index=True)
    pd.testing.assert_frame_equal(ordered, from_file)
    assert len(digest) == 64


def test_the_as_of_date_picks_the_snapshot_and_changes_the_hash(
    database_env: PostgresServer, tmp_path: Path
) -> None:
    today, today_hash = _read(sql_spec(tmp_path), AS_OF)
    before, before_hash = _read(sql_spec(tmp_path), EARLIER)
    assert len(today) == len(before) == 600
    assert today_hash != before_hash
    assert not today["monthly_fee"].equals(before["monthly_fee"])


def test_the_as_of_date_comes_from_churn_as_of_by_default(
    database_env: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHURN_AS_OF", EARLIER.isoformat())
    assert _read(sql_spec(tmp_path), None)[1] == _read(sql_spec(tmp_path), EARLIER)[1]


def test_the_hash_does_not_depend_on_the_order_the_database_returns_rows_in(
    database_env: PostgresServer, tmp_path: Path
) -> None:
    hashes = {
        _read(sql_spec(tmp_path, query=f"{SNAPSHOT_QUERY} ORDER BY {order}"))[1]
        for order in ("account_id", "account_id DESC", "random()", "monthly_fee, region")
    }
    assert len(hashes) == 1


def test_a_whole_table_is_a_source_too(database_env: PostgresServer, tmp_path: Path) -> None:
    load_table(database_env, "public.whole", subscriptions_frame(300, seed=3))
    frame, _ = _read(sql_spec(tmp_path, table="public.whole"))
    assert len(frame) == 300
    assert str(frame["plan"].dtype) == "category"


def test_the_url_may_come_from_a_mounted_file(
    database_env: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHURN_DATABASE_URL")
    secret = tmp_path / "database-url"
    secret.write_text(database_env.url + "\n")
    frame, _ = _read(sql_spec(tmp_path, url_file=str(secret), query=SNAPSHOT_QUERY))
    assert len(frame) == 600


def test_the_url_may_name_a_unix_socket_folder(
    database_env: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = database_env
    socket_url = (
        f"postgresql://{server.user}:{server.password}@/{server.database}"
        f"?host={server.socket_dir}&port={server.port}"
    )
    monkeypatch.setenv("CHURN_DATABASE_URL", socket_url)
    assert len(_read(sql_spec(tmp_path))[0]) == 600
    monkeypatch.setenv("CHURN_DATABASE_URL", socket_url.replace(f"port={server.port}", "port=9"))
    monkeypatch.setattr("churn.sources.sql.CONNECT_ATTEMPTS", 1)
    with pytest.raises(SourceError) as caught:
        _read(sql_spec(tmp_path))
    assert f"cannot reach the database at {server.socket_dir}/.s.PGSQL.9: " in str(caught.value)
    assert server.password not in str(caught.value)


def test_a_contract_failure_points_at_rows_by_their_id(
    database_env: PostgresServer, tmp_path: Path
) -> None:
    frame = subscriptions_frame(200, seed=4)
    frame.loc[[3, 17], "support_calls"] = [-2, -5]
    frame.loc[5, "plan"] = "platinum"
    load_table(database_env, "broken", frame)
    with pytest.raises(DataContractError) as caught:
        _read(sql_spec(tmp_path, table="broken"))
    message = str(caught.value)
    assert message.startswith("sql table broken: data contract violated: 2 failed checks")
    assert "support_calls: below min 0: 2 rows failed at account_id 'A00003', 'A00017'" in message
    assert "values -2, -5" in message
    assert "plan:" in message and "'platinum'" in message and "account_id 'A00005'" in message


def test_an_empty_result_is_a_contract_error_naming_the_date(
    database_env: PostgresServer, tmp_path: Path
) -> None:
    with pytest.raises(DataContractError, match=r"returned no rows for as_of=2020-01-01 \(") as c:
        _read(sql_spec(tmp_path), date(2020, 1, 1))
    assert c.value.exit_code == 3
    assert "spec.yaml:" in str(c.value)


def test_a_refused_query_names_the_spec_line_and_the_servers_words(
    database_env: PostgresServer, tmp_path: Path
) -> None:
    with pytest.raises(SourceError) as caught:
        _read(sql_spec(tmp_path, query=f"SELECT {COLUMNS} FROM missing_table"))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'spec.yaml'}:6: data.source.query: the database at ")
    assert 'relation "missing_table" does not exist' in message
    assert caught.value.exit_code == 5


def test_a_parameter_other_than_as_of_is_a_spec_error(
    database_env: PostgresServer, tmp_path: Path
) -> None:
    with pytest.raises(SpecError, match=r"data.source.query: unknown parameter :region"):
        _read(sql_spec(tmp_path, query=f"SELECT {COLUMNS} FROM t WHERE region = :region"))


def test_as_of_is_bound_not_formatted_into_the_text(
    database_env: PostgresServer, tmp_path: Path
) -> None:
    query = f"SELECT {COLUMNS} FROM subscriptions WHERE snapshot_date = :as_of AND ':as_of' <> ''"
    assert len(_read(sql_spec(tmp_path, query=query))[0]) == 600


def test_a_wrong_password_is_refused_without_echoing_it(
    database_env: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = database_env.url.replace(database_env.password, "not-the-Pa55word")
    monkeypatch.setenv("CHURN_DATABASE_URL", wrong)
    import adbc_driver_postgresql.dbapi as dbapi

    attempts: list[str] = []
    connect = dbapi.connect

    def counted(uri: str, *args: object, **kwargs: object) -> object:
        attempts.append(uri)
        return connect(uri, *args, **kwargs)

    monkeypatch.setattr(dbapi, "connect", counted)
    with pytest.raises(SourceError) as caught:
        _read(sql_spec(tmp_path))
    message = str(caught.value)
    assert f"at 127.0.0.1:{database_env.port} refused the login" in message
    assert "password authentication failed" in message
    assert "not-the-Pa55word" not in message and database_env.password not in message
    assert len(attempts) == 1  # a refused login is not retried (counted, not timed)


def test_an_unreachable_host_names_host_and_port_after_bounded_retries(
    database_env: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = database_env.url.replace(f":{database_env.port}/", ":9/")
    monkeypatch.setenv("CHURN_DATABASE_URL", closed)
    waits: list[float] = []  # the back-off between attempts, counted rather than timed
    monkeypatch.setattr("churn.sources.sql.time", SimpleNamespace(sleep=waits.append))
    with pytest.raises(SourceError) as caught:
        _read(sql_spec(tmp_path))
    message = str(caught.value)
    assert message.startswith("cannot reach the database at 127.0.0.1:9 (3 attempts): ")
    assert database_env.password not in message
    assert waits == [1, 2]


def test_a_connection_dropped_mid_read_is_a_clear_error(
    database_env: PostgresServer, tmp_path: Path
) -> None:
    query = f"{SNAPSHOT_QUERY} AND pg_sleep(0.01) IS NOT NULL"
    killer = threading.Thread(target=_terminate_readers, args=(database_env,))
    killer.start()
    try:
        with pytest.raises(SourceError) as caught:
            _read(sql_spec(tmp_path, query=query))
    finally:
        killer.join()
    message = str(caught.value)
    assert "the connection to the database at 127.0.0.1:" in message
    assert "was lost while reading" in message and "nothing was recorded" in message


def _terminate_readers(server: PostgresServer) -> None:
    """Terminate the backend running the pg_sleep query once it has started."""
    for _ in range(100):
        time.sleep(0.1)
        rows = server.query(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(0.01)%' "
            "AND pid <> pg_backend_pid()"
        )
        if rows:
            server.execute(f"SELECT pg_terminate_backend({rows[0][0]})")
            return


def test_numeric_and_narrow_integer_columns_read_as_a_file_would(
    database_env: PostgresServer, tmp_path: Path
) -> None:
    database_env.execute(
        "DROP TABLE IF EXISTS typed",
        "CREATE TABLE typed AS SELECT account_id, plan::varchar(20), region, "
        "monthly_fee::numeric(10, 2), support_calls::int4, months_active::int2, "
        "churned::int4 FROM subscriptions WHERE snapshot_date = '2026-12-01'",
    )
    typed, typed_hash = _read(sql_spec(tmp_path, table="typed"))
    plain, plain_hash = _read(sql_spec(tmp_path))
    by_id = ["account_id"]
    pd.testing.assert_frame_equal(
        typed.sort_values(by_id, ignore_index=True), plain.sort_values(by_id, ignore_index=True)
    )
    assert typed_hash == plain_hash
