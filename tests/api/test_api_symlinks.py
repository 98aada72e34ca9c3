"""The API never serves a run folder, run.json, report or plot reached through a symlink."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from apitools import TestClient, Trained

PNG = b"\x89PNG\r\n\x1a\n" + b"outside" * 8


@pytest.fixture
def linked(
    make_client: Callable[..., TestClient], home: Path, trained: Trained, tmp_path: Path
) -> TestClient:
    """The second run's folder moved outside the home, with plots and a report, symlinked back."""
    run = home / "runs" / trained.second
    (run / "plots").mkdir(exist_ok=True)
    (run / "plots" / "roc_curve.png").write_bytes(PNG)
    (run / "report.html").write_text("<html>outside</html>")
    outside = tmp_path / "outside-run"
    shutil.move(run, outside)
    run.symlink_to(outside, target_is_directory=True)
    return make_client(home=home)


@pytest.mark.parametrize("suffix", ["", "/report", "/plots/roc_curve.png"])
def test_a_symlinked_run_folder_is_404_everywhere(
    linked: TestClient, trained: Trained, suffix: str
) -> None:
    response = linked.get(f"/runs/{trained.second}{suffix}")
    assert response.status_code == 404
    assert trained.second in response.json()["detail"]
    assert "outside" not in response.text


def test_a_symlinked_run_folder_is_not_listed(linked: TestClient, trained: Trained) -> None:
    runs = linked.get("/runs").json()
    assert [r["run_id"] for r in runs["runs"]] == [trained.first]
    assert runs["total"] == 1


@pytest.mark.parametrize("name", ["run.json", "report.html"])
def test_a_symlinked_file_in_a_real_run_folder_is_404(
    make_client: Callable[..., TestClient],
    home: Path,
    trained: Trained,
    tmp_path: Path,
    name: str,
) -> None:
    run = home / "runs" / trained.first
    if name == "report.html":
        (run / name).write_text("<html>inside</html>")
    shutil.move(run / name, tmp_path / name)
    (run / name).symlink_to(tmp_path / name)
    client = make_client(home=home)
    path = f"/runs/{trained.first}" + ("/report" if name == "report.html" else "")
    assert client.get(path).status_code == 404
