"""GET /runs, /runs/{run_id}, its report and plots; nothing outside a run folder is read."""

from __future__ import annotations

import builtins
import io
from pathlib import Path

import pytest
from apitools import TestClient, Trained

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
SECRET = b"SECRET-DO-NOT-SERVE"


def test_runs_lists_history_newest_first(client: TestClient, trained: Trained) -> None:
    body = client.get("/runs").json()
    assert body["total"] == 2
    assert [run["run_id"] for run in body["runs"]] == [trained.second, trained.first]
    first = body["runs"][1]
    assert first["is_champion"] is True and body["runs"][0]["is_champion"] is False
    assert first["status"] == "succeeded"
    assert first["gates"]["passed"] is True
    assert set(first["metrics"]) >= {"roc_auc", "f1"}


def test_runs_honours_the_limit(client: TestClient, trained: Trained) -> None:
    body = client.get("/runs", params={"limit": 1}).json()
    assert [run["run_id"] for run in body["runs"]] == [trained.second]
    assert body["total"] == 2


def test_runs_refuses_a_limit_out_of_range(client: TestClient) -> None:
    assert client.get("/runs", params={"limit": 0}).status_code == 422


def test_run_detail_has_the_record_and_its_artifacts(client: TestClient, trained: Trained) -> None:
    body = client.get(f"/runs/{trained.first}").json()
    assert body["run_id"] == trained.first
    assert body["selection_metric"] == "roc_auc"
    assert set(body["candidates"]) == {"logreg", "trees"}
    assert body["gate_results"]["passed"] is True
    assert body["data"]["rows"] == 600
    assert body["report"] is False and body["plots"] == []


@pytest.mark.parametrize("run_id", ["20990101T000000Z-abcdef", "..", ".hidden", "a b"])
def test_unknown_or_malformed_run_ids_are_404(client: TestClient, run_id: str) -> None:
    for suffix in ("", "/report", "/plots/roc.png"):
        response = client.get(f"/runs/{run_id}{suffix}")
        assert response.status_code == 404, suffix
        assert "detail" in response.json()


@pytest.fixture
def artifacts(make_client, home: Path, trained: Trained) -> tuple[TestClient, Path]:
    """A client of a home whose first run has a report, a plot, and secrets around it."""
    run = home / "runs" / trained.first
    (run / "plots").mkdir()
    (run / "plots" / "roc_curve.png").write_bytes(PNG)
    (run / "report.html").write_text("<html><body>report</body></html>")
    (home / "secret.png").write_bytes(SECRET)
    (home / "runs" / "secret.png").write_bytes(SECRET)
    (run / "secret.png").write_bytes(SECRET)
    (run / "plots" / "linked.png").symlink_to(home / "secret.png")
    return make_client(home=home), home


def test_report_is_served_as_html(artifacts: tuple[TestClient, Path], trained: Trained) -> None:
    client, _ = artifacts
    response = client.get(f"/runs/{trained.first}/report")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "report" in response.text


def test_report_is_404_when_the_run_has_none(client: TestClient, trained: Trained) -> None:
    response = client.get(f"/runs/{trained.first}/report")
    assert response.status_code == 404
    assert response.json()["detail"] == f"run {trained.first} has no report"


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path the process opens while the test runs."""
    paths: list[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):
        paths.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    return paths


def test_plot_is_served_as_png(
    artifacts: tuple[TestClient, Path], trained: Trained, opened: list[str]
) -> None:
    client, _ = artifacts
    response = client.get(f"/runs/{trained.first}/plots/roc_curve.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == PNG
    assert any(path.endswith("plots/roc_curve.png") for path in opened)  # the spy sees reads
    # The symlinked plot is neither listed nor served: the listing matches what can be fetched.
    assert client.get(f"/runs/{trained.first}").json()["plots"] == ["roc_curve.png"]


@pytest.mark.parametrize(
    "name",
    [
        "..%2Fsecret.png",
        "..%2F..%2Fsecret.png",
        "..%2F..%2F..%2Fsecret.png",
        "%2E%2E%2Fsecret.png",
        "..png",
        ".secret.png",
        "secret.txt",
        "linked.png",
        "missing.png",
        "%2Fetc%2Fpasswd",
        "roc_curve.png%00.png",
        "..%5Csecret.png",
    ],
)
def test_plot_names_outside_the_plots_folder_are_404_and_never_read(
    artifacts: tuple[TestClient, Path], trained: Trained, name: str, opened: list[str]
) -> None:
    client, _ = artifacts
    response = client.get(f"/runs/{trained.first}/plots/{name}")
    assert response.status_code == 404
    assert SECRET not in response.content
    assert not [path for path in opened if "secret" in path], opened
