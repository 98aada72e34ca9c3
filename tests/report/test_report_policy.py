"""The report shows the profit curve, the calibration effect and each candidate's choices."""

from __future__ import annotations

from pathlib import Path

import yaml
from factories import subscriptions_spec, write_project
from wide_report import candidate, wide_manifest

from churn.contract import load_dataset
from churn.registry import as_manifest
from churn.report.choices import choices_section
from churn.report.evaluation_plots import draw_evaluation
from churn.spec.loader import load_spec
from churn.training.evaluate import evaluate_candidates, select_winner, split_dataset

PNG = b"\x89PNG\r\n\x1a\n"


def test_profit_and_calibration_plots_and_the_choices_table(tmp_path: Path) -> None:
    spec_dict = subscriptions_spec(
        models=[
            {
                "name": "logreg",
                "type": "logistic_regression",
                "calibration": {"method": "sigmoid", "cv": 2},
                "search": {
                    "n_iter": 2,
                    "cv": 2,
                    "top": 2,
                    "space": {"C": {"type": "float", "low": 0.1, "high": 2}},
                },
            }
        ],
        evaluation={
            "cv_folds": 2,
            "metrics": ["roc_auc", "f1", "profit"],
            "threshold": {"strategy": "max_profit"},
            "costs": {"retained_value": 100, "offer_cost": 10, "acceptance_rate": 0.5},
        },
    )
    path = write_project(tmp_path, spec_dict, rows=300)
    assert yaml.safe_load(path.read_text())["evaluation"]["costs"]
    spec = load_spec(path)
    frame = load_dataset(spec)
    results = evaluate_candidates(spec, frame)
    winner = select_winner(spec, results)
    plots = draw_evaluation(spec, split_dataset(spec, frame), results, winner, tmp_path / "plots")
    assert not plots.errors
    for name in ("eval_profit", "eval_calibration_effect"):
        assert (tmp_path / "plots" / f"{name}.png").read_bytes().startswith(PNG)
    manifest = {"run_id": "r", "status": "succeeded"}
    html = choices_section(
        as_manifest({**manifest, "candidates": {n: r.summary() for n, r in results.items()}})
    )
    assert "max_profit -&gt;" in html or "max_profit ->" in html
    assert "sigmoid (cv 2): Brier" in html
    assert "logreg: search, best 2 settings" in html


def test_a_run_without_costs_or_calibration_draws_neither(tmp_path: Path) -> None:
    spec = load_spec(write_project(tmp_path, rows=300))
    frame = load_dataset(spec)
    results = evaluate_candidates(spec, frame)
    winner = select_winner(spec, results)
    plots = draw_evaluation(spec, split_dataset(spec, frame), results, winner, tmp_path / "p")
    names = {p.stem for p in (tmp_path / "p").glob("*.png")}
    assert "eval_profit" not in names and "eval_calibration_effect" not in names
    assert not plots.errors


def test_the_choices_section_reads_the_typed_run_record() -> None:
    search = {
        "method": "random",
        "n_iter": 8,
        "cv": 3,
        "best_params": {"C": 0.5},
        "best_score": 0.84,
        "table": [
            {
                "rank": 1,
                "mean_score": 0.84,
                "std_score": 0.01,
                "fit_seconds": 0.2,
                "params": {"C": 0.5},
            }
        ],
    }
    calibration = {"method": "isotonic", "cv": 3, "brier_before": 0.15, "brier_after": 0.14}
    resample = {"type": "smote", "sampling_strategy": 0.5}
    tuned = candidate("logreg", "logistic_regression", search=search, calibration=calibration)
    record = as_manifest(
        wide_manifest(candidates={"logreg": tuned, "smote": candidate("s", "x", resample=resample)})
    )

    html = choices_section(record)

    assert "min_recall (recall 0.72) -&gt; 0.313" in html
    assert "random x 8, best CV 0.8400: C=0.5" in html
    assert "isotonic (cv 3): Brier 0.1500 -&gt; 0.1400" in html
    assert "smote (0.5), training folds only" in html
    assert "logreg: search, best 1 settings" in html
