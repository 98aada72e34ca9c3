"""A candidate's choices and the ledger are typed records, and the files the previous churn
wrote read back unchanged.

``fixtures/run_v1_*.json`` and ``fixtures/ledger_v0.jsonl`` were written by churn at commit
b94464e, before these records had types: ``run_v1_choices`` by a run whose candidates search
(random and halving), calibrate (sigmoid, isotonic), resample (SMOTE, random under-sampling)
and blend under a min_recall threshold; ``run_v1_fixed_rejected`` by a run with a fixed
threshold that the gates rejected; ``run_v1_survival`` by a survival run (whose candidates
have an empty threshold policy); the ledger by the three classifier runs.
"""

from __future__ import annotations

import inspect
import json
import logging
import shutil
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from churn.api.routes.info import _threshold_policy
from churn.errors import RegistryError
from churn.registry import LedgerEntry, Registry
from churn.registry.atomic_io import to_json
from churn.registry.record import (
    CalibrationRecord,
    CandidateRecord,
    ResampleRecord,
    SearchRecord,
    ThresholdPolicyRecord,
)
from churn.report.choices import choices_section

FIXTURES = Path(__file__).parent / "fixtures"
RECORDS = ("run_v1_choices", "run_v1_fixed_rejected", "run_v1_survival")
OLD_LEDGER = FIXTURES / "ledger_v0.jsonl"


def home_with(tmp_path: Path, *names: str) -> Registry:
    """A registry home holding the named old run.json files (and the old ledger)."""
    registry = Registry(tmp_path / "home")
    for name in names:
        run_id = json.loads((FIXTURES / f"{name}.json").read_text())["run_id"]
        registry.run_dir(run_id).mkdir(parents=True)
        shutil.copy(FIXTURES / f"{name}.json", registry.run_dir(run_id) / "run.json")
    registry.home.mkdir(parents=True, exist_ok=True)
    shutil.copy(OLD_LEDGER, registry.ledger_path)
    return registry


def run_id_of(name: str) -> str:
    run_id: str = json.loads((FIXTURES / f"{name}.json").read_text())["run_id"]
    return run_id


def annotations_within(model: type[BaseModel]) -> list[tuple[str, Any]]:
    """Every field annotation of ``model`` and of the records nested in it, by dotted name."""
    found: list[tuple[str, Any]] = []
    for name, annotation in typing.get_type_hints(model).items():
        if name not in model.model_fields:
            continue
        found.append((f"{model.__name__}.{name}", annotation))
        for part in _parts(annotation):
            if inspect.isclass(part) and issubclass(part, BaseModel):
                found += annotations_within(part)
    return found


def _parts(annotation: Any) -> list[Any]:
    return [annotation, *(p for arg in typing.get_args(annotation) for p in _parts(arg))]


# --------------------------------------------------------------------------- types


def test_no_field_of_a_candidate_record_is_untyped() -> None:
    untyped = [
        name
        for name, annotation in annotations_within(CandidateRecord)
        if any(part is Any for part in _parts(annotation))
    ]

    assert len(annotations_within(CandidateRecord)) > 20  # the nested records are walked
    assert untyped == []
    hints = typing.get_type_hints(CandidateRecord)
    for field, record in (
        ("threshold_policy", ThresholdPolicyRecord),
        ("search", SearchRecord),
        ("calibration", CalibrationRecord),
        ("resample", ResampleRecord),
    ):
        assert record in typing.get_args(hints[field]), field


def test_the_ledger_answers_with_typed_entries(tmp_path: Path) -> None:
    registry = home_with(tmp_path)

    entries = registry.ledger()

    assert [type(e) for e in entries] == [LedgerEntry] * 3
    assert [e.action for e in entries] == ["promote", "promote", "reject"]
    assert entries[2].previous == entries[1].run_id == registry.champion_history()[-1]
    lines = [json.loads(line) for line in OLD_LEDGER.read_text().splitlines()]
    assert [e.as_dict() for e in entries] == lines  # nothing added, nothing lost


# --------------------------------------------------------------------------- old files


@pytest.mark.parametrize("name", RECORDS)
def test_a_record_of_the_previous_churn_reads_back_to_the_same_bytes(
    tmp_path: Path, name: str
) -> None:
    registry = home_with(tmp_path, name)

    record = registry.record(run_id_of(name))

    assert to_json(record.as_dict(), indent=2) + "\n" == (FIXTURES / f"{name}.json").read_text()


