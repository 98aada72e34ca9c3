"""The flow adapts the one composition of a run to Prefect and keeps no run state of its own."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "WeakValueDictionary"}


def module_level_state(path: Path) -> list[str]:
    """Module-level mutable containers and ``global`` statements in ``path``, as ``FILE:LINE``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        f"{path.name}:{node.lineno} global"
        for node in ast.walk(tree)
        if isinstance(node, ast.Global)
    ]
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        mutable = isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp)
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            mutable = mutable or value.func.id in MUTABLE_CALLS
        if mutable:
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_flow_module_keeps_run_state_between_calls() -> None:
    modules = sorted((ROOT / "flows").glob("*.py"))
    assert len(modules) >= 3
    assert [line for path in modules for line in module_level_state(path)] == []


def test_a_planted_handoff_dict_is_found(tmp_path: Path) -> None:
    planted = tmp_path / "train.py"
    planted.write_text(
        "_HANDOFF: dict[str, int] = {}\nRUNS = dict()\n\ndef f():\n    global RUNS\n"
    )
    assert module_level_state(planted) == ["train.py:5 global", "train.py:1", "train.py:2"]


def test_the_flow_receives_the_checked_run_and_the_pool_as_arguments() -> None:
    from churn.flows.train import train_flow

    assert list(inspect.signature(train_flow.fn).parameters) == ["run", "pool", "report"]


def test_the_flow_is_asynchronous_so_prefect_does_not_join_its_heartbeat_thread() -> None:
    """A synchronous flow run joins its heartbeat thread (1 s sleeps) when it ends: up to 1 s
    idle after the last step of every run with a long-lived server. Fails when Prefect's
    engines change how they end the heartbeat, so the reason for the async flow is re-checked."""
    from prefect import flow_engine

    from churn.flows.train import train_flow

    assert inspect.iscoroutinefunction(train_flow.fn)
    ending = {
        engine: inspect.getsource(getattr(flow_engine, engine).run_context)
        for engine in ("FlowRunEngine", "AsyncFlowRunEngine")
    }
    assert "_send_heartbeats(self)" in ending["FlowRunEngine"]  # joins (default)
    assert "_send_heartbeats(self, join_on_exit=False)" in ending["AsyncFlowRunEngine"]
