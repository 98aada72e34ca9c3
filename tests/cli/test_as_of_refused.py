"""``--as-of`` picks a SQL source's snapshot: given for a file or URL read, it is a usage error
(exit 2, naming the option and what is read) instead of a date silently ignored.

The SQL side (``churn drift --as-of`` reading that day's snapshot) is in
``tests/sources/test_sql_run_and_scores.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from factories import write_project
from typer.testing import CliRunner

from churn.cli.app import app

runner = CliRunner()
AS_OF = ["--as-of", "2026-12-01"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file spec (``subscriptions.csv``) and outcomes, nothing trained; ``CHURN_AS_OF`` is
    restored after the option sets it."""
    monkeypatch.setenv("CHURN_AS_OF", "2026-11-30")
    spec = write_project(tmp_path)
    (tmp_path / "outcomes.csv").write_text("id,churned,date\nA00001,1,2026-12-01\n")
    return spec


def commands(spec: Path) -> dict[str, list[str]]:
    folder = spec.parent
    data = str(folder / "subscriptions.csv")
    home = ["--home", str(folder / "home")]
    scores = ["-o", str(folder / "s.csv"), "--spec", str(spec), *home]
    return {
        "drift DATA": ["drift", data, "--spec", str(spec), *home],
        "drift, the spec's file": ["drift", "--spec", str(spec), *home],
        "score SOURCE -o": ["score", data, *scores],
        "score -o, the spec's file": ["score", *scores],
        "outcomes DATA": ["outcomes", str(folder / "outcomes.csv"), "--spec", str(spec), *home],
        "run": ["run", str(spec), *home],
        "run --if-needed": ["run", str(spec), "--if-needed", *home],
    }


@pytest.mark.parametrize("name", list(commands(Path("spec.yaml"))))
def test_as_of_for_a_file_is_a_usage_error_naming_the_option(project: Path, name: str) -> None:
    args = commands(project)[name]

    result = runner.invoke(app, [*args, *AS_OF])

    assert result.exit_code == 2, result.output
    joined = "".join(result.output.replace("│", "").split())  # the box wraps long paths
    assert "Invalidvaluefor--as-of:picksthesnapshotofaSQLsource" in joined
    read = "outcomes.csv" if name.startswith("outcomes") else "subscriptions.csv"
    assert f"{read}isreadwhole;leave--as-ofout" in joined
    assert not (project.parent / "home").exists()  # refused before anything was read or written
    assert not (project.parent / "s.csv").exists()


def test_the_same_commands_without_as_of_go_on(project: Path) -> None:
    """The refusal is the option's: without it, drift and score get as far as the registry
    (no champion: exit 1), outcomes records."""
    for name in ("drift DATA", "score SOURCE -o"):
        result = runner.invoke(app, commands(project)[name])
        assert result.exit_code == 1, (name, result.output)
        assert "champion" in result.output
    assert runner.invoke(app, commands(project)["outcomes DATA"]).exit_code == 0
    assert os.environ["CHURN_AS_OF"] == "2026-11-30"
