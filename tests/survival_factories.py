"""Test data for time to churn: a small synthetic subscription table with a known hazard."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from churn.registry import Registry

PLANS = ["basic", "pro", "enterprise"]
STUDY_MONTHS = 60.0


def survival_frame(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """Customers whose monthly churn hazard grows with support calls and the fee and shrinks on
    the enterprise plan; churn times are exponential, censored at a uniform end of observation.

    ``total_spend`` is ``months_active x monthly_fee`` with 2 % noise: it leaks the duration.
    """
    rng = np.random.default_rng(seed)
    plan = rng.choice(PLANS, size=rows, p=[0.5, 0.35, 0.15])
    calls = rng.poisson(2.0, size=rows)
    fee = np.round(rng.uniform(10, 120, size=rows), 2)
    log_hazard = -4.2 + 0.45 * calls + 0.01 * fee - 1.0 * (plan == "enterprise")
    churn_time = rng.exponential(1.0 / np.exp(log_hazard))
    observed_until = rng.uniform(1.0, STUDY_MONTHS, size=rows)
    months = np.maximum(np.round(np.minimum(churn_time, observed_until), 1), 0.1)
    churned = churn_time <= observed_until
    total = np.round(months * fee * rng.normal(1.0, 0.02, size=rows), 2)
    return pd.DataFrame(
        {
            "account_id": [f"S{i:05d}" for i in range(rows)],
            "plan": plan,
            "monthly_fee": fee,
            "support_calls": calls,
            "total_spend": total,
            "months_active": months,
            "churned": np.where(churned, "yes", "no"),
        }
    )


SURVIVAL_SPEC: dict[str, Any] = {
    "version": 1,
    "name": "subscriptions-survival",
    "data": {
        "source": "subscriptions.csv",
        "id": "account_id",
        "target": {
            "kind": "survival",
            "duration": "months_active",
            "event": "churned",
            "event_value": "yes",
            "unit": "month",
            "horizons": [6, 12, 24],
        },
    },
    "columns": {
        "account_id": {"dtype": "str", "unique": True},
        "plan": {"dtype": "category", "values": PLANS},
        "monthly_fee": {"dtype": "float", "min": 0},
        "support_calls": {"dtype": "int", "min": 0},
        "total_spend": {"dtype": "float", "min": 0},
        "months_active": {"dtype": "float", "min": 0, "max": STUDY_MONTHS},
        "churned": {"dtype": "category", "values": ["yes", "no"]},
    },
    "features": {
        "groups": [
            {
                "name": "numbers",
                "columns": ["monthly_fee", "support_calls"],
                "steps": [{"type": "scale"}],
            },
            {"name": "labels", "columns": ["plan"], "steps": [{"type": "one_hot"}]},
        ],
        "drop": ["total_spend"],
    },
    "models": [
        {"name": "cox", "type": "cox"},
        {"name": "xgb_cox", "type": "xgb_cox", "params": {"n_estimators": 50}},
    ],
    "evaluation": {"cv_folds": 3, "split": {"test_size": 0.25, "seed": 7}},
    "gates": {"value": [{"metric": "harrell_c", "lower": 0.6}]},
}


def survival_spec(**overrides: Any) -> dict[str, Any]:
    """A deep copy of the survival spec with top-level keys replaced."""
    spec = copy.deepcopy(SURVIVAL_SPEC)
    spec.update(copy.deepcopy(overrides))
    return spec


def survival_champion(home: Path, pipeline: Any, spec_path: Path) -> Path:
    """A registry at ``home`` whose champion is the fitted ``pipeline`` (promoted by hand, with
    ``spec_path`` as its run's spec copy); returns ``home``."""
    registry = Registry(home)
    run_id = "20261206T141500.000000Z-5c0a1d"
    registry.start_run(run_id)
    (registry.run_dir(run_id) / "spec.yaml").write_text(spec_path.read_text())
    info = registry.save_model(run_id, pipeline, name="model.joblib")
    with registry.lock():
        registry.set_champion(
            run_id,
            model_name=info.name,
            model_sha256=info.sha256,
            metrics={"harrell_c": 0.8},
            threshold=None,
            reason="test",
            action="promote",
        )
    return home


def write_survival_project(folder: Path, rows: int, **overrides: Any) -> Path:
    """``spec.yaml`` (the survival spec with ``overrides``) and ``subscriptions.csv`` of
    ``rows`` rows in ``folder``; returns the spec's path."""
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(survival_spec(**overrides), sort_keys=False))
    survival_frame(rows).to_csv(folder / "subscriptions.csv", index=False)
    return path
