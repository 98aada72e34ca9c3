"""Hostile clients against a real ``churn serve`` on 127.0.0.1: huge and slow headers, idle and
half-sent connections, more connections than the cap, and HEAD on every GET route."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import resource
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_tools import World, copy_world
from serve_tools import Served, closed_within, read_answer, serving
from typer.testing import CliRunner

from churn.cli.app import app

pytestmark = pytest.mark.xdist_group("hostile-serve")

IDLE_TIMEOUT = 1.0
REQUEST_TIMEOUT = 2.0
CAP = 64
LIMITS = (
    f"--idle-timeout={IDLE_TIMEOUT}",
    f"--request-timeout={REQUEST_TIMEOUT}",
    f"--max-connections={CAP}",
)
HUGE_HEADER_BYTES = 64 * 2**20
"""What the slow client tries to send as one header value (refused after 16 KiB)."""
IDLE_CONNECTIONS = 300
GROWTH_LIMIT_KIB = 48 * 1024


@pytest.fixture(scope="module")
def served_world(trained_world: World, tmp_path_factory: pytest.TempPathFactory) -> World:
    """A copy of the trained world whose run has a report and a plot (files to HEAD)."""
    copy = copy_world(trained_world, tmp_path_factory.mktemp("served-world"))
    (copy.run / "plots").mkdir()
    (copy.run / "plots" / "roc_curve.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 5000)
    (copy.run / "report.html").write_text("<html><body>report</body></html>")
    return copy


@pytest.fixture(scope="module")
def served(served_world: World) -> Iterator[Served]:
    """One ``churn serve`` process with short timeouts and a cap of 64 connections."""
    home, spec, log = served_world.home, served_world.spec, served_world.folder / "serve.log"
    with serving(home, spec, log, *LIMITS) as server:
        yield server


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0: none came)."""
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def test_a_head_larger_than_the_bound_is_431_and_closed(served: Served) -> None:
    with served.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
        answer = read_answer(sock)
    assert status_of(answer) == 431
    assert b"request head larger than 16384 bytes" in answer


def test_more_header_lines_than_the_bound_is_431(served: Served) -> None:
    lines = b"".join(b"X-%d: 1\r\n" % index for index in range(101))
    with served.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n")
        answer = read_answer(sock)
    assert status_of(answer) == 431
    assert b"more than 100 header lines" in answer


def test_a_body_larger_than_the_head_bound_still_arrives_with_its_head(
    served: Served,
) -> None:
    """The head bound counts the head only: a body sent in the same write is not refused."""
    record = {"account_id": "A1", "plan": "basic", "region": "north", "monthly_fee": 20.0}
    body = json.dumps({"records": [record] * 400}).encode()
    assert len(body) > 16384
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    with served.connect() as sock:
        sock.sendall(head + body)
        answer = read_answer(sock)
    assert status_of(answer) in (200, 422), answer[:300]  # parsed by the app, not refused


def test_a_half_sent_request_is_answered_408_after_the_request_timeout(served: Served) -> None:
    with served.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        answer = read_answer(sock, limit=REQUEST_TIMEOUT + 8)
        waited = time.monotonic() - started
    assert status_of(answer) == 408
    assert b"request not received within 2 s" in answer
    assert REQUEST_TIMEOUT - 0.2 <= waited < REQUEST_TIMEOUT + 8


def test_a_half_sent_body_is_cut_off_by_the_request_timeout(served: Served) -> None:
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    with served.connect() as sock:
        started = time.monotonic()
        sock.sendall(head + b"Content-Length: 1000\r\n\r\n" + b'{"records": [')
        assert closed_within(sock, REQUEST_TIMEOUT + 8)
        assert time.monotonic() - started >= REQUEST_TIMEOUT - 0.2


def test_a_header_trickled_byte_by_byte_is_cut_off_by_the_request_timeout(served: Served) -> None:
    with served.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nX-Slow: ")
        started = time.monotonic()
        closed = False
        while not closed and time.monotonic() - started < REQUEST_TIMEOUT + 8:
            try:
                sock.sendall(b"a")
            except OSError:
                closed = True
            time.sleep(0.1)
        waited = time.monotonic() - started
    assert closed
    assert waited < REQUEST_TIMEOUT + 8


def test_a_connection_that_never_sends_a_byte_is_closed_after_the_idle_timeout(
    served: Served,
) -> None:
    with served.connect() as sock:
        started = time.monotonic()
        assert closed_within(sock, IDLE_TIMEOUT + 8)
        assert time.monotonic() - started >= IDLE_TIMEOUT - 0.2


def test_one_connection_past_the_cap_closes_the_longest_idle_one(served: Served) -> None:
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(served.connect()) for _ in range(CAP + 1)]
        assert closed_within(socks[0], IDLE_TIMEOUT / 2)  # before its idle timeout
        assert not closed_within(socks[1], 0.05)
        status, _ = served.get("/health")
    assert status == 200


def attack(served: Served, stop: threading.Event, outcome: dict[str, object]) -> None:
    """Send one header value of up to 64 MiB in 64 KiB pieces, 5 ms apart, until refused."""
    chunk = b"a" * 65536
    sent = 0
    with served.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: ")
        try:
            while sent < HUGE_HEADER_BYTES and not stop.is_set():
                sock.sendall(chunk)
                sent += len(chunk)
                time.sleep(0.005)
            outcome["refused"] = False
        except OSError:
            outcome["refused"] = True
    outcome["sent"] = sent


def test_an_oversized_slow_header_and_many_idle_connections_leave_health_fast_and_memory_bounded(
    served: Served,
) -> None:
    check_under_attack(served, cap=CAP)


