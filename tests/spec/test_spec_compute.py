"""The spec's compute block: a Dask scheduler address, checked where it is written."""

from __future__ import annotations

import pytest
import yaml
from factories import subscriptions_spec

from churn.errors import SpecError
from churn.spec import scheduler_address
from churn.spec.loader import parse_spec


def parsed(compute: dict[str, object]) -> str:
    return yaml.safe_dump(subscriptions_spec(compute=compute), sort_keys=False)


def test_without_a_compute_block_training_stays_on_this_machine() -> None:
    spec = parse_spec(yaml.safe_dump(subscriptions_spec(), sort_keys=False))
    assert spec.compute.scheduler is None
    assert spec.compute.connect_timeout == 30


@pytest.mark.parametrize(
    ("written", "address"),
    [
        ("tcp://dask-scheduler:8786", "tcp://dask-scheduler:8786"),
        ("dask-scheduler.churn.svc:8786", "tcp://dask-scheduler.churn.svc:8786"),
        ("tls://10.0.0.7:8786/", "tls://10.0.0.7:8786"),
        ("tcp://[::1]:8786", "tcp://[::1]:8786"),
        ("ws://scheduler:8786", "ws://scheduler:8786"),
    ],
)
def test_a_scheduler_address_is_read_with_its_scheme(written: str, address: str) -> None:
    assert parse_spec(parsed({"scheduler": written})).compute.scheduler == address


@pytest.mark.parametrize(
    "written",
    ["dask-scheduler", "http://scheduler:8786", "tcp://:8786", "tcp://s:99999", "tcp://s:port",
     "tcp://s:8786/path", "tcp://user@s:8786"],
)  # fmt: skip
def test_a_malformed_scheduler_address_is_a_spec_error_with_its_line(written: str) -> None:
    text = parsed({"scheduler": written})
    line = text.splitlines().index(f"  scheduler: {written}") + 1
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="spec.yaml")
    [problem] = info.value.problems
    assert problem.startswith(f"spec.yaml:{line}: compute.scheduler: ")
    assert "SCHEME://HOST:PORT" in problem
    assert repr(written) in problem


def test_an_unknown_compute_key_is_refused() -> None:
    with pytest.raises(SpecError, match=r"compute\.workers: unknown key"):
        parse_spec(parsed({"workers": 4}))


def test_scheduler_address_refuses_an_empty_text() -> None:
    with pytest.raises(ValueError, match="SCHEME://HOST:PORT"):
        scheduler_address("  ")


def test_distributed_is_refused_on_a_candidate_that_is_not_xgboost() -> None:
    models = [{"name": "logreg", "type": "logistic_regression", "distributed": True}]
    text = yaml.safe_dump(subscriptions_spec(models=models), sort_keys=False)
    with pytest.raises(SpecError, match="distributed: true needs type xgboost"):
        parse_spec(text)
