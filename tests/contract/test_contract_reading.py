"""Reading the data: an undecodable byte is named by its true offset and line; delimiter hints."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from factories import subscriptions_spec, write_project

from churn.contract import load_dataset
from churn.errors import DataContractError
from churn.spec.loader import load_spec


def failure_of(spec_path: Path) -> str:
    with pytest.raises(DataContractError) as info:
        load_dataset(load_spec(spec_path))
    [failure] = info.value.failures
    return failure


def corrupt(csv: Path, line: int, column: int) -> int:
    """Put byte 0xE9 at 1-based ``line``/``column`` of the file; return its 0-based offset."""
    content = bytearray(csv.read_bytes())
    offset = sum(len(x) + 1 for x in bytes(content).split(b"\n")[: line - 1]) + column - 1
    content[offset] = 0xE9
    csv.write_bytes(bytes(content))
    return offset


@pytest.mark.parametrize(("rows", "line"), [(600, 4), (20_000, 15_000)])
def test_undecodable_byte_is_reported_at_its_true_offset_and_line(
    tmp_path: Path, rows: int, line: int
) -> None:
    spec = write_project(tmp_path, rows=rows)
    offset = corrupt(tmp_path / "subscriptions.csv", line, 3)
    assert offset > 100
    assert failure_of(spec) == (
        f"line {line}: byte 0xe9 at offset {offset} (column 3) cannot be decoded as utf-8; "
        "fix the file or set data.read.encoding"
    )


@pytest.mark.parametrize(("name", "delimiter"), [("semicolon", ";"), ("tab", "\t")])
def test_a_file_with_another_delimiter_gets_a_hint(
    tmp_path: Path, name: str, delimiter: str
) -> None:
    spec = write_project(tmp_path)
    csv = tmp_path / "subscriptions.csv"
    csv.write_text(csv.read_text().replace(",", delimiter))
    failure = failure_of(spec)
    assert failure.startswith("line 1 reads as a single column 'account_id")
    assert f"looks {name}-delimited; set data.read.delimiter: {delimiter!r}" in failure


def test_the_declared_delimiter_reads_the_file(tmp_path: Path) -> None:
    spec = write_project(tmp_path)
    csv = tmp_path / "subscriptions.csv"
    csv.write_text(csv.read_text().replace(",", ";"))
    data = subscriptions_spec()
    data["data"]["read"] = {"delimiter": ";"}
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    assert load_dataset(load_spec(spec)).shape == (600, 7)
