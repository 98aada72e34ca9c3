"""Commands that write a file a user names: never over their own inputs, bounded sizes, and no
leftovers from a ``kill -9`` (issue 20, items 1, 15 and 16)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import subscriptions_frame
from hostile_tools import World

from churn.cli.bounds import MAX_CHUNK_ROWS, MAX_SYNTH_ROWS

REPO = Path(__file__).resolve().parents[2]

Alias = Callable[[Path, Path], Path]
"""Makes another path to the file ``target`` inside ``folder``; returns that path."""


def same_path(target: Path, folder: Path) -> Path:
    return target


def other_spelling(target: Path, folder: Path) -> Path:
    return target.parent / "." / ".." / target.parent.name / target.name


def symlink(target: Path, folder: Path) -> Path:
    link = folder / f"link{target.suffix}"
    link.symlink_to(target)
    return link


def hard_link(target: Path, folder: Path) -> Path:
    link = folder / f"hard{target.suffix}"
    link.hardlink_to(target)
    return link


ALIASES = [same_path, other_spelling, symlink, hard_link]


def files(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (hidden ones too) with its bytes; links by their target."""
    return {
        str(path.relative_to(folder)): b"" if path.is_symlink() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() or path.is_symlink()
    }


def customers(world: World, rows: int = 200) -> Path:
    path = world.folder / "customers.csv"
    subscriptions_frame(rows, seed=3).drop(columns=["churned"]).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("alias", ALIASES)
def test_score_refuses_to_write_over_the_file_it_scores(world: World, alias: Alias) -> None:
    source = customers(world)
    output = alias(source, world.folder)
    before = files(world.folder)

    code, out = world.churn("score", str(source), "-o", str(output), "--spec", str(world.spec))

    assert code == 2, out
    assert f"{output}: is the same file as the input {source}" in out
    assert "Traceback" not in out
    assert files(world.folder) == before  # the customer file intact, nothing written


@pytest.mark.parametrize("alias", ALIASES)
def test_score_and_synth_refuse_to_write_over_the_specs_data_source(
    world: World, alias: Alias
) -> None:
    output = alias(world.csv, world.folder)
    before = files(world.folder)
    scored = customers(world)

    score = world.churn("score", str(scored), "-o", str(output), "--spec", str(world.spec))
    synth = world.churn("synth", "--rows", "50", "-o", str(output), "--spec", str(world.spec))

    for code, out in (score, synth):
        assert code == 2, out
        assert f"is the same file as the spec's data source {world.csv}" in out
        assert str(output) in out
    scored.unlink()
    assert files(world.folder) == before


def test_synth_refuses_to_write_over_its_spec_file(world: World) -> None:
    spec = world.folder / "spec.csv"  # a spec may have any name; its output may not be it
    spec.write_bytes(world.spec.read_bytes())

    code, out = world.churn("synth", "--rows", "50", "-o", str(spec), "--spec", str(spec))

    assert code == 2, out
    assert f"{spec}: is the same file as the spec {spec}" in out
    assert spec.read_bytes() == world.spec.read_bytes()


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_an_output_that_is_a_folder_or_a_fifo_is_refused_before_any_work(
    world: World, kind: str
) -> None:
    output = world.folder / "out.csv"
    if kind == "folder":
        output.mkdir()
    else:
        os.mkfifo(output)
    scored = customers(world)

    score = world.churn("score", str(scored), "-o", str(output), "--spec", str(world.spec))
    synth = world.churn("synth", "--rows", "50", "-o", str(output), "--spec", str(world.spec))

    expected = "a folder" if kind == "folder" else "not a regular file"
    for code, out in (score, synth):
        assert code == 2, out
        assert f"{output}: is {expected}; the output must be a file path" in out
    assert output.is_dir() if kind == "folder" else output.is_fifo()


def test_an_output_beside_the_inputs_is_still_written(world: World) -> None:
    output = world.folder / "scores.csv"
    code, out = world.churn(
        "score", str(customers(world)), "-o", str(output), "--spec", str(world.spec)
    )

    assert code == 0, out
    assert len(output.read_text().splitlines()) == 201


