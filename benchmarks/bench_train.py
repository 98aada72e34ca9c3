"""`churn run` against a plain script doing the same fits, in one sitting, as a user waits.

Every measurement is a whole command in a child process (imports, servers, workers and exit
included), one after the other on the same spec and data:

1. the plain script (``benchmarks/plain_train.py``): read, validate, then the same candidates'
   CV, threshold tuning, refit and hold-out scoring, one after another, nothing else;
2. the library steps in one process, candidates one after another (``benchmarks/
   library_run.py``: the model-quality tests' run, which a test once bounded at two minutes);
3. ``churn run`` with a Prefect server already running (``PREFECT_API_URL`` set, the cluster's
   shape and ``churn prefect-server``'s);
4. ``churn run`` from a fresh ``PREFECT_HOME`` (a new machine or pod: its temporary server
   creates its database first);
5. ``churn --help``, best of five.

    python -m benchmarks.bench_train [SPEC]

Prints the ratios and each run's stages (from its closing ``stages:`` line and its ``step``
lines), and writes benchmarks/results/train.json.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
NO_LONG_LIVED = {"CHURN_PREFECT_LOCAL_URL": "http://127.0.0.1:9/api"}


def timed(command: list[str], **env: str) -> tuple[float, str]:
    """Wall seconds of ``command`` and its stderr; fails loudly on a non-zero exit."""
    started = time.perf_counter()
    result = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **QUIET, **env},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return seconds, result.stderr


def stages(stderr: str) -> dict[str, float]:
    """The run's ``stages:`` line and its ``step NAME: S s`` lines, as seconds by name."""
    found: dict[str, float] = {}
    line = re.search(r"stages: (.*); total", stderr)
    if line:
        for part in line.group(1).split(", "):
            name, seconds = part.rsplit(" ", 2)[0], part.rsplit(" ", 2)[1]
            found[name] = float(seconds)
    for name, seconds in re.findall(r"step ([\w-]+): ([\d.]+) s", stderr):
        found[f"step {name}"] = float(seconds)
    return found


def churn_run(spec: str, **env: str) -> tuple[float, str]:
    """One ``churn run`` into a scratch registry."""
    with tempfile.TemporaryDirectory(prefix="churn-bench-") as home:
        return timed([sys.executable, "-m", "churn.cli", "run", spec, "--home", home], **env)


def main(argv: list[str]) -> None:
    """Run the five measurements and print the table."""
    spec = argv[0] if argv else "spec/telco.yaml"
    plain, _ = timed([sys.executable, "-m", "benchmarks.plain_train", spec])
    library, _ = timed([sys.executable, "-m", "benchmarks.library_run", spec])

    from churn.flows.server import TemporaryServer

    server = TemporaryServer()  # as `churn prefect-server` or a cluster's server would be
    server.start()
    try:
        server.wait_ready(600)
        warm, warm_log = churn_run(spec, PREFECT_API_URL=server.api_url)
    finally:
        server.stop()
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as prefect_home:
        fresh, fresh_log = churn_run(
            spec, PREFECT_HOME=prefect_home, PREFECT_API_URL="", **NO_LONG_LIVED
        )
    helps = [timed([sys.executable, "-m", "churn.cli", "--help"])[0] for _ in range(5)]

    summary: dict[str, Any] = {
        "spec": spec,
        "cpus": len(os.sched_getaffinity(0)),
        "plain_script_s": round(plain, 2),
        "library_in_process_s": round(library, 2),
        "ratio_library_in_process": round(library / plain, 2),
        "churn_run_running_server_s": round(warm, 2),
        "churn_run_fresh_prefect_home_s": round(fresh, 2),
        "ratio_running_server": round(warm / plain, 2),
        "ratio_fresh_prefect_home": round(fresh / plain, 2),
        "churn_help_s": round(min(helps), 3),
        "stages_running_server": stages(warm_log),
        "stages_fresh_prefect_home": stages(fresh_log),
    }
    print(f"plain script                     {plain:7.1f} s")
    print(f"library steps, in process        {library:7.1f} s   {library / plain:.2f}x")
    print(f"churn run, running server        {warm:7.1f} s   {warm / plain:.2f}x (target <= 1.5x)")
    print(
        f"churn run, fresh Prefect home    {fresh:7.1f} s   {fresh / plain:.2f}x (target <= 2.5x)"
    )
    print(f"churn --help (best of 5)         {min(helps):7.3f} s   (target < 0.5 s)")
    save(summary, "train.json")


def save(summary: dict[str, Any], filename: str) -> None:
    """Print each ``stages_*`` entry of ``summary``, then write it to benchmarks/results/."""
    for key, found in summary.items():
        if key.startswith("stages_"):
            print(f"stages, {key.removeprefix('stages_').replace('_', ' ')}:")
            for name, seconds in found.items():
                print(f"  {name:<28} {seconds:6.2f} s")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / filename).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
