"""A real ``churn serve`` on 127.0.0.1 for hostile-client tests, and what /proc says about it."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

STARTUP_SECONDS = 120


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Served:
    """A running ``churn serve``: its process, port and log file (stderr)."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def pids(self) -> list[int]:
        """``churn serve`` and its worker processes."""
        found = [self.process.pid]
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            found += [int(pid) for pid in (task / "children").read_text().split()]
        return found

    def rss_kib(self) -> int:
        """Resident memory of all its processes, in KiB."""
        return sum(_status_kib(pid, "VmRSS") for pid in self.pids())

    def open_fds(self) -> int:
        """Descriptors open in all its processes."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(FileNotFoundError):
                total += sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())
        return total

    def connect(self, timeout: float = 10.0) -> socket.socket:
        """A new TCP connection to the server."""
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, float]:
        """GET ``path`` on a new connection: the status and the seconds it took."""
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        return response.status, time.perf_counter() - started


def _status_kib(pid: int, field: str) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except FileNotFoundError:
        return 0
    line = next(line for line in lines if line.startswith(f"{field}:"))
    return int(line.split()[1])


@contextlib.contextmanager
def serving(
    home: Path,
    spec: Path,
    log: Path,
    *flags: str,
    workers: int = 1,
    preexec: Callable[[], None] | None = None,
) -> Iterator[Served]:
    """``churn serve --workers N`` on a free port until the block ends (none outlives it)."""
    port = free_port()
    env = {**os.environ, "CHURN_RELOAD_INTERVAL": "0.5", "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "churn.cli.app", "serve", "--port", str(port)]
    command += ["--home", str(home), "--spec", str(spec), "--workers", str(workers), *flags]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, preexec_fn=preexec
        )
    served = Served(process, port, log)
    children: list[int] = []
    try:
        _wait_ready(served, workers)
        children = served.pids()[1:]
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for pid in children:  # only if something failed: none may be left behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _wait_ready(served: Served, workers: int) -> None:
    """Until every worker has started its app and one answers /ready."""
    ends = time.monotonic() + STARTUP_SECONDS
    while True:
        assert served.process.poll() is None, served.log.read_text()
        assert time.monotonic() < ends, "churn serve did not become ready"
        if served.log.read_text().count("Application startup complete") >= workers:
            with contextlib.suppress(OSError, http.client.HTTPException):
                if served.get("/ready", timeout=2)[0] == 200:
                    return
        time.sleep(0.3)


def read_answer(sock: socket.socket, limit: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (or ``limit`` seconds)."""
    sock.settimeout(limit)
    chunks: list[bytes] = []
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """True if the server closes ``sock`` within ``seconds`` (what it sends before is dropped)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True
