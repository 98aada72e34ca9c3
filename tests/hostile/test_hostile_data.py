"""Bad data: exit 3 naming the file and the line, byte offset or column; the registry untouched."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hostile_tools import REFUSING_COMMANDS, Prepare, World, assert_untouched, line_of, snapshot

FAILED = "{csv}: data contract violated: 1 failed check\n  "
"""How every one-failure message starts."""


def rewrite(change: str, says: str) -> Prepare:
    """Rewrite the CSV with ``change`` applied; the failure names the file and ``says``."""

    def prepare(world: World) -> str:
        lines = world.csv.read_text().splitlines()
        if change == "semicolons":
            lines = [line.replace(",", ";") for line in lines]
        elif change == "tabs":
            lines = [line.replace(",", "\t") for line in lines]
        elif change == "ragged":
            lines[4] += ",extra"
        elif change == "no-plan-column":
            lines = [",".join(p for i, p in enumerate(x.split(",")) if i != 1) for x in lines]
        else:
            row, column, value = change.split(":")
            parts = lines[int(row)].split(",")
            parts[int(column)] = value
            lines[int(row)] = ",".join(parts)
        world.csv.write_text("\n".join(lines) + "\n")
        return says.format(csv=world.csv)

    return prepare


def non_utf8(world: World) -> str:
    content = bytearray(world.csv.read_bytes())
    offset = sum(len(x) + 1 for x in bytes(content).split(b"\n")[:3]) + 2
    content[offset] = 0xE9
    world.csv.write_bytes(bytes(content))
    return FAILED.format(csv=world.csv) + f"line 4: byte 0xe9 at offset {offset} (column 3)"


def replace_file(content: bytes | None, says: str) -> Prepare:
    """Replace the data file by ``content`` (None: remove it; b"/": a folder)."""

    def prepare(world: World) -> str:
        world.csv.unlink()
        if content == b"/":
            world.csv.mkdir()
        elif content is not None:
            world.csv.write_bytes(content)
        return says.format(csv=world.csv)

    return prepare


def source(name: str, content: bytes, says: str) -> Prepare:
    """Point data.source at a file ``name`` holding ``content``."""

    def prepare(world: World) -> str:
        spec = yaml.safe_load(world.spec.read_text())
        spec["data"]["source"] = name
        world.spec.write_text(yaml.safe_dump(spec, sort_keys=False))
        (world.folder / name).write_bytes(content)
        return says.format(path=world.folder / name)

    return prepare


def parquet(column: str, values: Callable[[int], pa.Array] | None, says: str) -> Prepare:
    """The data as Parquet with ``column``'s values replaced (None: as they are)."""

    def prepare(world: World) -> str:
        table = pa.Table.from_pandas(pd.read_csv(world.csv), preserve_index=False)
        if values is not None:
            index = table.schema.get_field_index(column)
            table = table.set_column(index, column, values(table.num_rows))
        pq.write_table(table, world.folder / "data.parquet")
        edit_spec(world, lambda spec: spec["data"].update(source="data.parquet"))
        return FAILED.format(csv=world.folder / "data.parquet") + says

    return prepare


def inf_at_row_3(rows: int) -> pa.Array:
    return pa.array([float("inf") if i == 3 else 1.0 for i in range(rows)])


def edit_spec(world: World, change: Callable[[dict[str, Any]], object]) -> str:
    """Apply ``change`` to the spec; returns the new text."""
    spec = yaml.safe_load(world.spec.read_text())
    change(spec)
    text = yaml.safe_dump(spec, sort_keys=False)
    world.spec.write_text(text)
    return text


def huge_column_name(world: World) -> str:
    header, rest = world.csv.read_text().split("\n", 1)
    world.csv.write_text(header.replace("region", "r" * 5_000_000) + "\n" + rest)
    shown = repr("r" * 80)
    return FAILED.format(csv=world.csv) + f"column {shown}... (5,000,000 characters): a column"


def first_rows(
    rows: int, change: Callable[[dict[str, Any]], object], at: str, says: str
) -> Prepare:
    """Keep the first ``rows`` data rows and ``change`` the spec; the failure is named at the
    spec line holding ``at``."""

    def prepare(world: World) -> str:
        lines = world.csv.read_text().splitlines()
        world.csv.write_text("\n".join(lines[: rows + 1]) + "\n")
        text = edit_spec(world, change)
        return f"{world.spec}:{line_of(text, at)}: {says}"

    return prepare


def smote(ratio: float) -> Callable[[dict[str, Any]], object]:
    def change(spec: dict[str, Any]) -> None:
        spec["models"][0]["resample"] = {"type": "smote", "sampling_strategy": ratio}

    return change


def folds(spec: dict[str, Any]) -> None:
    spec["evaluation"].update(cv_folds=12)
    spec["evaluation"]["split"].update(min_class_rows=1)


