"""A finished ``churn`` command ends without the interpreter's teardown (issue 19 item 11):
every at-exit function still runs, the output is flushed and the exit code kept, but objects
alive at exit are not finalised one by one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ENDING = """
import atexit, pathlib, sys
from churn.cli import quick_exit
quick_exit.arm()
marks = pathlib.Path(sys.argv[1])

class TornDown:
    def __del__(self):
        (marks / "finalised").write_text("")

kept = TornDown()  # a module global: finalised only by the interpreter's teardown
atexit.register((marks / "at-exit").write_text, "")
sys.stdout.write("printed without a newline")
code = {code}
quick_exit.finished(code)
sys.exit(code)
"""

CONSOLE = """
import pathlib, sys
from churn.cli.entry import console_main
marks = pathlib.Path(sys.argv[1])

class TornDown:
    def __del__(self):
        (marks / "finalised").write_text("")

kept = TornDown()
sys.argv = ["churn", *sys.argv[2:]]
console_main()
"""


def _python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("code", [0, 4])
def test_an_exit_code_ends_after_the_at_exit_functions_without_finalising(
    code: int, tmp_path: Path
) -> None:
    ended = _python(ENDING.format(code=code), str(tmp_path))

    assert (ended.returncode, ended.stdout) == (code, "printed without a newline")
    assert (tmp_path / "at-exit").exists()
    assert not (tmp_path / "finalised").exists()


def test_an_exit_message_gets_the_usual_teardown(tmp_path: Path) -> None:
    ended = _python(ENDING.format(code=repr("a message")), str(tmp_path))

    assert (ended.returncode, ended.stderr.strip()) == (1, "a message")
    assert (tmp_path / "at-exit").exists()
    assert (tmp_path / "finalised").exists()


def test_the_churn_command_ends_with_its_code_and_its_output_without_teardown(
    tmp_path: Path,
) -> None:
    listed = _python(CONSOLE, str(tmp_path), "runs", "--home", str(tmp_path / "home"))
    missing = _python(CONSOLE, str(tmp_path), "check", str(tmp_path / "missing.yaml"))

    assert listed.returncode == 0, listed.stderr
    assert "no runs" in listed.stdout.lower()
    assert missing.returncode == 2
    assert "missing.yaml" in missing.stderr
    assert not (tmp_path / "finalised").exists()
