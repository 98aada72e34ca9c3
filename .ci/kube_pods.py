"""Turn rendered kustomize output into what `podman kube play` accepts.

    kubectl kustomize k8s/overlays/offline | python3 .ci/kube_pods.py job api > play.yaml

podman 4.3 plays Pods, Deployments, ConfigMaps and PVCs, and refuses a CronJob: the CronJob's
pod template becomes a ``kind: Pod`` (what one night's Job would start). Services, Namespaces
and anything else it cannot play are left out. podman also publishes every ``containerPort``
on the host (taken ports fail the play, and need a network): the API's ports are dropped and
its probes name the port by number.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import yaml

PLAYABLE_SUPPORT = {"ConfigMap", "PersistentVolumeClaim"}


def cronjob_pod(cronjob: dict[str, Any]) -> dict[str, Any]:
    """The Pod one run of the CronJob starts: its job template's pod template."""
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    metadata = {**template.get("metadata", {}), "name": cronjob["metadata"]["name"]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}


def without_host_ports(deployment: dict[str, Any]) -> dict[str, Any]:
    """The Deployment without container ports; probes by port number instead of by name."""
    played = copy.deepcopy(deployment)
    for container in played["spec"]["template"]["spec"]["containers"]:
        ports = {p.get("name"): p["containerPort"] for p in container.pop("ports", [])}
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            get = container.get(probe, {}).get("httpGet", {})
            if get.get("port") in ports:
                get["port"] = ports[get["port"]]
    return played


def playable(docs: list[dict[str, Any]], *workloads: str) -> list[dict[str, Any]]:
    """ConfigMaps and PVCs, then the job's Pod (``job``) and/or the API Deployment (``api``).

    One file for both: podman refuses to create a PVC's volume twice.
    """
    out = [d for d in docs if d.get("kind") in PLAYABLE_SUPPORT]
    for workload in workloads:
        wanted = {"job": ("CronJob", "churn-train"), "api": ("Deployment", "churn-api")}[workload]
        found = [d for d in docs if (d.get("kind"), d.get("metadata", {}).get("name")) == wanted]
        if not found:
            raise SystemExit(f"kube_pods: no {wanted[0]} {wanted[1]} in the rendered manifests")
        out += [cronjob_pod(d) if workload == "job" else without_host_ports(d) for d in found]
    return out


def main(argv: list[str]) -> int:
    """Read rendered YAML on stdin, write the playable documents of the named workloads."""
    if not argv or not set(argv) <= {"job", "api"}:
        print("usage: kube_pods.py job|api ... < rendered.yaml", file=sys.stderr)
        return 2
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    yaml.safe_dump_all(playable(docs, *argv), sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
