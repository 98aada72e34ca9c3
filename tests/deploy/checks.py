"""What the rendered manifests must say. Each check returns its problems (empty: it holds).

Checks take the rendered documents, so the tests can run each one on the real render and on a
deliberately broken copy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from kube import ROOT, Doc, containers, env, find, workloads

Check = Callable[[list[Doc]], list[str]]
SPEC_FILE = "telco.yaml"
SPEC_MOUNT = "/app/spec"
HOME_MOUNT = "/var/lib/churn"


def nightly_at_two(docs: list[Doc]) -> list[str]:
    """The CronJob's schedule parses and fires at 02:00 every day, in an explicit time zone."""
    spec = find(docs, "CronJob", "churn-train")["spec"]
    try:
        zone = ZoneInfo(spec.get("timeZone", ""))
    except (ZoneInfoNotFoundError, ValueError):
        return [f"timeZone {spec.get('timeZone')!r} is not an IANA time zone"]
    start = datetime(2026, 3, 1, 12, 0, tzinfo=zone)
    try:
        fires = CronSim(spec["schedule"], start)
        times = [next(fires) for _ in range(7)]
    except CronSimError as exc:
        return [f"schedule {spec['schedule']!r} does not parse: {exc}"]
    days = [(t - start.replace(hour=0)).days for t in times]
    if any((t.hour, t.minute) != (2, 0) for t in times) or days != list(range(1, 8)):
        return [f"schedule {spec['schedule']!r} is not 02:00 daily: fires {times}"]
    return []


def job_policy(docs: list[Doc]) -> list[str]:
    """One run at a time, bounded in time and retries; exit 2-4 fail the Job without a retry."""
    cron = find(docs, "CronJob", "churn-train")["spec"]
    job = cron["jobTemplate"]["spec"]
    problems = [f"concurrencyPolicy is {cron.get('concurrencyPolicy')}, expected Forbid"]
    problems = problems if cron.get("concurrencyPolicy") != "Forbid" else []
    for where, key in [
        (cron, "startingDeadlineSeconds"),
        (cron, "successfulJobsHistoryLimit"),
        (cron, "failedJobsHistoryLimit"),
        (job, "backoffLimit"),
        (job, "activeDeadlineSeconds"),
    ]:
        if not isinstance(where.get(key), int):
            problems.append(f"{key} is not set")
    fail_codes = {
        code
        for rule in job.get("podFailurePolicy", {}).get("rules", [])
        if rule.get("action") == "FailJob" and rule.get("onExitCodes", {}).get("operator") == "In"
        for code in rule["onExitCodes"].get("values", [])
    }
    if not {2, 3, 4} <= fail_codes:
        problems.append(f"exit codes 2, 3, 4 must fail the Job at once; FailJob on {fail_codes}")
    if job["template"]["spec"].get("restartPolicy") != "Never":
        problems.append("restartPolicy must be Never (a failed run is not restarted in place)")
    return problems


def selectors_match(docs: list[Doc]) -> list[str]:
    """Each Deployment selects its own pods; each Service selects some workload's pods."""
    problems = []
    pod_labels = {name: t["metadata"].get("labels", {}) for name, t in workloads(docs)}
    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind == "Deployment":
            wanted = doc["spec"]["selector"].get("matchLabels", {})
            labels = doc["spec"]["template"]["metadata"].get("labels", {})
            if not wanted or wanted.items() - labels.items():
                problems.append(f"Deployment/{name} selector {wanted} misses its pods {labels}")
        if kind == "Service":
            wanted = doc["spec"].get("selector", {})
            if not any(wanted and wanted.items() <= ls.items() for ls in pod_labels.values()):
                problems.append(f"Service/{name} selector {wanted} matches no pod template")
    return problems


