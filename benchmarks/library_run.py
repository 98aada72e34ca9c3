"""One whole run of a spec through the library steps, in one process, with no orchestrator.

The shape of the model-quality tests' run (``run_in_process``: candidates one after another in
this thread, a scratch registry, no report), as a command ``benchmarks/bench_train.py`` times
against the plain script.

    python -m benchmarks.library_run [SPEC]
"""

from __future__ import annotations

import sys
import tempfile


def main(spec_path: str) -> None:
    """Run the spec into a scratch registry; print the run's status."""
    from churn.run.sequence import run_in_process

    with tempfile.TemporaryDirectory(prefix="churn-library-run-") as home:
        manifest = run_in_process(spec_path, home)
    print(manifest["status"])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "spec/telco.yaml")
