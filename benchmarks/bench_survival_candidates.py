"""Each survival candidate against its classifier twin, one candidate at a time (issue 25).

The rows and both specs are :mod:`benchmarks.bench_survival`'s (``churn synth`` Telco rows, the
survival spec and its twin). The data is loaded and split once per spec as a run does; then each
named candidate is trained as the run trains it (``train_candidate``: 5 CV folds, the fit on
the training part, the hold-out scoring) and its CPU seconds (user+sys of this process) are
printed beside its twin's, with the load average. This finds which candidate's cost grows
faster than its twin's without a whole run.

    python -m benchmarks.bench_survival_candidates [--rows 300000] [--models cox xgb_cox ...]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from benchmarks.bench_survival import cpu_seconds, rows_and_folder, specs, synthetic_rows  # noqa: E402
from churn.contract.dataset import load_dataset  # noqa: E402
from churn.spec.loader import load_spec  # noqa: E402
from churn.training.compile import compile_spec  # noqa: E402
from churn.training.evaluate import split_dataset, train_candidate  # noqa: E402


def candidate_seconds(spec_path: Path, names: list[str]) -> dict[str, float]:
    """CPU seconds of training each of ``names`` (the spec's candidates) as a run does."""
    spec = load_spec(spec_path)
    split = split_dataset(spec, load_dataset(spec))
    pipelines = compile_spec(spec)
    seconds = {}
    for name in names:
        started = cpu_seconds()
        train_candidate(spec, name, pipelines[name], split)
        seconds[name] = cpu_seconds() - started
        print(f"  {name}: CPU {seconds[name]:.1f} s, load {os.getloadavg()[0]:.1f}", flush=True)
    return seconds


def main() -> None:
    parser = rows_and_folder(__doc__, 300_000)
    parser.add_argument("--models", nargs="*", default=None, help="survival candidates to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        raw, rows = synthetic_rows(folder, args.rows)
        survival, classifier = specs(raw, rows)
        names = args.models or [model["name"] for model in raw["models"]]
        results: dict[str, dict[str, float]] = {}
        for kind, spec, suffix in (
            ("survival", survival, ""),
            ("twin", classifier, "-as-classifier"),
        ):
            path = folder / f"{kind}.yaml"
            path.write_text(yaml.safe_dump(spec, sort_keys=False))
            print(f"{kind} ({args.rows:,} rows):", flush=True)
            timed = candidate_seconds(path, [name + suffix for name in names])
            results[kind] = {name: timed[name + suffix] for name in names}
        for name in names:
            ratio = results["survival"][name] / results["twin"][name]
            print(f"{name}: survival / twin CPU {ratio:.2f}x")
        print(json.dumps(results))


if __name__ == "__main__":
    main()
