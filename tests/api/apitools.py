"""Helpers shared by the API tests (imported by tests/api/conftest.py and the test modules)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from factories import train_run
from fastapi.testclient import TestClient

__all__ = ["TestClient", "Trained", "free_port", "record", "train_run", "wait_until_ready"]


@dataclass(frozen=True)
class Trained:
    """A registry with two finished runs; ``first`` is the champion."""

    spec_path: Path
    home: Path
    first: str
    second: str

    def copy_home(self, folder: Path) -> Path:
        """A private copy of the registry home, for a test that changes it."""
        target = folder / "home"
        shutil.copytree(self.home, target)
        return target


def record(index: int = 0, **changes: Any) -> dict[str, Any]:
    """A valid subscriptions record."""
    base: dict[str, Any] = {
        "account_id": f"T{index:04d}",
        "plan": ["basic", "pro", "enterprise"][index % 3],
        "region": ["north", "south", "east", "west"][index % 4],
        "monthly_fee": 20.0 + index % 90,
        "support_calls": index % 6,
        "months_active": 1 + index % 50,
    }
    base.update(changes)
    return base


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(process: subprocess.Popen, url: str, seconds: float = 120) -> None:
    """Until ``url``/ready answers 200; fails with the server's stderr if it ends first."""
    ends = time.monotonic() + seconds
    while True:
        assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
        assert time.monotonic() < ends, "churn serve did not become ready"
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)


def descendants(pid: int) -> set[int]:
    """Every live process under ``pid`` (workers, their fork servers and recorder processes)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = {int(p) for p in (task / "children").read_text().split()}
            except OSError:
                continue
            todo += children - found
            found |= children
    return found


def ended(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie has: only its exit status waits to be read)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
