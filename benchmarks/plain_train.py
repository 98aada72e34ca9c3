"""The baseline a user would write by hand: read, validate, train and score every candidate.

The same fits as ``churn run`` (each candidate's CV, threshold tuning, refit and hold-out
scores, from the same spec), one after another in one process, with no orchestrator, no
registry, no plots and no report.

    python -m benchmarks.plain_train [SPEC]
"""

from __future__ import annotations

import sys


def main(spec_path: str) -> None:
    """Train and score every candidate of the spec; print the winner."""
    from churn.contract import load_dataset
    from churn.spec import load_spec
    from churn.training.evaluate import evaluate_candidates, select_winner

    spec = load_spec(spec_path)
    frame = load_dataset(spec)
    results = evaluate_candidates(spec, frame)
    print(select_winner(spec, results))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "spec/telco.yaml")
