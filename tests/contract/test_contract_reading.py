"""Reading the data: an undecodable byte is named by its true offset and line; delimiter hints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
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


# --------------------------------------------------------------------------- hash and typed read


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_hash_is_the_sha256_of_the_file_that_was_parsed(tmp_path: Path, suffix: str) -> None:
    from churn.contract import load_dataset_and_hash
    from churn.registry.atomic_io import sha256_file

    spec_path = write_project(tmp_path, rows=300)
    spec = load_spec(spec_path)
    source = spec.source_path
    if suffix == ".parquet":
        parquet = source.with_suffix(".parquet")
        pd.read_csv(source, dtype=str).to_parquet(parquet)
        source = parquet
    frame, digest = load_dataset_and_hash(spec, source)
    assert len(frame) == 300
    assert digest == sha256_file(source)


def test_a_file_changed_while_it_is_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from churn.contract import reading

    spec = load_spec(write_project(tmp_path, rows=300))
    parse = reading._read_csv

    def parse_while_appending(*args: Any) -> pd.DataFrame:
        with spec.source_path.open("a") as handle:
            handle.write("\n")  # a blank line: same rows, but the size and mtime change
        return parse(*args)

    monkeypatch.setattr(reading, "_read_csv", parse_while_appending)
    with pytest.raises(DataContractError, match="changed while it was read"):
        load_dataset(spec)


def test_the_typed_read_and_the_text_read_give_the_same_validated_frame(tmp_path: Path) -> None:
    spec = load_spec(write_project(tmp_path, rows=400))
    typed = load_dataset(spec)
    text = spec.source_path.read_text().splitlines()
    header = text[0].split(",")
    fields = text[1].split(",")
    int_column = next(
        i for i, name in enumerate(header) if spec.columns[name].dtype == "int" and fields[i]
    )
    fields[int_column] += ".0"  # 7.0 in an int column: only the text read takes it
    text[1] = ",".join(fields)
    spec.source_path.write_text("\n".join(text) + "\n")
    pd.testing.assert_frame_equal(load_dataset(spec), typed)


def test_an_over_long_name_is_counted_from_the_whole_header_when_pyarrow_cuts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyarrow may hand back a header name cut at its 1 MiB block (seen once in CI: 3,951,440
    of 5,000,000 characters); the refusal then reads the header with pandas and counts it all."""
    import pyarrow.csv as pacsv

    spec = write_project(tmp_path)
    csv = tmp_path / "subscriptions.csv"
    header, rest = csv.read_text().split("\n", 1)
    csv.write_text(header.replace("region", "r" * 5_000) + "\n" + rest)
    whole_read = pacsv.read_csv

    def cutting_read(*args: Any, **kwargs: Any) -> Any:
        kwargs["convert_options"].column_types.pop("region", None)
        table = whole_read(*args, **kwargs)
        return table.rename_columns(
            [n[:3_000] if n.startswith("rrr") else n for n in table.column_names]
        )

    monkeypatch.setattr(pacsv, "read_csv", cutting_read)
    assert failure_of(spec).endswith(
        "... (5,000 characters): a column name may have at most 256 characters"
    )
