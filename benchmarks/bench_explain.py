"""Explanation benchmark: /predict with explain=3 against explain off, in the same run.

For an xgb champion of the Telco spec (trained into a scratch registry unless ``--home-xgb``
names one) it measures, alternating the two settings so that both see the same machine load:

- single-record ``POST /predict`` latency (p50 / p99) with ``explain=3`` and without, through
  uvicorn in this process (as :mod:`benchmarks.bench_api` does);
- throughput at 50 connections with wrk against ``churn serve`` (as :mod:`benchmarks.bench_load`
  does), explain=3 and off;
- ``churn score`` with ``--explain 3`` and without on ``--score-rows`` rows (Telco rows
  repeated), each run's CPU time and wall time;
- for a random-forest champion (the spec's forest, trained unless ``--home-forest``): TreeSHAP
  per row in process, next to ``predict_proba`` on the same rows.

    python -m benchmarks.bench_explain [--requests 1000] [--score-rows 1000000] [--duration 10]

Needs wrk (``apt-get install wrk``). Prints a table, writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from benchmarks import bench_load  # noqa: E402
from benchmarks.bench_api import quantiles, serve, timed, train  # noqa: E402
from benchmarks.bench_load import WRK_SCRIPT, Server, records, spec_for, wrk  # noqa: E402
from churn.contract import load_dataset  # noqa: E402
from churn.registry import Registry  # noqa: E402
from churn.serving import load_serving_model, single_openmp_thread  # noqa: E402
from churn.serving.score_file import score_file, scoring_model  # noqa: E402
from churn.spec.loader import load_spec  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
HEADERS = {"content-type": "application/json"}


def bench_spec(model: str, folder: Path) -> Path:
    """The Telco spec with only candidate ``model`` and no gate tests (their folder stays
    beside the real spec; the benchmark measures explanations, not gates)."""
    path = spec_for(model, folder)
    document = yaml.safe_load(path.read_text("utf-8"))
    (document.get("gates") or {}).pop("tests", None)
    path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    return path


def single_latency(home: Path, spec_path: Path, n_requests: int) -> dict[str, Any]:
    """p50 / p99 of one-record /predict, explain off and explain=3, alternating."""
    spec = load_spec(spec_path)
    frame = load_dataset(spec)
    bodies = [
        json.dumps({"records": [r]}).encode()
        for r in records(frame.head(500), [spec.data.id or "", *spec.feature_columns])
    ]
    server, thread, url = serve(home)
    off: list[float] = []
    on: list[float] = []
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            for i in range(50):
                client.post("/predict?explain=3", content=bodies[i], headers=HEADERS)
                client.post("/predict", content=bodies[i], headers=HEADERS)
            for _ in range(n_requests // 100):  # alternate blocks of 100
                off += timed(
                    lambda i: client.post(
                        "/predict", content=bodies[i], headers=HEADERS
                    ).raise_for_status(),
                    100,
                )
                on += timed(
                    lambda i: client.post(
                        "/predict?explain=3", content=bodies[i], headers=HEADERS
                    ).raise_for_status(),
                    100,
                )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    result = {"off": quantiles(off), "explain_3": quantiles(on)}
    result["p50_difference_ms"] = result["explain_3"]["p50_ms"] - result["off"]["p50_ms"]
    return result


def throughput(home: Path, spec_path: Path, seconds: int, scratch: Path) -> dict[str, Any]:
    """wrk at 50 connections on one-record /predict, explain off and explain=3, alternating three
    times (medians compared)."""
    spec = load_spec(spec_path)
    frame = load_dataset(spec)
    body = scratch / "one.json"
    row = records(frame.head(1), [spec.data.id or "", *spec.feature_columns])
    body.write_text(json.dumps({"records": row}))
    script = scratch / "wrk.lua"
    script.write_text(WRK_SCRIPT)
    runs: dict[str, list[float]] = {"off": [], "explain_3": []}
    with Server(home, spec_path, workers=2) as server:
        wrk(server.url, "/predict?explain=3", 50, 2, body, script)  # warm up
        for _ in range(3):
            for name, path in (("off", "/predict"), ("explain_3", "/predict?explain=3")):
                summary = wrk(server.url, path, 50, seconds, body, script)
                assert summary["error_count"] == 0, summary
                runs[name].append(summary["requests_per_s"])
    off, on = statistics.median(runs["off"]), statistics.median(runs["explain_3"])
    return {"requests_per_s": runs, "ratio": on / off}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def score_cost(home: Path, spec_path: Path, rows: int, scratch: Path) -> dict[str, Any]:
    """``churn score`` (the library call) with and without explain=3 on ``rows`` rows."""
    spec = load_spec(spec_path)
    raw = pd.read_csv(spec.source_path, dtype=str, keep_default_na=False)
    copies = -(-rows // len(raw))
    big = pd.concat([raw] * copies, ignore_index=True).head(rows)
    big[spec.data.id] = [f"C{i:08d}" for i in range(len(big))]
    source = scratch / "customers.csv"
    big.drop(columns=[spec.data.target.column]).to_csv(source, index=False)
    del raw, big
    model = scoring_model(Registry(home))
    out: dict[str, Any] = {"rows": rows}
    for name, explain in (("off", 0), ("explain_3", 3)):
        cpu, wall = _cpu(), time.perf_counter()
        summary = score_file(spec, model, source, scratch / f"{name}.csv", explain=explain)
        out[name] = {
            "cpu_s": _cpu() - cpu,
            "wall_s": time.perf_counter() - wall,
            "scoring_s": summary.scoring_seconds,
        }
    out["cpu_ratio"] = out["explain_3"]["cpu_s"] / out["off"]["cpu_s"]
    out["wall_ratio"] = out["explain_3"]["wall_s"] / out["off"]["wall_s"]
    return out


def forest_treeshap(home: Path, spec_path: Path) -> dict[str, Any]:
    """TreeSHAP cost per row of the forest champion, next to predict_proba on the same rows."""
    spec = load_spec(spec_path)
    frame = load_dataset(spec)
    specs = {c: spec.columns[c] for c in spec.feature_columns}
    model = load_serving_model(Registry(home), specs)
    assert model is not None and model.explainer is not None
    rows = frame[spec.feature_columns].head(1000)
    encoded = np.asarray(model.pipeline[:-1].transform(rows), dtype=np.float64)
    estimator = model.pipeline.steps[-1][1]
    out: dict[str, Any] = {"model": model.candidate, "rows": len(rows)}
    with single_openmp_thread():
        for name, call in (
            ("predict_proba", lambda X: estimator.predict_proba(X)),
            ("treeshap", lambda X: model.explainer.explain_encoded(X)),  # type: ignore[union-attr]
        ):
            cpu = _cpu()
            call(encoded)
            out[f"{name}_batch_ms_per_row"] = (_cpu() - cpu) * 1000 / len(rows)
            single = timed(lambda i, call=call: call(encoded[i : i + 1]), 200)
            out[f"{name}_single_p50_ms"] = quantiles(single)["p50_ms"]
    trees = estimator.n_estimators
    out["trees"], out["max_depth"] = trees, estimator.max_depth
    return out


def main(argv: list[str] | None = None) -> int:
    """Train (or reuse), measure, print, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home-xgb", type=Path)
    parser.add_argument("--home-forest", type=Path)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--score-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--startup", type=int, default=600, help="seconds churn serve may take to start"
    )
    args = parser.parse_args(argv)
    bench_load.STARTUP_SECONDS = args.startup  # a loaded 2-core machine needs more than 180 s
    result: dict[str, Any] = {"when": datetime.now(UTC).isoformat()}
    with tempfile.TemporaryDirectory(prefix="bench-explain-") as folder:
        scratch = Path(folder)
        homes = {"xgb": args.home_xgb, "forest": args.home_forest}
        specs = {name: bench_spec(name, scratch) for name in homes}
        for name, home in homes.items():
            if home is None:
                homes[name] = scratch / f"home-{name}"
                print(f"training {name} ...", flush=True)
                train(specs[name], homes[name])
        result["load_before"] = os.getloadavg()
        result["single"] = single_latency(homes["xgb"], specs["xgb"], args.requests)
        print(json.dumps(result["single"]), flush=True)
        result["throughput_50"] = throughput(homes["xgb"], specs["xgb"], args.duration, scratch)
        print(json.dumps(result["throughput_50"]), flush=True)
        result["forest"] = forest_treeshap(homes["forest"], specs["forest"])
        print(json.dumps(result["forest"]), flush=True)
        result["score"] = score_cost(homes["xgb"], specs["xgb"], args.score_rows, scratch)
        print(json.dumps(result["score"]), flush=True)
        result["load_after"] = os.getloadavg()
    result["targets"] = {
        "single p50 explain=3 <= off + 2 ms": result["single"]["p50_difference_ms"] <= 2.0,
        "50-connection throughput ratio >= 0.5": result["throughput_50"]["ratio"] >= 0.5,
        "score --explain 3 <= 3x score (wall)": result["score"]["wall_ratio"] <= 3.0,
    }
    print(json.dumps(result["targets"], indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench_explain-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
