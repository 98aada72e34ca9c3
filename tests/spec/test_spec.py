"""The spec: loading, strictness, and error messages that say where and what."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import subscriptions_spec

from churn.errors import SpecError
from churn.spec import Spec
from churn.spec.loader import check_estimators, load_spec, load_spec_and_text, parse_spec
from churn.spec.schema import render_schema

ROOT = Path(__file__).resolve().parents[2]
TELCO = (ROOT / "spec" / "telco.yaml").read_text()


def problems_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="spec/telco.yaml")
    return info.value.problems


def edit(old: str, new: str, text: str = TELCO) -> tuple[str, int]:
    """Replace ``old`` once; return the text and the 1-based line where it stood."""
    assert text.count(old) == 1, old
    line = text[: text.index(old)].count("\n") + 1
    return text.replace(old, new), line


def test_default_spec_loads_and_resolves_data_next_to_it() -> None:
    spec = load_spec(ROOT / "spec" / "telco.yaml")
    assert spec.name == "telco-churn"
    assert spec.source_path == ROOT / "data" / "telco_churn.csv"
    assert [m.type for m in spec.models] == [
        "logistic_regression",
        "random_forest",
        "xgboost",
        "soft_voting",
    ]


def test_yes_and_no_stay_strings_not_booleans() -> None:
    text, _ = edit('positive: "Yes"', "positive: Yes")
    assert parse_spec(text).data.target.positive == "Yes"


def test_unknown_key_is_an_error_with_line_and_suggestion() -> None:
    text, line = edit("  cv_folds: 5", "  cv_fold: 5")
    assert problems_of(text) == [
        f"spec/telco.yaml:{line}: evaluation.cv_fold: unknown key; expected one of split, "
        "cv_folds, selection_metric, metrics, threshold, costs; did you mean 'cv_folds'?"
    ]


def test_unknown_model_type_lists_the_known_ones() -> None:
    text, line = edit("type: random_forest", "type: lightgbm")
    [problem] = problems_of(text)
    # the candidate's entry starts on the line above its type (a union on `type`)
    assert problem.startswith(f"spec/telco.yaml:{line - 1}: models[1]: unknown type 'lightgbm'")
    for known in ("'logistic_regression'", "'random_forest'", "'xgboost'", "'soft_voting'"):
        assert known in problem


def test_unknown_step_type_lists_the_known_ones() -> None:
    text, line = edit("{type: scale, method: standard}", "{type: normalise}")
    assert problems_of(text) == [
        f"spec/telco.yaml:{line}: features.groups[0].steps[1]: unknown type 'normalise'; "
        "expected one of 'impute', 'scale', 'log', 'bin', 'one_hot', 'ordinal', 'target_encode'"
    ]


def test_invalid_hyper_parameter_is_worded_by_the_estimator_with_its_line() -> None:
    text, line = edit("max_depth: 8,", "max_depth: -1,")
    assert problems_of(text) == [
        f"spec/telco.yaml:{line}: models[1].params.max_depth: must be an int in the range "
        "[1, inf) or None, got -1"
    ]


def test_unknown_hyper_parameter_names_the_valid_ones() -> None:
    text, line = edit("params: {C: 0.5}", "params: {Cee: 0.5}")
    [problem] = problems_of(text)
    assert problem.startswith(
        f"spec/telco.yaml:{line}: models[0].params.Cee: unknown parameter for "
        "logistic_regression; expected one of C, class_weight,"
    )


def test_without_estimator_checks_the_same_spec_loads_and_only_their_problems_go(
    tmp_path: Path,
) -> None:
    """``churn drift``'s reading process checks everything but the estimators' parameters."""
    telco = ROOT / "spec" / "telco.yaml"
    assert load_spec(telco, estimator_checks=False) == load_spec(telco)
    text, _ = edit("params: {C: 0.5}", "params: {Cee: 0.5}")
    text, _ = edit("C: {type: float", "Cee: {type: float", text)
    bad = tmp_path / "telco.yaml"
    bad.write_text(text)
    (tmp_path / "data").symlink_to(ROOT / "data")

    assert load_spec(bad, estimator_checks=False).models[0].model_dump()["params"] == {"Cee": 0.5}
    with pytest.raises(SpecError, match="unknown parameter for logistic_regression"):
        load_spec(bad)


@pytest.mark.parametrize(
    "edits",
    [
        [("params: {C: 0.5}", "params: {Cee: 0.5}")],  # a parameter's name
        [("C: {type: float", "Cee: {type: float")],  # a search space's parameter name
        [("params: {C: 0.5}", "params: {Cee: 0.5}"), ("C: {type: float", "Cee: {type: float")],
    ],
)
def test_estimator_checks_made_later_word_what_a_full_load_words(
    edits: list[tuple[str, str]], tmp_path: Path
) -> None:
    """``churn run`` and ``churn drift``'s model process parse once without the estimator
    checks and make them afterwards: the same problems, worded and located the same."""
    text = TELCO
    for old, new in edits:
        text, _ = edit(old, new, text)
    bad = tmp_path / "telco.yaml"
    bad.write_text(text)
    (tmp_path / "data").symlink_to(ROOT / "data")
    with pytest.raises(SpecError) as full:
        load_spec(bad)

    spec, parsed = load_spec_and_text(bad, estimator_checks=False)
    with pytest.raises(SpecError) as later:
        check_estimators(spec, parsed, source=str(bad))

    assert later.value.problems == full.value.problems
    check_estimators(
        *load_spec_and_text(ROOT / "spec" / "telco.yaml", estimator_checks=False),
        source="telco.yaml",
    )  # a sound spec: nothing raised


def test_feature_column_not_declared() -> None:
    text, line = edit("columns: [SeniorCitizen]", "columns: [SeniorCitizen, Age]")
    [problem] = problems_of(text)
    assert problem.startswith(
        f"spec/telco.yaml:{line}: features.groups[1].columns[1]: expected a column declared "
        "in `columns` or `features.derived`, got 'Age'; declared: customerID, gender,"
    )


@pytest.mark.parametrize(("column", "role"), [("Churn", "target"), ("customerID", "id")])
def test_target_or_id_used_as_a_feature(column: str, role: str) -> None:
    text, line = edit("columns: [SeniorCitizen]", f"columns: [SeniorCitizen, {column}]")
    assert problems_of(text) == [
        f"spec/telco.yaml:{line}: features.groups[1].columns[1]: the {role} column "
        f"{column!r} cannot be a feature"
    ]


def test_numeric_step_on_categorical_column() -> None:
    text, line = edit(
        "columns: [SeniorCitizen]\n",
        "columns: [SeniorCitizen, gender]\n      steps: [{type: scale}]\n",
    )
    text = text.replace("  drop: [gender]", "  drop: []")
    assert problems_of(text) == [
        f"spec/telco.yaml:{line + 1}: features.groups[1].steps[0]: step 'scale' needs "
        "numeric columns, got gender (categorical)"
    ]


def test_duplicate_candidate_name() -> None:
    text, line = edit("  - name: blend", "  - name: forest")
    assert problems_of(text) == [
        f"spec/telco.yaml:{line}: models[3].name: duplicate name 'forest'; names must be unique"
    ]


def test_empty_candidate_list() -> None:
    start = TELCO.index("models:\n")
    end = TELCO.index("# ---", start)
    text = TELCO[:start] + "models: []\n\n" + TELCO[end:]
    line = TELCO[:start].count("\n") + 1
    [problem] = problems_of(text)
    assert problem == (
        f"spec/telco.yaml:{line}: models: list should have at least 1 item after validation, "
        "not 0, got []"
    )


def test_every_problem_is_reported_at_once() -> None:
    text, _ = edit("cv_folds: 5", "cv_folds: 1")
    text, _ = edit("test_size: 0.2", "test_size: 2", text)
    problems = problems_of(text)
    assert len(problems) == 2
    assert any(
        "evaluation.cv_folds: expected greater than or equal to 2, got 1" in p for p in problems
    )
    assert any("evaluation.split.test_size: expected less than 1, got 2" in p for p in problems)


def test_column_neither_used_nor_dropped() -> None:
    text, _ = edit("  drop: [gender]", "  drop: []")
    gender_line = TELCO[: TELCO.index("  gender:")].count("\n") + 1
    assert problems_of(text) == [
        f"spec/telco.yaml:{gender_line}: columns.gender: 'gender' is in no feature group; "
        "add it to a group or to features.drop"
    ]


def test_positive_label_must_be_a_target_value() -> None:
    text, line = edit('positive: "Yes"', 'positive: "Y"')
    assert problems_of(text) == [
        f"spec/telco.yaml:{line}: data.target.positive: expected one of the target's values "
        "['Yes', 'No'], got 'Y'"
    ]


def test_gate_metric_must_be_reported() -> None:
    text, line = edit("{metric: brier, upper: 0.16}", "{metric: log_loss, upper: 0.5}")
    [problem] = problems_of(text)
    assert problem.startswith(
        f"spec/telco.yaml:{line}: gates.value[2].metric: expected a metric listed in "
        "evaluation.metrics"
    )


def test_yaml_syntax_error_names_the_line() -> None:
    text, line = edit("  cv_folds: 5", "  cv_folds: [5")
    [problem] = problems_of(text)
    # PyYAML notices the unclosed bracket where the next key starts.
    assert problem == (
        f"spec/telco.yaml:{line + 1}: not valid YAML: expected ',' or ']', but got ':'"
    )


def test_missing_spec_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.yaml: cannot read the spec"):
        load_spec(tmp_path / "nope.yaml")


def test_spec_is_frozen() -> None:
    spec = Spec.model_validate(subscriptions_spec())
    with pytest.raises(Exception, match="frozen"):
        spec.name = "other"  # type: ignore[misc]


def test_schema_json_is_up_to_date() -> None:
    on_disk = json.loads((ROOT / "spec" / "schema.json").read_text())
    assert on_disk == json.loads(render_schema()), (
        "spec/schema.json is stale: run `python -m churn.spec.schema > spec/schema.json`"
    )


def test_every_field_has_a_description() -> None:
    schema = json.loads(render_schema())
    missing = [
        f"{model}.{name}"
        for model, definition in schema["$defs"].items()
        for name, prop in definition.get("properties", {}).items()
        if not prop.get("description")
    ]
    missing += [name for name, prop in schema["properties"].items() if not prop.get("description")]
    assert missing == []


def test_the_id_column_cannot_be_nullable() -> None:
    text, line = edit(
        "customerID:       {dtype: str, unique: true}",
        "customerID:       {dtype: str, unique: true, nullable: true}",
    )
    assert problems_of(text) == [
        f"spec/telco.yaml:{line}: columns.customerID.nullable: the id column cannot be nullable"
    ]


def test_a_candidate_is_looked_up_by_name_and_an_unknown_one_is_named_with_its_line() -> None:
    spec = load_spec(ROOT / "spec" / "telco.yaml")

    assert spec.candidate("xgb") is next(m for m in spec.models if m.name == "xgb")
    with pytest.raises(SpecError) as info:
        spec.candidate("xgboost")
    line = TELCO.splitlines().index("models:") + 1
    (problem,) = info.value.problems
    assert problem == (
        f"{ROOT / 'spec' / 'telco.yaml'}:{line}: models: no candidate named 'xgboost' "
        "(the spec has logreg, forest, xgb, blend)"
    )