@pytest.mark.slow
def test_two_workers_keep_health_fast_and_memory_bounded_under_the_same_attack(
    trained_world: World, tmp_path: Path
) -> None:
    with serving(
        trained_world.home, trained_world.spec, tmp_path / "serve.log", *LIMITS, workers=2
    ) as server:
        check_under_attack(server, cap=2 * CAP)


def check_under_attack(served: Served, *, cap: int) -> None:
    """Idle connections past the cap, then a slow huge header while /health is timed."""
    fds_before, rss_before = served.open_fds(), served.rss_kib()
    with contextlib.ExitStack() as stack:
        idle = [stack.enter_context(served.connect()) for _ in range(IDLE_CONNECTIONS)]
        stop, outcome = threading.Event(), {}
        attacker = threading.Thread(target=attack, args=(served, stop, outcome))
        attacker.start()
        latencies, rss, fds = [], [], []
        try:
            for _ in range(20):
                status, seconds = served.get("/health")
                assert status == 200
                latencies.append(seconds)
                rss.append(served.rss_kib())
                fds.append(served.open_fds())
                time.sleep(0.1)
        finally:
            stop.set()
            attacker.join(timeout=60)
        closed = sum(closed_within(sock, 0.05) for sock in idle)
    assert outcome == {"refused": True, "sent": outcome["sent"]}
    assert int(outcome["sent"]) < 8 * 2**20, outcome  # cut off near the bound, not after 64 MiB
    assert statistics.median(latencies) < 0.1, latencies
    assert max(rss) - rss_before < GROWTH_LIMIT_KIB, (rss_before, rss)
    assert max(fds) <= fds_before + cap + 8, (fds_before, fds)
    assert closed == IDLE_CONNECTIONS  # the cap closed some, the idle timeout the rest
    assert "Traceback" not in served.log.read_text()


def get_paths(served: Served, world: World) -> list[str]:
    """Every GET route of the API, with the run's id and one of its plots filled in."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    connection.request("GET", "/openapi.json")
    paths = json.loads(connection.getresponse().read())["paths"]
    connection.close()
    filled = [
        path.replace("{run_id}", world.run_id).replace("{name}", "roc_curve.png")
        for path, methods in paths.items()
        if "get" in methods
    ]
    return [*filled, "/openapi.json", "/docs"]


def test_head_answers_every_get_route_with_its_headers_and_no_body_on_one_connection(
    served: Served, served_world: World
) -> None:
    paths = get_paths(served, served_world)
    assert len(paths) >= 10
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    connection.connect()
    sock = connection.sock
    for path in paths:
        connection.request("GET", path)
        got = connection.getresponse()
        got.read()
        connection.request("HEAD", path)
        head = connection.getresponse()
        assert head.read() == b""
        assert (head.status, path) == (got.status, path)
        unstable = {"date", "content-length"} if path == "/metrics" else {"date"}
        assert _headers(head, unstable) == _headers(got, unstable), path
        assert not head.will_close, path
    connection.request("GET", "/health")
    assert connection.getresponse().read() == b'{"status":"ok"}'
    assert connection.sock is sock  # the same connection all along
    connection.close()
    assert "Traceback" not in served.log.read_text()
    assert "Content-Length" not in served.log.read_text()


def _headers(response: http.client.HTTPResponse, unstable: set[str]) -> dict[str, str]:
    pairs = ((name.lower(), value) for name, value in response.getheaders())
    return {name: value for name, value in pairs if name not in unstable}


def test_serve_refuses_a_limit_out_of_range_naming_the_setting() -> None:
    touched = ("CHURN_HOME", "CHURN_SPEC", "CHURN_MAX_HEADERS")  # restored after the command
    env = dict.fromkeys(touched, None)
    result = CliRunner().invoke(app, ["serve", "--max-headers", "0"], env=env)
    assert result.exit_code == 2
    assert "CHURN_MAX_HEADERS: Input should be greater than or equal to 1, got '0'" in result.output


def low_descriptor_limit() -> None:
    """In the server process: at most :data:`FD_LIMIT` descriptors (ulimit -n)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, hard))


FD_LIMIT = 256


def ready_answer(served: Served) -> dict[str, object]:
    """The /ready answer, on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        connection.request("GET", "/ready")
        answer: dict[str, object] = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    return answer


@pytest.mark.slow  # a served API held past its descriptor limit: 27 s
def test_idle_connections_past_the_descriptor_limit_do_not_break_the_champion_reload(
    world: World,
) -> None:
    """More idle sockets than ``ulimit -n``: the cap keeps descriptors free, a reload happens."""
    flags = ("--idle-timeout=60", "--max-connections=100000")  # capped at 256 - 128 here
    log = world.folder / "serve.log"
    with (
        serving(world.home, world.spec, log, *flags, preexec=low_descriptor_limit) as served,
        contextlib.ExitStack() as stack,
    ):
        before = ready_answer(served)
        idle = [stack.enter_context(served.connect()) for _ in range(2 * FD_LIMIT)]
        assert served.open_fds() < FD_LIMIT
        model = world.home / json.loads((world.home / "champion.json").read_text())["model_path"]
        os.utime(model)  # a new mtime: the server reloads the champion
        ends = time.monotonic() + 30
        while (now := ready_answer(served))["loaded_at"] == before["loaded_at"]:
            assert time.monotonic() < ends, now
            time.sleep(0.2)
        assert now["reload_error"] is None
        assert sum(closed_within(sock, 0.05) for sock in idle) >= 2 * FD_LIMIT - 128
    assert "Too many open files" not in log.read_text()
