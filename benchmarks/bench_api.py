"""API benchmark: /app-info rate, single-record /predict latency, 10,000-row batch throughput.

Trains the default Telco spec (real data) into a temporary registry with the library steps
(``--home`` reuses a trained registry instead), serves it with uvicorn on a free 127.0.0.1 port
in a thread of this process, and drives it with an ``httpx.Client`` (keep-alive) from the main
thread. Next to each API number stands the bare pipeline's ``predict_proba`` on the same rows.

    python -m benchmarks.bench_api [--home DIR] [--requests 1000]

Prints a table and writes JSON to benchmarks/results/. Loopback only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/bench_api.py` from anywhere
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import uvicorn  # noqa: E402

from churn.api.app import create_app  # noqa: E402
from churn.api.settings import Settings  # noqa: E402
from churn.contract import load_dataset  # noqa: E402
from churn.registry import Registry  # noqa: E402
from churn.run.compose import compose_run  # noqa: E402
from churn.run.pool import InlineExecutor  # noqa: E402
from churn.serving import load_serving_model, single_openmp_thread  # noqa: E402
from churn.spec.loader import load_spec  # noqa: E402
from churn.training.evaluate import split_dataset  # noqa: E402

SPEC = ROOT / "spec" / "telco.yaml"
RESULTS = ROOT / "benchmarks" / "results"
BATCH_ROWS = 10_000
TIME_LIMIT = 20.0
"""No single measurement loop runs longer than this many seconds."""


def train(spec_path: Path, home: Path) -> str:
    """One run of the spec through the library steps; returns the run id."""
    return compose_run(spec_path, home, pool=InlineExecutor(), report=False).manifest.run_id


def records(frame: pd.DataFrame, id_column: str, columns: list[str]) -> list[dict[str, Any]]:
    """Rows as /predict records: plain Python values, None for missing."""
    out = []
    for row in frame[[id_column, *columns]].to_dict("records"):
        out.append({k: None if isinstance(v, float) and v != v else v for k, v in row.items()})
    return out


def timed(call: Callable[[int], object], count: int) -> list[float]:
    """Seconds per call, for up to ``count`` calls or TIME_LIMIT seconds."""
    times: list[float] = []
    ends = time.perf_counter() + TIME_LIMIT
    for i in range(count):
        started = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - started)
        if started > ends:
            break
    return times


def quantiles(seconds: list[float]) -> dict[str, float]:
    """p50 / p99 / mean in milliseconds."""
    ms = np.asarray(seconds) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "n": len(ms),
    }


def serve(home: Path, **settings: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    """The API on a free loopback port, in a daemon thread (reloading off unless ``settings``
    say otherwise)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    app = create_app(Settings(**{"home": home, "spec": SPEC, "reload_interval": 0, **settings}))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ends = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > ends:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def run(home: Path, n_requests: int) -> dict[str, Any]:
    """Every measurement; returns the results."""
    spec = load_spec(SPEC)
    frame = load_dataset(spec)
    holdout = split_dataset(spec, frame).X_test.index
    columns = spec.feature_columns
    model = load_serving_model(Registry(home), {c: spec.columns[c] for c in columns})
    assert model is not None, "no champion in the registry"
    pipeline = model.pipeline
    single = frame.loc[holdout]
    single_records = records(single, spec.data.id, columns)
    single_bodies = [json.dumps({"records": [r]}).encode() for r in single_records]
    batch = frame.sample(BATCH_ROWS, replace=True, random_state=0).reset_index(drop=True)
    batch_body = json.dumps({"records": records(batch, spec.data.id, columns)}).encode()
    batch_x = batch[columns]

    server, thread, url = serve(home, max_batch=BATCH_ROWS)
    headers = {"content-type": "application/json"}
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            for _ in range(50):  # warm up connections, caches and the model
                client.get("/app-info")
                client.post("/predict", content=single_bodies[0], headers=headers)
            info = timed(lambda i: client.get("/app-info").raise_for_status(), 3000)
            api_single = timed(
                lambda i: client.post(
                    "/predict", content=single_bodies[i % len(single_bodies)], headers=headers
                ).raise_for_status(),
                n_requests,
            )
            check = client.post("/predict", content=batch_body, headers=headers).json()
            api_batch = timed(
                lambda i: client.post(
                    "/predict", content=batch_body, headers=headers
                ).raise_for_status(),
                7,
            )
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    def bare_single(i: int) -> object:
        with single_openmp_thread():
            return pipeline.predict_proba(single.iloc[[i % len(single)]][columns])

    pipe_single = timed(bare_single, n_requests)
    scorer_single = timed(
        lambda i: model.scorer.predict_proba(
            {c: [single_records[i % len(single_records)][c]] for c in columns}, 1
        ),
        n_requests,
    )
    pipe_batch = timed(lambda i: pipeline.predict_proba(batch_x), 7)
    expected = pipeline.predict_proba(batch_x)[:, 1].astype(np.float64)
    got = np.array([p["churn_probability"] for p in check["predictions"]])
    api_rows = BATCH_ROWS / statistics.median(api_batch)
    pipe_rows = BATCH_ROWS / statistics.median(pipe_batch)
    return {
        "when": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "client": "httpx.Client keep-alive -> uvicorn (h11) on 127.0.0.1, same process",
        "champion": {
            "run_id": model.run_id,
            "model": model.candidate,
            "fast_path": model.scorer.fast,
        },
        "app_info": {"requests_per_s": len(info) / sum(info), **quantiles(info)},
        "predict_single": {
            "api": quantiles(api_single),
            "bare_pipeline": quantiles(pipe_single),
            "fast_scorer_in_process": quantiles(scorer_single),
        },
        "predict_batch": {
            "rows": BATCH_ROWS,
            "body_mb": len(batch_body) / 1e6,
            "api_s": statistics.median(api_batch),
            "bare_pipeline_s": statistics.median(pipe_batch),
            "api_rows_per_s": api_rows,
            "bare_pipeline_rows_per_s": pipe_rows,
            "ratio": api_rows / pipe_rows,
            "identical_probabilities": bool(np.array_equal(got, expected)),
        },
        "targets": {
            "single_p50_ms<=3": quantiles(api_single)["p50_ms"] <= 3.0,
            "batch_ratio>=0.8": api_rows / pipe_rows >= 0.8,
        },
    }


