"""Drift benchmark: ``churn drift`` on 1M Telco rows against Evidently's data-drift preset.

1. Trains a Telco champion (spec/telco.yaml with its xgb candidate only, in this process,
   no report) into ``WORKDIR/home``; its run writes the reference profile.
2. Writes 1,000,000 rows with ``churn synth`` (Parquet and CSV) into ``WORKDIR``.
3. Times ``churn drift DATA --json`` as a subprocess on each file (read, contract, scoring a
   20,000-row sample through the fast path, counts, divergences), best of ``--repeat``:
   wall and CPU (user + sys of the command and of the model process it forks).
4. Times Evidently's ``DataDriftPreset`` in its own venv on the same 1M rows (the Parquet file)
   against the 7,043 training rows, as a subprocess; only the report's computation is timed
   (reading the files is left out, in Evidently's favour).

Evidently is not a churn dependency; create its venv once:

    uv venv /tmp/evidently-venv --python 3.11
    uv pip install -p /tmp/evidently-venv evidently==0.7.23 "pandas<3" pyarrow  # not pandas 3

then run

    python -m benchmarks.bench_drift [--rows 1000000] [--workdir DIR] [--repeat 3]
        [--evidently /tmp/evidently-venv/bin/python]

A WORKDIR that already holds the champion and the data is reused (``champion_compiled`` in
the output says whether its profile records the compiled model ``churn drift`` scores with;
a champion trained by an older churn has none). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec" / "telco.yaml"
CHURN = [sys.executable, "-m", "churn.cli"]

EVIDENTLY_SCRIPT = r"""
import json, sys, time
import pandas as pd
reference = pd.read_csv(sys.argv[1], na_values=[" "]).drop(columns=["customerID", "Churn"])
current = pd.read_parquet(sys.argv[2]).drop(columns=["customerID", "Churn"], errors="ignore")
current = current[reference.columns]
import evidently
try:  # Evidently 0.7 and later
    from evidently import Report
    from evidently.presets import DataDriftPreset
    legacy = False
except ImportError:  # up to 0.6
    from evidently.report import Report
    from evidently.metric_preset import DataDriftPreset
    legacy = True
started, cpu = time.perf_counter(), time.process_time()
report = Report([DataDriftPreset()])
if legacy:
    report.run(reference_data=reference, current_data=current)
    report.as_dict()
else:
    report.run(current, reference).dict()
print(json.dumps({"version": evidently.__version__, "seconds": time.perf_counter() - started,
                  "cpu_seconds": time.process_time() - cpu, "rows": len(current)}))
"""


def bench_spec(workdir: Path) -> Path:
    """spec/telco.yaml with only its xgb candidate and no gate tests, data by absolute path."""
    document = yaml.safe_load(SPEC.read_text())
    document["data"]["source"] = str((SPEC.parent / document["data"]["source"]).resolve())
    document["models"] = [model for model in document["models"] if model["name"] == "xgb"]
    document["gates"].pop("tests", None)
    document["gates"].pop("slices", None)
    path = workdir / "telco-xgb.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def champion(spec: Path, home: Path) -> str:
    """The champion's run id, training one first when the home has none."""
    from churn.registry import Registry

    pointer = Registry(home).champion()
    if pointer is not None:
        return pointer.run_id
    from churn.run.compose import compose_run
    from churn.run.pool import InlineExecutor

    outcome = compose_run(spec, home, pool=InlineExecutor(), report=False)
    return outcome.manifest.run_id


def compiled(home: Path, run_id: str) -> bool:
    """True when the champion's profile records its compiled model, which ``churn drift``
    scores with (a champion trained before churn recorded one is scored by unpickling it:
    use a fresh WORKDIR, or remove WORKDIR/home, to measure the compiled path)."""
    from churn.monitoring.champion import run_profile
    from churn.registry import Registry

    return run_profile(Registry(home), run_id).scorer is not None


def synth(spec: Path, rows: int, output: Path) -> None:
    if not output.exists():
        churn("synth", "--rows", str(rows), "--spec", str(spec), "-o", str(output))


