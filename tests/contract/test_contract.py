"""The data contract: schema compilation, reading, and every violation worded with its lines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from churn.contract import (
    NO_ROWS,
    build_schema,
    load_dataset,
    read_data,
    target_vector,
    validate,
)
from churn.contract.dataset import load_unlabelled
from churn.errors import DataContractError, SpecError
from churn.spec import Spec
from churn.spec.loader import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[2]
TELCO_SPEC = ROOT / "spec" / "telco.yaml"

# --------------------------------------------------------------------------- a small spec

COLUMNS: dict[str, dict[str, Any]] = {
    "id": {"dtype": "str"},  # no `unique: true`: the id must be unique all the same
    "plan": {"dtype": "category", "values": ["basic", "pro"]},
    "age": {"dtype": "int", "min": 18, "max": 99},
    "kids": {"dtype": "int", "nullable": True},
    "monthly": {"dtype": "float", "min": 0},
    "total": {"dtype": "float", "min": 0, "nullable": True},
    "paperless": {"dtype": "bool"},
    "churned": {"dtype": "category", "values": ["yes", "no"]},
}
HEADER = ",".join(COLUMNS)
ROWS = [  # file lines 2..6
    "A-1,basic,34,0,29.85,29.85,true,no",
    "A-2,pro,51,,56.95,1889.5,False,no",
    "A-3,basic,18,2,53.85,,1,yes",
    "A-4,pro,99,1,42.3,1840.75,0,no",
    "A-5,basic,45,3,70.7,151.65,TRUE,yes",
]


def spec_dict(
    columns: dict[str, dict[str, Any]] | None = None,
    *,
    source: str = "data.csv",
    positive: str | int = "yes",
    **data: Any,
) -> dict[str, Any]:
    """A minimal valid spec dict: id ``id``, target ``churned`` (positive ``yes``)."""
    columns = columns if columns is not None else COLUMNS
    target = {"column": "churned", "positive": positive}
    features = [name for name in columns if name not in ("id", "churned")]
    return {
        "version": 1,
        "name": "contract-test",
        "data": {"source": source, "id": "id", "target": target, **data},
        "columns": columns,
        "features": {"groups": [{"name": "all", "columns": features}]},
        "models": [{"name": "baseline", "type": "dummy"}],
    }


def make_spec(source: Path | str = "data.csv", **kwargs: Any) -> Spec:
    """A Spec built from :func:`spec_dict`."""
    return Spec.model_validate(spec_dict(source=str(source), **kwargs))


def write_csv(
    folder: Path, rows: list[str], *, header: str = HEADER, name: str = "data.csv"
) -> Path:
    """Write a CSV file (header + rows) and return its path."""
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def with_field(row: str, column: str, value: str) -> str:
    """``row`` with the field of ``column`` replaced."""
    fields = row.split(",")
    fields[list(COLUMNS).index(column)] = value
    return ",".join(fields)


def contract_error(path: Path, **kwargs: Any) -> DataContractError:
    """The error load_dataset raises for ``path`` with the small spec."""
    with pytest.raises(DataContractError) as info:
        load_dataset(make_spec(path, **kwargs))
    return info.value


# --------------------------------------------------------------------------- the schema


def test_schema_is_strict_unordered_and_coerces_every_column() -> None:
    schema = build_schema(make_spec())
    assert schema.strict is True
    assert schema.ordered is False
    assert list(schema.columns) == list(COLUMNS)
    assert all(column.coerce for column in schema.columns.values())
    assert schema.columns["total"].nullable and not schema.columns["monthly"].nullable


def test_schema_makes_the_id_unique_even_when_the_spec_forgets() -> None:
    schema = build_schema(make_spec())
    assert schema.columns["id"].unique is True
    assert schema.columns["plan"].unique is False


def test_schema_checks_allowed_values_and_range_in_words() -> None:
    schema = build_schema(make_spec())
    assert [c.error for c in schema.columns["plan"].checks] == [
        "values not in allowed set ['basic', 'pro']"
    ]
    assert [c.error for c in schema.columns["age"].checks] == ["below min 18", "above max 99"]


# --------------------------------------------------------------------------- valid data


def test_valid_csv_is_coerced_to_the_declared_dtypes(tmp_path: Path) -> None:
    frame = load_dataset(make_spec(write_csv(tmp_path, ROWS)))
    assert frame.dtypes.astype(str).to_dict() == {
        "id": "str",
        "plan": "category",
        "age": "int64",
        "kids": "Int64",  # nullable int: pandas' nullable integer, missing is pd.NA
        "monthly": "float64",
        "total": "float64",
        "paperless": "bool",
        "churned": "category",
    }
    assert frame["kids"].isna().tolist() == [False, True, False, False, False]
    assert frame["total"].isna().sum() == 1


def test_bool_column_accepts_true_false_and_1_0_text_in_any_case(tmp_path: Path) -> None:
    frame = load_dataset(make_spec(write_csv(tmp_path, ROWS)))
    assert frame["paperless"].tolist() == [True, False, True, False, True]


def test_int_column_accepts_whole_numbers_printed_with_a_decimal_point(tmp_path: Path) -> None:
    rows = [with_field(ROWS[0], "age", "34.0"), with_field(ROWS[1], "age", " 51 "), *ROWS[2:]]
    frame = load_dataset(make_spec(write_csv(tmp_path, rows)))
    assert frame["age"].tolist()[:2] == [34, 51]


def test_validated_frame_follows_the_spec_column_order(tmp_path: Path) -> None:
    shuffled = pd.read_csv(write_csv(tmp_path, ROWS), dtype=str)[list(reversed(COLUMNS))]
    assert list(validate(make_spec(), shuffled, source="frame").columns) == list(COLUMNS)


def test_spec_na_values_are_read_as_missing(tmp_path: Path) -> None:
    rows = [with_field(ROWS[0], "total", "?"), *ROWS[1:]]
    frame = load_dataset(make_spec(write_csv(tmp_path, rows), read={"na_values": ["?"]}))
    assert pd.isna(frame.loc[0, "total"])


def test_csv_delimiter_and_encoding_come_from_the_spec(tmp_path: Path) -> None:
    rows = [row.replace(",", ";").replace("basic", "básico") for row in ROWS]
    path = tmp_path / "data.csv"
    path.write_bytes(("\n".join([HEADER.replace(",", ";"), *rows]) + "\n").encode("latin-1"))
    columns = {**COLUMNS, "plan": {"dtype": "category", "values": ["básico", "pro"]}}
    spec = make_spec(path, columns=columns, read={"delimiter": ";", "encoding": "latin-1"})
    assert load_dataset(spec)["plan"].tolist()[:2] == ["básico", "pro"]


def test_read_data_types_csv_columns_from_the_spec_never_by_guessing(tmp_path: Path) -> None:
    rows = [with_field(row, "id", f"00{i}") for i, row in enumerate(ROWS)]
    raw = read_data(make_spec(write_csv(tmp_path, rows)))
    assert isinstance(raw.index, pd.RangeIndex)
    assert raw["id"].tolist()[:2] == ["000", "001"]  # a str column stays text
    assert raw["age"].dtype == "Int64"
    assert raw["age"].tolist()[0] == 34
    assert isinstance(raw["plan"].dtype, pd.CategoricalDtype)


def test_read_data_reads_a_csv_the_typed_read_refuses_as_text(tmp_path: Path) -> None:
    rows = [with_field(row, "age", "34.0") for row in ROWS]
    raw = read_data(make_spec(write_csv(tmp_path, rows)))
    assert set(raw.dtypes.astype(str)) == {"str"}
    assert raw["age"].tolist()[0] == "34.0"
    assert load_dataset(make_spec(write_csv(tmp_path, rows)))["age"].tolist()[0] == 34


def test_target_vector_is_one_for_the_positive_label(tmp_path: Path) -> None:
    spec = make_spec(write_csv(tmp_path, ROWS))
    y = target_vector(spec, load_dataset(spec))
    assert y.dtype == np.int64
    assert y.tolist() == [0, 0, 1, 0, 1]


def test_parquet_round_trip_keeps_values_and_dtypes(tmp_path: Path) -> None:
    frame = load_dataset(make_spec(write_csv(tmp_path, ROWS)))
    frame.to_parquet(tmp_path / "data.parquet")
    again = load_dataset(make_spec(tmp_path / "data.parquet"))
    pd.testing.assert_frame_equal(again, frame)


def test_parquet_of_text_columns_is_coerced_like_csv(tmp_path: Path) -> None:
    raw = pd.read_csv(write_csv(tmp_path, ROWS), dtype=str)
    raw.to_parquet(tmp_path / "text.parquet")
    frame = load_dataset(make_spec(tmp_path / "text.parquet"))
    assert frame["age"].dtype == "int64"
    assert frame["paperless"].tolist() == [True, False, True, False, True]


# --------------------------------------------------------------------------- violations, one each


def test_missing_column_is_named(tmp_path: Path) -> None:
    header = HEADER.replace("plan,", "")
    rows = [row.replace("basic,", "").replace("pro,", "") for row in ROWS]
    error = contract_error(write_csv(tmp_path, rows, header=header))
    assert error.failures == ["plan: missing column"]


def test_misspelt_column_is_missing_and_unexpected_with_a_hint(tmp_path: Path) -> None:
    error = contract_error(write_csv(tmp_path, ROWS, header=HEADER.replace("plan", "Plan")))
    assert error.failures == [
        "plan: missing column; similar column in the data: 'Plan'",
        "Plan: unexpected column (not declared in the spec's columns)",
    ]


def test_extra_column_is_unexpected(tmp_path: Path) -> None:
    rows = [f"{row},x" for row in ROWS]
    error = contract_error(write_csv(tmp_path, rows, header=f"{HEADER},notes"))
    assert error.failures == ["notes: unexpected column (not declared in the spec's columns)"]


def test_text_in_float_column_is_a_wrong_dtype_with_values_lines_and_count(
    tmp_path: Path,
) -> None:
    rows = list(ROWS)
    rows[1] = with_field(ROWS[1], "monthly", "abc")
    rows[3] = with_field(ROWS[3], "monthly", "n/a!")
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == [
        "monthly: wrong dtype: expected float64, could not convert: "
        "2 rows failed at lines 3, 5; values 'abc', 'n/a!'"
    ]


def test_non_whole_number_in_int_column_is_a_wrong_dtype(tmp_path: Path) -> None:
    rows = [with_field(ROWS[0], "age", "34.5"), *ROWS[1:]]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == [
        "age: wrong dtype: expected int64 (whole numbers), could not convert: "
        "1 row failed at line 2; values '34.5'"
    ]


def test_unknown_bool_word_is_a_wrong_dtype(tmp_path: Path) -> None:
    rows = [*ROWS[:4], with_field(ROWS[4], "paperless", "maybe")]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == [
        "paperless: wrong dtype: expected bool (true/false/1/0), could not convert: "
        "1 row failed at line 6; values 'maybe'"
    ]


def test_unseen_category_names_the_allowed_set(tmp_path: Path) -> None:
    rows = [
        ROWS[0],
        with_field(ROWS[1], "plan", "gold"),
        *ROWS[2:4],
        with_field(ROWS[4], "plan", "Pro"),
    ]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == [
        "plan: values not in allowed set ['basic', 'pro']: "
        "2 rows failed at lines 3, 6; values 'gold', 'Pro'"
    ]


def test_values_below_min_and_above_max_are_reported_separately(tmp_path: Path) -> None:
    rows = [with_field(ROWS[0], "age", "17"), ROWS[1], with_field(ROWS[2], "age", "120"), *ROWS[3:]]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == [
        "age: below min 18: 1 row failed at line 2; values 17",
        "age: above max 99: 1 row failed at line 4; values 120",
    ]


def test_negative_float_is_below_min(tmp_path: Path) -> None:
    rows = [*ROWS[:3], with_field(ROWS[3], "total", "-1.5"), ROWS[4]]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == ["total: below min 0: 1 row failed at line 5; values -1.5"]


def test_null_where_none_allowed(tmp_path: Path) -> None:
    rows = [
        ROWS[0],
        with_field(ROWS[1], "monthly", ""),
        with_field(ROWS[2], "monthly", "NA"),
        *ROWS[3:],
    ]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == ["monthly: nulls not allowed: 2 rows failed at lines 3, 4"]


def test_null_in_a_non_nullable_int_column_is_a_null_not_a_dtype_error(tmp_path: Path) -> None:
    rows = [with_field(ROWS[0], "age", ""), *ROWS[1:]]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == ["age: nulls not allowed: 1 row failed at line 2"]


def test_duplicate_ids_are_reported_with_both_lines(tmp_path: Path) -> None:
    rows = [*ROWS[:3], with_field(ROWS[3], "id", "A-2"), ROWS[4]]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == ["id: duplicate ids: 2 rows failed at lines 3, 5; values 'A-2'"]


def test_duplicates_in_a_unique_non_id_column_are_duplicate_values(tmp_path: Path) -> None:
    columns = {**COLUMNS, "monthly": {"dtype": "float", "unique": True}}
    rows = [ROWS[0], with_field(ROWS[1], "monthly", "29.85"), *ROWS[2:]]
    error = contract_error(write_csv(tmp_path, rows), columns=columns)
    assert error.failures == [
        "monthly: duplicate values: 2 rows failed at lines 2, 3; values 29.85"
    ]


def test_nullable_unique_column_allows_several_nulls_but_no_repeated_value(
    tmp_path: Path,
) -> None:
    columns = {**COLUMNS, "total": {"dtype": "float", "nullable": True, "unique": True}}
    rows = [with_field(row, "total", "") for row in ROWS[:3]] + ROWS[3:]
    assert (
        load_dataset(make_spec(write_csv(tmp_path, rows), columns=columns))["total"].isna().sum()
        == 3
    )
    rows[4] = with_field(ROWS[4], "total", "1840.75")
    error = contract_error(write_csv(tmp_path, rows), columns=columns)
    assert error.failures == [
        "total: duplicate values: 2 rows failed at lines 5, 6; values 1840.75"
    ]


def test_single_class_target_names_the_class_found(tmp_path: Path) -> None:
    rows = [with_field(row, "churned", "no") for row in ROWS]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == [
        "churned: target needs both classes ['yes', 'no'], found only 'no' (5 rows)"
    ]


def test_target_without_any_declared_class_says_neither(tmp_path: Path) -> None:
    rows = [with_field(row, "churned", "maybe") for row in ROWS]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == [
        "churned: values not in allowed set ['yes', 'no']: "
        "5 rows failed at lines 2, 3, 4, 5, 6; values 'maybe'",
        "churned: target needs both classes ['yes', 'no'], found neither",
    ]


def test_int_target_is_coerced_and_encoded(tmp_path: Path) -> None:
    columns = {**COLUMNS, "churned": {"dtype": "int", "values": [0, 1]}}
    rows = [with_field(row, "churned", "1" if "yes" in row else "0") for row in ROWS]
    spec = make_spec(write_csv(tmp_path, rows), columns=columns, positive=1)
    assert target_vector(spec, load_dataset(spec)).tolist() == [0, 0, 1, 0, 1]
    rows = [with_field(row, "churned", "0") for row in ROWS]
    error = contract_error(write_csv(tmp_path, rows), columns=columns, positive=1)
    assert error.failures == ["churned: target needs both classes [0, 1], found only 0 (5 rows)"]


def test_header_only_file_fails_the_row_count_check(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [])
    error = contract_error(path)
    assert error.failures == [NO_ROWS]
    assert str(error).startswith(f"{path}: data contract violated: 1 failed check\n")


def test_empty_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"")
    error = contract_error(path)
    assert error.source == str(path)
    assert error.failures == ["empty file (0 bytes): expected a header line, then one line per row"]
    assert str(path) in str(error)


def test_a_missing_file_given_to_a_command_is_not_blamed_on_data_source(tmp_path: Path) -> None:
    """``churn drift DATA`` / ``churn score SOURCE``: the path is the user's, not the spec's."""
    spec = make_spec(tmp_path / "train.csv")
    (tmp_path / "folder.csv").mkdir()
    for name, failure in [
        ("nowhere.csv", "file not found; check the path (relative to the current folder)"),
        ("folder.csv", "not a file; the path must name a .csv or .parquet file"),
    ]:
        with pytest.raises(DataContractError) as info:
            load_unlabelled(spec, tmp_path / name)
        assert info.value.failures == [failure]


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    error = contract_error(path)
    assert error.source == str(path)
    assert error.failures == [
        "file not found; check data.source (relative to the spec file's folder)"
    ]


def test_unreadable_parquet_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    path.write_bytes(b"this is not parquet")
    error = contract_error(path)
    assert error.source == str(path)
    assert len(error.failures) == 1
    assert error.failures[0].startswith("not a readable Parquet file: ")
    assert "\n" not in error.failures[0]


def test_unknown_suffix_asks_for_data_format(tmp_path: Path) -> None:
    error = contract_error(tmp_path / "data.xlsx")
    assert error.failures == ["cannot tell the format from the suffix '.xlsx'; set data.format"]


def test_explicit_format_overrides_the_suffix(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ROWS, name="data.txt")
    assert len(load_dataset(make_spec(path, format="csv"))) == len(ROWS)


def test_ragged_csv_says_which_line(tmp_path: Path) -> None:
    error = contract_error(write_csv(tmp_path, [*ROWS[:2], f"{ROWS[2]},extra", *ROWS[3:]]))
    assert error.failures == [
        "not a readable CSV file: Error tokenizing data. C error: "
        "Expected 8 fields in line 4, saw 9"
    ]


def test_parquet_failures_name_0_based_rows(tmp_path: Path) -> None:
    raw = pd.read_csv(write_csv(tmp_path, ROWS), dtype=str)
    raw.loc[2, "age"] = "7"
    raw.to_parquet(tmp_path / "data.parquet")
    error = contract_error(tmp_path / "data.parquet")
    assert error.failures == ["age: below min 18: 1 row failed at row 2; values 7"]


def test_fractional_float_in_an_int_parquet_column_is_a_wrong_dtype(tmp_path: Path) -> None:
    frame = load_dataset(make_spec(write_csv(tmp_path, ROWS)))
    frame["age"] = frame["age"].astype("float64")
    frame.loc[[1, 3], "age"] = [51.5, 20.25]
    frame.to_parquet(tmp_path / "data.parquet")
    error = contract_error(tmp_path / "data.parquet")
    assert error.failures == [
        "age: wrong dtype: expected int64 (whole numbers), could not convert: "
        "2 rows failed at rows 1, 3; values 51.5, 20.25"
    ]


def test_a_frame_without_file_lines_reports_its_index(tmp_path: Path) -> None:
    raw = pd.read_csv(write_csv(tmp_path, ROWS), dtype=str).set_axis(list("abcde"))
    raw.loc["d", "plan"] = "gold"
    with pytest.raises(DataContractError) as info:
        validate(make_spec(), raw, source="request")
    assert info.value.failures == [
        "plan: values not in allowed set ['basic', 'pro']: 1 row failed at row d; values 'gold'"
    ]


# --------------------------------------------------------------------------- many at once


def test_several_violations_are_reported_together_in_one_error(tmp_path: Path) -> None:
    rows = [
        with_field(ROWS[0], "monthly", "abc"),
        with_field(ROWS[1], "plan", "gold"),
        with_field(ROWS[2], "age", "-4"),
        with_field(ROWS[3], "monthly", ""),
        with_field(ROWS[4], "id", "A-1"),
    ]
    path = write_csv(tmp_path, [f"{row},x" for row in rows], header=f"{HEADER},notes")
    error = contract_error(path)
    assert str(error) == "\n".join(
        [
            f"{path}: data contract violated: 6 failed checks",
            "  id: duplicate ids: 2 rows failed at lines 2, 6; values 'A-1'",
            "  plan: values not in allowed set ['basic', 'pro']: 1 row failed at line 3; "
            "values 'gold'",
            "  age: below min 18: 1 row failed at line 4; values -4",
            "  monthly: wrong dtype: expected float64, could not convert: "
            "1 row failed at line 2; values 'abc'",
            "  monthly: nulls not allowed: 1 row failed at line 5",
            "  notes: unexpected column (not declared in the spec's columns)",
        ]
    )


def test_range_is_still_checked_on_the_rows_that_convert(tmp_path: Path) -> None:
    rows = [with_field(ROWS[0], "age", "old"), with_field(ROWS[1], "age", "12"), *ROWS[2:]]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == [
        "age: wrong dtype: expected int64 (whole numbers), could not convert: "
        "1 row failed at line 2; values 'old'",
        "age: below min 18: 1 row failed at line 3; values 12",
    ]


def test_long_failures_show_five_lines_five_values_and_the_full_count(tmp_path: Path) -> None:
    rows = [with_field(ROWS[i % 5], "id", f"B-{i}") for i in range(8)]
    rows = [with_field(row, "plan", f"p{i}") for i, row in enumerate(rows)]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == [
        "plan: values not in allowed set ['basic', 'pro']: 8 rows failed at "
        "lines 2, 3, 4, 5, 6, ...; values 'p0', 'p1', 'p2', 'p3', 'p4', ..."
    ]


# --------------------------------------------------------------------------- the real data


@pytest.fixture(scope="module")
def telco_spec() -> Spec:
    return load_spec(TELCO_SPEC)


def test_embedded_telco_data_validates(telco_spec: Spec) -> None:
    frame = load_dataset(telco_spec)
    assert frame.shape == (7043, 21)
    assert frame["TotalCharges"].isna().sum() == 11
    assert target_vector(telco_spec, frame).sum() == 1869


def kaggle_style(source: Path, target: Path) -> pd.DataFrame:
    """The embedded file as Kaggle prints it: ``7590-VHVEG`` ids, ``84`` not ``84.0``, CRLF."""
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    raw["customerID"] = [
        f"{(i * 7919) % 10000:04d}-" + "".join(letters[(i // 26**k) % 26] for k in range(5))
        for i in range(len(raw))
    ]
    raw["MonthlyCharges"] = raw["MonthlyCharges"].str.replace(r"\.0$", "", regex=True)
    raw.to_csv(target, index=False, lineterminator="\r\n")
    return raw


def test_kaggle_style_variant_validates(telco_spec: Spec, tmp_path: Path) -> None:
    path = tmp_path / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
    raw = kaggle_style(telco_spec.source_path, path)
    text = path.read_bytes()
    assert text.count(b"\r\n") == 7044
    assert re.search(rb"\r\n\d{4}-[A-Z]{5},", text)
    assert (~raw["MonthlyCharges"].str.contains(".", regex=False)).sum() > 0
    frame = load_dataset(telco_spec, path)
    original = load_dataset(telco_spec)
    assert frame.shape == (7043, 21)
    assert frame["customerID"].is_unique
    pd.testing.assert_frame_equal(
        frame.drop(columns="customerID"), original.drop(columns="customerID")
    )


# --------------------------------------------------------------------------- properties

SMALL = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# pandera has no strategy for frame-wide checks (rows, both classes): it filters draws instead.
NO_FRAME_STRATEGY = pytest.mark.filterwarnings(
    "ignore:Dataframe check doesn't have a defined strategy:UserWarning"
)


def schema_frames() -> st.SearchStrategy[pd.DataFrame]:
    """Frames drawn from the pandera schema of the small spec.

    pandera draws no Categoricals, so ``category`` columns are drawn as text (as a CSV file
    holds them); ``validate`` turns them into Categoricals.
    """
    spec = make_spec()
    categories = [name for name, column in spec.columns.items() if column.dtype == "category"]
    schema = build_schema(spec).update_columns({name: {"dtype": "str"} for name in categories})
    return schema.strategy(size=6)


@NO_FRAME_STRATEGY
@SMALL
@given(frame=schema_frames())
def test_frames_drawn_from_the_schema_always_validate(frame: pd.DataFrame) -> None:
    valid = validate(make_spec(), frame, source="drawn")
    assert len(valid) == 6
    assert valid["age"].between(18, 99).all()


def corrupt(frame: pd.DataFrame, column: str, how: str, row: int) -> pd.DataFrame:
    """``frame`` with one value of ``column`` broken in the way ``how`` names."""
    broken = frame.copy()
    broken[column] = broken[column].astype(object)
    spec = COLUMNS[column]
    value: Any = {
        "null": None,
        "text": "not a number",
        "unseen": "zz-unseen",
        "below": spec.get("min", 0) - 1,
        "above": spec.get("max", 0) + 1,
        "duplicate": broken[column].iloc[(row + 1) % len(broken)],
    }[how]
    broken.iloc[row, broken.columns.get_loc(column)] = value
    return broken


CORRUPTIONS = [
    ("id", "duplicate"),
    ("id", "null"),
    ("plan", "unseen"),
    ("plan", "null"),
    ("age", "below"),
    ("age", "above"),
    ("age", "text"),
    ("age", "null"),
    ("kids", "text"),
    ("monthly", "below"),
    ("monthly", "text"),
    ("monthly", "null"),
    ("total", "below"),
    ("total", "text"),
    ("paperless", "text"),
    ("paperless", "null"),
    ("churned", "unseen"),
    ("churned", "null"),
]


@NO_FRAME_STRATEGY
@SMALL
@given(
    frame=schema_frames(),
    corruption=st.sampled_from(CORRUPTIONS),
    row=st.integers(min_value=0, max_value=5),
)
def test_one_corrupted_column_always_fails_and_is_named(
    frame: pd.DataFrame, corruption: tuple[str, str], row: int
) -> None:
    column, how = corruption
    with pytest.raises(DataContractError) as info:
        validate(make_spec(), corrupt(frame, column, how, row), source="drawn")
    assert any(failure.startswith(f"{column}: ") for failure in info.value.failures)


# --------------------------------------------------------------------------- at scale


def test_a_check_failing_on_many_rows_counts_them_all_and_shows_the_first(
    tmp_path: Path,
) -> None:
    from churn.contract.failures import SAMPLED_CASES

    failing = SAMPLED_CASES * 3
    rows = [with_field(ROWS[i % 5], "id", f"B-{i}") for i in range(failing + 10)]
    rows = [with_field(row, "age", "12") if i < failing else row for i, row in enumerate(rows)]
    rows = [with_field(row, "monthly", "x") if i % 2 else row for i, row in enumerate(rows)]
    error = contract_error(write_csv(tmp_path, rows))
    assert error.failures == [
        f"age: below min 18: {failing} rows failed at lines 2, 3, 4, 5, 6, ...; values 12",
        f"monthly: wrong dtype: expected float64, could not convert: {(failing + 10) // 2} rows "
        "failed at lines 3, 5, 7, 9, 11, ...; values 'x'",
    ]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_category_values_are_shared_python_strings(tmp_path: Path, suffix: str) -> None:
    """scikit-learn's encoders call ``np.asarray`` on a column: with arrow-backed categories
    that builds one new string per row (2x slower one-hot, 40% more memory at 1M rows)."""
    rows = [with_field(row, "id", f"C{i}") for i, row in enumerate(ROWS * 40)]
    spec = make_spec(write_csv(tmp_path, rows))
    if suffix == "parquet":
        load_dataset(spec).to_parquet(tmp_path / "data.parquet")
        spec = make_spec(tmp_path / "data.parquet")
    plan = load_dataset(spec)["plan"]
    assert plan.cat.categories.dtype == object
    values = np.asarray(plan)
    assert values.dtype == object
    assert len({id(value) for value in values}) == len(plan.cat.categories)


# --------------------------------------------------------------------------- non-finite numbers


def test_inf_in_a_float_column_breaks_the_contract_unless_the_column_allows_it(
    tmp_path: Path,
) -> None:
    rows = [with_field(ROWS[0], "monthly", "inf"), with_field(ROWS[1], "monthly", "-1e309")]
    path = write_csv(tmp_path, [*rows, *ROWS[2:]])
    message = str(contract_error(path))
    assert "monthly: infinite values not allowed" in message
    assert "2 rows failed at lines 2, 3; values inf, -inf" in message

    columns = {**COLUMNS, "monthly": {"dtype": "float", "allow_inf": True}}
    frame = load_dataset(make_spec(path, columns=columns))
    assert np.isinf(frame["monthly"]).sum() == 2


def test_allow_inf_is_a_spec_error_on_a_column_that_is_not_float() -> None:
    columns = {**COLUMNS, "age": {"dtype": "int", "allow_inf": True}}
    with pytest.raises(SpecError, match=r"columns\.age: allow_inf needs dtype float"):
        parse_spec(yaml.safe_dump(spec_dict(columns=columns)))
