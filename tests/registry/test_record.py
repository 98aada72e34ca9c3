"""The typed run record: old records read unchanged, damaged ones are refused by file and field.

``fixtures/run_v0_*.json`` are run.json files written by churn before the record had a type (no
``record_version``); ``fixtures/run_v0_outputs.json`` holds what that churn's CLI summary and
API views made of them, so the typed readers are held to the same output.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from churn.api import views
from churn.cli.summary import run_text, runs_text
from churn.errors import RegistryError
from churn.registry import RECORD_VERSION, Registry, RunManifest, RunNotFound
from churn.registry.atomic_io import to_json
from churn.registry.record import GateResultRecord, as_manifest, read_manifest

FIXTURES = Path(__file__).parent / "fixtures"
OLD_RECORDS = ("run_v0_promoted", "run_v0_incomplete")


def old_record(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def expected_outputs(name: str) -> dict[str, Any]:
    outputs: dict[str, Any] = json.loads((FIXTURES / "run_v0_outputs.json").read_text())
    return outputs[name]


def home_with(tmp_path: Path, name: str) -> tuple[Registry, str]:
    """A registry home holding one old run.json from the fixtures."""
    reg = Registry(tmp_path / "home")
    run_id = old_record(name)["run_id"]
    reg.run_dir(run_id).mkdir(parents=True)
    shutil.copy(FIXTURES / f"{name}.json", reg.run_dir(run_id) / "run.json")
    return reg, run_id


@pytest.mark.parametrize("name", OLD_RECORDS)
def test_an_old_record_reads_back_to_the_same_json_text(tmp_path: Path, name: str) -> None:
    reg, run_id = home_with(tmp_path, name)

    record = reg.record(run_id)

    assert record.record_version == 0
    text = (FIXTURES / f"{name}.json").read_text()
    assert to_json(record.as_dict(), indent=2) + "\n" == text
    assert reg.record(run_id).as_dict() == json.loads(text)


@pytest.mark.parametrize("name", OLD_RECORDS)
def test_cli_and_api_say_the_same_of_an_old_record_as_before(tmp_path: Path, name: str) -> None:
    reg, run_id = home_with(tmp_path, name)
    record = reg.record(run_id)
    expected = expected_outputs(name)

    assert run_text(record) == expected["run_text"]
    assert runs_text([record]) == expected["runs_text"]
    detail = views.detail(record, None, tmp_path / "nowhere")
    assert json.loads(detail.model_dump_json()) == expected["api_detail"]
    summary = views.summary(record, run_id)
    assert json.loads(summary.model_dump_json()) == expected["api_summary"]
    verdict = views.gate_verdict(record)
    assert (None if verdict is None else json.loads(verdict.model_dump_json())) == expected[
        "gate_verdict"
    ]


def test_an_old_record_is_typed(tmp_path: Path) -> None:
    reg, run_id = home_with(tmp_path, "run_v0_promoted")

    record = reg.record(run_id)

    assert record.status == "succeeded" and record.candidate == "logreg"
    assert record.model is not None and len(record.model.sha256) == 64
    assert record.gates is not None and [g.kind for g in record.gates.results] == [
        "value",
        "change",
    ]
    assert record.decision is not None and record.decision.action == "promote"
    assert record.started_at is not None and record.started_at.tzinfo is not None


def test_a_new_run_records_its_record_version(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "home")

    reg.start_run("r1", spec_name="s")

    on_disk = json.loads((reg.run_dir("r1") / "run.json").read_text())
    assert on_disk["record_version"] == RECORD_VERSION
    assert list(on_disk)[:3] == ["record_version", "run_id", "status"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "exploded"}, "status"),
        ({"gates": {"passed": True}}, "gates.passed_value"),
        ({"candidates": {"logreg": {"name": "logreg"}}}, "candidates.logreg.type"),
        ({"seed": "seven"}, "seed"),
        ({"started_at": "yesterday"}, "started_at"),
    ],
)
def test_a_damaged_record_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    reg, run_id = home_with(tmp_path, "run_v0_promoted")
    path = reg.run_dir(run_id) / "run.json"
    path.write_text(json.dumps({**old_record("run_v0_promoted"), **change}))

    with pytest.raises(RunNotFound) as caught:
        reg.record(run_id)

    assert str(path) in str(caught.value) and f"{field}:" in str(caught.value)


def test_a_gate_result_field_is_named_with_its_index(tmp_path: Path) -> None:
    data = old_record("run_v0_promoted")
    data["gates"]["results"][1]["verdict"] = "maybe"
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data))

    with pytest.raises(RunNotFound, match=r"gates\.results\[1\]\.verdict: Input should be"):
        read_manifest(path, "r")


def test_a_foreign_record_with_unknown_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"run_id": "r", "status": "running", "experiment": "mlflow"}))

    with pytest.raises(RunNotFound, match=r"experiment: Extra inputs are not permitted"):
        read_manifest(path, "r")


def test_a_record_from_a_newer_churn_is_refused_with_its_version(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"record_version": RECORD_VERSION + 1, "run_id": "r"}))

    with pytest.raises(RunNotFound, match=f"record_version {RECORD_VERSION + 1}; this churn"):
        read_manifest(path, "r")


def test_a_damaged_record_is_skipped_in_listings_and_a_404_for_one_run(tmp_path: Path) -> None:
    reg, run_id = home_with(tmp_path, "run_v0_promoted")
    reg.start_run("zz-newer")
    (reg.run_dir("zz-newer") / "run.json").write_text('{"run_id": "zz-newer", "status": 3}')

    assert [m.run_id for m in reg.records()] == [run_id]
    with pytest.raises(RunNotFound, match="zz-newer"):
        reg.record("zz-newer")


def test_an_update_with_a_field_that_is_not_in_the_record_changes_nothing(
    tmp_path: Path,
) -> None:
    reg = Registry(tmp_path / "home")
    reg.start_run("r1")
    before = (reg.run_dir("r1") / "run.json").read_bytes()

    with pytest.raises(RegistryError, match="run r1: not a run record: colour: Extra inputs"):
        reg.update_manifest("r1", colour="blue")

    assert (reg.run_dir("r1") / "run.json").read_bytes() == before


def test_a_start_with_a_bad_field_creates_no_run_folder(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "home")

    with pytest.raises(RegistryError, match="seed"):
        reg.start_run("r1", seed="seven")

    assert not reg.run_dir("r1").exists()


def test_a_mapping_that_is_not_a_record_is_refused() -> None:
    with pytest.raises(RegistryError, match="not a run record: status: Field required"):
        as_manifest({"run_id": "r"})
    assert as_manifest({"run_id": "r", "status": "running"}) == RunManifest(
        run_id="r", status="running"
    )


@pytest.mark.parametrize(
    ("result", "text"),
    [
        ({"kind": "value", "lower": 0.7}, "[0.7000, inf]"),
        ({"kind": "value", "upper": 0.2}, "[-inf, 0.2000]"),
        ({"kind": "value", "lower": 0.1, "upper": 0.2}, "[0.1000, 0.2000]"),
        (
            {"kind": "change", "min_absolute_change": -0.01, "direction": "higher"},
            "d >= -0.0100 (higher is better)",
        ),
        (
            {
                "kind": "change",
                "min_absolute_change": 0.0,
                "min_relative_change": 0.02,
                "direction": "lower",
            },
            "d >= 0.0000, d/c >= 0.0200 (lower is better)",
        ),
    ],
)
def test_one_function_words_a_gate(result: dict[str, Any], text: str) -> None:
    gate = GateResultRecord.model_validate(
        {"metric": "roc_auc", "verdict": "pass", "reason": "", **result}
    )
    assert gate.threshold_text() == text
