"""Load benchmark: wrk against `churn serve` on loopback, next to the bare pipeline's throughput.

For an xgb and a random-forest (300 trees) champion of the Telco spec (trained into a scratch
registry unless ``--home-xgb`` / ``--home-forest`` name trained ones), starts
``churn serve --workers N`` and drives it with wrk (2 threads, a bounded duration) at 50 and 200
connections on ``POST /predict`` with 1 and 100 records and on ``GET /app-info``, reporting
requests/s, p50 / p99 latency, errors and the server's CPU time per request (which a busy,
shared machine inflates less than latency). In the same run it measures the bare pipeline
(``pipeline.predict_proba`` on 1 and 100 rows, calls/s) and ``churn score`` against
``predict_proba`` on the same frame (rows/s).

    python -m benchmarks.bench_load [--duration 10] [--workers 2] [--home-xgb DIR] ...

``--monitoring-cost`` measures instead what the prediction log and drift tracking (issue 23)
cost: ``POST /predict`` with one record at 50 connections against the xgb champion, servers with
both off and with both on started alternately (``--rounds`` pairs, so a change in the
machine's load falls on both), reporting requests/s, p99 and server CPU per request of each and
the ratios on/off.

Needs wrk (``apt-get install wrk``). Prints a table, writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from churn.contract import load_dataset  # noqa: E402
from churn.registry import Registry  # noqa: E402
from churn.run.compose import compose_run  # noqa: E402
from churn.run.pool import InlineExecutor  # noqa: E402
from churn.serving import load_serving_model, single_openmp_thread  # noqa: E402
from churn.serving.score_file import score_file, scoring_model  # noqa: E402
from churn.spec.loader import load_spec  # noqa: E402

SPEC = ROOT / "spec" / "telco.yaml"
RESULTS = ROOT / "benchmarks" / "results"
MODELS = ("xgb", "forest")
CONNECTIONS = (50, 200)
STARTUP_SECONDS = 600
TIME_LIMIT = 10.0
"""No in-process measurement loop runs longer than this many seconds."""
SCORE_COPIES = 15
"""``churn score`` reads the Telco file this many times over (about 105,000 rows)."""

WRK_SCRIPT = """
wrk.method = os.getenv("METHOD")
if wrk.method == "POST" then
  wrk.headers["Content-Type"] = "application/json"
  local f = io.open(os.getenv("BODY"), "rb"); wrk.body = f:read("*a"); f:close()
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "max_ms": %f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def spec_for(model: str, folder: Path) -> Path:
    """The Telco spec with only candidate ``model``, written into ``folder``."""
    document = yaml.safe_load(SPEC.read_text("utf-8"))
    document["data"]["source"] = str((SPEC.parent / document["data"]["source"]).resolve())
    document["models"] = [m for m in document["models"] if m["name"] == model]
    document.get("gates", {}).pop("tests", None)  # the gate tests live beside the real spec
    path = folder / f"{model}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    return path


