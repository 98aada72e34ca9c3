"""Time-to-churn models (issue 25): the outcome, the estimators, their curves and metrics."""
