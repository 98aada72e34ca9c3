"""What the rendered manifests must say. Each check returns its problems (empty: it holds).

Checks take the rendered documents, so the tests can run each one on the real render and on a
deliberately broken copy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from cronsim import CronSim, CronSimError
from kube import ROOT, Doc, containers, env, find, workloads

Check = Callable[[list[Doc]], list[str]]
SPEC_FILE = "telco.yaml"
DB_SPEC_FILE = "telco-db.yaml"
"""spec/telco.yaml reading PostgreSQL: the spec the base's jobs run."""
SPEC_MOUNT = "/app/spec"
HOME_MOUNT = "/var/lib/churn"
DATABASE_SECRET = "churn-database"
"""The Secret holding the database URL (created by hand, never rendered from the repo)."""


def nightly_at_two(docs: list[Doc]) -> list[str]:
    """The CronJob's schedule parses and fires at 02:00 every day, in an explicit time zone."""
    return daily_at(docs, "churn-train", 2)


def daily_at(docs: list[Doc], name: str, hour: int) -> list[str]:
    """CronJob ``name`` fires at ``hour``:00 every day, in an explicit time zone."""
    spec = find(docs, "CronJob", name)["spec"]
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
    if any((t.hour, t.minute) != (hour, 0) for t in times) or days != list(range(1, 8)):
        return [f"schedule {spec['schedule']!r} is not {hour:02d}:00 daily: fires {times}"]
    return []


def job_policy(docs: list[Doc]) -> list[str]:
    """One run at a time, bounded in time and retries; exit 2-4 fail the Job without a retry."""
    return cron_policy(docs, "churn-train", {2, 3, 4})


def cron_policy(docs: list[Doc], name: str, fail_at_once: set[int]) -> list[str]:
    """CronJob ``name``: one at a time, bounded; ``fail_at_once`` exit codes are not retried."""
    cron = find(docs, "CronJob", name)["spec"]
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
    if not fail_at_once <= fail_codes:
        problems.append(
            f"exit codes {sorted(fail_at_once)} must fail the Job at once; FailJob on {fail_codes}"
        )
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
    """The spec ConfigMap holds spec/telco.yaml byte for byte (and telco-db.yaml, the same but
    for data.source), is what the pods mount, and the job runs one of its specs."""
    maps = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("churn-spec")
    ]
    if len(maps) != 1:
        return [f"expected one churn-spec ConfigMap, found {len(maps)}"]
    problems = []
    expected = (ROOT / "spec" / SPEC_FILE).read_text(encoding="utf-8")
    cluster_copy = maps[0].get("data", {}).get(SPEC_FILE, "")
    if cluster_copy != cluster_spec(expected):
        problems.append(
            "the ConfigMap's telco.yaml differs from spec/telco.yaml (but for the gate tests' "
            "line, commented out): cp spec/telco.yaml k8s/base/spec/telco.yaml and comment out "
            "gates.tests"
        )
    problems += _same_but_the_source(maps[0].get("data", {}), cluster_spec(expected))
    map_name = maps[0]["metadata"]["name"]
    for name, template in workloads(docs):
        volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
        for c in containers(template):
            if c["name"] not in ("train", "api", "score"):
                continue
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            volume = volumes.get(mounts.get(SPEC_MOUNT, ""), {})
            if volume.get("configMap", {}).get("name") != map_name:
                problems.append(f"{name}: {SPEC_MOUNT} is not the {map_name} ConfigMap")
            if HOME_MOUNT not in mounts:
                problems.append(f"{name}: CHURN_HOME ({HOME_MOUNT}) is not mounted")
    job = find(docs, "CronJob", "churn-train")["spec"]["jobTemplate"]["spec"]["template"]
    specs = {f"{SPEC_MOUNT}/{key}" for key in maps[0].get("data", {})}
    if not specs & set(containers(job)[0].get("args", [])):
        problems.append(f"the job runs none of the ConfigMap's specs {sorted(specs)}")
    return problems


GATE_TESTS_LINE = "  tests: [gates/]  "
"""spec/telco.yaml's gates.tests line. The cluster's copies comment it out: a ConfigMap volume
holds files, not folders, and podman 4.3 (the smoke test's runtime) can mount none into a
subfolder of one, so the pytest files of spec/gates/ do not reach the job (the declared slices,
which need no file, still run)."""


