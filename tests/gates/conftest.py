"""Session fixtures of the gate-helper tests: the Telco data split once, a champion fitted once."""

from __future__ import annotations

from pathlib import Path

import pytest
from telco_models import Telco, spec_variant

from churn.contract.dataset import load_dataset
from churn.gates.subjects import GateModel
from churn.spec.loader import parse_spec
from churn.training.evaluate import split_dataset


@pytest.fixture(scope="session")
def telco(telco_spec_path: Path) -> Telco:
    spec = parse_spec(telco_spec_path.read_text(), source=str(telco_spec_path))
    every_column = spec_variant(telco_spec_path, keep_gender=True)
    frame = load_dataset(spec, telco_spec_path.parent / spec.data.source)
    return Telco(spec=spec, split=split_dataset(every_column, frame))


@pytest.fixture(scope="session")
def champion(telco: Telco) -> GateModel:
    return telco.fit("champion")
