"""Micro-batching: concurrent requests scored together, each answer exactly its own.

A real uvicorn server (in a thread, on a loopback port) takes many concurrent async clients, so
requests really arrive together; the answers are compared with ``==`` to the model scoring each
record alone, and the batch-size histogram shows that batches of more than one record formed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from apitools import Trained, record

from churn.api.app import create_app
from churn.api.batching import MicroBatcher, score_batch
from churn.api.deps import get_serving_model
from churn.api.records import build_record_schema
from churn.api.settings import Settings
from churn.registry import Registry
from churn.serving import ServingModel, load_serving_model
from churn.spec.loader import load_spec

CLIENTS = 64


@pytest.fixture
def forest_home(trained: Trained, tmp_path: Path) -> Path:
    """A registry whose champion is the random forest (batch-invariant) run."""
    home = trained.copy_home(tmp_path)
    registry = Registry(home)
    with registry.lock():
        registry.rollback(reason="batching tests serve the forest", to=trained.second)
    return home


def _model(trained: Trained, home: Path) -> ServingModel:
    schema = build_record_schema(load_spec(trained.spec_path), max_batch=1000)
    model = load_serving_model(Registry(home), schema.specs)
    assert model is not None
    return model


@dataclasses.dataclass
class Server:
    url: str
    app: Any


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start an app under uvicorn on a free loopback port; stopped after the test."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any) -> Server:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        ends = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < ends, "uvicorn did not start"
            time.sleep(0.02)
        return Server(f"http://127.0.0.1:{port}", app)

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)


def _concurrently(url: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    async def main() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(bodies))
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
            return await asyncio.gather(*(client.post("/predict", json=b) for b in bodies))

    return asyncio.run(main())


def _batched_records(url: str) -> tuple[float, float]:
    """(batched scoring calls, records in them) from /metrics."""
    text = httpx.get(f"{url}/metrics").text
    count = re.search(r"^churn_batch_records_count (\S+)$", text, re.M)
    total = re.search(r"^churn_batch_records_sum (\S+)$", text, re.M)
    assert count is not None and total is not None
    return float(count.group(1)), float(total.group(1))


def test_concurrent_answers_equal_each_record_scored_alone(trained, forest_home, serve):
    model = _model(trained, forest_home)
    assert model.scorer.batch_invariant
    settings = Settings(
        home=forest_home,
        spec=trained.spec_path,
        reload_interval=0,
        batch_max_wait_ms=50,
        batch_max_size=32,
    )
    server = serve(create_app(settings))
    records = [record(i, monthly_fee=20.0 + i * 0.37) for i in range(CLIENTS)]
    answers = _concurrently(server.url, [{"records": [r]} for r in records])
    calls, scored = _batched_records(server.url)
    assert scored == CLIENTS and calls < CLIENTS  # some calls scored several requests
    for rec, response in zip(records, answers, strict=True):
        assert response.status_code == 200, response.text
        (got,) = response.json()["predictions"]
        columns = {name: [rec[name]] for name in model.scorer.input_columns}
        alone = float(model.scorer.predict_proba(columns, 1)[0])
        assert got["id"] == rec["account_id"]
        assert got["churn_probability"] == alone
        assert got["will_churn"] == (alone >= model.threshold)


def test_batched_answers_equal_the_unbatched_server(trained, forest_home, serve):
    common = {"home": forest_home, "spec": trained.spec_path, "reload_interval": 0}
    batched = serve(create_app(Settings(**common, batch_max_wait_ms=50)))
    unbatched = serve(create_app(Settings(**common, batch_max_size=1)))
    bodies = [{"records": [record(i), record(i + 1000)]} for i in range(CLIENTS)]
    got = [r.json() for r in _concurrently(batched.url, bodies)]
    want = [r.json() for r in _concurrently(unbatched.url, bodies)]
    assert got == want
    assert _batched_records(batched.url)[0] < 2 * CLIENTS
    assert "churn_batch_records_count 0.0" in httpx.get(f"{unbatched.url}/metrics").text


class _Refuses:
    """A scorer that refuses any batch holding a record with ``support_calls == 5``."""

    batch_invariant = True

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.input_columns = inner.input_columns
        self.fast = inner.fast
        self.sizes: list[int] = []

    def predict_proba(self, columns: Any, n: int) -> Any:
        self.sizes.append(n)
        if 5 in columns["support_calls"]:
            raise ValueError("support_calls 5 is refused by this test model")
        return self.inner.predict_proba(columns, n)


def test_a_refused_record_fails_only_its_own_request(trained, forest_home, serve):
    model = _model(trained, forest_home)
    faulty = dataclasses.replace(model, scorer=_Refuses(model.scorer))
    settings = Settings(
        home=forest_home, spec=trained.spec_path, reload_interval=0, batch_max_wait_ms=100
    )
    app = create_app(settings)
    app.dependency_overrides[get_serving_model] = lambda: faulty
    server = serve(app)
    records = [record(i, support_calls=5 if i == 7 else i % 5) for i in range(CLIENTS)]
    answers = _concurrently(server.url, [{"records": [r]} for r in records])
    assert max(faulty.scorer.sizes) > 1  # the bad record was in a batch with others
    for i, (rec, response) in enumerate(zip(records, answers, strict=True)):
        if i == 7:
            assert response.status_code == 422
            assert "support_calls 5 is refused" in response.text
            continue
        assert response.status_code == 200, response.text
        columns = {name: [rec[name]] for name in model.scorer.input_columns}
        want = float(model.scorer.predict_proba(columns, 1)[0])
        assert response.json()["predictions"][0]["churn_probability"] == want


def test_lone_requests_are_each_scored_in_a_batch_of_their_own(trained, forest_home, serve):
    settings = Settings(
        home=forest_home, spec=trained.spec_path, reload_interval=0, batch_max_wait_ms=1000
    )
    server = serve(create_app(settings))
    with httpx.Client(base_url=server.url) as client:
        client.post("/predict", json={"records": [record(1)]}).raise_for_status()
        client.post("/predict", json={"records": [record(2)]}).raise_for_status()
    assert _batched_records(server.url) == (2.0, 2.0)


def test_a_lone_request_does_not_wait_out_the_batching_window(trained, forest_home):
    """With an hour's window, a request no other is on its way to join is scored at once.
    (The 60 s guard only stops a hang; the latency itself is benchmarks/bench_request_path.py's.)
    """
    model = _model(trained, forest_home)
    batches: list[int] = []
    batcher = MicroBatcher(max_wait=3600.0, max_size=64, observe=batches.append)
    rec = record(3)
    columns = {name: [rec[name]] for name in model.scorer.input_columns}

    async def lone() -> Any:
        with batcher.arriving():  # as the route: on its way while its body is read
            pass
        return await asyncio.wait_for(batcher.score(model, columns, 1), timeout=60)

    try:
        proba = asyncio.run(lone())
    except TimeoutError:
        pytest.fail("a lone request waited for company instead of being scored")
    assert list(proba) == list(model.scorer.predict_proba(columns, 1))
    assert batches == [1]


def test_only_small_requests_for_tree_models_are_batched(trained, forest_home):
    model = _model(trained, forest_home)
    batcher = MicroBatcher(max_wait=0.01, max_size=8)
    assert batcher.accepts(model, 1)
    assert batcher.accepts(model, 7)
    assert not batcher.accepts(model, 8)  # as many records as a batch holds: scored alone
    logreg = _compiled_logreg(trained)
    assert not logreg.scorer.batch_invariant
    assert not batcher.accepts(logreg, 1)  # its dot product may differ in the last bits


def _compiled_logreg(trained: Trained) -> ServingModel:
    from churn.contract import load_dataset, target_vector
    from churn.serving import FastScorer
    from churn.training.compile import compile_spec

    spec = load_spec(trained.spec_path)
    pipeline = compile_spec(spec)["logreg"]
    frame = load_dataset(spec)
    pipeline.fit(frame[spec.feature_columns], target_vector(spec, frame))
    schema = build_record_schema(spec, max_batch=10)
    return ServingModel("logreg-run", FastScorer(pipeline, schema.specs), 0.5, {})


def test_score_batch_groups_requests_by_model(trained, forest_home):
    model = _model(trained, forest_home)
    other = dataclasses.replace(model, run_id="other", scorer=_Refuses(model.scorer))
    loop = asyncio.new_event_loop()
    try:
        requests = [
            _pending(loop, m, record(i)) for i, m in enumerate([model, other, model, other])
        ]
        results = score_batch(requests)
    finally:
        loop.close()
    assert other.scorer.sizes == [2]
    for request, result in zip(requests, results, strict=True):
        alone = model.scorer.predict_proba(request.columns, 1)
        assert list(result) == list(alone)


def _pending(loop: asyncio.AbstractEventLoop, model: ServingModel, rec: dict[str, Any]) -> Any:
    from churn.api.batching import _Request

    columns = {name: [rec[name]] for name in model.scorer.input_columns}
    return _Request(model, columns, 1, loop.create_future())
