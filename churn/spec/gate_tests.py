"""The spec's ``gates.tests`` block: pytest files beside the spec, run as quality gates.

``gates: {tests: [gates/]}`` is short for ``gates: {tests: {paths: [gates/]}}``. Gate tests are
code the spec's author wrote: they run with the same trust as the spec itself (in the process
that trains), and ``churn serve`` never runs them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from churn.spec.base import StrictModel

MAX_GATE_TEST_PATHS = 64


class GateTestsSpec(StrictModel):
    """pytest files or folders (relative to the spec) whose tests must pass for a promotion."""

    paths: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        default_factory=list,
        max_length=MAX_GATE_TEST_PATHS,
        description=(
            "pytest files or folders, relative to the spec's folder; empty: no gate tests "
            "(declared slices still run)."
        ),
    )
    every_candidate: bool = Field(
        default=False,
        description=(
            "Run the tests against every candidate (reported), not only the one that would be "
            "promoted; only the winner's outcomes decide the gates."
        ),
    )
    test_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="Seconds one test may take (setup, call and teardown); then it is an error.",
    )
    total_timeout_s: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="Seconds all gate tests of one candidate may take; the rest are errors.",
    )

    @model_validator(mode="after")
    def _unique_paths(self) -> GateTestsSpec:
        seen = [path for i, path in enumerate(self.paths) if path in self.paths[:i]]
        if seen:
            raise ValueError(f"path {seen[0]!r:.80} is listed twice")
        return self


def _paths_shorthand(value: Any) -> Any:
    """``tests: [gates/]`` means ``tests: {paths: [gates/]}``."""
    return {"paths": value} if isinstance(value, list) else value


GateTests = Annotated[
    GateTestsSpec,
    BeforeValidator(_paths_shorthand, json_schema_input_type=GateTestsSpec | list[str]),
]
"""``gates.tests``: the block, or just its list of paths."""
