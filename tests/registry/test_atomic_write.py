"""``atomic_write``: all or nothing, a plain file's mode, and (where Linux has ``O_TMPFILE``)
no name at all for the file being written, so a ``kill -9`` mid-write leaves nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO

import pytest

from churn.registry.atomic_io import atomic_write
from churn.registry.stale_temps import STALE_SECONDS, hold

HAS_TMPFILE = hasattr(os, "O_TMPFILE") and Path("/proc/self/fd").is_dir()


@pytest.fixture(params=["unnamed", "named"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of writing: ``O_TMPFILE`` where it exists, and a platform without it."""
    if request.param == "unnamed" and not HAS_TMPFILE:
        pytest.skip("no O_TMPFILE here")
    if request.param == "named":
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    return str(request.param)


def test_the_file_has_the_content_and_a_plain_files_mode(tmp_path: Path, way: str) -> None:
    target = tmp_path / "out.csv"
    (tmp_path / "plain").write_bytes(b"")

    def write(handle: IO[bytes]) -> None:
        handle.write(b"a,b\n1,2\n")
        handle.flush()
        assert Path(handle.name).read_bytes() == b"a,b\n1,2\n"  # writers hash it by name

    atomic_write(target, write)

    assert target.read_bytes() == b"a,b\n1,2\n"
    assert target.stat().st_mode == (tmp_path / "plain").stat().st_mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "plain"]


def test_an_error_mid_write_keeps_the_old_file_and_leaves_nothing(tmp_path: Path, way: str) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")

    def write(handle: IO[bytes]) -> None:
        handle.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, write)

    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.skipif(not HAS_TMPFILE, reason="no O_TMPFILE here")
def test_the_file_being_written_has_no_name_until_it_is_complete(tmp_path: Path) -> None:
    seen: list[str] = []

    def write(handle: IO[bytes]) -> None:
        handle.write(b"x" * 100_000)
        handle.flush()
        seen.extend(p.name for p in tmp_path.iterdir())

    atomic_write(tmp_path / "out.parquet", write)

    assert seen == []  # nothing a kill -9 at this moment could leave behind
    assert (tmp_path / "out.parquet").stat().st_size == 100_000


def _temp(folder: Path, name: str, age: float) -> Path:
    path = folder / name
    path.write_bytes(b"partial")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_the_next_write_removes_what_a_killed_writer_left_and_nothing_else(
    tmp_path: Path, way: str
) -> None:
    dead = _temp(tmp_path, ".out.csv.k1ll3d00.tmp", age=STALE_SECONDS + 5)
    fresh = _temp(tmp_path, ".out.csv.fresh000.tmp", age=0)  # may be a writer's first instant
    other = _temp(tmp_path, ".other.csv.k1ll3d00.tmp", age=STALE_SECONDS + 5)
    held = _temp(tmp_path, ".out.csv.h0ld1ng0.tmp", age=STALE_SECONDS + 5)
    with held.open("rb") as live:  # a slow writer that still holds its file
        hold(live.fileno())
        atomic_write(tmp_path / "out.csv", lambda handle: handle.write(b"new"))

    assert not dead.exists()
    assert fresh.exists() and other.exists() and held.exists()
    assert (tmp_path / "out.csv").read_bytes() == b"new"


def test_a_writer_holds_its_temporary_file_while_it_writes(tmp_path: Path, way: str) -> None:
    refused: list[bool] = []

    def write(handle: IO[bytes]) -> None:
        handle.write(b"x")
        handle.flush()
        with open(handle.name, "rb") as other:  # noqa: PTH123 - a /proc path or a temp name
            try:
                hold(other.fileno())
            except BlockingIOError:
                refused.append(True)

    atomic_write(tmp_path / "out.csv", write)

    assert refused == [True]
