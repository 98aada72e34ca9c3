"""Reading the data alone, two ways, for the benchmark's data-path row.

python -m benchmarks.scale.load SPEC     # churn: typed read, hash, full contract
python -m benchmarks.scale.load FILE     # pandas' default read of the same file
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(target: Path) -> None:
    """Read (and for a spec, validate) and print the seconds and the frame's size."""
    started = time.perf_counter()
    if target.suffix in (".yaml", ".yml"):
        from churn.contract import load_dataset_and_hash
        from churn.spec import load_spec

        frame, _ = load_dataset_and_hash(load_spec(target))
    else:
        import pandas as pd

        frame = pd.read_csv(target) if target.suffix == ".csv" else pd.read_parquet(target)
    size = frame.memory_usage(deep=True).sum() / 1e6
    print(f"{len(frame)} rows, frame {size:.0f} MB, {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
