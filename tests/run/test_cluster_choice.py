"""Which Dask scheduler a run uses, and a clear failure when it cannot be used."""

from __future__ import annotations

import socket
import sys
import time

import pytest
from factories import subscriptions_spec
from fresh_interpreter import GROUP

from churn.errors import ClusterError
from churn.run.cluster import SCHEDULER_ENV, Scheduler, connect, named_scheduler
from churn.run.compose import forks_workers
from churn.settings import ChurnSettings
from churn.spec import Spec

IN_SPEC = "tcp://spec-scheduler:8786"


def spec(scheduler: str | None = IN_SPEC, timeout: float = 30) -> Spec:
    compute = {"scheduler": scheduler, "connect_timeout": timeout}
    return Spec.model_validate(subscriptions_spec(compute=compute))


def test_without_a_scheduler_named_training_stays_local() -> None:
    assert named_scheduler(spec(None), "") is None


def test_the_spec_names_the_scheduler_when_the_environment_does_not() -> None:
    assert named_scheduler(spec(), "") == Scheduler(IN_SPEC, "the spec's compute.scheduler", 30)


def test_the_environment_wins_over_the_spec() -> None:
    chosen = named_scheduler(spec(), "dask-scheduler.churn:8786")
    assert chosen == Scheduler("tcp://dask-scheduler.churn:8786", SCHEDULER_ENV, 30)


def test_local_in_the_environment_keeps_a_spec_with_a_scheduler_on_this_machine() -> None:
    assert named_scheduler(spec(), " LOCAL ") is None


def test_a_malformed_address_in_the_environment_is_a_churn_error_naming_the_variable() -> None:
    with pytest.raises(ClusterError) as info:
        named_scheduler(spec(None), "http://scheduler")
    assert str(info.value).startswith(f"{SCHEDULER_ENV}: expected SCHEME://HOST:PORT")
    assert info.value.exit_code == 1


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_scheduler_fails_within_its_timeout_with_what_to_do() -> None:
    address = f"tcp://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(ClusterError) as info:
        connect(Scheduler(address, SCHEDULER_ENV, 1.0))
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert message.startswith(f"cannot reach the Dask scheduler at {address} (from {SCHEDULER_ENV}")
    assert f"{SCHEDULER_ENV}=local" in message


@pytest.mark.xdist_group(GROUP)
def test_choosing_the_local_path_imports_no_dask(fresh_import: dict[str, object]) -> None:
    """In a fresh interpreter (``fresh_interpreter.PROBE``, its first step): the pool and the
    scheduler choice imported and the default spec's scheduler chosen (none), no Dask loaded."""
    assert fresh_import["local_path_scheduler"] is None
    assert fresh_import["dask_on_the_local_path"] == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the pool forks on Linux only")
def test_the_fork_server_is_worth_starting_only_for_local_workers_of_several_candidates() -> None:
    two = [{"name": "a", "type": "logistic_regression"}, {"name": "b", "type": "random_forest"}]
    local = Spec.model_validate(subscriptions_spec(models=two))
    workers = ChurnSettings(train_workers=2, dask_scheduler="")
    assert forks_workers(local, workers)
    assert not forks_workers(local, ChurnSettings(train_workers=1, dask_scheduler=""))
    assert not forks_workers(Spec.model_validate(subscriptions_spec(models=two[:1])), workers)
    assert not forks_workers(spec(), workers)  # the spec's Dask cluster trains
    assert not forks_workers(local, ChurnSettings(train_workers=2, dask_scheduler="host:8786"))
    assert forks_workers(spec(), ChurnSettings(train_workers=2, dask_scheduler="local"))
