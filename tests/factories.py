"""Test data: a small second churn data set with other columns, and its spec."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from churn.registry import Registry, RunManifest

PLANS = ["basic", "pro", "enterprise"]
REGIONS = ["north", "south", "east", "west"]


def subscriptions_frame(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """A synthetic subscription business whose churn depends on plan, calls and fee."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(PLANS, size=rows, p=[0.5, 0.35, 0.15])
    calls = rng.poisson(2.0, size=rows)
    months = rng.integers(1, 60, size=rows)
    fee = np.round(rng.uniform(10, 120, size=rows), 2)
    logit = -1.0 + 0.6 * calls - 0.04 * months + 0.01 * fee - 0.8 * (plan == "enterprise")
    churned = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "account_id": [f"A{i:05d}" for i in range(rows)],
            "plan": plan,
            "region": rng.choice(REGIONS, size=rows),
            "monthly_fee": fee,
            "support_calls": calls,
            "months_active": months,
            "churned": churned,
        }
    )


SUBSCRIPTIONS_SPEC: dict[str, Any] = {
    "version": 1,
    "name": "subscriptions",
    "data": {
        "source": "subscriptions.csv",
        "id": "account_id",
        "target": {"column": "churned", "positive": 1},
    },
    "columns": {
        "account_id": {"dtype": "str", "unique": True},
        "plan": {"dtype": "category", "values": PLANS},
        "region": {"dtype": "category", "values": REGIONS},
        "monthly_fee": {"dtype": "float", "min": 0},
        "support_calls": {"dtype": "int", "min": 0},
        "months_active": {"dtype": "int", "min": 0},
        "churned": {"dtype": "int", "values": [0, 1]},
    },
    "features": {
        "derived": [
            {
                "name": "fee_per_call",
                "type": "ratio",
                "numerator": "monthly_fee",
                "denominator": "support_calls",
            },
        ],
        "groups": [
            {
                "name": "numbers",
                "columns": ["monthly_fee", "support_calls", "months_active", "fee_per_call"],
                "steps": [{"type": "impute", "strategy": "median"}, {"type": "scale"}],
            },
            {"name": "labels", "columns": ["plan", "region"], "steps": [{"type": "one_hot"}]},
        ],
    },
    "models": [
        {"name": "logreg", "type": "logistic_regression"},
        {
            "name": "trees",
            "type": "random_forest",
            "params": {"n_estimators": 30, "max_depth": 4, "n_jobs": 1},
        },
    ],
    "evaluation": {"cv_folds": 3, "split": {"test_size": 0.25, "seed": 7}},
    "gates": {"value": [{"metric": "roc_auc", "lower": 0.6}]},
}


def subscriptions_spec(**overrides: Any) -> dict[str, Any]:
    """A deep copy of the subscriptions spec with top-level keys replaced."""
    spec = copy.deepcopy(SUBSCRIPTIONS_SPEC)
    spec.update(copy.deepcopy(overrides))
    return spec


def write_project(folder: Path, spec: dict[str, Any] | None = None, rows: int = 600) -> Path:
    """Write subscriptions.csv and spec.yaml into ``folder``; return the spec path."""
    subscriptions_frame(rows).to_csv(folder / "subscriptions.csv", index=False)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec or subscriptions_spec(), sort_keys=False))
    return path


STATES = [
    "AK",
    "AL",
    "AR",
    "AZ",
    "CA",
    "CO",
    "CT",
    "DC",
    "DE",
    "FL",
    "GA",
    "HI",
    "IA",
    "ID",
    "IL",
    "IN",
    "KS",
    "KY",
    "LA",
    "MA",
    "MD",
    "ME",
    "MI",
    "MN",
    "MO",
    "MS",
    "MT",
    "NC",
    "ND",
    "NE",
    "NH",
    "NJ",
    "NM",
    "NV",
    "NY",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VA",
    "VT",
    "WA",
    "WI",
    "WV",
    "WY",
]
"""51 levels: the 50 states and DC."""
PERIODS = {
    "day": (180.0, 0.17),
    "eve": (200.0, 0.085),
    "night": (200.0, 0.045),
    "intl": (10.0, 0.27),
}
"""Usage period -> (mean minutes, price per minute)."""


