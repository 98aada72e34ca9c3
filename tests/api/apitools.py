"""Helpers shared by the API tests (imported by tests/api/conftest.py and the test modules)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factories import train_run
from fastapi.testclient import TestClient

__all__ = ["TestClient", "Trained", "record", "train_run"]


@dataclass(frozen=True)
class Trained:
    """A registry with two finished runs; ``first`` is the champion."""

    spec_path: Path
    home: Path
    first: str
    second: str

    def copy_home(self, folder: Path) -> Path:
        """A private copy of the registry home, for a test that changes it."""
        target = folder / "home"
        shutil.copytree(self.home, target)
        return target


def record(index: int = 0, **changes: Any) -> dict[str, Any]:
    """A valid subscriptions record."""
    base: dict[str, Any] = {
        "account_id": f"T{index:04d}",
        "plan": ["basic", "pro", "enterprise"][index % 3],
        "region": ["north", "south", "east", "west"][index % 4],
        "monthly_fee": 20.0 + index % 90,
        "support_calls": index % 6,
        "months_active": 1 + index % 50,
    }
    base.update(changes)
    return base
