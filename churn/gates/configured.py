"""Whether a spec's gates run tests, answered without importing pytest."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from churn.spec import Spec


def declared_slices(spec: Spec) -> bool:
    """Whether the spec declares slices (``gates.slices``)."""
    return bool(getattr(spec.gates, "slices", None))


def has_gate_tests(spec: Spec) -> bool:
    """Whether the spec's gates run tests (``gates.tests.paths`` or declared slices)."""
    return bool(spec.gates.tests.paths) or declared_slices(spec)
