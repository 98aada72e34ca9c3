"""``distributed: true`` off a Dask cluster: the same fit, model and numbers as without it."""

from __future__ import annotations

import numpy as np
import yaml
from factories import subscriptions_frame, subscriptions_spec

from churn.spec.loader import parse_spec
from churn.training.cluster_xgb import ClusterXGBClassifier
from churn.training.compile import compile_spec
from churn.training.evaluate import evaluate_candidates
from churn.training.parallel import loop_jobs

XGB = {"name": "xgb", "type": "xgboost", "params": {"n_estimators": 20, "max_depth": 3}}


def spec_with(**model: object):
    text = yaml.safe_dump(subscriptions_spec(models=[{**XGB, **model}]), sort_keys=False)
    return parse_spec(text)


def test_a_distributed_candidate_compiles_to_the_cluster_estimator() -> None:
    pipeline = compile_spec(spec_with(distributed=True))["xgb"]
    assert type(pipeline.named_steps["model"]) is ClusterXGBClassifier


def test_without_a_cluster_a_distributed_candidate_trains_exactly_as_an_ordinary_one() -> None:
    frame = subscriptions_frame(300)
    plain = evaluate_candidates(spec_with(), frame)["xgb"]
    distributed = evaluate_candidates(spec_with(distributed=True), frame)["xgb"]
    assert distributed.cv_scores == plain.cv_scores
    assert distributed.holdout == plain.holdout
    assert np.array_equal(distributed.test_proba, plain.test_proba)


def test_off_a_cluster_churns_loops_run_one_after_another() -> None:
    assert loop_jobs() == 1
