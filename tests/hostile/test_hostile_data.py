"""Bad data: exit 3 naming the file and the line, byte offset or column; the registry untouched."""

from __future__ import annotations

import pytest
import yaml
from hostile_tools import Prepare, World, snapshot

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
    "garbage-parquet": source(
        "data.parquet",
        b"PAR1 not really",
        FAILED.replace("csv", "path") + "not a readable Parquet file",
    ),
}


@pytest.mark.parametrize("prepare", CASES.values(), ids=CASES.keys())
def test_bad_data_exits_3_naming_the_place_and_leaves_the_registry_alone(
    world: World, prepare: Prepare
) -> None:
    place = prepare(world)
    before = snapshot(world.home)
    code, output = world.check()
    assert code == 3, output
    assert place in output, output
    assert "Traceback" not in output
    assert snapshot(world.home) == before
