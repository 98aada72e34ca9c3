"""``churn score --to-table`` with a file spec and no database URL: a usage error (exit 2) naming
``--to-table`` and the variables to set, before the model is loaded or a row read."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import write_project
from typer.testing import CliRunner

from churn.cli.app import app


def test_to_table_without_a_database_url_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write_project(tmp_path)  # data.source is a file: the table's database is the default
    monkeypatch.delenv("CHURN_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHURN_DATABASE_URL_FILE", raising=False)

    result = CliRunner().invoke(
        app, ["score", "--spec", str(spec), "--home", str(tmp_path / "home"),
              "--to-table", "crm.scores"],
    )  # fmt: skip

    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "--to-table" in message and "needs a database" in message
    assert "CHURN_DATABASE_URL or CHURN_DATABASE_URL_FILE" in message
    assert not (tmp_path / "home").exists()
