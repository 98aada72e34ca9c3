"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TELCO_SPEC = ROOT / "spec" / "telco.yaml"


@pytest.fixture(scope="session")
def telco_spec_path() -> Path:
    """The default spec shipped with the project."""
    return TELCO_SPEC
