"""Training: feature steps, the estimator builder, compile (Spec -> Pipelines), evaluation, gates.

Import the modules directly: ``churn.training.compile``, ``churn.training.evaluate``,
``churn.training.gates``, ``churn.training.features``, ``churn.training.models``.
"""
