"""Serving a survival champion: the scorer, the fast path, /predict and /app-info (item 5).

The pipelines are the subscriptions spec's compiled front with a survival model as the last
step, fitted by hand on ``months_active`` (duration) and ``churned`` (event).
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from factories import subscriptions_frame, subscriptions_spec
from fastapi.testclient import TestClient

from churn.api.app import create_app
from churn.api.settings import Settings
from churn.explain import PipelineExplainer
from churn.registry.pointer import ChampionPointer
from churn.serving import FastScorer, ServingModel
from churn.spec.loader import load_spec
from churn.survival.estimators import SURVIVAL_MODELS
from churn.survival.scoring import SurvivalScorer
from churn.training.compile import compile_spec

HORIZONS = (3.0, 6.0, 12.0)
SMALL = {
    "cox": {},
    "xgb_cox": {"n_estimators": 20, "max_depth": 3, "n_jobs": 1},
    "xgb_aft": {"n_estimators": 20, "max_depth": 3, "n_jobs": 1},
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("survival_serving")
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(subscriptions_spec(), sort_keys=False))
    frame = subscriptions_frame(400)
    frame.to_csv(folder / "subscriptions.csv", index=False)
    return path, load_spec(path), frame


@pytest.fixture(scope="module", params=sorted(SMALL))
def fitted(request, project):
    _, spec, frame = project
    pipeline = next(iter(compile_spec(spec).values()))
    pipeline.set_params(model=SURVIVAL_MODELS[request.param](**SMALL[request.param]))
    y = np.empty(len(frame), dtype=[("event", "?"), ("time", "<f8")])
    y["event"], y["time"] = frame["churned"] == 1, frame["months_active"]
    features = frame.drop(columns=["churned", "account_id"])
    return request.param, pipeline.fit(features, y), features


def columns_of(frame):
    return {name: frame[name].tolist() for name in frame.columns}


def test_scores_are_the_estimators_curves(fitted, project):
    name, pipeline, features = fitted
    scorer = FastScorer(pipeline, project[1].columns)
    assert scorer.fast, scorer.reason
    encoded, _ = scorer.encoded(columns_of(features), len(features))
    reference = pipeline[:-1].transform(features)
    np.testing.assert_allclose(encoded, reference)
    survival = SurvivalScorer(pipeline[-1], HORIZONS, "month")
    assert survival.cox_form == (name != "xgb_aft")
    scores = survival.score(encoded)
    expected = 1.0 - pipeline[-1].predict_survival(reference, np.asarray(HORIZONS))
    np.testing.assert_allclose(scores.within, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(scores.median, pipeline[-1].predict_median(reference))
    assert np.all(np.diff(scores.within, axis=1) >= 0)
    assert survival.names == ("3", "6", "12")


def test_a_median_that_never_comes_is_null():
    from churn.survival.scoring import SurvivalScores

    scores = SurvivalScores(np.zeros((2, 1)), np.array([4.0, np.inf]))
    assert scores.median_or_none() == [4.0, None]


@pytest.fixture
def survival_client(fitted, project, tmp_path):
    """The API over an empty registry, its champion swapped for a survival model by hand."""
    name, pipeline, _ = fitted
    spec_path = project[0]
    app = create_app(Settings(home=tmp_path / "home", spec=spec_path, reload_interval=0))
    with TestClient(app) as client:
        state = app.state.churn
        pointer = ChampionPointer(
            run_id="20261206T141500Z-7c1d",
            model_name="model",
            model_path="runs/20261206T141500Z-7c1d/model.joblib",
            model_sha256="0" * 64,
            metrics={"harrell_c": 0.88, "uno_c": 0.86, "ibs_ratio": 0.61, "td_auc_3": 0.9},
        )
        state.holder.current = ServingModel(
            run_id=pointer.run_id,
            scorer=FastScorer(pipeline, state.records.specs),
            threshold=0.5,
            pointer=pointer,
            candidate=name,
            model_type=name,
            survival=SurvivalScorer(pipeline[-1], HORIZONS, "month"),
            explainer=PipelineExplainer(pipeline),
        )
        yield client, pipeline


def test_predict_answers_every_horizon_and_the_median(survival_client, project):
    client, pipeline = survival_client
    rows = project[2].drop(columns=["churned"]).head(5)
    records = rows.to_dict(orient="records")
    features = rows.drop(columns=["account_id"])
    answer = client.post("/predict", json={"records": records})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["kind"] == "survival" and body["unit"] == "month"
    assert body["horizons"] == list(HORIZONS)
    expected = 1.0 - pipeline[-1].predict_survival(pipeline[:-1].transform(features), HORIZONS)
    medians = pipeline[-1].predict_median(pipeline[:-1].transform(features))
    for row, want, median, sent in zip(
        body["predictions"], expected, medians, records, strict=True
    ):
        assert row["id"] == sent["account_id"]
        assert list(row["churn_within"]) == ["3", "6", "12"]
        np.testing.assert_allclose(list(row["churn_within"].values()), want, rtol=1e-9, atol=1e-12)
        assert row["median_time_to_churn"] == (median if np.isfinite(median) else None)
    explained = client.post("/predict?explain=2", json={"records": records})
    assert explained.status_code == 200, explained.text
    assert all(len(row["reasons"]) == 2 for row in explained.json()["predictions"])


def test_app_info_shows_the_survival_metrics(survival_client):
    client, _ = survival_client
    info = client.get("/app-info").json()
    assert info["kind"] == "survival"
    assert (info["harrell_c"], info["uno_c"], info["ibs_ratio"]) == (0.88, 0.86, 0.61)
    assert info["td_auc"] == {"3": 0.9, "6": None, "12": None}
    assert info["horizons"] == list(HORIZONS) and info["unit"] == "month"
    assert info["accuracy"] is None and info["threshold"] is None


def test_a_classifier_app_info_has_no_survival_fields(tmp_path, project):
    spec_path = project[0]
    app = create_app(Settings(home=tmp_path / "home", spec=spec_path, reload_interval=0))
    with TestClient(app) as client:
        info = client.get("/app-info").json()
        document = client.get("/openapi.json").json()
    assert "kind" not in info and "harrell_c" not in info and "td_auc" not in info
    example = document["components"]["schemas"]["SurvivalPredictResponse"]["examples"][0]
    assert example["predictions"][0]["churn_within"] == {"3": 0.21, "6": 0.34, "12": 0.52}
    operation = document["paths"]["/predict"]["post"]
    refs = str(operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert refs == "{'$ref': '#/components/schemas/PredictAnswer'}"
    answers = str(document["components"]["schemas"]["PredictAnswer"])
    assert "SurvivalPredictResponse" in answers and "/PredictResponse" in answers
    assert "median_time_to_churn" in operation["description"]
