"""Start-up freezes the long-lived heap, so the collector's full passes stay short under load."""

from __future__ import annotations

import gc
from collections.abc import Callable

from fastapi.testclient import TestClient

from churn.api.heap import YOUNG_THRESHOLD, freeze_startup_heap, serving_heap


def test_the_started_app_leaves_the_collector_a_small_fraction_of_the_heap(
    make_client: Callable[..., TestClient],
) -> None:
    gc.unfreeze()
    try:
        client = make_client()
        assert client.get("/app-info").status_code == 200
        walked, frozen = len(gc.get_objects()), gc.get_freeze_count()
        assert frozen > 100_000, frozen  # the libraries and the champion
        assert walked < frozen / 5, (walked, frozen)
    finally:
        gc.unfreeze()


def test_objects_made_after_the_freeze_are_still_collected() -> None:
    class Node:
        partner: Node

    gc.unfreeze()
    try:
        freeze_startup_heap()
        first, second = Node(), Node()
        first.partner, second.partner = second, first  # a cycle only the collector can free
        alive = len([o for o in gc.get_objects() if isinstance(o, Node)])
        del first, second
        gc.collect()
        assert alive == 2
        assert not [o for o in gc.get_objects() if isinstance(o, Node)]
    finally:
        gc.unfreeze()


def test_serving_raises_the_young_threshold_until_the_last_app_stops() -> None:
    before = gc.get_threshold()
    gc.unfreeze()
    try:
        with serving_heap():
            assert gc.get_threshold()[0] >= YOUNG_THRESHOLD
            assert gc.get_threshold()[1:] == before[1:]
            with serving_heap():  # a second app of the same process
                pass
            assert gc.get_threshold()[0] >= YOUNG_THRESHOLD  # the first still serves
        assert gc.get_threshold() == before
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