def table(result: dict[str, Any]) -> str:
    """The results as a small text table."""
    single, batch = result["predict_single"], result["predict_batch"]
    lines = [
        f"champion {result['champion']['run_id']} ({result['champion']['model']}), "
        f"fast path {'on' if result['champion']['fast_path'] else 'off'}",
        f"client: {result['client']}",
        "",
        f"{'measure':44} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9}",
    ]
    for name, row in (
        ("GET /app-info", result["app_info"]),
        ("POST /predict, 1 record (API)", single["api"]),
        ("pipeline.predict_proba, 1 row (bare)", single["bare_pipeline"]),
        ("FastScorer, 1 row (in process, no HTTP)", single["fast_scorer_in_process"]),
    ):
        lines.append(f"{name:44} {row['p50_ms']:9.3f} {row['p99_ms']:9.3f} {row['mean_ms']:9.3f}")
    lines += [
        "",
        f"GET /app-info: {result['app_info']['requests_per_s']:,.0f} requests/s (sequential)",
        f"POST /predict, {batch['rows']:,} rows ({batch['body_mb']:.1f} MB): "
        f"{batch['api_s'] * 1000:.1f} ms, {batch['api_rows_per_s']:,.0f} rows/s",
        f"pipeline.predict_proba, same rows: {batch['bare_pipeline_s'] * 1000:.1f} ms, "
        f"{batch['bare_pipeline_rows_per_s']:,.0f} rows/s",
        f"throughput ratio API / bare pipeline: {batch['ratio']:.2f} "
        f"(identical probabilities: {batch['identical_probabilities']})",
        f"targets: {result['targets']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Train (or reuse ``--home``), measure, print, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a registry with a Telco champion to reuse")
    parser.add_argument("--requests", type=int, default=1000, help="single-record requests")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
        home = args.home
        if home is None:
            home = Path(scratch) / "home"
            started = time.perf_counter()
            print(f"training {SPEC.name} into {home} ...", flush=True)
            train(SPEC, home)
            print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)
        result = run(home, args.requests)
    print(table(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench_api-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