@pytest.mark.parametrize(
    ("command", "option", "value", "bound"),
    [
        ("synth", "--chunk-rows", 10**9, MAX_CHUNK_ROWS),
        ("synth", "--rows", 10**12, MAX_SYNTH_ROWS),
        ("synth", "--seed", -1, 0),
        ("score", "--chunk-rows", 10**9, MAX_CHUNK_ROWS),
    ],
)
def test_absurd_sizes_are_refused_naming_the_option_and_its_range(
    world: World, command: str, option: str, value: int, bound: int
) -> None:
    args = {"--rows": "10", "--chunk-rows": "10", "--seed": "0", option: str(value)}
    if command == "score":
        del args["--rows"], args["--seed"]
    flat = [item for pair in args.items() for item in pair]
    head = [command, str(customers(world))] if command == "score" else [command]
    output = world.folder / "new" / "out.csv"  # a missing folder: refused either way, fast

    code, out = world.churn(*head, *flat, "-o", str(output), "--spec", str(world.spec))

    message = " ".join(out.replace("│", " ").split())  # typer draws the usage error in a box
    assert code == 2, out
    assert f"Invalid value for '{option}': Input should be" in message
    assert f"than or equal to {bound}" in message
    assert not output.parent.exists()


def _writing_into(pid: int, folder: Path) -> bool:
    """Whether process ``pid`` holds a file in ``folder`` open (its output, being written)."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        targets = [str(fd.readlink()) for fd in fds.iterdir()]
    except OSError:  # an fd closed between listing and reading: look again
        return False
    return any(target.startswith(f"{folder}/") for target in targets)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc")
def test_kill_9_of_churn_score_mid_write_leaves_no_file_beside_the_output(
    world: World, tmp_path: Path
) -> None:
    source = customers(world, rows=20_000)
    out_dir = tmp_path / "scores"
    out_dir.mkdir()
    command = [
        sys.executable,
        "-m",
        "churn.cli",
        "score",
        str(source),
        "-o",
        str(out_dir / "s.csv"),
    ]
    command += ["--spec", str(world.spec), "--home", str(world.home), "--chunk-rows", "100"]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120  # imports on a loaded machine
        while not _writing_into(process.pid, out_dir):
            assert process.poll() is None, process.communicate()[1].decode()
            assert time.monotonic() < deadline, "churn score never started writing"
            time.sleep(0.02)
        time.sleep(0.3)  # some chunks written
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.communicate()

    assert process.returncode == -signal.SIGKILL
    assert list(out_dir.iterdir()) == []  # no output, no hidden .s.csv.*.tmp


REGISTRY_OUTPUTS: dict[str, Callable[[World, Path], list[str]]] = {
    "monitor --html": lambda world, out: ["monitor", "--html", str(out)],
    "drift --html": lambda world, out: ["drift", "--spec", str(world.spec), "--html", str(out)],
    "score -o": lambda world, out: [
        "score",
        str(world.csv),
        "--spec",
        str(world.spec),
        "-o",
        str(out),
    ],
}


@pytest.mark.parametrize("target", ["champion.json", "runs/new-page.html"])
@pytest.mark.parametrize("command", REGISTRY_OUTPUTS.values(), ids=REGISTRY_OUTPUTS.keys())
def test_an_output_inside_the_registry_is_refused(
    world: World, command: Callable[[World, Path], list[str]], target: str
) -> None:
    link = world.folder / "into-registry"
    link.symlink_to(world.home, target_is_directory=True)  # the registry by another path
    before = files(world.home)

    code, out = world.churn(*command(world, link / target))

    assert code == 2, out
    assert f"{link / target}: is inside the registry {world.home}" in out
    assert files(world.home) == before


def test_a_usage_error_inside_a_command_exits_2_with_the_usage(world: World) -> None:
    code, out = world.churn("score", str(world.csv), "--spec", str(world.spec))

    assert code == 2, out
    assert "give exactly one of -o/--output or --to-table" in out
    assert "unexpected error" not in out
