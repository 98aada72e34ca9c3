"""Alert rules and the Grafana dashboard name only metrics the API really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from kube import K8S, ROOT, require_tool
from prometheus_client.parser import text_string_to_metric_families

from churn.api.app import create_app
from churn.api.settings import Settings

MONITORING = K8S / "monitoring"
RULES = MONITORING / "alerts.yaml"
DASHBOARD = MONITORING / "churn-dashboard.json"
METRIC = re.compile(r"\bchurn_[a-z0-9_]+\b")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gauge": ("",),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every series name the real app's /metrics exposes (an empty registry: no training)."""
    settings = Settings(
        home=tmp_path_factory.mktemp("home"), spec=ROOT / "spec" / "telco.yaml", reload_interval=0
    )
    with TestClient(create_app(settings)) as client:
        text = client.get("/metrics").text
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def rule_exprs() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def panel_exprs() -> dict[str, str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {
        f"{panel['title']} [{target['refId']}]": target["expr"]
        for panel in panels
        for target in panel["targets"]
    }


def unknown_metrics(exprs: dict[str, str], exported: set[str]) -> list[str]:
    """Expressions that name a metric the API does not export, or none of churn's at all."""
    problems = []
    for where, expr in exprs.items():
        names = set(METRIC.findall(expr))
        if not names:
            problems.append(f"{where}: names no churn metric: {expr}")
        problems += [f"{where}: {name} is not exported" for name in sorted(names - exported)]
    return problems


def test_the_app_exports_the_metrics_the_alerts_need(exported) -> None:
    assert {
        "churn_last_success_timestamp_seconds",
        "churn_last_run_gates_passed",
        "churn_model_ready",
        "churn_api_request_duration_seconds_bucket",
        "churn_api_requests_total",
        "churn_predictions_total",
    } <= exported


def test_alert_rules_name_only_exported_metrics(exported) -> None:
    assert unknown_metrics(rule_exprs(), exported) == []


def test_dashboard_panels_name_only_exported_metrics(exported) -> None:
    assert unknown_metrics(panel_exprs(), exported) == []


@pytest.mark.parametrize(
    "expr",
    ["max(churn_last_successful_run_seconds) > 0", "rate(churn_api_requests[5m])", "up == 0"],
    ids=["misspelled", "counter without _total", "no churn metric"],
)
def test_a_metric_the_api_does_not_export_is_reported(expr, exported) -> None:
    assert unknown_metrics({"broken": expr}, exported) != []


def test_the_alerts_cover_runs_gates_champion_latency_and_errors() -> None:
    exprs = " ".join(rule_exprs().values())
    for needed in (
        "churn_last_success_timestamp_seconds",
        "churn_last_run_gates_passed",
        "churn_model_ready",
        'churn_api_request_duration_seconds_bucket{route="/predict"}',
        'status=~"5.."',
    ):
        assert needed in exprs
    assert "26 * 3600" in rule_exprs()["ChurnNoSuccessfulRun"]


def test_the_dashboard_shows_runs_gates_champion_requests_and_decisions() -> None:
    exprs = " ".join(panel_exprs().values())
    for needed in (
        "churn_last_run_status",
        "churn_last_run_gates_passed",
        "churn_champion_metric",
        "churn_api_requests_total",
        "churn_api_request_duration_seconds_bucket",
        "churn_predictions_total",
    ):
        assert needed in exprs


def promtool_check(path: Path) -> subprocess.CompletedProcess[str]:
    promtool = require_tool("promtool", "apt-get install prometheus")
    return subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_promtool_accepts_the_rules() -> None:
    result = promtool_check(RULES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule(tmp_path) -> None:
    broken = tmp_path / "alerts.yaml"
    broken.write_text(RULES.read_text().replace("max(churn_model_load_error)", "max(churn_model"))
    assert promtool_check(broken).returncode != 0


def _input_drift_expected(column: str) -> list[dict[str, object]]:
    """The one ChurnInputDrift alert promtool should see for ``column``, annotations expanded."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rule = next(r for g in groups for r in g["rules"] if r.get("alert") == "ChurnInputDrift")
    annotations = {
        name: text.replace("{{ $labels.column }}", column)
        for name, text in rule["annotations"].items()
    }
    return [{"exp_labels": {"severity": "warning", "column": column},
             "exp_annotations": annotations}]  # fmt: skip


def test_input_drift_fires_for_every_alerting_column_the_window_can_judge(tmp_path) -> None:
    """ChurnInputDrift follows churn_drift_status, as `churn drift` judges: a category whose
    unseen share is past unseen_alert alerts with its PSI below psi_alert (it fired on PSI
    alone); a warning, the scores (ChurnScoreDrift's) or a window under 1,000 records do not."""
    promtool = require_tool("promtool", "apt-get install prometheus")
    shutil.copy(RULES, tmp_path / "alerts.yaml")

    def series(status: dict[str, int], window: int) -> list[dict[str, str]]:
        found = [{"series": f'churn_drift_status{{column="{column}"}}', "values": f"{value}x30"}
                 for column, value in status.items()]  # fmt: skip
        found += [{"series": f'churn_drift_psi{{column="{column}"}}', "values": "0.17x30"}
                  for column in status if column != "(scores)"]  # fmt: skip
        found += [{"series": f'churn_drift_psi_alert_threshold{{column="{column}"}}',
                   "values": "0.25x30"} for column in status]  # fmt: skip
        return [*found, {"series": "churn_drift_window_records", "values": f"{window}x30"}]

    cases = [  # (series, the columns expected to alert)
        (series({"PaymentMethod": 2, "tenure": 1, "(scores)": 2}, 5000), ["PaymentMethod"]),
        (series({"PaymentMethod": 2}, 500), []),
    ]
    tests = []
    for given, alerting in cases:
        expected = [alert for column in alerting for alert in _input_drift_expected(column)]
        check = {"eval_time": "20m", "alertname": "ChurnInputDrift", "exp_alerts": expected}
        tests.append({"interval": "1m", "input_series": given, "alert_rule_test": [check]})
    unit = {"rule_files": ["alerts.yaml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "unit.yaml").write_text(yaml.safe_dump(unit, sort_keys=False))

    result = subprocess.run([promtool, "test", "rules", "unit.yaml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