CASES: dict[str, Prepare] = {
    "non-utf8-byte": non_utf8,
    "semicolon-delimited": rewrite(
        "semicolons",
        FAILED + "line 1 reads as a single column",
    ),
    "tab-delimited": rewrite("tabs", "looks tab-delimited; set data.read.delimiter: '\\t'"),
    "ragged-row": rewrite("ragged", "Expected 7 fields in line 5, saw 8"),
    "missing-column": rewrite("no-plan-column", FAILED + "plan: missing column"),
    "below-min": rewrite(
        "3:4:-3",
        FAILED + "support_calls: below min 0: 1 row failed at line 4",
    ),
    "not-allowed-category": rewrite("5:1:gold", "plan: values not in allowed set"),
    "duplicate-id": rewrite(
        "6:0:A00001",
        FAILED + "account_id: duplicate ids: 2 rows failed at lines 3, 7",
    ),
    "null-in-required": rewrite(
        "7:3:",
        FAILED + "monthly_fee: nulls not allowed: 1 row failed at line 8",
    ),
    "text-in-int-column": rewrite("8:5:many", "months_active: wrong dtype"),
    "empty-file": replace_file(b"", FAILED + "empty file"),
    "file-missing": replace_file(None, FAILED + "file not"),
    "data-is-a-directory": replace_file(b"/", FAILED + "not a"),
    "unknown-suffix": source(
        "data.txt",
        b"a,b\n1,2\n",
        FAILED.replace("csv", "path") + "cannot tell the format from the suffix '.txt'",
    ),
    "megabyte-value-not-allowed": rewrite(
        "5:1:" + "g" * 1_000_000, FAILED + "plan: values not in allowed set"
    ),
    "inf-in-a-float-column": rewrite(
        "3:3:inf",
        FAILED + "monthly_fee: infinite values not allowed (allow_inf: true on the column allows "
        "them): 1 row failed at line 4; values inf",
    ),
    "1e309-in-a-float-column": rewrite("3:3:1e309", FAILED + "monthly_fee: infinite values"),
    "inf-in-a-parquet-float-column": parquet(
        "monthly_fee", inf_at_row_3, "monthly_fee: infinite values not allowed"
    ),
    "parquet-list-column": parquet(
        "plan",
        lambda rows: pa.array([[1, 2]] * rows),
        "plan: unsupported Parquet type list<element: int64>; churn reads numbers",
    ),
    "parquet-struct-column": parquet(
        "monthly_fee",
        lambda rows: pa.array([{"a": 1}] * rows),
        "monthly_fee: unsupported Parquet type struct<a: int64>",
    ),
    "parquet-binary-column": parquet(
        "account_id",
        lambda rows: pa.array([b"x%d" % i for i in range(rows)]),
        "account_id: unsupported Parquet type binary",
    ),
    "5-MB-column-name": huge_column_name,
    "two-rows": first_rows(
        2, lambda spec: None, "test_size:", "evaluation.split.test_size: 1 positive and 1 negative"
    ),
    "hold-out-of-a-few-rows": first_rows(
        40,
        lambda spec: None,
        "test_size:",
        "evaluation.split.test_size: the hold-out holds 4 positive and 6 negative rows; judging "
        "a model needs at least 10 of each",
    ),
    "more-folds-than-rows-of-a-class": first_rows(
        40, folds, "cv_folds:", "evaluation.cv_folds: 12 folds need at least 12 rows of each class"
    ),
    "smote-ratio-below-the-data's": first_rows(
        600, smote(0.1), "sampling_strategy:", "models[0].resample.sampling_strategy: 0.1 is below"
    ),
    "garbage-parquet": source(
        "data.parquet",
        b"PAR1 not really",
        FAILED.replace("csv", "path") + "not a readable Parquet file",
    ),
}


@pytest.mark.parametrize("command", REFUSING_COMMANDS)
@pytest.mark.parametrize("prepare", CASES.values(), ids=CASES.keys())
def test_bad_data_exits_3_naming_the_place_and_leaves_the_registry_alone(
    world: World, prepare: Prepare, command: str
) -> None:
    place = prepare(world)
    before = snapshot(world.home)
    code, output = world.refused(command)
    assert code == 3, output
    assert place in output, output
    assert "Traceback" not in output
    assert len(output) < 5_000  # nothing large is echoed
    # `churn run` records the refused data as a failed run (champion and ledger untouched)
    assert_untouched(world.home, before, failed_run=command == "run")


def test_scoring_a_file_with_inf_exits_3_naming_the_column_not_unexpected_error(
    world: World,
) -> None:
    rewrite("3:3:1e309", "")(world)
    out = world.folder / "scores.csv"
    code, output = world.churn("score", str(world.csv), "-o", str(out), "--spec", str(world.spec))
    assert code == 3, output
    assert "monthly_fee: infinite values not allowed" in output and "line 4" in output
    assert "unexpected error" not in output
    assert not out.exists()
