"""`churn outcomes` records realized performance; `churn monitor` shows it (text, JSON, HTML);
`--if-needed` hears when realized recall fell below its gate."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from factories import write_project
from typer.testing import CliRunner

from churn.cli.app import app
from churn.monitoring.prediction_log import PredictionLogFolder, log_table
from churn.monitoring.realized import realized_reasons
from churn.monitoring.scored import ScoredBatch
from churn.spec.evaluation import ValueThreshold

runner = CliRunner()
SCORED = datetime(2026, 11, 30, 9, tzinfo=UTC)


def _project(tmp_path: Path) -> tuple[Path, Path]:
    spec = write_project(tmp_path)
    home = tmp_path / "home"
    proba = np.array([0.9, 0.8, 0.2, 0.1])
    batch = ScoredBatch(["A1", "A2", "A3", "A4"], "r1", SCORED.timestamp(), proba, proba >= 0.5)
    PredictionLogFolder(home / "predictions", max_bytes=10**9).write(log_table([batch]), SCORED)
    return spec, home


def test_outcomes_then_monitor_in_text_json_and_html(tmp_path: Path) -> None:
    spec, home = _project(tmp_path)
    data = tmp_path / "outcomes.csv"
    data.write_text("account_id,churned,date\nA1,1,2026-12-20\nA2,0,2026-12-20\n"
                    "A3,1,2026-12-20\nA4,0,2026-12-20\nA9,1,2026-12-20\n")  # fmt: skip
    common = ["--home", str(home)]
    result = runner.invoke(app, ["outcomes", str(data), "--spec", str(spec), *common, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["matched"], summary["unmatched"]) == (4, 1)
    (week,) = summary["realized"]["by_week"]
    assert (week["precision"], week["recall"]) == (0.5, 0.5)  # A1 TP, A2 FP, A3 FN
    text = runner.invoke(app, ["monitor", *common])
    assert text.exit_code == 0, text.output
    assert "2026-W49" in text.output and "0.5000" in text.output
    page = tmp_path / "monitor.html"
    shown = runner.invoke(app, ["monitor", *common, "--json", "--html", str(page)])
    assert json.loads(shown.output)["realized"]["by_week"][0]["recall"] == 0.5
    assert "<img" in page.read_text() and "2026-W49" in page.read_text()
    gates = [ValueThreshold(metric="recall", lower=0.6), ValueThreshold(metric="f1", lower=0.9)]
    (reason,) = realized_reasons(home, gates)
    assert "realized recall 0.5000 in 2026-W49" in reason and "0.6" in reason


def test_an_unusable_outcomes_file_exits_3_and_records_nothing(tmp_path: Path) -> None:
    spec, home = _project(tmp_path)
    data = tmp_path / "outcomes.csv"
    data.write_text("account_id,churned\nA1,1\n")
    result = runner.invoke(app, ["outcomes", str(data), "--spec", str(spec), "--home", str(home)])
    assert result.exit_code == 3
    assert "outcomes.csv" in result.output and "column 'date' is missing" in result.output
    assert not (home / "monitoring").exists()


def test_a_table_name_with_sql_in_it_is_a_usage_error_in_words(tmp_path: Path) -> None:
    spec = write_project(tmp_path)
    result = CliRunner().invoke(
        app, ["outcomes", "--table", "crm.x;drop table y", "--spec", str(spec),
              "--home", str(tmp_path / "home")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--table: expected a name of letters, digits and _" in result.output
    assert "'crm.x;drop table y'" in result.output and "pattern" not in result.output
    assert not (tmp_path / "home").exists()


def test_a_query_without_a_database_url_is_a_usage_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write_project(tmp_path)  # its data.source is a file: no database anywhere
    monkeypatch.delenv("CHURN_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHURN_TIDY_NO_SUCH_URL", raising=False)
    common = ["--spec", str(spec), "--home", str(tmp_path / "home")]

    unset = runner.invoke(app, ["outcomes", "--query", "SELECT 1", *common])
    named = runner.invoke(app, ["outcomes", "--table", "crm.outcomes", *common,
                                "--url-env", "CHURN_TIDY_NO_SUCH_URL"])  # fmt: skip
    no_file = runner.invoke(app, ["outcomes", "--query", "SELECT 1", *common,
                                  "--url-file", str(tmp_path / "missing")])  # fmt: skip

    assert unset.exit_code == 2, unset.output
    assert "churn outcomes: --query needs a database URL" in unset.output
    assert "CHURN_DATABASE_URL is not set" in unset.output and "--url-env" in unset.output
    assert named.exit_code == 2 and "--table needs a database URL" in named.output
    assert "CHURN_TIDY_NO_SUCH_URL is not set" in named.output
    assert no_file.exit_code == 2 and "--url-file" in no_file.output
    assert "missing" in no_file.output
    assert not (tmp_path / "home").exists()
