"""One training run: its one composition (:mod:`churn.run.compose`: what ``churn run``, the
Prefect flow, tests and benchmarks call), what it checks before anything starts
(:mod:`churn.run.preflight`), its steps (:mod:`churn.run.steps`), their one sequence
(:mod:`churn.run.sequence`) and where candidates train (:mod:`churn.run.pool`).

Import the modules directly; this package imports nothing, so that taking the run lock
(:mod:`churn.run.preflight`) does not wait for the ML stack to load.
"""
