"""Registry reads: regular files only, each file's size bound, JSON's depth bound."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from factories import saved_champion

from churn.errors import RegistryError
from churn.registry import Registry, RunNotFound
from churn.registry.reading import (
    MAX_JSON_DEPTH,
    MAX_LEDGER_BYTES,
    MAX_POINTER_BYTES,
    MAX_RECORD_BYTES,
    parse_json,
    read_regular,
)
from churn.registry.runs import MAX_SPEC_COPY_BYTES
from churn.spec.loader import MAX_SPEC_BYTES

RUN = "20260101T000000.000000Z-aaaaaa"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    saved_champion(tmp_path / "home")
    return tmp_path / "home"


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def test_json_may_nest_exactly_as_deep_as_the_bound() -> None:
    assert parse_json(nested(MAX_JSON_DEPTH), source="f") is not None
    too_deep = f"^f: JSON nested deeper than {MAX_JSON_DEPTH} levels$"
    with pytest.raises(RegistryError, match=too_deep):
        parse_json(nested(MAX_JSON_DEPTH + 1), source="f")


def test_json_nested_100000_deep_is_refused_without_recursion() -> None:
    with pytest.raises(RegistryError, match=f"^f:3: JSON nested deeper than {MAX_JSON_DEPTH}"):
        parse_json(nested(100_000), source="f:3")


def test_json_that_is_not_utf8_names_its_line_and_column() -> None:
    with pytest.raises(RegistryError, match=r"f: not valid JSON: .* at line 2 column"):
        parse_json(b'{\n"a": "\xff"}', source="f")


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_only_regular_files_are_read(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "champion.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path = Path("/dev/zero")
    words = {"fifo": "a FIFO", "device": "a character device", "folder": "a folder"}[kind]
    with pytest.raises(RegistryError, match=f"{path} is {words}, not a regular file"):
        read_regular(path, what="champion pointer", limit=MAX_POINTER_BYTES)


@pytest.mark.parametrize(
    ("relative", "limit"),
    [("champion.json", MAX_POINTER_BYTES), ("ledger.jsonl", MAX_LEDGER_BYTES)],
)
def test_a_registry_file_over_its_bound_is_refused_before_it_is_read(
    home: Path, relative: str, limit: int
) -> None:
    os.truncate(home / relative, limit + 1)  # sparse: costs no disk
    registry = Registry(home)
    with pytest.raises(RegistryError, match=f"is {limit + 1:,} bytes; at most {limit:,}"):
        registry.champion() if relative == "champion.json" else registry.ledger()


def test_a_run_json_over_its_bound_is_skipped_and_named(home: Path) -> None:
    os.truncate(home / "runs" / RUN / "run.json", MAX_RECORD_BYTES + 1)
    registry = Registry(home)
    assert registry.records() == []
    with pytest.raises(RunNotFound, match=f"run.json is {MAX_RECORD_BYTES + 1:,} bytes"):
        registry.record(RUN)


def test_the_spec_copy_bound_is_the_spec_loaders() -> None:
    assert MAX_SPEC_COPY_BYTES == MAX_SPEC_BYTES


def test_a_spec_copy_that_is_not_a_regular_file_is_refused(home: Path) -> None:
    os.mkfifo(home / "runs" / RUN / "spec.yaml")
    with pytest.raises(RegistryError, match=r"spec\.yaml is a FIFO"):
        Registry(home).spec_copy_text(RUN)


def test_a_reason_longer_than_the_pointer_may_hold_is_refused_before_anything_is_written(
    home: Path,
) -> None:
    registry = Registry(home)
    second = RUN[:-6] + "bbbbbb"
    registry.start_run(second)
    registry.save_model(second, {"another": "model"})
    before = (registry.champion_path.read_bytes(), registry.ledger_path.read_bytes())
    with pytest.raises(RegistryError, match="the reason is 20,000 characters long; at most"):
        registry.promote(second, reason="x" * 20_000, forced=True)
    assert (registry.champion_path.read_bytes(), registry.ledger_path.read_bytes()) == before
