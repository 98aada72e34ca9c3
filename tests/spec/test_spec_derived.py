"""Mistakes in the row features (sum ... log1p) and the target_encode step, each reported at
load with the file, the line and the path of the mistake."""

from __future__ import annotations

import pytest
from test_spec import edit

from churn.errors import SpecError
from churn.spec.loader import parse_spec

DECLARED = "declared: customerID, gender, SeniorCitizen"


def problems_with(entry: str) -> tuple[list[str], int]:
    """The problems of the Telco spec with ``entry`` as its first derived feature (used by the
    numeric group, so only the entry itself can be wrong), and the entry's line."""
    text, line = edit("  derived:\n", f"  derived:\n    - {entry}\n")
    text, _ = edit("avg_monthly_spend]", "avg_monthly_spend, x]", text)
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="spec/telco.yaml")
    return info.value.problems, line + 1


@pytest.mark.parametrize(
    ("entry", "where", "message"),
    [
        (
            "{name: x, type: sum, columns: [tenure]}",
            ".columns",
            "list should have at least 2 items after validation, not 1, got ['tenure']",
        ),
        (
            "{name: x, type: mean, columns: [tenure, MonthlyCharges, tenure]}",
            ".columns",
            "each column may be listed once, got tenure twice",
        ),
        (
            "{name: x, type: max, columns: [tenure, Contract]}",
            "",
            "expected a numeric input column, got 'Contract' (categorical)",
        ),
        (
            "{name: x, type: min, columns: [tenure, Tenure]}",
            "",
            f"expected a declared column (or an earlier derived one), got 'Tenure'; {DECLARED}",
        ),
        (
            "{name: x, type: sum, columns: [tenure, MonthlyCharges], nulls: ignore}",
            ".nulls",
            "expected one of 'propagate' or 'skip', got 'ignore'",
        ),
        (
            "{name: x, type: count, columns: [tenure], values: ['1']}",
            "",
            "expected a categorical input column, got 'tenure' (numeric)",
        ),
        (
            "{name: x, type: count, columns: [StreamingTV, TechSupport], values: ['Yes', yes]}",
            ".values[1]",
            "no column of ['StreamingTV', 'TechSupport'] may hold 'yes'; their declared "
            "values: No, No internet service, Yes",
        ),
        (
            "{name: x, type: count, columns: [StreamingTV], values: []}",
            ".values",
            "list should have at least 1 item after validation, not 0, got []",
        ),
        (
            "{name: x, type: compare, left: tenure, op: '=>', right: 12}",
            ".op",
            "expected one of '>', '>=', '<', '<=', '==' or '!=', got '=>'",
        ),
        (
            "{name: x, type: compare, left: tenure, op: '>', right: Tenure}",
            "",
            f"expected a declared column (or an earlier derived one), got 'Tenure'; {DECLARED}",
        ),
        (
            "{name: x, type: compare, left: Contract, op: '==', right: 1}",
            "",
            "expected a numeric input column, got 'Contract' (categorical)",
        ),
        ("{name: x, type: clip, column: tenure}", "", "give lower, upper or both"),
        (
            "{name: x, type: clip, column: tenure, lower: 10, upper: 5}",
            "",
            "lower must be below upper, got 10.0 >= 5.0",
        ),
        (
            "{name: x, type: power, column: tenure, exponent: 0}",
            "",
            "exponent 0 gives a constant or the column itself; use another exponent or the column",
        ),
        (
            "{name: x, type: log1p, column: PaymentMethod}",
            "",
            "expected a numeric input column, got 'PaymentMethod' (categorical)",
        ),
        (
            "{name: x, type: sums, columns: [tenure, MonthlyCharges]}",
            "",
            "unknown type 'sums'; expected one of 'ratio', 'difference', 'product', 'bins', "
            "'days_between', 'days_since', 'sum', 'mean', 'min', 'max', 'count', 'compare', "
            "'clip', 'power', 'log1p'",
        ),
    ],
)
def test_a_row_feature_mistake_names_file_line_and_path(
    entry: str, where: str, message: str
) -> None:
    [problem], line = problems_with(entry)
    assert problem.startswith(f"spec/telco.yaml:{line}: features.derived[0]{where}: {message}")


@pytest.mark.parametrize(
    ("step", "where", "message"),
    [
        ("{type: target_encode, cv: 1}", ".cv", "expected greater than or equal to 2, got 1"),
        (
            "{type: target_encode, smooth: -1}",
            ".smooth",
            "expected 'auto' or a number >= 0, got -1",
        ),
        (
            "{type: target_encode, smooth: high}",
            ".smooth",
            "expected 'auto' or a number >= 0, got 'high'",
        ),
        (
            "{type: target_encode, folds: 3}",
            ".folds",
            "unknown key; expected one of smooth, cv, seed",
        ),
    ],
)
def test_a_target_encode_mistake_names_file_line_and_path(
    step: str, where: str, message: str
) -> None:
    text, line = edit("{type: one_hot, handle_unknown: ignore, drop: if_binary}", step)
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="spec/telco.yaml")
    [problem] = info.value.problems
    assert problem.startswith(f"spec/telco.yaml:{line}: features.groups[2].steps[0]{where}: ")
    assert message in problem


def test_target_encode_on_numeric_columns_names_them() -> None:
    text, line = edit("{type: scale, method: standard}", "{type: target_encode}")
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="spec/telco.yaml")
    assert info.value.problems == [
        f"spec/telco.yaml:{line}: features.groups[0].steps[1]: step 'target_encode' needs "
        "categorical columns, got tenure (numeric), MonthlyCharges (numeric), TotalCharges "
        "(numeric), avg_monthly_spend (numeric)"
    ]


def test_every_new_type_loads_from_yaml_when_right() -> None:
    entries = [
        "{name: a, type: sum, columns: [tenure, MonthlyCharges], nulls: skip}",
        "{name: b, type: count, columns: [StreamingTV, TechSupport], values: ['Yes']}",
        "{name: c, type: compare, left: MonthlyCharges, op: '>=', right: 70.5}",
        "{name: d, type: compare, left: a, op: '<', right: TotalCharges}",
        "{name: e, type: clip, column: tenure, upper: 60}",
        "{name: f, type: power, column: tenure, exponent: 0.5}",
        "{name: g, type: log1p, column: TotalCharges}",
    ]
    text, _ = edit("  derived:\n", "  derived:\n" + "".join(f"    - {e}\n" for e in entries))
    text, _ = edit("avg_monthly_spend]", "avg_monthly_spend, a, b, c, d, e, f, g]", text)
    spec = parse_spec(text)
    assert [d.type for d in spec.features.derived[:7]] == [
        "sum", "count", "compare", "compare", "clip", "power", "log1p"
    ]  # fmt: skip
    assert spec.features.derived[2].inputs() == ["MonthlyCharges"]
    assert spec.features.derived[3].inputs() == ["a", "TotalCharges"]
