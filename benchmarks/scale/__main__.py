"""``churn run`` at scale against a plain script making the same fits, on the same file.

For each size: ``churn synth`` writes the rows once (kept in ``--data-dir``), a copy of
``benchmarks/scale/spec.yaml`` points at them, then each command runs in a child process
while this process samples the memory (PSS: pages shared after a fork count once) and the CPU
time of the child's whole process tree from ``/proc``:

1. ``python -m benchmarks.scale.plain FILE --form defaults`` and ``--form folds`` (pandas +
   scikit-learn + XGBoost by hand, with the libraries' defaults and with the CV folds in
   parallel); the faster of the two is the baseline of every ratio;
2. ``churn run SPEC`` against a Prefect server that is already running (the cluster's
   shape; the server is not part of the measured tree), candidates in churn's worker pool;
3. with ``--one-worker``: ``churn run`` with ``CHURN_TRAIN_WORKERS=1`` (candidates one after
   another: the memory of one fit at a time, as the plain script with its defaults);
4. with ``--dask-scheduler ADDRESS``: ``churn run`` again with ``CHURN_DASK_SCHEDULER`` set
   (the Dask executor; the slot for that comparison).

    python -m benchmarks.scale --rows 100000 1000000 5000000 [--format parquet] [--one-worker]

Prints wall time and peak memory of each, the ratios, ``churn run``'s steps (``step NAME:
S s, peak M MB`` lines) and the machine's load average before and after; writes
``benchmarks/results/scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.scale.tree_cpu import TreeCpu
from churn.run.memory import TreeMemory

ROOT = Path(__file__).resolve().parents[2]
SPEC = Path(__file__).with_name("spec.yaml")
RESULTS = ROOT / "benchmarks" / "results"
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
STEP = re.compile(r"step ([\w-]+): ([\d.]+) s(?:, peak (\d+) MB)?")
STAGES = re.compile(r"stages: (.*); total")
PLAIN_FORMS = ("plain_defaults", "plain_folds")
MEASURED = ("read_pandas", "read_churn", *PLAIN_FORMS, "churn_run")


def measure(command: list[str], **env: str) -> dict[str, Any]:
    """Wall seconds, peak tree memory (MB) and stderr of one command; fails on a non-zero exit."""
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **QUIET, **env}, stdout=out, stderr=err
        )
        memory = TreeMemory(child.pid, interval=0.25).start()
        cpu = TreeCpu(child.pid).start()
        code = child.wait()
        seconds = time.perf_counter() - started
        memory.stop()
        cpu_seconds = cpu.stop()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code != 0:
        raise SystemExit(f"{' '.join(command)} exited {code}:\n{stdout}\n{stderr}")
    return {
        "wall_s": round(seconds, 2),
        "peak_mb": round(memory.overall.megabytes),
        "cpu_s": round(cpu_seconds, 1),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "stdout": stdout,
        "stderr": stderr,
    }


def data_file(rows: int, folder: Path, kind: str) -> Path:
    """The synthetic file of ``rows`` rows (written by ``churn synth`` once, then reused)."""
    path = folder / f"synthetic_{rows}.{kind}"
    if not path.exists():
        command = [sys.executable, "-m", "churn.cli", "synth", "--rows", str(rows), "-o", str(path)]
        subprocess.run(command, cwd=ROOT, check=True)
    return path


def spec_for(data: Path) -> Path:
    """A copy of the scale spec next to ``data``, reading it."""
    text = SPEC.read_text().replace("source: synthetic.parquet", f"source: {data.name}")
    copy = data.with_name(f"spec_{data.stem}.yaml")
    copy.write_text(text)
    return copy


def steps(stderr: str) -> dict[str, dict[str, float]]:
    """``churn run``'s ``step NAME: S s, peak M MB`` lines, by step."""
    return {
        name: {"s": float(seconds), **({"peak_mb": float(peak)} if peak else {})}
        for name, seconds, peak in STEP.findall(stderr)
    }


def churn_run(spec: Path, api_url: str, **env: str) -> dict[str, Any]:
    """One ``churn run`` into a scratch registry, measured."""
    with tempfile.TemporaryDirectory(prefix="churn-scale-") as home:
        command = [sys.executable, "-m", "churn.cli", "run", str(spec), "--home", home]
        result = measure(command, PREFECT_API_URL=api_url, **env)
    result["steps"] = steps(result["stderr"])
    stages = STAGES.search(result["stderr"])
    result["stages"] = stages.group(1) if stages else ""
    return result


