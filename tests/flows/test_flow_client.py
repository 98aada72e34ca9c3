"""The training flow's task runs share one synchronous Prefect client (issue 19 item 11)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect_server")]


def test_every_task_run_of_a_flow_run_uses_the_same_sync_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.context import SyncClientContext

    from churn.flows import train
    from churn.registry import RunManifest

    def client() -> int:
        """The Prefect client the running task run's engine uses."""
        context = SyncClientContext.get()
        assert context is not None
        return id(context.client)

    def four_steps(run: Any, steps: Any, pool: Any, *, report: bool) -> RunManifest:
        submitted = steps.submit("eda", client)  # on the flow's thread pool
        called = [steps.call(name, client) for name in ("select", "gate", "record")]
        assert len({*called, submitted.result()}) == 1, "a client per task run"
        return RunManifest(run_id="r", status="succeeded")

    monkeypatch.setattr(train, "execute_run", four_steps)

    assert train.run_flow(None, None).run_id == "r"  # type: ignore[arg-type]
