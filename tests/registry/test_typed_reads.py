"""The registry answers with typed records only, and champion.json keeps its bytes.

``fixtures/champion_v0.json`` is a champion.json written by churn before the pointer had a type
(``set_champion`` of the model of ``{"a": "model"}``, a NaN metric, a fixed clock).
"""

from __future__ import annotations

import inspect
import json
import shutil
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from churn.api import views
from churn.cli.summary import champion_text
from churn.errors import RegistryError
from churn.registry import Registry
from churn.registry.atomic_io import to_json
from churn.registry.pointer import ChampionPointer
from churn.serving.model import ServingModel

FIXTURES = Path(__file__).parent / "fixtures"
OLD_POINTER = FIXTURES / "champion_v0.json"
RUN_ID = "20261202T060855.421718Z-9c2a0d"
PROMOTED_AT = datetime(2026, 12, 2, 6, 8, 57, 123456, tzinfo=UTC)

UNTYPED_ON_PURPOSE = {"lock"}
"""The lock yields its holder's record (pid, run id, start time)."""


def home_with_old_pointer(tmp_path: Path) -> Registry:
    registry = Registry(tmp_path / "home")
    registry.home.mkdir()
    shutil.copy(OLD_POINTER, registry.home / "champion.json")
    return registry


def test_an_old_champion_pointer_reads_typed_and_back_to_the_same_bytes(tmp_path: Path) -> None:
    registry = home_with_old_pointer(tmp_path)

    pointer = registry.champion()

    assert isinstance(pointer, ChampionPointer)
    assert (pointer.run_id, pointer.action, pointer.threshold) == (RUN_ID, "promote", 0.42)
    assert pointer.metrics == {"roc_auc": 0.7642, "brier": None, "f1": 0.6019}
    assert to_json(pointer.as_dict(), indent=2) + "\n" == OLD_POINTER.read_text()
    assert f"champion   {RUN_ID} (promote)" in champion_text(pointer)


def test_a_promotion_writes_the_bytes_the_previous_version_wrote(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "home", clock=lambda: PROMOTED_AT)
    registry.start_run(RUN_ID)
    model = registry.save_model(RUN_ID, {"a": "model"})

    with registry.lock():
        pointer = registry.set_champion(
            RUN_ID,
            model_name=model.name,
            model_sha256=model.sha256,
            metrics={"roc_auc": 0.7642, "brier": float("nan"), "f1": 0.6019},
            threshold=0.42,
            reason="first run, no champion: all 2 thresholds passed",
            action="promote",
        )

    assert (registry.home / "champion.json").read_bytes() == OLD_POINTER.read_bytes()
    assert registry.champion() == pointer


def test_a_pointer_from_before_action_and_previous_reads_and_the_api_says_what_it_said(
    tmp_path: Path,
) -> None:
    registry = Registry(tmp_path / "home")
    registry.home.mkdir()
    older = json.loads(OLD_POINTER.read_text())
    del older["action"], older["previous"]
    (registry.home / "champion.json").write_text(json.dumps(older))

    pointer = registry.champion()

    assert pointer is not None and pointer.action == "promote"
    assert pointer.as_dict() == older  # nothing is added to what the file says
    model = ServingModel(RUN_ID, SimpleNamespace(fast=True), 0.42, pointer)  # type: ignore[arg-type]
    answer = views.champion_view(model)
    assert (answer.action, answer.previous, answer.threshold) == (None, None, 0.42)
    assert answer.metrics == {"roc_auc": 0.7642, "brier": None, "f1": 0.6019}


def public_reads(cls: type) -> dict[str, Any]:
    """Public methods and their return annotations, resolved."""
    return {
        name: typing.get_type_hints(member).get("return")
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def mentions_a_dict(annotation: Any) -> bool:
    """Whether ``annotation`` is, or holds, a dict or a Mapping."""
    origin = typing.get_origin(annotation) or annotation
    if inspect.isclass(origin) and issubclass(origin, dict | Mapping):
        return True
    return any(mentions_a_dict(arg) for arg in typing.get_args(annotation))


def test_the_registry_has_no_read_that_answers_with_a_dict() -> None:
    returns = public_reads(Registry)
    untyped = sorted(name for name, annotation in returns.items() if mentions_a_dict(annotation))

    assert {"record", "records", "latest_record", "champion"} <= set(returns)
    assert set(untyped) <= UNTYPED_ON_PURPOSE, untyped
    for name in ("champion", "verify_champion", "promote", "rollback", "set_champion"):
        assert ChampionPointer in typing.get_args(returns[name]) or returns[name] is ChampionPointer
    for twin in ("manifest", "runs", "latest_run"):
        assert not hasattr(Registry, twin)


def test_the_serving_model_holds_the_typed_pointer() -> None:
    assert typing.get_type_hints(ServingModel)["pointer"] is ChampionPointer


@pytest.mark.parametrize("threshold", [1.5, -0.1])
def test_a_pointer_that_would_not_read_back_is_never_written(
    tmp_path: Path, threshold: float
) -> None:
    registry = Registry(tmp_path / "home")
    registry.start_run(RUN_ID)
    model = registry.save_model(RUN_ID, {"a": "model"})

    with registry.lock(), pytest.raises(RegistryError, match="threshold"):
        registry.set_champion(
            RUN_ID,
            model_name=model.name,
            model_sha256=model.sha256,
            metrics={},
            threshold=threshold,
            reason="x",
            action="promote",
        )

    assert registry.champion() is None
