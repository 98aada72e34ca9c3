"""Programs a test drives that are not Python packages: skipped where missing, failed under CI."""

from __future__ import annotations

import os
import shutil

import pytest


def required_program(name: str, install: str) -> str:
    """The path of ``name`` on PATH; skip the test without it, fail it under CI (``CI`` set),
    which must install it (``install`` says how)."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed ({install})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install it")
        pytest.skip(message)
    return found
