"""The target_encode step: per-category churn rates, cross-fitted so that no training row's
encoding is learned from its own label, and no hold-out label is ever seen; and on a usage table
the spec's sum and target_encode earn their place in cross-validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from factories import STATES, usage_frame, usage_spec
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import TargetEncoder

from churn.contract import load_dataset
from churn.spec import FeatureGroup
from churn.spec.loader import load_spec
from churn.training.evaluate import evaluate_candidates, split_dataset
from churn.training.features import build_group

SMOOTH = 20.0


def states(rows: int = 1500, seed: int = 4) -> tuple[pd.DataFrame, np.ndarray]:
    """A 51-level column whose levels churn at different rates, and the labels."""
    rng = np.random.default_rng(seed)
    state = rng.choice(STATES, size=rows)
    rate = dict(zip(STATES, rng.uniform(0.05, 0.6, len(STATES)), strict=True))
    y = (rng.uniform(size=rows) < np.array([rate[s] for s in state])).astype(int)
    return pd.DataFrame({"state": pd.Categorical(state, categories=STATES)}), y


def encoder(**step: Any) -> Any:
    group = {"name": "g", "columns": ["state"], "steps": [{"type": "target_encode", **step}]}
    return build_group(FeatureGroup.model_validate(group))


def smoothed_rates(frame: pd.DataFrame, y: np.ndarray, smooth: float) -> pd.Series:
    """(sum of labels + smooth * overall rate) / (count + smooth), per state, in pandas."""
    labels = pd.Series(y, index=frame.index)
    stats = labels.groupby(frame["state"], observed=True).agg(["sum", "count"])
    return (stats["sum"] + smooth * labels.mean()) / (stats["count"] + smooth)


def direct(train: pd.DataFrame, y: np.ndarray, rows: pd.DataFrame, smooth: float) -> np.ndarray:
    """Encode ``rows`` from ``train``'s labels; a state unseen there gets the overall rate."""
    rates = smoothed_rates(train, y, smooth)
    encoded = rows["state"].astype(object).map(rates.to_dict())
    return encoded.fillna(float(y.mean())).to_numpy(dtype=float)


def test_a_training_row_is_encoded_from_the_other_folds_only_as_computed_in_pandas() -> None:
    frame, y = states()
    out = encoder(smooth=SMOOTH, cv=4, seed=3).fit_transform(frame, y).ravel()

    folds = StratifiedKFold(n_splits=4, shuffle=True, random_state=3).split(frame, y)
    expected = np.empty(len(frame))
    for train, test in folds:
        expected[test] = direct(frame.iloc[train], y[train], frame.iloc[test], SMOOTH)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    leaky = direct(frame, y, frame, SMOOTH)  # each row's own label included
    assert np.abs(out - leaky).max() > 0.01


def test_a_new_row_gets_the_rate_learned_on_every_training_row_and_unseen_the_overall_one() -> None:
    frame, y = states()
    fitted = encoder(smooth=SMOOTH).fit(frame, y)
    new = pd.DataFrame({"state": ["CA", "TX", "Atlantis"]})
    out = fitted.transform(new).ravel()
    np.testing.assert_allclose(out, direct(frame, y, new, SMOOTH), rtol=1e-12)
    assert out[2] == pytest.approx(y.mean())


def test_auto_smoothing_is_the_default_and_folds_are_seeded() -> None:
    frame, y = states()
    first = encoder().fit_transform(frame, y)
    assert np.array_equal(first, encoder().fit_transform(frame, y))
    assert not np.array_equal(first, encoder(seed=1).fit_transform(frame, y))


# --------------------------------------------------------------------------- the usage table


def usage_project(folder: Path, *, engineered: bool, rows: int = 2000) -> Any:
    usage_frame(rows).to_csv(folder / "usage.csv", index=False)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(usage_spec(engineered=engineered), sort_keys=False))
    return load_spec(path)


def test_target_encoding_never_sees_hold_out_labels_and_a_row_never_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = usage_project(tmp_path, engineered=True)
    frame = load_dataset(spec)
    holdout = set(split_dataset(spec, frame).test_positions.tolist())
    seen: list[tuple[pd.DataFrame, np.ndarray, np.ndarray, Any]] = []
    original = TargetEncoder.fit_transform

    def spy(self: TargetEncoder, X: pd.DataFrame, y: Any, **kwargs: Any) -> np.ndarray:
        out = original(self, X, y, **kwargs)
        seen.append((X, np.asarray(y), out, self))
        return np.asarray(out)

    monkeypatch.setattr(TargetEncoder, "fit_transform", spy)
    evaluate_candidates(spec, frame)

    train_size = len(frame) - len(holdout)
    assert len(seen) >= spec.evaluation.cv_folds + 1  # each CV fold, then the final fit
    assert sorted(len(X) for X, *_ in seen)[-1] == train_size
    assert sum(len(X) < train_size for X, *_ in seen) >= spec.evaluation.cv_folds
    for X, y, out, fitted in seen:
        assert holdout.isdisjoint(X.index), "a hold-out row's label reached the encoder"
        # each row's encoding is what an encoder fitted on the other folds alone gives it
        for train, test in fitted.cv.split(X, y):
            alone = TargetEncoder(target_type="binary", smooth=fitted.smooth)
            alone.fit(X.iloc[train], y[train])
            np.testing.assert_allclose(out[test], alone.transform(X.iloc[test]), rtol=1e-9)


def test_sum_and_target_encode_beat_the_same_spec_without_them_in_cv(tmp_path: Path) -> None:
    means = {}
    for engineered in (False, True):
        folder = tmp_path / str(engineered)
        folder.mkdir()
        spec = usage_project(folder, engineered=engineered)
        result = evaluate_candidates(spec, load_dataset(spec))["hgb"]
        means[engineered] = float(np.mean(result.cv_scores["roc_auc"]))
    assert means[True] > means[False] + 0.008, means
