"""Which sink the prediction log gets from the environment (no database needed: nothing is
connected before the first flush)."""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from churn.monitoring.prediction_table import SINK_NAME
from churn.monitoring.recorder import score_recorder
from churn.monitoring.scored import ScoredBatch
from churn.settings import ChurnSettings, SettingsError, load_settings

URL = SecretStr("postgresql://churn:pw@db.internal:5432/crm")


def test_a_log_table_replaces_the_parquet_files(tmp_path: Path) -> None:
    settings = ChurnSettings(prediction_log_table="monitoring.scores", database_url=URL)
    recorder = score_recorder(settings, tmp_path)
    assert recorder is not None and [s.name for s in recorder.sinks] == [SINK_NAME]
    off = ChurnSettings(prediction_log=False, prediction_log_table="scores", database_url=URL)
    assert score_recorder(off, tmp_path) is None
    default = score_recorder(ChurnSettings(), tmp_path)
    assert default is not None and [s.name for s in default.sinks] == ["prediction_log"]


def test_a_log_table_without_a_database_fails_its_flushes_not_the_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHURN_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHURN_DATABASE_URL_FILE", raising=False)
    counts: Counter[tuple[str, str]] = Counter()
    recorder = score_recorder(
        ChurnSettings(prediction_log_table="scores"),
        tmp_path,
        count=lambda sink, result, n: counts.update({(sink, result): n}),
    )
    assert recorder is not None
    proba = np.array([0.9, 0.1])
    recorder.record(ScoredBatch(["A1", "A2"], "r1", 0.0, proba, proba >= 0.5))
    with caplog.at_level(logging.ERROR):
        recorder.close()
    assert counts == {(SINK_NAME, "failed"): 2}
    assert "CHURN_PREDICTION_LOG_TABLE needs a database: set CHURN_DATABASE_URL" in caplog.text


def test_the_url_may_come_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from churn.monitoring.prediction_table import prediction_table_target

    monkeypatch.delenv("CHURN_DATABASE_URL", raising=False)  # the variable wins over the file

    secret = tmp_path / "database-url"
    secret.write_text(URL.get_secret_value() + "\n")
    settings = ChurnSettings(prediction_log_table="crm.scores", database_url_file=secret)
    url, name = prediction_table_target(settings, None) or (None, None)
    assert url is not None and url.shown == "postgresql://churn@db.internal:5432/crm"
    assert str(name) == "crm.scores"


def test_a_malformed_table_name_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHURN_PREDICTION_LOG_TABLE", "a.b.c")
    with pytest.raises(SettingsError, match=re.escape("CHURN_PREDICTION_LOG_TABLE='a.b.c'")) as e:
        load_settings()
    assert "[A-Za-z_][A-Za-z0-9_]*" in str(e.value)  # the pattern as it is, not lower-cased


@pytest.mark.parametrize("recorder_process", [False, True], ids=["thread", "process"])
def test_the_api_records_into_the_table_on_the_specs_database(
    tmp_path: Path, recorder_process: bool
) -> None:
    from factories import write_project

    from churn.api.app import create_app
    from churn.api.settings import Settings
    from churn.monitoring.recorder import SinkRunner
    from churn.monitoring.recorder_process import SinkProcess

    spec = write_project(tmp_path)
    settings = Settings(home=tmp_path / "home", spec=spec, prediction_log_table="scores",
                        database_url=URL, drift_tracking=False,
                        recorder_process=recorder_process)  # fmt: skip
    recorder = create_app(settings).state.churn.recorder
    assert recorder is not None and recorder.handler.names == (SINK_NAME,)
    handler = recorder.handler
    if recorder_process:
        assert isinstance(handler, SinkProcess) and handler.plan.log.table is not None
        (sink,), _ = handler.plan.sinks()  # as the recorder process builds it
    else:
        assert isinstance(handler, SinkRunner)
        (sink,) = handler.sinks
    assert sink.close is not None  # the writer closes its connection with the recorder


def test_attempts_back_off_after_failures_and_the_flushes_wait_meanwhile() -> None:
    from churn.errors import SourceError
    from churn.monitoring.prediction_log import log_table
    from churn.monitoring.prediction_table import PredictionTableWriter
    from churn.sources.database_url import parse
    from churn.sources.score_table import table_name

    now = [100.0]
    url = parse(SecretStr("postgresql://u:p@127.0.0.1:9/x"), "t")
    writer = PredictionTableWriter(url, table_name("t"), retry_seconds=[1, 4], clock=lambda: now[0])
    proba = np.array([0.9])
    flush = log_table([ScoredBatch(["A1"], "r1", 0.0, proba, proba >= 0.5)])
    with pytest.raises(SourceError, match="cannot reach"):
        writer.write(flush)
    now[0] += 0.5
    with pytest.raises(SourceError, match="2 records wait for the next attempt in 0 s"):
        writer.write(flush)  # within the back-off: not even tried
    now[0] += 0.6
    with pytest.raises(SourceError, match="cannot reach"):
        writer.write(flush)  # tried again: the second failure waits 4 s
    now[0] += 3.9
    with pytest.raises(SourceError, match="4 records wait"):
        writer.write(flush)
    assert writer.backlog_rows == 4
