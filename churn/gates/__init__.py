"""Gate tests: pytest-driven quality gates run against a run's candidates.

Spec authors write ordinary pytest files (``gates.tests`` in the spec) that take the fixtures the
churn plugin provides (:mod:`churn.gates.subjects` says what each one is) and use the helpers of
:mod:`churn.gates.expectations`. Nothing happens at import time.
"""