def one_size(rows: int, args: argparse.Namespace, api_url: str) -> dict[str, Any]:
    """The plain script and ``churn run`` (and the Dask run, when asked) on one size."""
    data = data_file(rows, args.data_dir, args.format)
    spec = spec_for(data)
    load = [sys.executable, "-m", "benchmarks.scale.load"]
    reads = {"pandas": measure([*load, str(data)]), "churn": measure([*load, str(spec)])}
    script = [sys.executable, "-m", "benchmarks.scale.plain", str(data), "--form"]
    forms = {f"plain_{form}": measure([*script, form]) for form in ("defaults", "folds")}
    baseline = min(PLAIN_FORMS, key=lambda form: forms[form]["wall_s"])
    plain = forms[baseline]
    run = churn_run(spec, api_url)
    found: dict[str, Any] = {
        "rows": rows,
        "file": str(data),
        "file_mb": round(data.stat().st_size / 1e6, 1),
        "read_pandas": reads["pandas"],
        "read_churn": reads["churn"],
        **forms,
        "baseline": baseline,
        "churn_run": run,
        "wall_ratio": round(run["wall_s"] / plain["wall_s"], 3),
        "memory_ratio": round(run["peak_mb"] / max(plain["peak_mb"], 1), 3),
    }
    if args.one_worker:
        single = churn_run(spec, api_url, CHURN_TRAIN_WORKERS="1")
        found["churn_run_one_worker"] = single
        found["one_worker_wall_ratio"] = round(single["wall_s"] / plain["wall_s"], 3)
        found["one_worker_memory_ratio"] = round(single["peak_mb"] / max(plain["peak_mb"], 1), 3)
    if args.dask_scheduler:
        dask = churn_run(spec, api_url, CHURN_DASK_SCHEDULER=args.dask_scheduler)
        found["churn_run_dask"] = dask
        found["dask_speedup"] = round(run["wall_s"] / dask["wall_s"], 3)
    return found


def show(result: dict[str, Any]) -> None:
    """The table of one size."""
    run = result["churn_run"]
    print(f"\n{result['rows']:,} rows ({result['file_mb']} MB {Path(result['file']).suffix})")
    rows = [
        ("read, pandas", result["read_pandas"]),
        ("read+contract", result["read_churn"]),
        ("plain, defaults", result["plain_defaults"]),
        ("plain, folds", result["plain_folds"]),
        ("churn run", run),
    ]
    for label, entry in rows:
        print(
            f"  {label:<15} {entry['wall_s']:8.1f} s  cpu {entry['cpu_s']:7.1f} s  "
            f"peak {entry['peak_mb']:6,} MB  "
            f"(load {entry['load_before']} -> {entry['load_after']})"
        )
    print(
        f"  ratios against {result['baseline'].replace('_', ', ')} (the faster plain form): "
        f"wall {result['wall_ratio']}x (<= 1.15), memory {result['memory_ratio']}x"
    )
    if "churn_run_one_worker" in result:
        single = result["churn_run_one_worker"]
        print(
            f"  churn run, 1 worker {single['wall_s']:8.1f} s  cpu {single['cpu_s']:7.1f} s  "
            f"peak {single['peak_mb']:6,} MB: wall {result['one_worker_wall_ratio']}x, "
            f"memory {result['one_worker_memory_ratio']}x"
        )
    if "churn_run_dask" in result:
        dask = result["churn_run_dask"]
        print(f"  churn run, Dask {dask['wall_s']:8.1f} s: {result['dask_speedup']}x faster")
    print(f"    {run['stages']}")
    for name, step in run["steps"].items():
        print(f"    step {name:<18} {step['s']:8.2f} s  peak {step.get('peak_mb', 0):7,.0f} MB")


def main(argv: list[str]) -> None:
    """Measure every size; print and save the results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "benchmarks" / "results" / "data")
    parser.add_argument(
        "--one-worker",
        action="store_true",
        help="Also run churn with CHURN_TRAIN_WORKERS=1 (the candidates in turn, in one worker).",
    )
    parser.add_argument(
        "--dask-scheduler",
        default="",
        help="Also run churn with CHURN_DASK_SCHEDULER set to this address (Dask comparison).",
    )
    args = parser.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)

    from churn.flows.server import TemporaryServer

    server = TemporaryServer()  # as `churn prefect-server` or a cluster's server would be
    server.start()
    results = []
    try:
        server.wait_ready(600)
        for rows in args.rows:
            result = one_size(rows, args, server.api_url)
            show(result)
            results.append(result)
            _save(results)
    finally:
        server.stop()


def _save(results: list[dict[str, Any]]) -> None:
    RESULTS.mkdir(exist_ok=True)
    kept = [
        {
            **result,
            **{
                key: {k: v for k, v in result[key].items() if k not in ("stdout", "stderr")}
                for key in (*MEASURED, "churn_run_one_worker", "churn_run_dask")
                if key in result
            },
        }
        for result in results
    ]
    payload = {"cpus": len(os.sched_getaffinity(0)), "sizes": kept}
    (RESULTS / "scale.json").write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
