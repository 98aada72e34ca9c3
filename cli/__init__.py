"""The ``churn`` command: the one place that may import ``churn``, ``flows`` and ``api``."""
