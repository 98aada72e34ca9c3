"""Reasons per prediction for a survival champion (issue 25 follow-up, item 3): exact
contributions to the model's risk, grouped by spec column, through the library, ``churn score
--explain`` and ``/predict?explain=K``; a model without a fast exact explainer is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from survival_factories import (
    survival_champion,
    write_survival_project,
)
from typer.testing import CliRunner

from churn.api.app import create_app
from churn.api.settings import Settings
from churn.cli.app import app as cli
from churn.contract import load_dataset
from churn.explain import PipelineExplainer, Unexplainable
from churn.explain.survival import SurvivalUnexplainable
from churn.serving.score_file import ScoringModel, score_file
from churn.spec.loader import load_spec
from churn.survival.estimators import SURVIVAL_MODELS
from churn.survival.outcome import survival_outcome
from churn.training.compile import compile_spec

SMALL = {
    "cox": {},
    "xgb_cox": {"n_estimators": 20, "max_depth": 3, "n_jobs": 1},
    "xgb_aft": {"n_estimators": 20, "max_depth": 4, "n_jobs": 1},
    "gradient_boosting_survival": {"n_estimators": 5, "max_depth": 2},
}
INPUTS = ["monthly_fee", "support_calls", "plan"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("survival_reasons")
    spec = load_spec(write_survival_project(folder, 200))
    return folder, spec, load_dataset(spec)


_FITTED: dict[tuple[int, str], object] = {}


def fitted(project, model_type):
    """The spec's pipeline with a ``model_type`` last step, fitted once per module run."""
    key = (id(project), model_type)
    if key not in _FITTED:
        _, spec, frame = project
        pipeline = compile_spec(spec)["cox"]
        pipeline.set_params(model=SURVIVAL_MODELS[model_type](**SMALL[model_type]))
        target = survival_outcome(frame, spec.data.target)
        _FITTED[key] = pipeline.fit(frame[spec.feature_columns], target)
    return _FITTED[key]


@pytest.mark.parametrize(
    ("model_type", "scale"),
    [("cox", "log_hazard"), ("xgb_cox", "log_hazard"), ("xgb_aft", "minus_log_time")],
)
def test_contributions_add_up_to_the_risk(project, model_type, scale):
    frame = project[2]
    pipeline = fitted(project, model_type)
    explanation, values = PipelineExplainer(pipeline).explain_frame(frame)
    risk = pipeline[-1].predict(pipeline[:-1].transform(frame))
    assert explanation.scale == scale
    assert sorted(explanation.columns) == sorted(INPUTS)
    np.testing.assert_allclose(explanation.output, risk, rtol=1e-9, atol=1e-9)
    assert explanation.rounding < 1e-5
    assert np.abs(explanation.contributions).sum(axis=0).min() > 0  # every input counts
    assert values["plan"] == frame["plan"].tolist()


def test_an_average_of_survival_models_is_explained_through_its_members(project):
    from churn.survival.ensemble import SurvivalAverage

    _, spec, frame = project
    pipeline = compile_spec(spec)["cox"]
    members = [(name, SURVIVAL_MODELS[name](**SMALL[name])) for name in ("cox", "xgb_aft")]
    pipeline.set_params(model=SurvivalAverage(members, weights=[1.0, 3.0]))
    pipeline.fit(frame[spec.feature_columns], survival_outcome(frame, spec.data.target))
    explanation, _ = PipelineExplainer(pipeline).explain_frame(frame)
    risk = pipeline[-1].predict(pipeline[:-1].transform(frame))
    assert explanation.scale == "standardised_risk"
    np.testing.assert_allclose(explanation.output, risk, rtol=1e-9, atol=1e-9)
    assert np.abs(explanation.contributions).sum(axis=0).min() > 0


def test_cox_contributions_are_its_coefficients_times_the_features(project):
    pipeline = fitted(project, "cox")
    encoded = pipeline[:-1].transform(project[2].head(5))
    explanation = PipelineExplainer(pipeline).explain_encoded(encoded)
    fee = explanation.columns.index("monthly_fee")
    coef = pipeline[-1].coef_
    names = list(pipeline[-2].get_feature_names_out())
    j = next(i for i, name in enumerate(names) if name.endswith("monthly_fee"))
    np.testing.assert_allclose(explanation.contributions[:, fee], coef[j] * encoded[:, j])
    # a higher fee raises the hazard in the data, so its reason raises the risk too
    assert coef[j] > 0


