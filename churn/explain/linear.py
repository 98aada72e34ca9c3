"""A logistic regression that keeps its training features' means, the reference its reasons
are measured from.

A linear model's exact contribution of feature ``j`` is ``coef_j * (x_j - m_j)`` for any
reference ``m``; the base is then ``intercept + coef . m``. With ``m`` the training mean, a
one-hot column's contribution says how this customer's category moves the risk against the
average customer, not against "none of the categories". :class:`CentredLogisticRegression`
records ``feature_means_`` (the mean of each encoded training feature, weighted like the fit)
when it is fitted, so the means travel inside the model file.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression


class CentredLogisticRegression(LogisticRegression):  # type: ignore[misc]  # sklearn is untyped
    """scikit-learn's logistic regression, plus ``feature_means_`` after ``fit``."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> CentredLogisticRegression:
        """Fit the model, then record the weighted mean of each training feature."""
        super().fit(X, y, sample_weight=sample_weight)
        features = np.asarray(X, dtype=np.float64)
        self.feature_means_ = np.average(features, axis=0, weights=sample_weight)
        return self
