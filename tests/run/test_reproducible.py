"""Same spec, data and seed: the same outputs, byte for byte (timestamps and ids aside)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from factories import train_run, write_project

VARYING = {"run_id", "started_at", "ended_at", "pid", "champion_after", "spec_path"}


def comparable(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest without what differs between two runs of the same inputs in two folders."""
    kept = {k: v for k, v in manifest.items() if k not in VARYING}
    kept["model"] = {k: v for k, v in kept["model"].items() if k != "path"}
    kept["data"] = {k: v for k, v in kept["data"].items() if k != "path"}
    kept["predictions"] = {k: v for k, v in kept["predictions"].items() if k != "path"}
    # profile.json names its run, so its hash differs; its content is compared on its own
    kept["profile"] = {k: v for k, v in kept["profile"].items() if k not in {"path", "sha256"}}
    for candidate in kept["candidates"].values():
        candidate.pop("fit_seconds")
    return kept


def test_two_runs_of_the_same_inputs_write_the_same_metrics_and_model(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        manifest = train_run(write_project(folder), folder / "home").as_dict()
        runs.append((manifest, folder / "home" / "runs" / manifest["run_id"]))
    (first, first_dir), (second, second_dir) = runs
    runs_dirs = (first_dir, second_dir)

    for name in ("metrics.csv", "spec.yaml"):
        assert (first_dir / name).read_bytes() == (second_dir / name).read_bytes(), name
    first_metrics = json.loads((first_dir / "metrics.json").read_text())
    second_metrics = json.loads((second_dir / "metrics.json").read_text())
    for metrics in (first_metrics, second_metrics):
        for candidate in metrics["candidates"].values():
            candidate.pop("fit_seconds")
    assert first_metrics == second_metrics
    assert comparable(first) == comparable(second)
    profiles = [json.loads((folder / "profile.json").read_text()) for folder in runs_dirs]
    assert [profile.pop("run_id") for profile in profiles] == [first["run_id"], second["run_id"]]
    assert profiles[0] == profiles[1]
    assert first["model"]["sha256"] == second["model"]["sha256"]
