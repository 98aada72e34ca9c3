"""``churn score --to-table`` with a survival champion: refused before any database is touched,
with the reason (exit 2), and the registry unchanged."""

from __future__ import annotations

import pytest
from survival_factories import survival_champion, write_survival_project
from typer.testing import CliRunner

from churn.cli.app import app
from churn.contract import load_dataset
from churn.spec.loader import load_spec
from churn.survival.outcome import survival_outcome
from churn.training.compile import compile_spec


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    folder = tmp_path_factory.mktemp("survival_table")
    spec_path = write_survival_project(folder, 120)
    spec = load_spec(spec_path)
    frame = load_dataset(spec)
    pipeline = compile_spec(spec)["cox"].fit(
        frame[spec.feature_columns], survival_outcome(frame, spec.data.target)
    )
    return survival_champion(folder / "home", pipeline, spec_path), spec_path


@pytest.mark.slow  # a fitted survival champion and a CLI run: ~12 s on a loaded machine
def test_a_survival_champion_to_a_table_is_refused_with_the_reason(champion, monkeypatch):
    home, spec_path = champion
    monkeypatch.setenv("CHURN_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    before = sorted(p.relative_to(home) for p in home.rglob("*"))

    result = CliRunner().invoke(
        app,
        ["score", "--spec", str(spec_path), "--home", str(home), "--to-table", "crm.scores"],
    )

    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "the champion is a survival model" in message
    assert "has none" in message and "-o" in message
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == before
