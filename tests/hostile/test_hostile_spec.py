"""Bad specs: each exits 2 naming the file and the line or byte offset; the registry untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from factories import subscriptions_spec
from hostile_tools import (
    REFUSING_COMMANDS,
    XGB_MODEL,
    Prepare,
    World,
    assert_untouched,
    line_of,
    runner,
    snapshot,
)
from survival_factories import survival_spec

from churn.cli.app import app
from churn.spec.bounds import MAX_CANDIDATES
from churn.spec.loader import MAX_SPEC_BYTES
from churn.spec.yaml_lines import MAX_ALIASES, MAX_DEPTH


def appended(world: World, extra: str) -> int:
    """Append ``extra`` to the spec; return the line it starts on."""
    text = world.spec.read_text()
    world.spec.write_text(text + extra)
    return text.count("\n") + 1


def replaced(world: World, old: str, new: str) -> int:
    """Replace the one ``old`` in the spec by ``new``; return its line."""
    text = world.spec.read_text()
    line = line_of(text, old)
    world.spec.write_text(text.replace(old, new))
    return line


def bomb(world: World) -> str:
    lines = ["lol0: &l0 [" + ", ".join(['"lol"'] * 9) + "]"]
    lines += [f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    start = appended(world, "\n".join(lines) + "\n")
    return f"{world.spec}:{start + 5}: not valid YAML: more than 100,000 values"


def many_aliases(world: World) -> str:
    line = appended(world, "x: &x 1\ny: [" + ", ".join(["*x"] * (MAX_ALIASES + 1)) + "]\n")
    return f"{world.spec}:{line + 1}: not valid YAML: more than {MAX_ALIASES} aliases"


def deep(world: World) -> str:
    line = appended(world, "x: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n")
    return f"{world.spec}:{line}: not valid YAML: nested deeper than {MAX_DEPTH} levels"


def recursive(world: World) -> str:
    line = appended(world, "x: &loop [1, *loop]\n")
    return f"{world.spec}:{line}: not valid YAML: alias *loop refers to its own parent"


def undefined_alias(world: World) -> str:
    line = appended(world, "x: *nowhere\n")
    return f"{world.spec}:{line}: not valid YAML: found undefined alias"


def oversize(world: World) -> str:
    appended(world, "# " + "x" * MAX_SPEC_BYTES + "\n")
    return f"{world.spec}: larger than {MAX_SPEC_BYTES:,} bytes"


def binary(world: World) -> str:
    world.spec.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    return f"{world.spec}:1: not UTF-8 text: byte 0x89 at offset 0"


def latin1(world: World) -> str:
    text = world.spec.read_bytes()
    offset = text.index(b"subscriptions\n") + 3
    world.spec.write_bytes(text[:offset] + b"\xe9" + text[offset + 1 :])
    return f"{world.spec}:2: not UTF-8 text: byte 0xe9 at offset {offset}"


def nul(world: World) -> str:
    line = replaced(world, "name: subscriptions", "name: sub\x00scriptions")
    return f"{world.spec}:{line}: not valid YAML: character #x0000"


def tag(value: str) -> Prepare:
    def prepare(world: World) -> str:
        line = replaced(world, "name: subscriptions", f"name: {value}")
        return f"{world.spec}:{line}: not valid YAML: tag "

    return prepare


def duplicate_top(world: World) -> str:
    line = appended(world, "name: again\n")
    return f"{world.spec}:{line}: name: duplicate key (first at line 2)"


def duplicate_nested(world: World) -> str:
    first = replaced(world, "  cv_folds: 3\n", "  cv_folds: 3\n  cv_folds: 5\n")
    return f"{world.spec}:{first + 1}: evaluation.cv_folds: duplicate key (first at line {first})"


def scores_warn_over_alert(world: World) -> str:
    line = appended(world, "monitoring:\n  scores: {psi_warn: 0.5}\n")
    return f"{world.spec}:{line}: monitoring: scores.psi_warn must be <= psi_alert, got 0.5 > 0.25"


def whole(text: bytes, expected: str) -> Prepare:
    def prepare(world: World) -> str:
        world.spec.write_bytes(text)
        return expected.format(spec=world.spec)

    return prepare


def edit(old: str, new: str, says: str) -> Prepare:
    """Replace ``old`` by ``new``; the error names the spec, the line and ``says``."""

    def prepare(world: World) -> str:
        line = replaced(world, old, new)
        return f"{world.spec}:{line}: {says}"

    return prepare


def entry(old: str, new: str, says: str) -> Prepare:
    """As :func:`edit`, for an error named at the list entry (the line above ``old``)."""

    def prepare(world: World) -> str:
        line = replaced(world, old, new) - 1
        return f"{world.spec}:{line}: {says}"

    return prepare


def xgb(param: str, value: object, says: str) -> Prepare:
    """The XGBoost candidate with ``param: value`` (added or replacing the one there)."""

    def prepare(world: World) -> str:
        params = {**XGB_MODEL["params"], param: value}  # type: ignore[dict-item]
        models = [*subscriptions_spec()["models"], {**XGB_MODEL, "params": params}]
        text = yaml.safe_dump(subscriptions_spec(models=models), sort_keys=False)
        world.spec.write_text(text)
        at = text.index(f"    {param}: ", text.index("name: xgb"))
        return f"{world.spec}:{text[:at].count(chr(10)) + 1}: models[2].params.{says}"

    return prepare


def scheduler_not_an_address(world: World) -> str:
    text = world.spec.read_text()
    world.spec.write_text(f"{text}compute:\n  scheduler: http://dask:8786\n")
    line = text.count("\n") + 2
    return f"{world.spec}:{line}: compute.scheduler: expected SCHEME://HOST:PORT"


def candidate(entry: str, at: str, says: str) -> Prepare:
    """A fourth candidate (YAML ``entry`` lines, a list item) after the others; the error is
    named at the line holding ``at``."""

    def prepare(world: World) -> str:
        replaced(world, "evaluation:\n", f"{entry}evaluation:\n")
        line = line_of(world.spec.read_text(), at)
        return f"{world.spec}:{line}: models[3]{says}"

    return prepare


def many_candidates(world: World) -> str:
    models = [{"name": f"m{i}", "type": "dummy"} for i in range(MAX_CANDIDATES + 1)]
    text = yaml.safe_dump(subscriptions_spec(models=models), sort_keys=False)
    world.spec.write_text(text)
    return f"{world.spec}:{line_of(text, 'models:')}: models: list should have at most 100 items"


def long_column_name(world: World) -> str:
    name = "r" * 1000  # YAML's longest plain key is 1024 characters
    text = world.spec.read_text().replace("region", name)
    world.spec.write_text(text)
    line = line_of(text, f"  {name}:\n")
    return f"{world.spec}:{line}: columns.{'r' * 152}... (1,008 characters): a column name"


def missing_file(world: World) -> str:
    world.spec.unlink()
    return f"{world.spec}: cannot read the spec"


def directory(world: World) -> str:
    world.spec.unlink()
    world.spec.mkdir()
    return f"{world.spec}: cannot read the spec"


LOWER = "gates.value[0].lower"
CASES: dict[str, Prepare] = {
    "alias-bomb": bomb,
    "too-many-aliases": many_aliases,
    "nesting-too-deep": deep,
    "recursive-alias": recursive,
    "undefined-alias": undefined_alias,
    "over-1-MiB": oversize,
    "binary-file": binary,
    "latin-1-byte": latin1,
    "nul-character": nul,
    "python-object-tag": tag("!!python/object:os.system x"),
    "python-name-tag": tag("!!python/name:os.system"),
    "unknown-tag": tag("!secret x"),
    "duplicate-top-level-key": duplicate_top,
    "duplicate-nested-key": duplicate_nested,
    "empty-file": whole(b"", "{spec}:1: expected a mapping"),
    "list-at-root": whole(b"- a\n- b\n", "{spec}:1: expected a mapping"),
    "scalar-at-root": whole(b"just text\n", "{spec}:1: expected a mapping"),
    "unclosed-bracket": whole(b"version: 1\nname: [a, b\n", "{spec}:3: not valid YAML"),
    "tab-indentation": whole(b"version: 1\ndata:\n\tsource: x\n", "{spec}:3: not valid YAML"),
    "two-documents": whole(b"version: 1\n---\nversion: 2\n", "{spec}:2: not valid YAML"),
    "unknown-key": edit("  cv_folds: 3", "  cv_fold: 3", "evaluation.cv_fold: unknown key"),
    "wrong-type": edit("  cv_folds: 3", "  cv_folds: many", "evaluation.cv_folds:"),
    "test-size-over-1": edit(
        "    test_size: 0.25", "    test_size: 2", "evaluation.split.test_size: expected less"
    ),
    "unknown-model-type": entry(
        "  type: random_forest", "  type: lightgbm", "models[1]: unknown type 'lightgbm'"
    ),
    "sklearn-param-out-of-range": edit(
        "    max_depth: 4", "    max_depth: -1", "models[1].params.max_depth: must be"
    ),
    "xgboost-learning-rate-negative": xgb(
        "learning_rate", -5, "learning_rate: XGBoost refuses it: value -5"
    ),
    "xgboost-max-depth-negative": xgb("max_depth", -1, "max_depth: XGBoost refuses it"),
    "xgboost-subsample-over-1": xgb("subsample", 2, "subsample: XGBoost refuses it"),
    "xgboost-unknown-param": xgb("learning_rat", 0.1, "learning_rat: unknown parameter"),
    "xgboost-n-estimators-0": xgb("n_estimators", 0, "n_estimators: must be an int"),
    "dask-scheduler-not-an-address": scheduler_not_an_address,
    "gate-bound-nan": edit(
        "    lower: 0.6", "    lower: .nan", "gates.value[0].lower: expected a finite"
    ),
    "gate-bound-inf": edit(
        "    lower: 0.6", "    lower: -.inf", "gates.value[0].lower: expected a finite"
    ),
    "param-overflowing-to-inf": edit(
        "    max_depth: 4",
        "    max_depth: 1.0e+309",
        "models[1].params.max_depth: expected a finite",
    ),
    "seed-beyond-numpy": edit(
        "    seed: 7",
        "    seed: 4294967296",
        "evaluation.split.seed: expected less than or equal to 4294967295",
    ),
    "negative-seed": edit("    seed: 7", "    seed: -1", "evaluation.split.seed: expected greater"),
    "ensemble-weights-all-zero": candidate(
        "- name: vote\n  type: soft_voting\n  members: [logreg, trees]\n  weights: [0, 0]\n",
        "- name: vote",
        ": weights must not all be 0",
    ),
    "ensemble-weight-negative": candidate(
        "- name: vote\n  type: soft_voting\n  members: [logreg, trees]\n  weights: [2, -1]\n",
        "weights: [2, -1]",
        ".weights[1]: expected greater than or equal to 0",
    ),
    "sampling-ratio-over-1": candidate(
        "- name: smote\n  type: logistic_regression\n  resample:\n    type: smote\n"
        "    sampling_strategy: 3\n",
        "sampling_strategy: 3",
        ".resample.sampling_strategy: expected less than or equal to 1",
    ),
    "a-billion-trees": xgb("n_estimators", 10**9, "n_estimators: n_estimators may be at most"),
    "a-billion-trees-in-a-search": candidate(
        "- name: searched\n  type: random_forest\n  search:\n    space:\n      n_estimators:\n"
        "        type: int\n        low: 10\n        high: 1000000000\n",
        "high: 1000000000",
        ".search.space.n_estimators.high: n_estimators may be at most 100,000",
    ),
    "a-hundred-and-one-candidates": many_candidates,
    "column-name-of-100k-characters": long_column_name,
    "spec-missing": missing_file,
    "spec-is-a-directory": directory,
    "monitoring-scores-warn-over-alert": scores_warn_over_alert,
}


@pytest.mark.parametrize("command", REFUSING_COMMANDS)
@pytest.mark.parametrize("prepare", CASES.values(), ids=CASES.keys())
def test_bad_spec_exits_2_naming_the_place_and_leaves_the_registry_alone(
    world: World, prepare: Prepare, command: str
) -> None:
    place = prepare(world)
    before = snapshot(world.home)
    code, output = world.refused(command)
    assert code == 2, output
    assert place in output, output
    assert "Traceback" not in output
    assert len(output) < 5_000  # nothing large is echoed
    assert_untouched(world.home, before)


HORIZONS = "    horizons:\n    - 6\n    - 12\n    - 24\n"
HORIZON_CASES = {
    "two-horizons-named-alike": (
        "    horizons: [1.0000001, 1.0000002]\n",
        "horizons 1.0000001 and 1.0000002 are both named 1 (6 significant digits)",
    ),
    "horizon-in-exponent-form": ("    horizons: [0.00001, 6]\n", "lies in [0.0001, 999999]"),
    "horizon-beyond-a-float": ("    horizons: [6, 1e300]\n", "lies in [0.0001, 999999]"),
    "negative-horizon": ("    horizons: [-6, 12]\n", "expected greater than 0, got -6"),
    "nan-horizon": ("    horizons: [6, .nan]\n", "expected a finite number"),
}


@pytest.mark.parametrize(("horizons", "says"), HORIZON_CASES.values(), ids=HORIZON_CASES.keys())
def test_bad_survival_horizons_are_one_problem_at_their_line(
    tmp_path: Path, horizons: str, says: str
) -> None:
    text = yaml.safe_dump(survival_spec(), sort_keys=False)
    assert HORIZONS in text
    spec = tmp_path / "spec.yaml"
    spec.write_text(text.replace(HORIZONS, horizons))
    result = runner.invoke(app, ["check", str(spec)], env={"CHURN_HOME": str(tmp_path / "home")})
    assert result.exit_code == 2, result.output
    assert "invalid spec: 1 problem\n" in result.output  # no echo of it in the default metrics
    assert f"{spec}:{line_of(text, HORIZONS)}: data.target" in result.output
    assert says in result.output
    assert not (tmp_path / "home").exists()
