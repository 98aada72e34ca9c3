"""churn: a spec-driven customer churn pipeline.

One YAML spec declares the data contract, features, candidate models, evaluation, quality gates
and promotion policy; this library compiles and runs it. It imports neither prefect nor fastapi.
"""

__version__ = "0.1.0"
