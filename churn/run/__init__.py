"""One training run: what it checks before anything starts (:mod:`churn.run.preflight`), its
steps (:mod:`churn.run.steps`), their one sequence (:mod:`churn.run.sequence`) and where
candidates train (:mod:`churn.run.pool`). The Prefect flow, tests and benchmarks all run a run
through :func:`churn.run.sequence.execute_run`.

Import the modules directly; this package imports nothing, so that taking the run lock
(:mod:`churn.run.preflight`) does not wait for the ML stack to load.
"""
