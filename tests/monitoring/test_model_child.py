"""``churn drift``'s model process: its verdicts in order, and it never outlives its parent."""

from __future__ import annotations

from pathlib import Path

import pytest

from churn.errors import SpecError
from churn.model_child import ModelChild
from churn.spec.loader import load_spec

TELCO = Path(__file__).resolve().parents[2] / "spec" / "telco.yaml"


def test_a_spec_the_child_cannot_read_is_its_first_failure_and_it_is_stopped(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(SpecError) as direct:
        load_spec(missing)
    with ModelChild(tmp_path, None, missing) as child:
        failure = child.spec_failure()
        assert isinstance(failure, SpecError)
        assert str(failure) == str(direct.value)
        assert child.first_failure() is failure  # answered once, remembered
        with pytest.raises(SpecError):
            child.run_id()
    assert child.exitcode is not None


def test_a_child_stopped_while_it_works_ends_with_the_block(tmp_path: Path) -> None:
    with ModelChild(tmp_path, None, TELCO) as child:
        pass
    assert child.exitcode is not None
