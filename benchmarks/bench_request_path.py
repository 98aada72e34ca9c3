"""What a ``/predict`` request waits for besides its own scoring, each against a baseline.

Both in one run, on an xgb champion of the Telco spec (trained into a scratch registry unless
``--home`` names one; xgb is batch-invariant, so its requests are batched):

1. **A lone request and the batching window.** Sequential single-record ``POST /predict``
   (one keep-alive client, so every request is alone) against a server whose window is the
   largest allowed (``batch_max_wait_ms=1000``), and the same requests against a server with
   batching off (``batch_max_size=1``). A lone request must not wait for company: the ratio of
   the medians is about 1, not the 1,000 ms window.
2. **A reload check started by a request.** :meth:`churn.api.state.ModelHolder.poke` on a holder
   whose check is due and whose champion is not loaded yet (so the check loads and verifies the
   model), against :meth:`~churn.api.state.ModelHolder.refresh`, the same check done on the caller's
   thread: what a request would wait if the check ran on it.

    python -m benchmarks.bench_request_path [--home DIR] [--requests 300] [--rounds 20]

Prints the medians and ratios with the load average before and after; writes
benchmarks/results/request_path.json. These were wall-clock limits inside tests before
(``tests/api/test_api_batching.py``, ``tests/api/test_api_reload.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/bench_request_path.py` from anywhere
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from benchmarks.bench_api import SPEC, records, serve, timed  # noqa: E402
from benchmarks.bench_load import spec_for  # noqa: E402
from churn.api.metrics import ApiMetrics  # noqa: E402
from churn.api.records import build_record_schema  # noqa: E402
from churn.api.state import ModelHolder  # noqa: E402
from churn.contract import load_dataset  # noqa: E402
from churn.registry import Registry  # noqa: E402
from churn.run.compose import compose_run  # noqa: E402
from churn.run.pool import InlineExecutor  # noqa: E402
from churn.serving import load_serving_model  # noqa: E402
from churn.spec.loader import load_spec  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
WINDOW_MS = 1000.0
"""The largest batching window the settings allow."""


def xgb_champion(scratch: Path) -> Path:
    """A registry in ``scratch`` whose champion is the Telco spec's xgb candidate."""
    home = scratch / "home"
    print(f"training the Telco xgb candidate into {home} ...", flush=True)
    compose_run(spec_for("xgb", scratch), home, pool=InlineExecutor(), report=False)
    return home


def lone_requests(home: Path, count: int, **settings: Any) -> list[float]:
    """Seconds of ``count`` sequential single-record requests against a server of ``settings``."""
    spec = load_spec(SPEC)
    frame = load_dataset(spec).head(count)
    bodies = [{"records": [r]} for r in records(frame, spec.data.id, spec.feature_columns)]
    server, thread, url = serve(home, **settings)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            for body in bodies[:20]:  # warm up the connection and the model
                client.post("/predict", json=body).raise_for_status()
            return timed(
                lambda i: client.post("/predict", json=bodies[i % len(bodies)]).raise_for_status(),
                count,
            )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def reload_checks(home: Path, rounds: int) -> dict[str, list[float]]:
    """Seconds of ``poke()`` (the check in a thread) and ``refresh()`` (on the caller's thread),
    each on a fresh holder whose first check loads and verifies the champion."""
    registry = Registry(home)
    specs = build_record_schema(load_spec(SPEC), max_batch=1000).specs

    def holder() -> ModelHolder:
        return ModelHolder(
            lambda: load_serving_model(registry, specs),
            registry.home / "champion.json",
            interval=1.0,
            metrics=ApiMetrics(),
        )

    found: dict[str, list[float]] = {"poke": [], "refresh": []}
    for _ in range(rounds):
        poked = holder()
        started = time.perf_counter()
        poked.poke()
        found["poke"].append(time.perf_counter() - started)
        poked.refresh()  # waits for the check poke() started; not timed
        assert poked.current is not None, "the check poke() started loaded nothing"
        inline = holder()
        started = time.perf_counter()
        inline.refresh()
        found["refresh"].append(time.perf_counter() - started)
        assert inline.current is not None, "refresh() loaded nothing"
    return found


def ms(seconds: list[float]) -> float:
    """The median in milliseconds."""
    return round(statistics.median(seconds) * 1000, 3)


def measure(home: Path, count: int, rounds: int) -> dict[str, Any]:
    """Both comparisons, one after the other."""
    load_before = os.getloadavg()[0]
    windowed = lone_requests(home, count, batch_max_wait_ms=WINDOW_MS)
    unbatched = lone_requests(home, count, batch_max_size=1)
    checks = reload_checks(home, rounds)
    return {
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "lone_request": {
            "window_ms": WINDOW_MS,
            "requests": len(windowed),
            "median_ms_window": ms(windowed),
            "median_ms_batching_off": ms(unbatched),
            "max_ms_window": round(max(windowed) * 1000, 3),
            "ratio": round(ms(windowed) / ms(unbatched), 3),
        },
        "reload_check": {
            "rounds": rounds,
            "median_ms_poke": ms(checks["poke"]),
            "median_ms_refresh_inline": ms(checks["refresh"]),
            "ratio": round(ms(checks["poke"]) / ms(checks["refresh"]), 4),
        },
    }


def show(result: dict[str, Any]) -> None:
    """The two comparisons as lines of text."""
    lone, check = result["lone_request"], result["reload_check"]
    print(
        f"lone POST /predict, {lone['window_ms']:.0f} ms window: median "
        f"{lone['median_ms_window']} ms (max {lone['max_ms_window']} ms) against "
        f"{lone['median_ms_batching_off']} ms with batching off: {lone['ratio']}x "
        f"({lone['requests']} requests)"
    )
    print(
        f"reload check started by a request (poke): median {check['median_ms_poke']} ms against "
        f"{check['median_ms_refresh_inline']} ms on the request's thread (refresh): "
        f"{check['ratio']}x ({check['rounds']} rounds)"
    )
    print(f"load average {result['load_before']} -> {result['load_after']}")


def main(argv: list[str] | None = None) -> int:
    """Train (or reuse ``--home``), measure, print, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a registry with a Telco champion to reuse")
    parser.add_argument("--requests", type=int, default=300, help="lone requests per server")
    parser.add_argument("--rounds", type=int, default=20, help="reload checks of each kind")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-request-path-") as scratch:
        result = measure(args.home or xgb_champion(Path(scratch)), args.requests, args.rounds)
    show(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "request_path.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
