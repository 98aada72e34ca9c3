"""Files a user names as an output are never one of the files the same command reads.

``churn score FILE -o OUT`` and ``churn synth -o OUT`` (and :func:`churn.serving.score_file.
score_file` and :func:`churn.synth.synthesize` under them) call :func:`check_output` before any
work: an existing output must be a regular file (not a folder, FIFO or device), and not one of
the inputs. The output and each input are compared as files (device and inode, symlinks
followed), not as path strings, so ``./a.csv``, ``../x/a.csv``, a symlink to ``a.csv`` and a
hard link of it are all the same file. Nothing happens at import time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from churn.errors import ChurnError

Inputs = Iterable[tuple[str, Path]]
"""The files a command reads, each with its role in words: ``("spec's data source", path)``."""


class OutputError(ChurnError):
    """The output path cannot be written: wrong suffix, missing folder, or one of the inputs."""

    exit_code = 2


def check_output(output: Path, inputs: Inputs) -> None:
    """Refuse an ``output`` that exists but is not a regular file, or is one of ``inputs``.

    An output that does not exist yet (or an input that does not) cannot be the same file.

    Raises:
        OutputError: Naming the output and what it is, or both paths, the input's role and
            how they are linked.
    """
    if output.exists() and not output.is_file():
        kind = "a folder" if output.is_dir() else "not a regular file"
        raise OutputError(f"{output}: is {kind}; the output must be a file path")
    target = _identity(output)
    if target is None:
        return
    for role, path in inputs:
        if _identity(path) == target:
            raise OutputError(
                f"{output}: is the same file as the {role} {path}{_how(output, path)}; "
                "refusing to overwrite it: choose another output path"
            )


def check_outside_registry(output: Path, home: Path) -> None:
    """Refuse an ``output`` inside the registry ``home``: a page or a scores file written there
    would replace a registry file (``--html $CHURN_HOME/champion.json``) or sit among them.

    Raises:
        OutputError: Naming the output and the registry.
    """
    where = Path(os.path.realpath(output))
    root = Path(os.path.realpath(home))
    if where == root or root in where.parents:
        raise OutputError(
            f"{output}: is inside the registry {home}; refusing to write there: choose an "
            "output path outside it"
        )


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file ``path`` names, symlinks followed; None if there is none."""
    try:
        found = os.stat(path)  # noqa: PTH116 - stat of str or Path alike, errors caught
    except (OSError, ValueError):
        return None
    return found.st_dev, found.st_ino


def _how(output: Path, source: Path) -> str:
    """How two paths of one file are related, when the path strings alone do not show it."""
    if output.is_symlink() or source.is_symlink():
        return " (through a symbolic link)"
    if os.path.realpath(output) != os.path.realpath(source):
        return " (a hard link of it)"
    return ""