def test_the_choices_of_an_old_record_read_as_attributes(tmp_path: Path) -> None:
    registry = home_with(tmp_path, "run_v1_choices")

    candidates = registry.record(run_id_of("run_v1_choices")).candidates or {}

    logreg, trees = candidates["logreg"], candidates["trees"]
    assert logreg.threshold_policy is not None
    assert (logreg.threshold_policy.strategy, logreg.threshold_policy.settings) == (
        "min_recall",
        {"recall": 0.7},
    )
    assert logreg.search is not None and logreg.search.method == "random"
    assert logreg.search.table[0].params == logreg.search.best_params
    assert logreg.calibration is not None and logreg.calibration.method == "sigmoid"
    assert trees.search is not None and trees.search.method == "halving"
    assert trees.search.best_params["criterion"] in ("gini", "entropy")
    smote, under = candidates["smote"].resample, candidates["under"].resample
    assert smote is not None and (smote.type, smote.k_neighbors) == ("smote", 5)
    assert under is not None and (under.type, under.sampling_strategy) == ("random_under", "auto")
    assert candidates["blend"].members == ["logreg", "trees"]


def test_the_report_and_the_api_read_the_typed_choices(tmp_path: Path) -> None:
    registry = home_with(tmp_path, *RECORDS)
    choices = registry.record(run_id_of("run_v1_choices"))

    html = choices_section(choices)

    assert "min_recall (recall 0.7) -&gt; 0.338" in html
    assert "halving x 4, best CV" in html
    assert "isotonic (cv 2): Brier 0.2024 -&gt; 0.1924" in html
    assert "random_under (auto), training folds only" in html
    assert "trees: search, best 2 settings" in html  # halving: the last round's rows
    assert _threshold_policy(registry, choices.run_id, "logreg") == "min_recall"
    fixed = run_id_of("run_v1_fixed_rejected")
    assert _threshold_policy(registry, fixed, "under") == "fixed"
    assert _threshold_policy(registry, "no-such-run", "logreg") is None


def test_a_survival_candidate_has_no_threshold_policy_and_the_report_says_so(
    tmp_path: Path,
) -> None:
    registry = home_with(tmp_path, "run_v1_survival")
    record = registry.record(run_id_of("run_v1_survival"))
    cox = (record.candidates or {})["cox"]

    html = choices_section(record)

    assert cox.threshold_policy is not None and cox.threshold_policy.as_dict() == {}
    assert cox.threshold_policy.strategy is None
    assert "None -&gt;" not in html and "<td>cox</td><td>—</td>" in html
    assert _threshold_policy(registry, record.run_id, "cox") is None


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize(
    ("block", "value", "field"),
    [
        ("search", {"method": "random", "n_iter": 2}, "search.cv"),
        ("calibration", {"method": "sigmoid", "cv": "two"}, "calibration.cv"),
        (
            "threshold_policy",
            {"strategy": "fixed", "value": 0.5, "colour": 1},
            "threshold_policy.colour",
        ),
    ],
)
def test_a_damaged_choice_is_refused_naming_its_field(
    tmp_path: Path, block: str, value: dict[str, Any], field: str
) -> None:
    registry = home_with(tmp_path, "run_v1_choices")
    run_id = run_id_of("run_v1_choices")
    path = registry.run_dir(run_id) / "run.json"
    data = json.loads(path.read_text())
    data["candidates"]["logreg"][block] = value
    path.write_text(json.dumps(data))

    with pytest.raises(RegistryError, match=rf"candidates\.logreg\.{field}"):
        registry.record(run_id)


def test_a_ledger_line_that_would_not_read_back_is_never_written(tmp_path: Path) -> None:
    registry = home_with(tmp_path)
    before = registry.ledger_path.read_bytes()

    with pytest.raises(RegistryError, match="colour"):
        registry.append_ledger({"action": "hold", "run_id": "r9", "reason": "x", "colour": 1})

    assert registry.ledger_path.read_bytes() == before


def test_a_line_that_is_not_a_ledger_line_is_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = home_with(tmp_path)
    with registry.ledger_path.open("a") as handle:
        handle.write('{"timestamp": "t", "action": "launch", "run_id": "r9"}\n[1, 2]\n')

    with caplog.at_level(logging.WARNING, logger="churn.registry.ledger"):
        entries = registry.ledger()

    assert [e.run_id for e in entries] == [json.loads(x)["run_id"] for x in OLD_LEDGER.open()]
    assert "ledger.jsonl:4: skipping a line that is not a ledger line: action" in caplog.text
    assert "ledger.jsonl:5: skipping a line that is not a JSON object" in caplog.text
