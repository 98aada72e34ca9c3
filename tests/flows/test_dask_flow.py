"""``churn run`` with CHURN_DASK_SCHEDULER: the Prefect flow trains on the named cluster."""

from __future__ import annotations

import json
import os
from pathlib import Path

import distributed
import pytest
import yaml
from factories import subscriptions_spec, train_run
from typer.testing import CliRunner

from churn.cli.app import app

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect_server")]


@pytest.mark.slow  # a Dask LocalCluster and a whole run: 50 s
def test_churn_run_trains_every_candidate_on_the_named_cluster(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = project / "spec.yaml"
    spec.write_text(yaml.safe_dump(subscriptions_spec(), sort_keys=False))
    local = train_run(spec, project / "local").as_dict()
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as watcher,
        distributed.get_task_stream(client=watcher) as stream,
    ):
        monkeypatch.setenv("CHURN_DASK_SCHEDULER", cluster.scheduler_address)
        result = CliRunner().invoke(app, ["run", str(spec), "--home", str(project / "dask")])

    assert result.exit_code == 0, result.output
    assert f"training on the Dask cluster at {cluster.scheduler_address}" in result.stderr
    assert f"Prefect API {os.environ['PREFECT_API_URL']}" in result.stderr
    trained = [t for t in stream.data if str(t["key"]).startswith("train-")]
    assert len(trained) == len(subscriptions_spec()["models"])
    run_dir = next((project / "dask" / "runs").iterdir())
    manifest = json.loads((run_dir / "run.json").read_text())
    for name, candidate in local["candidates"].items():
        assert manifest["candidates"][name]["cv_folds"] == candidate["cv_folds"]
        assert manifest["candidates"][name]["holdout"] == candidate["holdout"]
    assert manifest["decision"]["action"] == "promote"