def test_an_aft_reason_that_shortens_the_time_raises_the_risk(project):
    pipeline = fitted(project, "xgb_aft")
    encoded = pipeline[:-1].transform(project[2])
    explanation = PipelineExplainer(pipeline).explain_encoded(encoded)
    log_time = pipeline[-1].log_time(encoded)
    np.testing.assert_allclose(explanation.output, -log_time, rtol=1e-9, atol=1e-9)


def test_gradient_boosting_survival_is_refused_by_name(project):
    pipeline = fitted(project, "gradient_boosting_survival")
    with pytest.raises(SurvivalUnexplainable, match="GradientBoostingSurvival survival model"):
        PipelineExplainer(pipeline)
    assert issubclass(SurvivalUnexplainable, Unexplainable)


def test_score_explain_writes_reasons_on_the_risk(project, tmp_path):
    folder, spec, frame = project
    pipeline = fitted(project, "xgb_cox")
    out = tmp_path / "scored.csv"
    score_file(
        spec,
        ScoringModel("run-1", pipeline, 0.5),
        folder / "subscriptions.csv",
        out,
        explain=3,
    )
    scored = pd.read_csv(out)
    assert "churn_within_24" in scored and "reason_3_contribution" in scored
    risk = pipeline[-1].predict(pipeline[:-1].transform(frame))
    total = scored[[f"reason_{i}_contribution" for i in (1, 2, 3)]].sum(axis=1)
    np.testing.assert_allclose(total + scored["explanation_base"], risk, rtol=1e-6, atol=1e-6)
    assert set(scored["reason_1"]) <= set(INPUTS)


def test_cli_and_api_refuse_an_unexplainable_survival_champion(project, tmp_path):
    folder = project[0]
    home = survival_champion(
        tmp_path / "home", fitted(project, "gradient_boosting_survival"), folder / "spec.yaml"
    )
    args = ["score", str(folder / "subscriptions.csv"), "-o", str(tmp_path / "s.csv")]
    common = ["--spec", str(folder / "spec.yaml"), "--home", str(home), "--explain", "2"]
    result = CliRunner().invoke(cli, [*args, *common])
    assert result.exit_code == 2, result.output
    assert "GradientBoostingSurvival" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "s.csv").exists()
    app = create_app(Settings(home=home, spec=folder / "spec.yaml", reload_interval=0))
    records = project[2].drop(columns=["churned", "months_active"]).head(2)
    with TestClient(app) as client:
        plain = client.post("/predict", json={"records": records.to_dict(orient="records")})
        refused = client.post(
            "/predict?explain=2", json={"records": records.to_dict(orient="records")}
        )
    assert plain.status_code == 200, plain.text
    assert refused.status_code == 422
    assert "GradientBoostingSurvival" in refused.text


def test_predict_explains_a_cox_champion(project, tmp_path):
    folder, _, frame = project
    pipeline = fitted(project, "cox")
    home = survival_champion(tmp_path / "home", pipeline, folder / "spec.yaml")
    app = create_app(Settings(home=home, spec=folder / "spec.yaml", reload_interval=0))
    rows = frame.drop(columns=["churned", "months_active"]).head(4)
    with TestClient(app) as client:
        answer = client.post("/predict?explain=3", json={"records": rows.to_dict(orient="records")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["kind"] == "survival" and body["explanation_scale"] == "log_hazard"
    risk = pipeline[-1].predict(pipeline[:-1].transform(rows))
    for row, want in zip(body["predictions"], risk, strict=True):
        assert [r["column"] for r in row["reasons"]] != []
        total = row["base_value"] + sum(r["contribution"] for r in row["reasons"])
        assert total == pytest.approx(want, rel=1e-9, abs=1e-9)
        assert {"churn_within", "median_time_to_churn"} <= set(row)
