"""Time to churn: the survival outcome, its metrics and the leakage check of a survival spec."""