def cluster_spec(text: str) -> str:
    """spec/telco.yaml as the cluster's ConfigMap holds it: the gate tests' line commented out."""
    return text.replace(GATE_TESTS_LINE, "  # tests: [gates/]", 1)


def _same_but_the_source(files: dict[str, str], expected: str) -> list[str]:
    """telco-db.yaml, when the map holds it, is telco.yaml but for a SQL ``data.source``."""
    if DB_SPEC_FILE not in files:
        return []
    database, shipped = yaml.safe_load(files[DB_SPEC_FILE]), yaml.safe_load(expected)
    source = database["data"].pop("source", None)
    shipped["data"].pop("source")
    problems = []
    if database != shipped:
        problems.append(f"{DB_SPEC_FILE} differs from spec/{SPEC_FILE} beyond data.source")
    if not isinstance(source, dict) or source.get("kind") != "sql":
        problems.append(f"{DB_SPEC_FILE}: data.source is not a SQL source: {source!r}")
    elif ":as_of" not in str(source.get("query", "")):
        problems.append(f"{DB_SPEC_FILE}: the query does not bind :as_of (the snapshot date)")
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


def database_from_secret(docs: list[Doc]) -> list[str]:
    """Base: training and scoring run telco-db.yaml, whose ``url_file`` is the database
    Secret's key mounted read-only in both; no URL with a password is in any manifest, and
    no Secret is rendered (it is created by hand)."""
    problems = [
        f"Secret/{d['metadata']['name']} is in the manifests: create it by hand"
        for d in docs
        if d["kind"] == "Secret"
    ]
    files = next(
        d["data"]
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("churn-spec")
    )
    source = yaml.safe_load(files.get(DB_SPEC_FILE, "data: {}"))["data"].get("source") or {}
    url_file = str(source.get("url_file", "")) if isinstance(source, dict) else ""
    for name, container_name in (("churn-train", "train"), ("churn-score", "score")):
        template = find(docs, "CronJob", name)["spec"]["jobTemplate"]["spec"]["template"]
        container = next(c for c in containers(template) if c["name"] == container_name)
        if f"{SPEC_MOUNT}/{DB_SPEC_FILE}" not in container.get("args", []):
            problems.append(f"{name} does not run {SPEC_MOUNT}/{DB_SPEC_FILE}")
        problems += _secret_file_mounted(name, template, container, url_file)
    for name, template in workloads(docs):
        for c in containers(template):
            for variable in c.get("env") or []:
                value = str(variable.get("value", ""))
                if "://" in value and "@" in value:
                    problems.append(f"{name} {variable['name']} holds a URL with credentials")
    return problems


def _secret_file_mounted(name: str, template: Doc, container: Doc, url_file: str) -> list[str]:
    volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        secret = volumes.get(mount["name"], {}).get("secret", {})
        if secret.get("secretName") != DATABASE_SECRET:
            continue
        paths = {f"{mount['mountPath']}/{item['path']}" for item in secret.get("items", [])}
        if url_file not in paths:
            return [f"{name}: the spec's url_file {url_file!r} is not the Secret's {paths}"]
        if mount.get("readOnly") is not True or secret.get("optional", False):
            return [f"{name}: the {DATABASE_SECRET} Secret is optional or mounted writable"]
        return []
    return [f"{name}: the {DATABASE_SECRET} Secret is not mounted"]


def api_reaches_the_database(docs: list[Doc]) -> list[str]:
    """The API can use ``CHURN_PREDICTION_LOG_TABLE``: its ``CHURN_DATABASE_URL_FILE`` is the
    churn-database Secret's ``url`` key, mounted read-only and optional (the API starts without
    the Secret), and no database URL is written into its environment."""
    template = find(docs, "Deployment", "churn-api")["spec"]["template"]
    container = next(c for c in containers(template) if c["name"] == "api")
    variables = {v["name"]: v for v in container.get("env") or []}
    problems = []
    if "CHURN_DATABASE_URL" in variables:
        problems.append("churn-api: CHURN_DATABASE_URL is set in the manifest, not from the Secret")
    url_file = str(variables.get("CHURN_DATABASE_URL_FILE", {}).get("value", ""))
    if not url_file:
        return [*problems, "churn-api: CHURN_DATABASE_URL_FILE is not set"]
    volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        secret = volumes.get(mount["name"], {}).get("secret", {})
        if secret.get("secretName") != DATABASE_SECRET:
            continue
        paths = {
            f"{mount['mountPath']}/{item['path']}"
            for item in secret.get("items", [])
            if item.get("key") == "url"
        }
        if url_file not in paths:
            problems.append(f"churn-api: CHURN_DATABASE_URL_FILE {url_file!r} is not in {paths}")
        if mount.get("readOnly") is not True:
            problems.append(f"churn-api: the {DATABASE_SECRET} Secret is mounted writable")
        if secret.get("optional") is not True:
            problems.append(f"churn-api: the {DATABASE_SECRET} Secret is required to start")
        return problems
    return [*problems, f"churn-api: the {DATABASE_SECRET} Secret is not mounted"]


