"""Hot reload: a new champion is served without a restart and without a failed request."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from apitools import TestClient, Trained, record

from churn.api.metrics import ApiMetrics
from churn.api.state import AppState, ModelHolder
from churn.registry import Registry
from churn.registry.pointer import ChampionPointer

DEADLINE = 15.0


def holder_of(client: TestClient) -> ModelHolder:
    state: AppState = client.app.state.churn  # type: ignore[attr-defined]
    return state.holder


def fire(client: TestClient, stop: threading.Event, answers: list[tuple[int, str | None]]) -> None:
    """Post /predict until ``stop`` (or the deadline), recording status and model version."""
    ends = time.monotonic() + DEADLINE
    while not stop.is_set() and time.monotonic() < ends:
        response = client.post("/predict", json={"records": [record(1), record(2)]})
        version = response.json()["model_version"] if response.status_code == 200 else None
        answers.append((response.status_code, version))


def wait_for(condition, timeout: float = DEADLINE) -> bool:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_promotion_is_served_without_a_failed_request(
    make_client, home: Path, trained: Trained
) -> None:
    client = make_client(home=home, reload_interval=0.1)
    stop = threading.Event()
    answers: list[tuple[int, str | None]] = []
    threads = [threading.Thread(target=fire, args=(client, stop, answers)) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        assert wait_for(lambda: len(answers) >= 10)
        registry = Registry(home)
        with registry.lock():
            registry.promote(trained.second, reason="hot reload test", forced=False)
        assert wait_for(lambda: any(version == trained.second for _, version in answers[-4:]))
        count = len(answers)
        assert wait_for(lambda: len(answers) >= count + 10)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert {status for status, _ in answers} == {200}
    versions = [version for _, version in answers]
    switch = versions.index(trained.second)
    assert set(versions[:switch]) == {trained.first}
    assert versions[-10:] == [trained.second] * 10
    assert client.get("/ready").json()["run_id"] == trained.second


def test_rollback_is_served_without_a_restart(make_client, home: Path, trained: Trained) -> None:
    client = make_client(home=home, reload_interval=0.05)
    registry = Registry(home)
    with registry.lock():
        registry.promote(trained.second, reason="forward", forced=False)
    assert wait_for(lambda: client.get("/ready").json()["run_id"] == trained.second)
    with registry.lock():
        registry.rollback(reason="back")
    assert wait_for(lambda: client.get("/ready").json()["run_id"] == trained.first)
    body = client.post("/predict", json={"records": [record()]}).json()
    assert body["model_version"] == trained.first


def test_a_model_that_fails_to_load_leaves_the_previous_one_serving(
    make_client, home: Path, trained: Trained
) -> None:
    client = make_client(home=home)  # no background checks: refresh() by hand
    holder = holder_of(client)
    registry = Registry(home)
    with registry.lock():
        registry.promote(trained.second, reason="will be damaged", forced=False)
    model_file = home / "runs" / trained.second / "model.joblib"
    good = model_file.read_bytes()
    model_file.write_bytes(good + b"damage")

    assert holder.refresh() is False
    ready = client.get("/ready").json()
    assert ready["ready"] is True and ready["run_id"] == trained.first
    assert "does not match its recorded hash" in ready["reload_error"]
    assert client.get("/app-info").json()["status"] == "degraded"
    metrics = client.get("/metrics").text
    assert 'churn_model_reloads_total{result="failure"} 1.0' in metrics
    assert "churn_model_load_error 1.0" in metrics
    answer = client.post("/predict", json={"records": [record()]})
    assert answer.status_code == 200 and answer.json()["model_version"] == trained.first
    assert holder.refresh() is False  # the same broken state is not retried
    assert 'churn_model_reloads_total{result="failure"} 1.0' in client.get("/metrics").text

    model_file.write_bytes(good)
    assert holder.refresh() is True
    assert client.get("/ready").json()["reload_error"] is None
    assert client.get("/app-info").json()["status"] == "ok"
    assert client.post("/predict", json={"records": [record()]}).json()["model_version"] == (
        trained.second
    )


def test_a_missing_champion_file_keeps_the_loaded_champion_serving(
    make_client, home: Path, trained: Trained
) -> None:
    client = make_client(home=home)
    (home / "champion.json").unlink()
    holder_of(client).refresh()
    ready = client.get("/ready").json()
    assert ready["run_id"] == trained.first
    assert "missing" in ready["reload_error"]
    assert client.post("/predict", json={"records": [record()]}).status_code == 200


def fake_model(run_id: str) -> SimpleNamespace:
    return SimpleNamespace(
        run_id=run_id,
        candidate="c",
        model_type="t",
        threshold=0.5,
        pointer=ChampionPointer(
            run_id=run_id,
            model_name="model.joblib",
            model_path=f"runs/{run_id}/model.joblib",
            model_sha256="0" * 64,
        ),
        scorer=SimpleNamespace(fast=True, reason=None),
    )


def test_a_request_after_the_interval_starts_a_check_off_the_request_path(tmp_path: Path) -> None:
    champion = tmp_path / "champion.json"
    champion.write_text(json.dumps({"run_id": "a", "model_path": "none"}))
    loaded: list[str] = []
    release = threading.Event()

    def load() -> SimpleNamespace:
        run_id = json.loads(champion.read_text())["run_id"]
        if loaded:
            release.wait(DEADLINE)  # a slow load must not hold up the request that started it
        loaded.append(run_id)
        return fake_model(run_id)

    now = [100.0]
    holder = ModelHolder(
        load,
        champion,
        interval=5.0,
        metrics=ApiMetrics(),  # type: ignore[arg-type]
        clock=lambda: now[0],
    )
    holder.refresh()
    champion.write_text(json.dumps({"run_id": "b", "model_path": "none"}))
    now[0] += 4.0
    holder.poke()  # within the interval: nothing happens
    time.sleep(0.05)
    assert loaded == ["a"]
    now[0] += 2.0
    holder.poke()  # returns while the load it started is held back (its cost on the request
    # path is measured in benchmarks/bench_request_path.py)
    assert loaded == ["a"], "poke() waited for the load it started"
    assert holder.current.run_id == "a"  # type: ignore[union-attr]
    release.set()
    assert wait_for(lambda: holder.current.run_id == "b")  # type: ignore[union-attr]
    assert loaded == ["a", "b"]