def hardened(docs: list[Doc]) -> list[str]:
    """Every container: non-root, read-only root, no escalation, no capabilities, seccomp,
    requests and limits, and an emptyDir at /tmp."""
    problems = []
    for name, template in workloads(docs):
        pod = template["spec"]
        pod_security = pod.get("securityContext", {})
        empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for c in containers(template):
            where = f"{name} container {c['name']}"
            security = {**pod_security, **c.get("securityContext", {})}
            if security.get("runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot is not true")
            if security.get("runAsUser", 1) == 0:
                problems.append(f"{where}: runAsUser is 0")
            if c.get("securityContext", {}).get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            if c.get("securityContext", {}).get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if "ALL" not in c.get("securityContext", {}).get("capabilities", {}).get("drop", []):
                problems.append(f"{where}: capabilities do not drop ALL")
            if security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                problems.append(f"{where}: seccompProfile is not RuntimeDefault")
            resources = c.get("resources", {})
            for part in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(part, {}))
                if missing:
                    problems.append(f"{where}: no {part} for {sorted(missing)}")
            tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            if not tmp or tmp[0]["name"] not in empty_dirs:
                problems.append(f"{where}: /tmp is not an emptyDir (the root is read-only)")
    return problems


def one_image(docs: list[Doc]) -> list[str]:
    """Every container runs the image the kustomization names (newName:newTag)."""
    import yaml

    kustomization = yaml.safe_load((ROOT / "k8s" / "base" / "kustomization.yaml").read_text())
    entry = next(i for i in kustomization["images"] if i["name"] == "churn")
    expected = f"{entry['newName']}:{entry['newTag']}"
    return [
        f"{name} container {c['name']} runs {c.get('image')}, expected {expected}"
        for name, template in workloads(docs)
        for c in containers(template)
        if c.get("image") != expected
    ]


def spec_config_map(docs: list[Doc]) -> list[str]:
    """The spec ConfigMap holds spec/telco.yaml byte for byte, and is what the pods mount."""
    maps = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("churn-spec")
    ]
    if len(maps) != 1:
        return [f"expected one churn-spec ConfigMap, found {len(maps)}"]
    problems = []
    expected = (ROOT / "spec" / SPEC_FILE).read_text(encoding="utf-8")
    if maps[0].get("data", {}).get(SPEC_FILE) != expected:
        problems.append(
            "the ConfigMap's telco.yaml differs from spec/telco.yaml: "
            "cp spec/telco.yaml k8s/base/spec/telco.yaml"
        )
    map_name = maps[0]["metadata"]["name"]
    for name, template in workloads(docs):
        volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
        for c in containers(template):
            if c["name"] not in ("train", "api"):
                continue
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            volume = volumes.get(mounts.get(SPEC_MOUNT, ""), {})
            if volume.get("configMap", {}).get("name") != map_name:
                problems.append(f"{name}: {SPEC_MOUNT} is not the {map_name} ConfigMap")
            if HOME_MOUNT not in mounts:
                problems.append(f"{name}: CHURN_HOME ({HOME_MOUNT}) is not mounted")
    job = find(docs, "CronJob", "churn-train")["spec"]["jobTemplate"]["spec"]["template"]
    if f"{SPEC_MOUNT}/{SPEC_FILE}" not in containers(job)[0].get("args", []):
        problems.append(f"the job does not run {SPEC_MOUNT}/{SPEC_FILE}")
    return problems


def api_serving(docs: list[Doc]) -> list[str]:
    """Probes on /ready and /health, a rolling update, the registry read-only, scraped."""
    api = find(docs, "Deployment", "churn-api")
    template = api["spec"]["template"]
    container = containers(template)[0]
    problems = []
    if container.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/ready":
        problems.append("readinessProbe is not GET /ready")
    if container.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/health":
        problems.append("livenessProbe is not GET /health")
    if api["spec"].get("strategy", {}).get("type") != "RollingUpdate":
        problems.append("strategy is not RollingUpdate")
    home = [m for m in container.get("volumeMounts", []) if m["mountPath"] == HOME_MOUNT]
    if not home or home[0].get("readOnly") is not True:
        problems.append(f"{HOME_MOUNT} is not mounted read-only")
    notes = template["metadata"].get("annotations", {})
    ports = {str(p["containerPort"]) for p in container.get("ports", [])}
    if notes.get("prometheus.io/scrape") != "true" or notes.get("prometheus.io/port") not in ports:
        problems.append(f"scrape annotations {notes} do not name a container port {ports}")
    if notes.get("prometheus.io/path") != "/metrics":
        problems.append("prometheus.io/path is not /metrics")
    return problems


