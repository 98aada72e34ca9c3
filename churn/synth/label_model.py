"""The label model of synthetic data: the spec's own feature front and a logistic regression.

Fitted once on the spec's real (validated) data; the synthetic label of a row is drawn from
its predicted probability, so a model trained on synthetic rows finds real signal.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from churn.contract import target_vector
from churn.spec import Spec
from churn.training.compile import compile_spec


def fit_label_model(spec: Spec, frame: pd.DataFrame) -> Pipeline:
    """The spec's ``[derive ->] features`` steps with a logistic regression, fitted on ``frame``."""
    template = next(iter(compile_spec(spec).values()))
    pipeline = Pipeline([*clone(template).steps[:-1], ("model", LogisticRegression(max_iter=2000))])
    pipeline.fit(frame, target_vector(spec, frame))
    return pipeline


def positive_probability(model: Pipeline, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    """P(positive class) for each row of ``frame``."""
    return np.asarray(model.predict_proba(frame)[:, 1], dtype=np.float64)
