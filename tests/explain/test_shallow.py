"""The table form of TreeSHAP for shallow trees equals XGBoost's own ``pred_contribs``, row by
row and whatever the batch; deeper trees are left to XGBoost; threads change nothing."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from churn.explain.reasons import _text, json_value
from churn.explain.shallow import BLOCK_ROWS, shallow_treeshap
from churn.explain.threads import explain_threads
from churn.explain.trees import tree_contributions


def _data(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 6)).astype(np.float32)
    X[:, 4] = rng.integers(0, 2, size=rows)  # a one-hot-like column
    y = ((X[:, 0] + X[:, 1] * X[:, 2] + X[:, 4] + rng.normal(size=rows)) > 0).astype(int)
    X[rng.random(X.shape) < 0.1] = np.nan  # missing values take each split's default way
    return X, y


@pytest.fixture(scope="module")
def booster() -> xgb.Booster:
    X, y = _data(400, seed=0)
    model = xgb.XGBClassifier(n_estimators=60, max_depth=3, learning_rate=0.3, n_jobs=1)
    return model.fit(X, y).get_booster()


def test_the_table_equals_xgboosts_pred_contribs(booster: xgb.Booster) -> None:
    table = shallow_treeshap(booster)
    assert table is not None
    X, _ = _data(BLOCK_ROWS + 300, seed=1)  # more than one block
    want = booster.predict(xgb.DMatrix(X, nthread=1), pred_contribs=True)
    got = table.contributions(X)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)  # XGBoost adds in float32
    margin = booster.predict(xgb.DMatrix(X, nthread=1), output_margin=True)
    np.testing.assert_allclose(got.sum(axis=1), margin, rtol=0, atol=1e-5)


def test_a_rows_contributions_do_not_depend_on_its_batch_or_the_threads(
    booster: xgb.Booster,
) -> None:
    table = shallow_treeshap(booster)
    assert table is not None
    X, _ = _data(2 * BLOCK_ROWS + 17, seed=2)
    whole = table.contributions(X)
    for row in (0, 5, BLOCK_ROWS, len(X) - 1):
        assert np.array_equal(table.contributions(X[row : row + 1])[0], whole[row])
    with explain_threads(2):
        threaded = tree_contributions(booster)(X)
    assert np.array_equal(threaded, whole)


def test_deeper_trees_are_left_to_xgboost() -> None:
    X, y = _data(300, seed=3)
    deep = xgb.XGBClassifier(n_estimators=5, max_depth=6, n_jobs=1).fit(X, y).get_booster()
    assert shallow_treeshap(deep) is None
    want = deep.predict(xgb.DMatrix(X, nthread=1), pred_contribs=True)
    np.testing.assert_array_equal(tree_contributions(deep)(X), want)


def test_reason_values_are_shown_as_json_values_would_be() -> None:
    samples = [
        np.array([1.5, np.nan, 29.85, 1e-7]),
        np.array([1, 2, 3]),
        np.array(["a", None, "b"], dtype=object),
        np.array([True, False]),
        np.array([0.1], dtype=np.float32),
    ]
    for values in samples:
        want = ["" if json_value(v) is None else str(json_value(v)) for v in values]
        assert list(_text(values)) == want