def usage_frame(rows: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A telecom usage table: minutes and charges per period, a 51-level state, service calls.

    Churn is driven by the total charge (a bill above about 68 drives customers away, whatever
    period the minutes fall in), by the state (each has its own pull) and by many service calls.
    """
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {"phone": [f"P{i:06d}" for i in range(rows)]}
    data["state"] = rng.choice(STATES, size=rows)
    total = np.zeros(rows)
    for period, (minutes, price) in PERIODS.items():
        used = np.clip(rng.normal(minutes, minutes * 0.3, size=rows), 0, None).round(1)
        charge = (used * price).round(2)
        data[f"{period}_minutes"], data[f"{period}_charge"] = used, charge
        total += charge
    calls = rng.poisson(1.5, size=rows)
    data["service_calls"] = calls
    pull = dict(zip(STATES, rng.normal(0.0, 1.2, size=len(STATES)), strict=True))
    logit = (
        -2.2
        + 2.5 * np.tanh((total - 68.0) / 2.0)
        + np.array([pull[s] for s in data["state"]])
        + 1.5 * (calls >= 4)
    )
    data["churned"] = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(data)


def usage_spec(*, engineered: bool) -> dict[str, Any]:
    """A spec for :func:`usage_frame`; ``engineered`` adds total charge and minutes (``sum``)
    and target-encodes the state (else one-hot)."""
    numbers = [f"{p}_{what}" for p in PERIODS for what in ("minutes", "charge")]
    derived = [
        {"name": f"total_{what}", "type": "sum", "columns": [f"{p}_{what}" for p in PERIODS]}
        for what in ("minutes", "charge")
    ]
    state_step = {"type": "target_encode"} if engineered else {"type": "one_hot"}
    return {
        "version": 1,
        "name": "usage",
        "data": {
            "source": "usage.csv",
            "id": "phone",
            "target": {"column": "churned", "positive": 1},
        },
        "columns": {
            "phone": {"dtype": "str", "unique": True},
            "state": {"dtype": "category", "values": list(STATES)},
            **{name: {"dtype": "float", "min": 0} for name in numbers},
            "service_calls": {"dtype": "int", "min": 0},
            "churned": {"dtype": "int", "values": [0, 1]},
        },
        "features": {
            "derived": derived if engineered else [],
            "groups": [
                {
                    "name": "usage",
                    "columns": [*numbers, "service_calls"]
                    + ([d["name"] for d in derived] if engineered else []),
                },
                {"name": "where", "columns": ["state"], "steps": [state_step]},
            ],
        },
        "models": [
            {
                "name": "hgb",
                "type": "hist_gradient_boosting",
                "params": {"max_iter": 60, "learning_rate": 0.1, "max_depth": 3},
            }
        ],
        "evaluation": {"cv_folds": 3, "split": {"test_size": 0.25, "seed": 11}},
    }


def edited_spec(spec: Path) -> Path:
    """A copy of ``spec`` with a comment added: new inputs, so a passing run promotes again
    (a re-run of the champion's own spec, data and seed is recorded as ``unchanged``)."""
    copy = spec.with_name(f"edited-{spec.name}")
    copy.write_text(spec.read_text() + "\n# retrained\n")
    return copy


def saved_champion(home: Path) -> Path:
    """A registry whose champion is a small saved object; return its model file."""
    registry = Registry(home)
    run_id = "20260101T000000.000000Z-aaaaaa"
    registry.start_run(run_id)
    info = registry.save_model(run_id, {"a": "model"})
    with registry.lock():
        registry.set_champion(
            run_id,
            model_name=info.name,
            model_sha256=info.sha256,
            metrics={},
            threshold=0.5,
            reason="test",
            action="promote",
        )
    return home / info.path


def train_run(
    spec_path: str | Path, home: str | Path | None = None, *, pool: Any = None, report: bool = False
) -> RunManifest:
    """One whole run through :func:`churn.run.compose.compose_run`, without an orchestrator:
    candidates one after another in this thread (or in ``pool``), no report unless asked; the
    run's record, also of a run whose gates were not met."""
    from churn.run.compose import compose_run
    from churn.run.pool import InlineExecutor

    return compose_run(
        spec_path, home, pool=pool if pool is not None else InlineExecutor(), report=report
    ).manifest
