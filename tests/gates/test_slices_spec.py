"""``gates.slices`` in the spec: accepted, and every mistake named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from churn.errors import SpecError
from churn.spec.loader import parse_spec

ROOT = Path(__file__).resolve().parents[2]
TELCO = (ROOT / "spec" / "telco.yaml").read_text()
FIRST = "    - {column: Contract, segments: [Month-to-month], metric: recall, lower: 0.75}\n"


def problems_with(entry: str) -> tuple[list[str], int]:
    assert TELCO.count(FIRST) == 1
    line = TELCO[: TELCO.index(FIRST)].count("\n") + 1
    with pytest.raises(SpecError) as info:
        parse_spec(TELCO.replace(FIRST, f"    - {entry}\n"), source="spec/telco.yaml")
    return info.value.problems, line


def test_the_default_spec_declares_its_slices() -> None:
    slices = parse_spec(TELCO).gates.slices
    assert [(entry.column, entry.metric) for entry in slices] == [
        ("Contract", "recall"),
        ("Contract", "roc_auc"),
        ("InternetService", "roc_auc"),
    ]
    assert slices[0].segments == ["Month-to-month"] and slices[0].lower == 0.75
    assert slices[1].max_regression == 0.0 and slices[1].min_rows == 30


@pytest.mark.parametrize(
    ("entry", "where", "message"),
    [
        (
            "{column: gender, metric: recall}",
            "gates.slices[0].column",
            "expected a feature column of the spec",
        ),
        (
            "{column: Contract, metric: recall, bins: [0, 1]}",
            "gates.slices[0].bins",
            "bins need a numeric column; 'Contract' is category",
        ),
        (
            "{column: Contract, metric: recall, segments: [Monthly]}",
            "gates.slices[0].segments[0]",
            "expected one of the values of 'Contract'",
        ),
        (
            "{column: tenure, metric: recall, bins: [12, 0]}",
            "gates.slices[0]",
            "strictly ascending",
        ),
        ("{column: tenure, metric: profit}", "gates.slices[0]", "profit cannot be measured"),
        (
            "{column: tenure, metric: recall, lower: 0.9, upper: 0.1}",
            "gates.slices[0]",
            "lower must be <=",
        ),
        ("{column: tenure, metric: recall, min_row: 5}", "gates.slices[0].min_row", "unknown key"),
    ],
)
def test_a_bad_slice_is_named_with_its_line(entry: str, where: str, message: str) -> None:
    [problem], line = problems_with(entry)
    assert problem.startswith(f"spec/telco.yaml:{line}: {where}: ")
    assert message in problem