def scores_after_training(docs: list[Doc]) -> list[str]:
    """Base: churn-score runs `churn score --spec SPEC --to-table SCHEMA.TABLE` at 03:00 daily,
    an hour after training, in training's time zone and with training's spec; one at a time,
    bounded, exit 2 and 3 not retried; it reads the registry read-only."""
    score = find(docs, "CronJob", "churn-score")["spec"]
    train = find(docs, "CronJob", "churn-train")["spec"]
    problems = daily_at(docs, "churn-score", 3) + cron_policy(docs, "churn-score", {2, 3})
    if score.get("timeZone") != train.get("timeZone"):
        problems.append(f"timeZone {score.get('timeZone')} is not training's")
    template = score["jobTemplate"]["spec"]["template"]
    args = containers(template)[0].get("args", [])
    trained = containers(train["jobTemplate"]["spec"]["template"])[0].get("args", [])
    spec = args[args.index("--spec") + 1] if "--spec" in args[:-1] else None
    table = args[args.index("--to-table") + 1] if "--to-table" in args[:-1] else ""
    if args[:2] != ["churn", "score"] or spec not in trained:
        problems.append(
            f"churn-score does not run `churn score --spec` with training's spec: {args}"
        )
    if len(table.split(".")) != 2 or "-o" in args or "--output" in args:
        problems.append(f"churn-score does not write to one SCHEMA.TABLE: {args}")
    home = [
        m for m in containers(template)[0].get("volumeMounts", []) if m["mountPath"] == HOME_MOUNT
    ]
    if not home or home[0].get("readOnly") is not True:
        problems.append(f"churn-score: {HOME_MOUNT} is not mounted read-only")
    return problems


def trains_on_the_shipped_file(docs: list[Doc]) -> list[str]:
    """Offline overlay: training runs spec/telco.yaml (the file in the image), no workload
    mounts the database Secret, and nothing scores into a database."""
    job = find(docs, "CronJob", "churn-train")["spec"]["jobTemplate"]["spec"]["template"]
    problems = []
    if f"{SPEC_MOUNT}/{SPEC_FILE}" not in containers(job)[0].get("args", []):
        problems.append(f"the job does not run {SPEC_MOUNT}/{SPEC_FILE}")
    for name, template in workloads(docs):
        for volume in template["spec"].get("volumes", []):
            if volume.get("secret", {}).get("secretName") == DATABASE_SECRET:
                problems.append(f"{name} still mounts the {DATABASE_SECRET} Secret")
    if any(d["kind"] == "CronJob" and d["metadata"]["name"] == "churn-score" for d in docs):
        problems.append("CronJob/churn-score is still deployed")
    return problems


def trains_if_needed(docs: list[Doc]) -> list[str]:
    """The nightly job runs `churn run ... --if-needed`: it trains only when the champion is
    missing or too old, or the data drifted (issue 23); otherwise it records the skip."""
    job = find(docs, "CronJob", "churn-train")["spec"]["jobTemplate"]["spec"]["template"]
    args = containers(job)[0].get("args", [])
    if args[:2] != ["churn", "run"] or "--if-needed" not in args:
        return [f"churn-train does not run `churn run ... --if-needed`: {args}"]
    return []


BOTH: dict[str, Check] = {
    "nightly_at_two": nightly_at_two,
    "job_policy": job_policy,
    "selectors_match": selectors_match,
    "hardened": hardened,
    "one_image": one_image,
    "spec_config_map": spec_config_map,
    "api_serving": api_serving,
    "trains_if_needed": trains_if_needed,
}
"""Checks that hold for the base and for every overlay (offline, dask)."""
