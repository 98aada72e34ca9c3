"""Why a customer is flagged: exact per-column contributions of a fitted churn pipeline.

:mod:`~churn.explain.models` computes each model type's exact contributions per encoded
feature, :mod:`~churn.explain.trees` runs TreeSHAP for scikit-learn trees through XGBoost,
:mod:`~churn.explain.columns` adds encoded features up per spec column,
:mod:`~churn.explain.reasons` picks the top-K reasons and the global view, and
:mod:`~churn.explain.explainer` ties them to one fitted pipeline.
"""

from __future__ import annotations

from churn.explain.attribution import Unexplainable
from churn.explain.explainer import Explanation, PipelineExplainer
from churn.explain.reasons import MAX_REASONS, Reason, global_importance, reason_table

__all__ = [
    "MAX_REASONS",
    "Explanation",
    "PipelineExplainer",
    "Reason",
    "Unexplainable",
    "global_importance",
    "reason_table",
]
