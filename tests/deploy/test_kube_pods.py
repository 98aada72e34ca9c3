""".ci/kube_pods.py: the rendered manifests as documents podman kube play accepts."""

from __future__ import annotations

import importlib.util

import pytest
from kube import K8S, ROOT, find, render

spec = importlib.util.spec_from_file_location("kube_pods", ROOT / ".ci" / "kube_pods.py")
assert spec and spec.loader
kube_pods = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kube_pods)


@pytest.fixture(scope="module")
def offline():
    return render(K8S / "overlays" / "offline")


def test_the_job_becomes_the_cronjob_pod_template_as_a_pod(offline) -> None:
    docs = kube_pods.playable(offline, "job")
    pod = docs[-1]
    template = find(offline, "CronJob", "churn-train")["spec"]["jobTemplate"]["spec"]["template"]
    assert (pod["kind"], pod["metadata"]["name"]) == ("Pod", "churn-train")
    assert pod["spec"] == template["spec"]
    assert pod["metadata"]["labels"] == template["metadata"]["labels"]
    assert {d["kind"] for d in docs[:-1]} == {"ConfigMap", "PersistentVolumeClaim"}


def test_the_api_is_played_as_its_deployment(offline) -> None:
    docs = kube_pods.playable(offline, "api")
    played, deployment = docs[-1], find(offline, "Deployment", "churn-api")
    container = played["spec"]["template"]["spec"]["containers"][0]
    assert "ports" not in container  # podman would publish them on the host
    assert container["readinessProbe"]["httpGet"]["port"] == 8000
    assert played["spec"]["selector"] == deployment["spec"]["selector"]
    assert "ports" in deployment["spec"]["template"]["spec"]["containers"][0]  # not changed
    assert "Service" not in {d["kind"] for d in docs}


def test_both_workloads_share_one_volume_claim(offline) -> None:
    docs = kube_pods.playable(offline, "job", "api")
    claims = [d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"]
    assert sorted(claims) == ["churn-home", "churn-predictions"]  # the registry, the API's log
    assert [d["kind"] for d in docs][-2:] == ["Pod", "Deployment"]


def test_a_missing_workload_is_a_clear_error(offline) -> None:
    without = [d for d in offline if d["kind"] != "CronJob"]
    with pytest.raises(SystemExit, match="no CronJob churn-train"):
        kube_pods.playable(without, "job")
