"""A damaged or hostile registry: each command exits 1 naming the file (and the repair), and
changes nothing; no read leaves the home through a symlink."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hostile_tools import World, move_out, snapshot

Case = Callable[[World], tuple[tuple[str, ...], str]]
"""Damages a world; returns the ``churn`` arguments to run and the text the error must hold."""

CHECK = ("check",)


def altered_model(world: World) -> tuple[tuple[str, ...], str]:
    model = world.run / "model.joblib"
    model.write_bytes(model.read_bytes() + b"x")
    return CHECK, f"model file {model} does not match its recorded hash"


def missing_model(world: World) -> tuple[tuple[str, ...], str]:
    (world.run / "model.joblib").unlink()
    return CHECK, f"model file missing: {world.run / 'model.joblib'}"


def pointer(text: str, says: str, command: tuple[str, ...] = CHECK) -> Case:
    def case(world: World) -> tuple[tuple[str, ...], str]:
        (world.home / "champion.json").write_text(text)
        return command, says.format(pointer=world.home / "champion.json")

    return case


def model_outside(world: World) -> tuple[tuple[str, ...], str]:
    path = world.home / "champion.json"
    data = json.loads(path.read_text())
    outside = world.folder / "outside.joblib"
    outside.write_bytes((world.run / "model.joblib").read_bytes())
    data["model_path"] = str(outside)
    path.write_text(json.dumps(data))
    return CHECK, f"model_path '{outside}' is not the model file of run {world.run_id}"


def linked(relative: str, command: tuple[str, ...], says: str) -> Case:
    """Move ``relative`` (``{run}`` is the run folder) out of the home; symlink it back."""

    def case(world: World) -> tuple[tuple[str, ...], str]:
        path = world.home / relative.format(run=f"runs/{world.run_id}")
        move_out(path, world.folder / "outside")
        args = tuple(a.format(run=world.run_id) for a in command)
        return args, f"{path} is a symlink" if not says else says.format(path=path)

    return case


def garbage_manifest(world: World) -> tuple[tuple[str, ...], str]:
    (world.run / "run.json").write_text("{torn")
    return ("show", world.run_id), f"unreadable {world.run / 'run.json'}"


def command(args: tuple[str, ...], says: str) -> Case:
    def case(world: World) -> tuple[tuple[str, ...], str]:
        fields = {"run": world.run_id, "ledger": world.home / "ledger.jsonl"}
        return tuple(a.format(**fields) for a in args), says.format(**fields)

    return case


CASES: dict[str, Case] = {
    "champion-model-altered": altered_model,
    "champion-model-missing": missing_model,
    "champion-pointer-torn": pointer('{"run_id": "2026', "unreadable {pointer}"),
    "champion-pointer-a-list": pointer("[1, 2]", "{pointer} is not a champion pointer"),
    "champion-pointer-no-hash": pointer('{"run_id": "x"}', "{pointer} is not a champion pointer"),
    "champion-pointer-torn-champion-command": pointer(
        "{", "unreadable {pointer}", command=("champion",)
    ),
    "champion-model-outside-the-home": model_outside,
    "champion-pointer-symlinked": linked("champion.json", CHECK, ""),
    "champion-model-symlinked": linked("{run}/model.joblib", CHECK, ""),
    "runs-folder-symlinked": linked("runs", CHECK, ""),
    "show-symlinked-run-folder": linked("{run}", ("show", "{run}"), ""),
    "show-symlinked-run-json": linked("{run}/run.json", ("show", "{run}"), ""),
    "promote-symlinked-run-json": linked(
        "{run}/run.json", ("promote", "{run}", "--reason", "r"), ""
    ),
    "rollback-symlinked-ledger": linked("ledger.jsonl", ("rollback", "--reason", "r"), ""),
    "show-torn-run-json": garbage_manifest,
    "promote-path-traversal-id": command(
        ("promote", "../../etc", "--reason", "r"), "invalid run id '../../etc'"
    ),
    "promote-unknown-run": command(
        ("promote", "20990101T000000.000000Z-000000", "--reason", "r"),
        "run 20990101T000000.000000Z-000000 not found",
    ),
    "promote-without-reason": command(
        ("promote", "{run}", "--reason", " "), "a forced promotion needs a reason"
    ),
    "rollback-without-reason": command(("rollback", "--reason", ""), "a rollback needs a reason"),
    "rollback-past-the-only-champion": command(
        ("rollback", "--reason", "r"), "is the only champion in the ledger ({ledger})"
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_registry_damage_exits_1_naming_the_file_and_changes_nothing(
    world: World, case: Case
) -> None:
    args, place = case(world)
    if args == CHECK:
        args = ("check", str(world.spec))
    before = snapshot(world.home)
    code, output = world.churn(*args)
    assert code == 1, output
    assert place in output, output
    assert "Traceback" not in output and "unexpected error" not in output
    assert snapshot(world.home) == before


def test_a_damaged_champion_names_the_repair(world: World) -> None:
    altered_model(world)
    _, output = world.check()
    assert "churn rollback --reason" in output and "churn promote RUN --reason" in output