def reports_to_prefect(docs: list[Doc]) -> list[str]:
    """Base: the job's PREFECT_API_URL is the Prefect server Service's address."""
    service = find(docs, "Service", "prefect-server")
    port = service["spec"]["ports"][0]["port"]
    job = find(docs, "CronJob", "churn-train")["spec"]["jobTemplate"]["spec"]["template"]
    url = env(containers(job)[0]).get("PREFECT_API_URL")
    expected = f"http://{service['metadata']['name']}:{port}/api"
    return [] if url == expected else [f"PREFECT_API_URL is {url!r}, expected {expected!r}"]


def runs_offline(docs: list[Doc]) -> list[str]:
    """Offline overlay: no Prefect server, and the job does not look for one."""
    problems = [
        f"{d['kind']}/{d['metadata']['name']} is still deployed"
        for d in docs
        if d["metadata"]["name"] in ("prefect-server", "prefect-data")
    ]
    job = find(docs, "CronJob", "churn-train")["spec"]["jobTemplate"]["spec"]["template"]
    if "PREFECT_API_URL" in env(containers(job)[0]):
        problems.append("the job still sets PREFECT_API_URL")
    return problems


def runs_on_dask(docs: list[Doc]) -> list[str]:
    """Dask overlay: the job's CHURN_DASK_SCHEDULER is the scheduler Service's comm port, which
    selects the scheduler's pods; the workers join that address; the workers mount no volume
    but /tmp (the job alone writes the registry)."""
    service = find(docs, "Service", "dask-scheduler")
    port = next(p for p in service["spec"]["ports"] if p["name"] == "comm")["port"]
    expected = f"tcp://{service['metadata']['name']}:{port}"
    problems = []
    job = find(docs, "CronJob", "churn-train")["spec"]["jobTemplate"]["spec"]["template"]
    found = env(containers(job)[0]).get("CHURN_DASK_SCHEDULER")
    if found != expected:
        problems.append(f"CHURN_DASK_SCHEDULER is {found!r}, expected {expected!r}")
    scheduler = find(docs, "Deployment", "dask-scheduler")["spec"]["template"]
    labels = scheduler["metadata"].get("labels", {})
    selector = service["spec"]["selector"]
    if not selector.items() <= labels.items():
        problems.append(f"Service/dask-scheduler selects {selector}, not the scheduler {labels}")
    if "scheduler" not in containers(scheduler)[0].get("args", [])[:2]:
        problems.append("Deployment/dask-scheduler does not run `dask scheduler`")
    worker = find(docs, "Deployment", "dask-worker")["spec"]["template"]
    args = containers(worker)[0].get("args", [])
    if args[:2] != ["dask", "worker"] or expected not in args:
        problems.append(f"Deployment/dask-worker does not run `dask worker {expected}`: {args}")
    mounts = [m["mountPath"] for m in containers(worker)[0].get("volumeMounts", [])]
    if mounts != ["/tmp"]:
        problems.append(f"Deployment/dask-worker mounts {mounts}; only /tmp (no registry)")
    return problems


BOTH: dict[str, Check] = {
    "nightly_at_two": nightly_at_two,
    "job_policy": job_policy,
    "selectors_match": selectors_match,
    "hardened": hardened,
    "one_image": one_image,
    "spec_config_map": spec_config_map,
    "api_serving": api_serving,
}
"""Checks that hold for the base and for every overlay (offline, dask)."""
