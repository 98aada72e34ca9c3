"""One whole run of a spec through the library steps, in one process, with no orchestrator.

The shape of the model-quality tests' run (``compose_run`` with an ``InlineExecutor``:
candidates one after another in this thread, a scratch registry, no report), as a command
``benchmarks/bench_train.py`` times against the plain script.

    python -m benchmarks.library_run [SPEC]
"""

from __future__ import annotations

import sys
import tempfile


def main(spec_path: str) -> None:
    """Run the spec into a scratch registry; print the run's status."""
    from churn.run.compose import compose_run
    from churn.run.pool import InlineExecutor

    with tempfile.TemporaryDirectory(prefix="churn-library-run-") as home:
        manifest = compose_run(spec_path, home, pool=InlineExecutor(), report=False).manifest
    print(manifest.status)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "spec/telco.yaml")
