"""GET /runs, /runs/{run_id}, its report and its plots. Never reads outside the registry.

A run folder, run.json, report or plot that is a symlink is refused (404), wherever it points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import FileResponse

from churn.api.deps import RegistryDep
from churn.api.schemas import ErrorDetail, RunDetail, RunList
from churn.api.views import PLOT_NAME, PLOTS_DIR, REPORT_FILE, detail, summary
from churn.errors import RegistryError
from churn.registry import Registry, RunManifest, RunNotFound
from churn.registry.home import is_safe_name

router = APIRouter(prefix="/runs", tags=["runs"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorDetail}}


@router.get("", response_model=RunList, summary="Run history, newest first")
def list_runs(
    registry: RegistryDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many runs.")] = 20,
) -> RunList:
    """Readable runs, newest first (by start time), at most ``limit``; ``total`` counts all."""
    runs = registry.records(limit=limit)
    champion_id = _champion_id(registry)
    return RunList(runs=[summary(m, champion_id) for m in runs], total=len(registry.run_ids()))


@router.get("/{run_id}", response_model=RunDetail, summary="One run", responses=NOT_FOUND)
def get_run(run_id: str, registry: RegistryDep) -> RunDetail:
    """The run's record: status, times, candidates, metrics, gates, decision, artifacts."""
    manifest = _manifest(registry, run_id)
    return detail(manifest, _champion_id(registry), registry.run_dir(run_id))


@router.get(
    "/{run_id}/report",
    response_model=None,
    response_class=FileResponse,
    summary="The run's HTML report",
    responses={200: {"content": {"text/html": {}}}, **NOT_FOUND},
)
def get_report(run_id: str, registry: RegistryDep) -> FileResponse:
    """report.html of the run; 404 when the run or its report does not exist."""
    _manifest(registry, run_id)
    path = _inside(registry, registry.run_dir(run_id) / REPORT_FILE)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} has no report")
    return FileResponse(path, media_type="text/html; charset=utf-8")


@router.get(
    "/{run_id}/plots/{name}",
    response_model=None,
    response_class=FileResponse,
    summary="One PNG plot of the run",
    responses={200: {"content": {"image/png": {}}}, **NOT_FOUND},
)
def get_plot(run_id: str, name: str, registry: RegistryDep) -> FileResponse:
    """``runs/<run_id>/plots/<name>``; names are letters, digits, '_', '-', '.' and end in .png."""
    if not PLOT_NAME.fullmatch(name) or ".." in name:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no plot {name!r}")
    _manifest(registry, run_id)
    path = _inside(registry, registry.run_dir(run_id) / PLOTS_DIR / name)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} has no plot {name!r}")
    return FileResponse(path, media_type="image/png")


def _manifest(registry: Registry, run_id: str) -> RunManifest:
    if not is_safe_name(run_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id!r} not found")
    try:
        return registry.record(run_id)
    except RunNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} not found") from None


def _inside(registry: Registry, path: Path) -> Path | None:
    """``path`` if it is a regular file in the registry, reached through no symlink."""
    try:
        return registry.inside(path) if path.is_file() else None
    except RegistryError:
        return None


def _champion_id(registry: Registry) -> str | None:
    try:
        pointer = registry.champion()
    except Exception:  # noqa: BLE001 - an unreadable pointer means no champion to flag
        return None
    return pointer.run_id if pointer else None
