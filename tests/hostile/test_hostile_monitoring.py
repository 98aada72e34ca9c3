"""Hostile monitoring inputs: `churn monitor --api` at servers that are closed, foreign, slow or
lying; `churn outcomes` files that are malformed; `churn drift` with a spec that is not the
run's. Each ends in a clear message and its exit code, never a traceback; nothing is recorded."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from factories import write_project
from hostile_tools import World, assert_untouched, runner, snapshot

from churn.cli.app import app
from churn.errors import ChurnError
from churn.monitoring.overview import serving_drift
from churn.monitoring.prediction_log import PredictionLogFolder, log_table
from churn.monitoring.scored import ScoredBatch

CHURN_METRICS = (
    b"# HELP churn_drift_psi PSI.\n# TYPE churn_drift_psi gauge\n"
    b'churn_drift_psi{column="plan"} 0.31\n'
    b'churn_drift_psi{column="region"} NaN\n'
    b'churn_drift_status{column="plan"} 2.0\n'
    b'churn_drift_status{column="region"} 7.0\n'
    b"churn_drift_score_psi +Inf\n"
    b"churn_drift_window_records NaN\n"
)
ANSWERS: dict[str, tuple[int, bytes]] = {
    "/churn": (200, CHURN_METRICS),
    "/html": (200, b"<html><body>It works!</body></html>"),
    "/json": (200, b'{"detail": "Not Found"}'),
    "/other-exporter": (200, b"# TYPE up gauge\nup 1\n"),
    "/no-label": (200, b"# TYPE churn_drift_psi gauge\nchurn_drift_psi 0.3\n"),
    "/long-label": (200, b'churn_drift_psi{column="' + b"x" * 100_000 + b'"} 0.1\n'),
    "/binary": (200, bytes(range(256))),
    "/empty": (200, b""),
    "/error": (500, b"oops"),
}


class HostileHandler(BaseHTTPRequestHandler):
    """Answers ``/<case>/metrics`` with ``ANSWERS[case]``; ``/slow`` trickles a byte a second."""

    def log_message(self, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        """One answer per case."""
        case = self.path.removesuffix("/metrics")
        if case == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(60):
                try:
                    self.wfile.write(b"#")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.2)
            return
        if case == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"churn_drift_psi")
            return
        status, body = ANSWERS.get(case, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[str]:
    """A local HTTP server answering as :class:`HostileHandler` (stopped after the module)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostileHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def closed_port() -> str:
    """An address nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


NOT_CHURN = "is --api the address of `churn serve`?"
API_CASES: dict[str, tuple[Callable[[str], str], int, str]] = {
    "closed-port": (lambda _: closed_port(), 1, "Connection refused"),
    "http-500": (lambda url: f"{url}/error", 1, "HTTP Error 500"),
    "html-page": (lambda url: f"{url}/html", 1, "does not answer with Prometheus metrics"),
    "json-answer": (lambda url: f"{url}/json", 1, NOT_CHURN),
    "another-exporter": (lambda url: f"{url}/other-exporter", 1, "holds no churn drift metrics"),
    "empty-answer": (lambda url: f"{url}/empty", 1, "holds no churn drift metrics"),
    "binary-answer": (lambda url: f"{url}/binary", 1, "does not answer with text"),
    "cut-short": (lambda url: f"{url}/truncated", 1, "bytes short of its length"),
    "not-http": (lambda _: "ftp://127.0.0.1/", 2, "expected http://host:port"),
    "no-host": (lambda _: "http://", 2, "expected http://host:port"),
    "space-in-url": (lambda _: "http://a b:80", 2, "no spaces or control characters"),
    "port-not-a-number": (lambda _: "http://localhost:port", 2, "--api 'http://localhost:port'"),
}


@pytest.mark.parametrize(("address", "code", "says"), API_CASES.values(), ids=API_CASES.keys())
def test_monitor_api_that_is_not_a_churn_api_fails_clearly(
    hostile_server: str, tmp_path: Path, address: Callable[[str], str], code: int, says: str
) -> None:
    result = runner.invoke(
        app, ["monitor", "--home", str(tmp_path), "--api", address(hostile_server)]
    )
    assert result.exit_code == code, result.output
    assert says in result.output
    assert "unexpected error" not in result.output and "Traceback" not in result.output


def test_monitor_api_gives_up_on_a_server_that_trickles(hostile_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(ChurnError, match=r"did not answer in full within 0\.5 s"):
        serving_drift(f"{hostile_server}/slow", timeout=0.5)
    assert time.monotonic() - started < 3


def test_monitor_api_answer_with_nan_labels_and_odd_values_stays_valid_json(
    hostile_server: str, tmp_path: Path
) -> None:
    common = ["monitor", "--home", str(tmp_path), "--api"]
    result = runner.invoke(app, [*common, f"{hostile_server}/churn", "--json"])
    assert result.exit_code == 0, result.output

    def refuse(constant: str) -> None:
        raise AssertionError(f"not JSON: {constant}")

    served = json.loads(result.output, parse_constant=refuse)["serving_drift"]
    columns = {column["column"]: column for column in served["columns"]}
    assert served["records"] is None
    assert columns["plan"] == {"column": "plan", "psi": 0.31, "status": "alert"}
    assert columns["region"] == {"column": "region", "psi": None, "status": None}
    assert columns["(scores)"]["psi"] is None
    text = runner.invoke(app, [*common, f"{hostile_server}/churn"]).output
    assert "None" not in text and "region" in text
    unnamed = runner.invoke(app, [*common, f"{hostile_server}/no-label"])
    assert unnamed.exit_code == 0, unnamed.output  # a sample without a column is left out
    long = runner.invoke(app, [*common, f"{hostile_server}/long-label"])
    assert long.exit_code == 0 and "(100,000 characters)" in long.output
    assert len(long.output) < 2_000


SCORED = datetime(2026, 11, 30, 9, tzinfo=UTC)
HEADER = "account_id,churned,date\n"
FLAGGED = np.array([0.9])


def csv_file(text: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "outcomes.csv"
        path.write_text(text)
        return path

    return write


def parquet_file(**columns: pa.Array) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "outcomes.parquet"
        pq.write_table(pa.table(columns), path)
        return path

    return write


def folder_named(name: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        (folder / name).mkdir()
        return folder / name

    return make


def symlink_to_folder(folder: Path) -> Path:
    (folder / "real").mkdir()
    (folder / "outcomes.csv").symlink_to(folder / "real")
    return folder / "outcomes.csv"


OUTCOME_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "date-column-twice": (
        csv_file("account_id,churned,date,date\nA1,1,2026-12-20,2026-12-21\n"),
        "column 'date' appears more than once",
    ),
    "epoch-seconds-as-dates": (
        csv_file(HEADER + "A1,1,1765000000\n"),
        "date: lines [2]: not a date: '1765000000'",
    ),
    "integer-dates-in-parquet": (
        parquet_file(account_id=pa.array(["A1"]), churned=pa.array([1]), date=pa.array([0])),
        "date: rows [0]: not a date: '0'",
    ),
    "empty-file": (csv_file(""), "cannot read the file: Empty CSV file"),
    "a-folder": (folder_named("outcomes.csv"), "not a file"),
    "a-symlink-to-a-folder": (symlink_to_folder, "not a file"),
    "both-outcomes-same-day": (
        csv_file(HEADER + "A1,1,2026-12-20\nA2,0,2026-12-20\nA1,no,2026-12-20 09:00\n"),
        "churned: lines [2, 4]: the same id has both outcomes on the same date",
    ),
}


@pytest.fixture
def logged_project(tmp_path: Path) -> tuple[Path, Path]:
    """A project whose prediction log holds one score (A1, flagged); its spec and home."""
    log = PredictionLogFolder(tmp_path / "home" / "predictions", max_bytes=10**9)
    log.write(
        log_table([ScoredBatch(["A1"], "r1", SCORED.timestamp(), FLAGGED, FLAGGED > 0.5)]), SCORED
    )
    return write_project(tmp_path), tmp_path / "home"


@pytest.mark.parametrize(("make", "says"), OUTCOME_CASES.values(), ids=OUTCOME_CASES.keys())
def test_bad_outcomes_file_exits_3_and_records_nothing(
    logged_project: tuple[Path, Path], tmp_path: Path, make: Callable[[Path], Path], says: str
) -> None:
    spec, home = logged_project
    data = make(tmp_path)
    before = snapshot(home)
    result = runner.invoke(app, ["outcomes", str(data), "--spec", str(spec), "--home", str(home)])
    assert result.exit_code == 3, result.output
    assert f"{data}: data contract violated" in result.output and says in result.output
    assert_untouched(home, before)


def test_calendar_dates_written_as_numbers_are_dates(
    logged_project: tuple[Path, Path], tmp_path: Path
) -> None:
    spec, home = logged_project
    data = csv_file(HEADER + "A1,1,20261220\n")(tmp_path)
    result = runner.invoke(app, ["outcomes", str(data), "--spec", str(spec), "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "1 matched with a prediction" in result.output


@pytest.mark.parametrize("log", ["missing", "empty-folder"])
def test_outcomes_before_anything_was_scored_record_no_match(tmp_path: Path, log: str) -> None:
    spec = write_project(tmp_path)
    home = tmp_path / "home"
    if log == "empty-folder":
        (home / "predictions").mkdir(parents=True)
    data = csv_file(HEADER + "A1,1,2026-12-20\n")(tmp_path)
    result = runner.invoke(app, ["outcomes", str(data), "--spec", str(spec), "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "0 matched with a prediction within 30 days, 1 without one" in result.output
    shown = runner.invoke(app, ["monitor", "--home", str(home)])
    assert shown.exit_code == 0 and "(no outcome matched a prediction yet)" in shown.output


def test_drift_with_a_spec_that_renamed_a_column_names_it(world: World) -> None:
    world.spec.write_text(world.spec.read_text().replace("region", "area"))
    lines = world.csv.read_text().split("\n", 1)
    world.csv.write_text(lines[0].replace("region", "area") + "\n" + lines[1])
    before = snapshot(world.home)
    code, output = world.churn("drift", str(world.csv), "--spec", str(world.spec))
    assert "unexpected error" not in output
    assert code == 2 and "region" in output
    assert_untouched(world.home, before)
