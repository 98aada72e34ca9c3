"""The report is rendered from Jinja2 templates that ship in the wheel and escape every value."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from wide_report import candidate, write_wide_report

from churn.report import templating

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "churn" / "report" / "templates"
EVIL = '<script>alert("x")</script>'


def test_a_hostile_candidate_name_and_its_choices_are_escaped(tmp_path: Path) -> None:
    hostile = candidate(
        EVIL,
        EVIL,
        members=[EVIL, "xgb"],
        threshold_policy={"strategy": EVIL, "metric": EVIL, "threshold": 0.5},
        search={
            "method": EVIL,
            "n_iter": 2,
            "cv": 2,
            "best_params": {EVIL: EVIL},
            "best_score": 0.8,
            "table": [
                {
                    "rank": 1,
                    "mean_score": 0.8,
                    "std_score": None,
                    "fit_seconds": 0.1,
                    "params": {EVIL: EVIL},
                }
            ],
        },
    )
    hostile["holdout"][EVIL] = 0.5
    report = write_wide_report(
        tmp_path,
        candidates={EVIL: hostile},
        winner=EVIL,
        spec_name=EVIL,
        decision={"action": "promote", "run_failed": False, "reason": EVIL},
    )
    text = report.read_text()
    assert "<script" not in text
    assert text.count("&lt;script&gt;") >= 12


def test_templates_autoescape_and_refuse_undefined_names() -> None:
    environment = templating.environment()
    assert environment.autoescape is True
    assert (
        str(
            templating.render_template(
                "eda_note.html.j2", sampled=False, rows_used=0, rows=None, reused_from=EVIL
            )
        ).count("&lt;script&gt;")
        == 1
    )
    with pytest.raises(Exception, match="undefined"):
        templating.render_template("eda_note.html.j2")


def test_the_wheel_ships_every_template(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        if os.environ.get("CI"):
            pytest.fail("uv is not installed; CI must have it")
        pytest.skip("uv is not installed")
    subprocess.run(
        [uv, "build", "--quiet", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("churn-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"churn/report/templates/{path.name}" for path in TEMPLATES.iterdir()}
    assert len(expected) >= 10
    assert expected <= shipped, sorted(expected - shipped)