def records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """Rows as /predict records: plain Python values, None for missing."""
    out = []
    for row in frame[columns].to_dict("records"):
        out.append({k: None if isinstance(v, float) and v != v else v for k, v in row.items()})
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process under it (workers, their fork servers and recorders)."""
    found, todo = [], [pid]
    while todo:
        one = todo.pop()
        found.append(one)
        for task in Path(f"/proc/{one}/task").glob("*"):
            try:
                todo += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and every live process under it (the recorder
    processes of ``CHURN_RECORDER_PROCESS`` are grandchildren of the workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for one in descendants(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Server:
    """`churn serve --workers N` in a subprocess; stopped (workers and all) on exit."""

    def __init__(
        self, home: Path, spec: Path, workers: int, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        env = {**os.environ, "CHURN_HOME": str(home), "CHURN_SPEC": str(spec), **(env or {})}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        command = [sys.executable, "-m", "churn.cli.app", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        ends = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < ends:
            if self.process.poll() is not None:
                raise RuntimeError("churn serve exited")
            if _ready(self.url):
                return self
            time.sleep(0.5)
        self.__exit__()  # never left running behind a failed start
        raise RuntimeError("churn serve did not become ready")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _ready(url: str) -> bool:
    import httpx

    try:
        with httpx.Client(timeout=2) as client:
            # every worker must be up: /ready is answered by whichever accepts
            return all(client.get(f"{url}/ready").status_code == 200 for _ in range(8))
    except httpx.TransportError:
        return False


def wrk(url: str, path: str, connections: int, seconds: int, body: Path | None, script: Path):
    """One wrk run; its summary with requests/s."""
    env = {**os.environ, "METHOD": "POST" if body else "GET", "BODY": str(body or "")}
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    run = subprocess.run(
        [*command, "-s", str(script), f"{url}{path}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    summary["requests_per_s"] = summary["requests"] / summary["seconds"]
    summary["error_count"] = sum(summary["errors"].values())
    return summary


def per_call(call, count: int) -> float:
    """Median seconds per call over up to ``count`` calls or TIME_LIMIT seconds."""
    call()
    times = []
    ends = time.perf_counter() + TIME_LIMIT
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
        if started > ends:
            break
    return float(np.median(times))


def bare(spec_path: Path, home: Path) -> dict[str, Any]:
    """The bare pipeline and the fast scorer on 1 and 100 rows, in this process."""
    spec = load_spec(spec_path)
    frame = load_dataset(spec)
    specs = {c: spec.columns[c] for c in spec.feature_columns}
    model = load_serving_model(Registry(home), specs)
    assert model is not None
    x = frame[spec.feature_columns]
    out: dict[str, Any] = {}
    for rows in (1, 100):
        part = x.iloc[:rows]
        columns = {c: part[c].tolist() for c in spec.feature_columns}
        with single_openmp_thread():
            pipe = per_call(lambda part=part: model.pipeline.predict_proba(part), 300)
        fast = per_call(lambda c=columns, n=rows: model.scorer.predict_proba(c, n), 300)
        out[f"pipeline_{rows}_calls_per_s"] = 1 / pipe
        out[f"fast_scorer_{rows}_calls_per_s"] = 1 / fast
    return out


def score_vs_pipeline(spec_path: Path, home: Path, scratch: Path) -> dict[str, Any]:
    """``churn score`` on the Telco rows x SCORE_COPIES vs predict_proba on the same frame."""
    spec = load_spec(spec_path)
    raw = pd.read_csv(spec.source_path, dtype=str, keep_default_na=False)
    big = pd.concat([raw] * SCORE_COPIES, ignore_index=True)
    big[spec.data.id] = [f"C{i:07d}" for i in range(len(big))]
    source = scratch / "customers.csv"
    big.drop(columns=[spec.data.target.column]).to_csv(source, index=False)
    model = scoring_model(Registry(home))
    summary = score_file(spec, model, source, scratch / "scores.csv")
    frame = load_dataset(spec, _labelled(big, scratch))[spec.feature_columns]
    started = time.perf_counter()
    model.pipeline.predict_proba(frame)
    pipe_seconds = time.perf_counter() - started
    return {
        "rows": summary.rows,
        "score_rows_per_s": summary.rows / summary.seconds,
        "score_scoring_rows_per_s": summary.rows / summary.scoring_seconds,
        "pipeline_rows_per_s": len(frame) / pipe_seconds,
    }


def _labelled(frame: pd.DataFrame, scratch: Path) -> Path:
    path = scratch / "labelled.csv"
    frame.to_csv(path, index=False)
    return path


def measure(model: str, home: Path, spec: Path, args: argparse.Namespace, scratch: Path):
    """Every wrk scenario against one champion, then the in-process baselines."""
    loaded = load_spec(spec)
    frame = load_dataset(loaded)
    rows = records(frame.iloc[:100], [loaded.data.id, *loaded.feature_columns])
    bodies = {1: scratch / "one.json", 100: scratch / "hundred.json"}
    for n, path in bodies.items():
        path.write_text(json.dumps({"records": rows[:n]}))
    script = scratch / "bench.lua"
    script.write_text(WRK_SCRIPT)
    scenarios: list[dict[str, Any]] = []
    with Server(home, spec, args.workers) as server:
        for connections in args.connections:
            for label, path, body in (
                ("/predict 1 record", "/predict", bodies[1]),
                ("/predict 100 records", "/predict", bodies[100]),
                ("/app-info", "/app-info", None),
            ):
                before = cpu_seconds(server.process.pid)
                result = wrk(server.url, path, connections, args.duration, body, script)
                used = cpu_seconds(server.process.pid) - before
                result.update(
                    scenario=label,
                    connections=connections,
                    server_cpu_ms_per_request=1000 * used / max(result["requests"], 1),
                )
                scenarios.append(result)
                print(_row(model, result), flush=True)
    return {
        "model": model,
        "scenarios": scenarios,
        "bare": bare(spec, home),
        "score": score_vs_pipeline(spec, home, scratch),
    }


MONITORING = {
    "off": {"CHURN_PREDICTION_LOG": "false", "CHURN_DRIFT_TRACKING": "false"},
    "on": {"CHURN_PREDICTION_LOG": "true", "CHURN_DRIFT_TRACKING": "true"},
}


def monitoring_cost(home: Path, spec: Path, args: argparse.Namespace, scratch: Path):
    """/predict (1 record, 50 connections) with the prediction log and drift off and on,
    alternately, ``args.rounds`` times each; per mode the summed requests and CPU."""
    loaded = load_spec(spec)
    frame = load_dataset(loaded)
    body = scratch / "one.json"
    one = records(frame.iloc[:1], [loaded.data.id, *loaded.feature_columns])
    body.write_text(json.dumps({"records": one}))
    script = scratch / "bench.lua"
    script.write_text(WRK_SCRIPT)
    runs: list[dict[str, Any]] = []
    for round_ in range(args.rounds):
        for mode, env in MONITORING.items():
            env = {**env, "CHURN_PREDICTION_LOG_DIR": str(scratch / f"log-{mode}-{round_}")}
            with Server(home, spec, args.workers, env) as server:
                wrk(server.url, "/predict", 50, 2, body, script)  # warm up
                before = cpu_seconds(server.process.pid)
                result = wrk(server.url, "/predict", 50, args.duration, body, script)
                used = cpu_seconds(server.process.pid) - before
                logged = sum(
                    f.stat().st_size for f in (scratch / f"log-{mode}-{round_}").rglob("*")
                )
            result.update(
                scenario=f"/predict 1 record, monitoring {mode}",
                connections=50,
                mode=mode,
                server_cpu_ms_per_request=1000 * used / max(result["requests"], 1),
                log_bytes=logged,
                load_average=os.getloadavg()[0],  # the pairs of a shared machine differ
            )
            runs.append(result)
            print(f"{_row('xgb', result)} load {result['load_average']:.1f}", flush=True)
    summary: dict[str, Any] = {}
    for mode in MONITORING:
        mine = [r for r in runs if r["mode"] == mode]
        summary[mode] = {
            "requests_per_s": sum(r["requests"] for r in mine) / sum(r["seconds"] for r in mine),
            "p99_ms_worst": max(r["p99_ms"] for r in mine),
            "cpu_ms_per_request": sum(r["server_cpu_ms_per_request"] * r["requests"] for r in mine)
            / sum(r["requests"] for r in mine),
            "errors": sum(r["error_count"] for r in mine),
        }
    summary["throughput_on_over_off"] = (
        summary["on"]["requests_per_s"] / summary["off"]["requests_per_s"]
    )
    summary["cpu_per_request_on_over_off"] = (
        summary["on"]["cpu_ms_per_request"] / summary["off"]["cpu_ms_per_request"]
    )
    return {"runs": runs, "summary": summary}


def _row(model: str, r: dict[str, Any]) -> str:
    return (
        f"{model:7} {r['scenario']:22} c={r['connections']:<4} {r['requests_per_s']:9,.0f} req/s"
        f"  p50 {r['p50_ms']:8.1f} ms  p99 {r['p99_ms']:8.1f} ms  errors {r['error_count']:<5}"
        f" cpu {r['server_cpu_ms_per_request']:.2f} ms/req"
    )


def targets(results: list[dict[str, Any]]) -> dict[str, bool]:
    """The issue's targets (50 connections, one record per request)."""
    found: dict[str, bool] = {}
    for result in results:
        for r in result["scenarios"]:
            if r["connections"] != 50:
                continue
            if r["scenario"] == "/predict 1 record" and result["model"] == "xgb":
                found["xgb >= 1000 req/s"] = r["requests_per_s"] >= 1000
                found["xgb p99 <= 50 ms"] = r["p99_ms"] <= 50
                found["xgb 0 errors"] = r["error_count"] == 0
            if r["scenario"] == "/predict 1 record" and result["model"] == "forest":
                found["forest >= 300 req/s"] = r["requests_per_s"] >= 300
            if r["scenario"] == "/app-info":
                found[f"{result['model']} /app-info >= 3000 req/s"] = r["requests_per_s"] >= 3000
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--connections", type=int, nargs="+", default=list(CONNECTIONS))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    for model in MODELS:
        parser.add_argument(
            f"--home-{model}", type=Path, help=f"a registry with a {model} champion"
        )
    parser.add_argument(
        "--monitoring-cost",
        action="store_true",
        help="measure the prediction log and drift tracking on vs off (xgb, 50 connections)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs (--monitoring-cost)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 1
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        scratch = Path(tmp)
        if args.monitoring_cost:
            return _monitoring_main(args, scratch)
        for model in args.models:
            spec = spec_for(model, scratch)
            home = getattr(args, f"home_{model}")
            if home is None:
                home = scratch / f"home-{model}"
                print(f"training {model} into {home} ...", flush=True)
                compose_run(spec, home, pool=InlineExecutor(), report=False)
            results.append(measure(model, home, spec, args, scratch))
    for result in results:
        b, s = result["bare"], result["score"]
        print(
            f"{result['model']}: bare pipeline {b['pipeline_1_calls_per_s']:,.0f} calls/s (1 row),"
            f" {b['pipeline_100_calls_per_s']:,.0f} calls/s (100 rows); fast scorer "
            f"{b['fast_scorer_1_calls_per_s']:,.0f} calls/s (1 row); churn score "
            f"{s['score_rows_per_s']:,.0f} rows/s end to end ({s['score_scoring_rows_per_s']:,.0f}"
            f" scoring) vs predict_proba {s['pipeline_rows_per_s']:,.0f} rows/s on {s['rows']:,}"
        )
    checked = targets(results)
    print(f"targets: {checked}")
    _write_results("bench_load", args, {"results": results, "targets": checked})
    return 0


def _write_results(name: str, args: argparse.Namespace, body: dict[str, Any]) -> None:
    """benchmarks/results/NAME-<time>.json: the machine, the load, the arguments and ``body``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    document = {
        "when": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average_at_end": os.getloadavg(),
        "workers": args.workers,
        "duration_s": args.duration,
        **body,
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


def _monitoring_main(args: argparse.Namespace, scratch: Path) -> int:
    spec = spec_for("xgb", scratch)
    home = args.home_xgb or scratch / "home-xgb"
    if not (home / "champion.json").exists():  # a named folder is trained once and kept
        print(f"training xgb into {home} ...", flush=True)
        compose_run(spec, home, pool=InlineExecutor(), report=False)
    cost = monitoring_cost(home, spec, args, scratch)
    load = os.getloadavg()
    print(json.dumps(cost["summary"], indent=2))
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    _write_results("bench_monitoring", args, cost)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