def churn(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(CHURN + list(args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"churn {args[0]} failed ({done.returncode}): {done.stderr}")
    return done


def timed_child(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, CPU seconds (user + sys) and the result of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


def churn_drift(spec: Path, home: Path, data: Path, repeat: int) -> dict[str, Any]:
    command = [*CHURN, "drift", str(data), "--spec", str(spec)]
    command += ["--home", str(home), "--json"]
    runs = [timed_child(command) for _ in range(repeat)]
    for _, _, done in runs:
        if done.returncode not in (0, 6):
            raise SystemExit(f"churn drift failed ({done.returncode}): {done.stderr}")
    result = json.loads(runs[0][2].stdout)
    return {
        "file": data.name,
        "wall_seconds": round(min(wall for wall, _, _ in runs), 2),
        "cpu_seconds": round(min(cpu for _, cpu, _ in runs), 2),
        "status": result["status"],
        "alerts": result["alerts"],
        "rows": result["rows"],
    }


def drift_only(spec: Path, home: Path, data: Path) -> dict[str, Any]:
    """The drift computation alone on the validated 1M-row frame, in this process (what
    Evidently's timed part does): counts on the profile's buckets, divergences, statuses."""
    from churn.contract.dataset import load_unlabelled
    from churn.monitoring.champion import run_profile
    from churn.monitoring.drift import compare_frame
    from churn.registry import Registry
    from churn.spec.loader import load_spec

    loaded = load_spec(spec)
    registry = Registry(home)
    pointer = registry.champion()
    assert pointer is not None
    profile = run_profile(registry, pointer.run_id)
    frame = load_unlabelled(loaded, data)
    best = (float("inf"), float("inf"))
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        compare_frame(profile, frame, loaded.monitoring)
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return {"wall_seconds": round(best[0], 3), "cpu_seconds": round(best[1], 3)}


def evidently(python: str, reference: Path, current: Path) -> dict[str, Any]:
    if not Path(python).exists():
        return {"skipped": f"{python} not found; create the venv (see the module docstring)"}
    wall, cpu, done = timed_child([python, "-c", EVIDENTLY_SCRIPT, str(reference), str(current)])
    if done.returncode != 0:
        return {"failed": done.stderr[-2000:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall_seconds"] = round(wall, 2)
    result["process_cpu_seconds"] = round(cpu, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--evidently", default="/tmp/evidently-venv/bin/python")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-drift-"))
    workdir.mkdir(parents=True, exist_ok=True)
    spec = bench_spec(workdir)
    home = workdir / "home"
    run_id = champion(spec, home)
    parquet, csv = workdir / f"telco-{args.rows}.parquet", workdir / f"telco-{args.rows}.csv"
    synth(spec, args.rows, parquet)
    synth(spec, args.rows, csv)
    report = {
        "rows": args.rows,
        "champion": run_id,
        "champion_compiled": compiled(home, run_id),
        "load_average": os.getloadavg(),
        "churn_drift": [churn_drift(spec, home, data, args.repeat) for data in (parquet, csv)],
        "drift_computation_only": drift_only(spec, home, parquet),
        "evidently": evidently(args.evidently, SPEC.parent / "../data/telco_churn.csv", parquet),
    }
    report["load_average_after"] = os.getloadavg()
    evidently_wall = report["evidently"].get("process_wall_seconds")
    if evidently_wall:  # the goal: a user waits for the whole command, not for its computation
        churn_wall = report["churn_drift"][0]["wall_seconds"]
        report["evidently_process_over_churn_drift_command_wall"] = round(
            evidently_wall / churn_wall, 1
        )
    evidently_process_cpu = report["evidently"].get("process_cpu_seconds")
    if evidently_process_cpu:  # the same, in CPU seconds: what the load inflates least
        report["evidently_process_cpu_over_churn_drift_command_cpu"] = round(
            evidently_process_cpu / report["churn_drift"][0]["cpu_seconds"], 1
        )
    evidently_cpu = report["evidently"].get("cpu_seconds")
    if evidently_cpu:
        churn_cpu = report["churn_drift"][0]["cpu_seconds"]
        computation = report["drift_computation_only"]["cpu_seconds"]
        report["evidently_cpu_over_churn_drift_command_cpu"] = round(evidently_cpu / churn_cpu, 1)
        report["evidently_cpu_over_drift_computation_cpu"] = round(evidently_cpu / computation, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
