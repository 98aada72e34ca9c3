"""/app-info answers from a cache that follows the champion and the latest run."""

from __future__ import annotations

import shutil
from pathlib import Path

from apitools import Trained

from churn.registry import Registry


def test_app_info_follows_a_run_marked_incomplete_after_it_was_cached(
    make_client, home: Path, trained: Trained
) -> None:
    client = make_client(home=home)
    assert client.get("/app-info").json()["pipeline_status"] == "succeeded"
    assert client.get("/app-info").json()["pipeline_status"] == "succeeded"  # from the cache
    Registry(home).mark_incomplete(trained.second, "killed")
    assert client.get("/app-info").json()["pipeline_status"] == "incomplete"


def test_app_info_follows_a_new_latest_run_and_its_removal(
    make_client, home: Path, trained: Trained
) -> None:
    client = make_client(home=home)
    assert client.get("/app-info").json()["last_run_id"] == trained.second
    shutil.rmtree(Registry(home).run_dir(trained.second))
    assert client.get("/app-info").json()["last_run_id"] == trained.first


def test_app_info_follows_a_new_champion(make_client, home: Path, trained: Trained) -> None:
    client = make_client(home=home)
    assert client.get("/app-info").json()["run_id"] == trained.first
    registry = Registry(home)
    with registry.lock():
        registry.rollback(reason="test", to=trained.second)
    client.app.state.churn.holder.refresh()  # type: ignore[attr-defined]
    assert client.get("/app-info").json()["run_id"] == trained.second
