"""The spec loader against hostile YAML: bounds on aliases, depth and size; tags, bytes, keys."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from churn.errors import SpecError
from churn.spec.loader import MAX_SPEC_BYTES, load_spec, parse_spec
from churn.spec.yaml_lines import MAX_ALIASES, MAX_DEPTH, MAX_NODES, load_located

ROOT = Path(__file__).resolve().parents[2]
TELCO = (ROOT / "spec" / "telco.yaml").read_text()


def billion_laughs(levels: int) -> str:
    """Each level is a list aliasing the previous level nine times (9**levels strings)."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * 9) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def problem_of(path: Path) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    [problem] = info.value.problems
    return problem


def test_alias_bomb_is_refused_in_well_under_a_second_naming_the_file_and_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs(9))
    assert path.stat().st_size < 600
    started = time.process_time()  # CPU, which a busy machine does not stretch as it does wall
    problem = problem_of(path)
    assert time.process_time() - started < 1.0
    assert problem.startswith(f"{path}:6: not valid YAML: more than {MAX_NODES:,} values")


def test_many_aliases_of_a_scalar_are_bounded_too(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text("x: &x 1\nl: [" + ", ".join(["*x"] * (MAX_ALIASES + 1)) + "]\n")
    assert f"more than {MAX_ALIASES} aliases" in problem_of(path)


def test_a_few_aliases_still_work() -> None:
    data = load_located("x: &x [1, 2]\ny: *x\nz: {<<: {a: 1}, b: 2}\n").data
    assert data == {"x": [1, 2], "y": [1, 2], "z": {"a": 1, "b": 2}}


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a [1, *a]\n")
    assert "alias *a refers to its own parent" in problem_of(path)


def test_nesting_deeper_than_the_bound_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n")
    assert f"nested deeper than {MAX_DEPTH} levels" in problem_of(path)


def test_a_file_over_the_size_bound_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * MAX_SPEC_BYTES + "\n")
    assert problem_of(path) == (
        f"{path}: larger than {MAX_SPEC_BYTES:,} bytes; a spec may be at most that"
    )


def test_non_utf8_spec_names_the_file_byte_offset_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"version: 1\nname: caf\xe9\n")
    assert problem_of(path) == (
        f"{path}:2: not UTF-8 text: byte 0xe9 at offset 20 "
        "(save the spec as UTF-8; is it a binary file?)"
    )


def test_a_nul_character_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "nul.yaml"
    path.write_bytes(b"version: 1\nname: a\x00b\n")
    assert problem_of(path).startswith(f"{path}:2: not valid YAML: character #x0000")


@pytest.mark.parametrize("tag", ["!!python/object:os.system", "!!python/name:os.system", "!foo"])
def test_object_and_unknown_tags_are_refused_with_file_and_line(tmp_path: Path, tag: str) -> None:
    path = tmp_path / "tag.yaml"
    path.write_text(f"version: 1\nname: {tag} x\n")
    problem = problem_of(path)
    assert problem.startswith(f"{path}:2: not valid YAML: tag ")
    assert "is not allowed" in problem


def test_duplicate_keys_are_errors_naming_both_lines() -> None:
    text = TELCO.replace("  cv_folds: 5\n", "  cv_folds: 5\n  cv_folds: 3\n", 1)
    line = TELCO[: TELCO.index("  cv_folds: 5")].count("\n") + 1
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="spec/telco.yaml")
    assert info.value.problems == [
        f"spec/telco.yaml:{line + 1}: evaluation.cv_folds: duplicate key (first at line {line}); "
        "each key may appear once"
    ]


def test_good_files_keep_yaml_12_booleans_and_line_marks() -> None:
    located = load_located("a: Yes\nb: true\nc:\n  - No\n")
    assert located.data == {"a": "Yes", "b": True, "c": ["No"]}
    assert located.line_of(("c", 0)) == 4
