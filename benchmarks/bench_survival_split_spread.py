"""How a survival spec's hold-out Harrell's C moves with the split seed (issue 25's bar).

The spec's candidates are fixed as written (no search: the configuration chosen on CV folds);
for each seed the stratified hold-out split is redrawn, each named candidate is fitted on the
training part and scored on the hold-out. Prints every seed's C, then per candidate the mean,
the standard deviation, the range and the share of seeds at or above ``--bar``, with the CPU
seconds and the load average.

    python -m benchmarks.bench_survival_split_spread [--spec spec/telco_survival.yaml]
        [--seeds 20] [--candidates boosted_average xgb_cox] [--bar 0.87]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sklearn.base import clone  # noqa: E402

from churn.contract import load_dataset  # noqa: E402
from churn.spec import Spec  # noqa: E402
from churn.spec.loader import load_spec  # noqa: E402
from churn.survival.concordance import harrell_c  # noqa: E402
from churn.training.compile import compile_candidate  # noqa: E402
from churn.training.evaluate import split_dataset  # noqa: E402


def with_seed(spec: Spec, seed: int) -> Spec:
    """The spec with its split (and so its models' random state) seeded by ``seed``."""
    split = spec.evaluation.split.model_copy(update={"seed": seed})
    evaluation = spec.evaluation.model_copy(update={"split": split})
    return spec.model_copy(update={"evaluation": evaluation})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "spec" / "telco_survival.yaml")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--candidates", nargs="+", default=["boosted_average"])
    parser.add_argument("--bar", type=float, default=0.87)
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    frame = load_dataset(spec)
    started = time.process_time()
    scores: dict[str, list[float]] = {name: [] for name in args.candidates}
    for seed in range(args.seeds):
        seeded = with_seed(spec, seed)
        split = split_dataset(seeded, frame)
        assert split.outcome_train is not None and split.outcome_test is not None
        for name in args.candidates:
            model = clone(compile_candidate(seeded, seeded.candidate(name)))
            model.fit(split.X_train, split.outcome_train)
            test = split.outcome_test
            scores[name].append(harrell_c(test["event"], test["time"], model.predict(split.X_test)))
        print(seed, " ".join(f"{name}={values[-1]:.4f}" for name, values in scores.items()))
    for name, values in scores.items():
        c = np.asarray(values)
        print(
            f"{name}: mean {c.mean():.4f}, sd {c.std(ddof=1):.4f}, range {c.min():.4f}-"
            f"{c.max():.4f}, {np.mean(c >= args.bar):.0%} of seeds >= {args.bar}"
        )
    print(f"CPU {time.process_time() - started:.1f} s, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
