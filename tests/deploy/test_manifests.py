"""The rendered kustomizations (base, offline and dask overlays) say what the cluster needs.

Every check runs on the real render and on a copy broken in one way, so each is shown to fail.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import checks
import kubernetes_validate
import pytest
from kube import K8S, Doc, containers, env, find, render, workloads

K8S_VERSION = "1.33"
"""The oldest Kubernetes the manifests target (CronJob timeZone and podFailurePolicy are GA)."""


@pytest.fixture(scope="module")
def base() -> list[Doc]:
    return render(K8S)


@pytest.fixture(scope="module")
def offline() -> list[Doc]:
    return render(K8S / "overlays" / "offline")


@pytest.fixture(scope="module")
def dask() -> list[Doc]:
    return render(K8S / "overlays" / "dask")


@pytest.fixture(scope="module")
def jobs() -> list[Doc]:
    return render(K8S / "jobs")


def test_the_rollback_job_is_valid_hardened_and_runs_the_same_image(jobs) -> None:
    assert validation_errors(jobs) == []
    assert checks.hardened(jobs) == []
    assert checks.one_image(jobs) == []
    rollback = find(jobs, "Job", "churn-rollback")["spec"]["template"]
    assert "churn rollback" in " ".join(containers(rollback)[0]["args"])


def validation_errors(docs: list[Doc]) -> list[str]:
    """kubernetes-validate --strict on every document: unknown fields are errors too."""
    problems = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    return problems


@pytest.mark.parametrize("variant", ["base", "offline", "dask"])
def test_rendered_manifests_pass_kubernetes_validate_strict(variant, request) -> None:
    docs = request.getfixturevalue(variant)
    assert validation_errors(docs) == []
    assert {"CronJob", "Deployment", "Service", "PersistentVolumeClaim", "ConfigMap"} <= {
        d["kind"] for d in docs
    }


@pytest.mark.parametrize("variant", ["base", "offline", "dask"])
@pytest.mark.parametrize("name", sorted(checks.BOTH))
def test_check_holds(name, variant, request) -> None:
    assert checks.BOTH[name](request.getfixturevalue(variant)) == []


def test_base_job_reports_to_the_prefect_server(base) -> None:
    assert checks.reports_to_prefect(base) == []
    assert find(base, "Deployment", "prefect-server")


def test_offline_overlay_runs_without_a_prefect_server(offline, base) -> None:
    assert checks.runs_offline(offline) == []
    assert checks.runs_offline(base) != []


@pytest.mark.parametrize("variant", ["base", "dask"])
def test_training_and_scoring_read_the_database_from_the_secret(variant, request) -> None:
    docs = request.getfixturevalue(variant)
    assert checks.database_from_secret(docs) == []
    assert checks.scores_after_training(docs) == []


def api_pod(docs: list[Doc]) -> Doc:
    return find(docs, "Deployment", "churn-api")["spec"]["template"]


def api_secret(docs: list[Doc]) -> Doc:
    return next(v for v in api_pod(docs)["spec"]["volumes"] if "secret" in v)["secret"]


def api_env(docs: list[Doc]) -> list[Doc]:
    variables: list[Doc] = containers(api_pod(docs))[0]["env"]
    return variables


API_DATABASE_MUTATIONS: list[tuple[str, Mutation]] = [
    ("no url file", lambda d: api_env(d).__setitem__(
        slice(None), [v for v in api_env(d) if v["name"] != "CHURN_DATABASE_URL_FILE"])),
    ("url in env", lambda d: api_env(d).append(
        {"name": "CHURN_DATABASE_URL", "value": "postgresql://churn:pw@db/churn"})),
    ("required secret", lambda d: api_secret(d).pop("optional")),
    ("other secret", lambda d: api_secret(d).update(secretName="other")),
    ("other key", lambda d: api_secret(d)["items"][0].update(key="password")),
    ("writable", lambda d: containers(api_pod(d))[0]["volumeMounts"][-1].pop("readOnly")),
]  # fmt: skip


@pytest.mark.parametrize("variant", ["base", "dask"])
def test_the_api_can_reach_the_prediction_log_database(variant, request) -> None:
    assert checks.api_reaches_the_database(request.getfixturevalue(variant)) == []


@pytest.mark.parametrize(
    "mutate", [m for _, m in API_DATABASE_MUTATIONS], ids=[w for w, _ in API_DATABASE_MUTATIONS]
)
def test_api_database_check_fails_on_a_broken_manifest(mutate, base) -> None:
    docs = copy.deepcopy(base)
    mutate(docs)
    assert checks.api_reaches_the_database(docs) != []


def test_offline_overlay_trains_on_the_shipped_file_without_a_database(offline, base) -> None:
    assert checks.trains_on_the_shipped_file(offline) == []
    assert checks.api_reaches_the_database(offline) == [
        "churn-api: CHURN_DATABASE_URL_FILE is not set"
    ]
    assert checks.trains_on_the_shipped_file(base) != []


def score_cron(docs: list[Doc]) -> Doc:
    return find(docs, "CronJob", "churn-score")["spec"]


def score_container(docs: list[Doc]) -> Doc:
    return containers(score_cron(docs)["jobTemplate"]["spec"]["template"])[0]


def score_volumes(docs: list[Doc]) -> list[Doc]:
    volumes: list[Doc] = score_cron(docs)["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
    return volumes


def secret_volume(docs: list[Doc]) -> Doc:
    return next(v for v in score_volumes(docs) if "secret" in v)["secret"]


SECRET_MUTATIONS: list[tuple[str, Mutation]] = [
    ("secret rendered", lambda d: d.append(
        {"kind": "Secret", "metadata": {"name": "churn-database"}, "stringData": {"url": "x"}})),
    ("url in env", lambda d: job_container(d).setdefault("env", []).append(
        {"name": "CHURN_DATABASE_URL", "value": "postgresql://churn:pw@db/churn"})),
    ("other secret", lambda d: secret_volume(d).update(secretName="other")),
    ("other key path", lambda d: secret_volume(d)["items"][0].update(path="url")),
    ("optional secret", lambda d: secret_volume(d).update(optional=True)),
    ("writable mount", lambda d: score_container(d)["volumeMounts"][-1].pop("readOnly")),
    ("file spec", lambda d: job_container(d).update(args=["churn", "run", "/app/spec/telco.yaml"])),
    ("sql source dropped", lambda d: spec_map(d)["data"].update(
        {"telco-db.yaml": spec_map(d)["data"]["telco.yaml"]})),
]  # fmt: skip
SCORE_MUTATIONS: list[tuple[str, Mutation]] = [
    ("at 02:00", lambda d: score_cron(d).update(schedule="0 2 * * *")),
    ("other zone", lambda d: score_cron(d).update(timeZone="Europe/Paris")),
    ("concurrent", lambda d: score_cron(d).update(concurrencyPolicy="Allow")),
    ("contract retried", lambda d: score_cron(d)["jobTemplate"]["spec"].pop("podFailurePolicy")),
    ("to a file", lambda d: score_container(d).update(
        args=["churn", "score", "--spec", "/app/spec/telco-db.yaml", "-o", "/tmp/s.csv"])),
    ("other spec", lambda d: score_container(d)["args"].__setitem__(3, "/app/spec/telco.yaml")),
    ("unqualified table", lambda d: score_container(d)["args"].__setitem__(5, "scores")),
    ("registry writable", lambda d: score_container(d)["volumeMounts"][0].pop("readOnly")),
]  # fmt: skip


@pytest.mark.parametrize(
    "mutate", [m for _, m in SECRET_MUTATIONS], ids=[w for w, _ in SECRET_MUTATIONS]
)
def test_database_check_fails_on_a_broken_manifest(mutate, base) -> None:
    broken = copy.deepcopy(base)
    mutate(broken)
    assert checks.database_from_secret(broken) != []


@pytest.mark.parametrize(
    "mutate", [m for _, m in SCORE_MUTATIONS], ids=[w for w, _ in SCORE_MUTATIONS]
)
def test_scoring_check_fails_on_a_broken_manifest(mutate, base) -> None:
    broken = copy.deepcopy(base)
    mutate(broken)
    assert checks.scores_after_training(broken) != []


def test_dask_overlay_trains_on_its_scheduler_and_the_base_on_this_pod(dask, base) -> None:
    assert checks.runs_on_dask(dask) == []
    assert "CHURN_DASK_SCHEDULER" not in env(job_container(base))
    assert checks.reports_to_prefect(dask) == []
    names = {name for name, _ in workloads(dask)}
    assert {"Deployment/dask-scheduler", "Deployment/dask-worker"} <= names


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: job_container(d)["env"].append(
            {"name": "CHURN_DASK_SCHEDULER", "value": "tcp://dask-scheduler:8787"}
        ),
        lambda d: find(d, "Service", "dask-scheduler")["spec"].update(selector={"x": "y"}),
        lambda d: containers(find(d, "Deployment", "dask-worker")["spec"]["template"])[0].update(
            args=["dask", "worker", "tcp://localhost:8786"]
        ),
        lambda d: containers(find(d, "Deployment", "dask-worker")["spec"]["template"])[0][
            "volumeMounts"
        ].append({"name": "home", "mountPath": "/var/lib/churn"}),
    ],
    ids=["dashboard port", "service selects nothing", "worker elsewhere", "worker mounts registry"],
)
def test_dask_check_fails_on_a_broken_overlay(mutate, dask) -> None:
    broken = copy.deepcopy(dask)
    mutate(broken)
    assert checks.runs_on_dask(broken) != []


# ------------------------------------------------------------------ each check fails when broken
def cron(docs: list[Doc]) -> Doc:
    return find(docs, "CronJob", "churn-train")["spec"]


def job_container(docs: list[Doc]) -> Doc:
    return containers(cron(docs)["jobTemplate"]["spec"]["template"])[0]


def api(docs: list[Doc]) -> Doc:
    return find(docs, "Deployment", "churn-api")["spec"]


def api_container(docs: list[Doc]) -> Doc:
    return containers(api(docs)["template"])[0]


def spec_map(docs: list[Doc]) -> Doc:
    return next(d for d in docs if d["metadata"]["name"].startswith("churn-spec"))


def job(docs: list[Doc]) -> Doc:
    return cron(docs)["jobTemplate"]["spec"]


def job_sc(docs: list[Doc]) -> Doc:
    return job_container(docs)["securityContext"]


def api_sc(docs: list[Doc]) -> Doc:
    return api_container(docs)["securityContext"]


def api_pod_sc(docs: list[Doc]) -> Doc:
    return api(docs)["template"]["spec"]["securityContext"]


def api_notes(docs: list[Doc]) -> Doc:
    return api(docs)["template"]["metadata"]["annotations"]


def drop_tmp(docs: list[Doc]) -> None:
    container = api_container(docs)
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["mountPath"] != "/tmp"]


Mutation = Callable[[list[Doc]], object]
MUTATIONS: list[tuple[str, str, Mutation]] = [
    ("nightly_at_two", "bad cron", lambda d: cron(d).update(schedule="0 25 * * *")),
    ("nightly_at_two", "14:00", lambda d: cron(d).update(schedule="0 14 * * *")),
    ("nightly_at_two", "mondays only", lambda d: cron(d).update(schedule="0 2 * * 1")),
    ("nightly_at_two", "no time zone", lambda d: cron(d).pop("timeZone")),
    ("job_policy", "concurrent runs", lambda d: cron(d).update(concurrencyPolicy="Allow")),
    ("job_policy", "no deadline", lambda d: job(d).pop("activeDeadlineSeconds")),
    ("job_policy", "gate failure retried", lambda d: job(d).pop("podFailurePolicy")),
    ("job_policy", "no history limit", lambda d: cron(d).pop("failedJobsHistoryLimit")),
    ("selectors_match", "deployment", lambda d: api(d)["selector"]["matchLabels"].update(x="y")),
    ("selectors_match", "service", lambda d: find(d, "Service", "churn-api")["spec"].update(
        selector={"x": "y"})),
    ("hardened", "root allowed", lambda d: api_sc(d).update(runAsNonRoot=False)),
    ("hardened", "uid 0", lambda d: job_sc(d).update(runAsUser=0)),
    ("hardened", "writable root", lambda d: job_sc(d).update(readOnlyRootFilesystem=False)),
    ("hardened", "escalation", lambda d: api_sc(d).pop("allowPrivilegeEscalation")),
    ("hardened", "capabilities kept", lambda d: job_sc(d).pop("capabilities")),
    ("hardened", "no seccomp", lambda d: api_pod_sc(d).pop("seccompProfile")),
    ("hardened", "no limits", lambda d: job_container(d)["resources"].pop("limits")),
    ("hardened", "no /tmp", drop_tmp),
    ("one_image", "other image", lambda d: api_container(d).update(image="churn:latest")),
    ("spec_config_map", "spec drifted", lambda d: spec_map(d)["data"].update(
        {"telco.yaml": "version: 1\n"})),
    ("spec_config_map", "another spec", lambda d: job_container(d).update(args=["churn", "run"])),
    ("api_serving", "readiness on /health", lambda d: api_container(d)["readinessProbe"][
        "httpGet"].update(path="/health")),
    ("api_serving", "no liveness", lambda d: api_container(d).pop("livenessProbe")),
    ("api_serving", "recreate", lambda d: api(d).update(strategy={"type": "Recreate"})),
    ("api_serving", "registry writable", lambda d: api_container(d)["volumeMounts"][0].pop(
        "readOnly")),
    ("api_serving", "scrape port", lambda d: api_notes(d).update({"prometheus.io/port": "9"})),
    ("trains_if_needed", "always trains", lambda d: job_container(d)["args"].remove(
        "--if-needed")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "mutate"),
    [(n, m) for n, _, m in MUTATIONS],
    ids=[f"{n}: {w}" for n, w, _ in MUTATIONS],
)
def test_check_fails_on_a_broken_manifest(name, mutate, base) -> None:
    broken = copy.deepcopy(base)
    mutate(broken)
    assert checks.BOTH[name](broken) != []


def test_prefect_check_fails_on_a_wrong_url(base) -> None:
    broken = copy.deepcopy(base)
    job_container(broken)["env"][0]["value"] = "http://localhost:4200/api"
    assert checks.reports_to_prefect(broken) != []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: api_container(d).pop("name"),
        lambda d: cron(d).update(scheduel="0 2 * * *"),
        lambda d: api(d).update(replicas="two"),
    ],
    ids=["missing required field", "unknown field", "wrong type"],
)
def test_kubernetes_validate_fails_on_a_broken_manifest(mutate, base) -> None:
    broken = copy.deepcopy(base)
    mutate(broken)
    assert validation_errors(broken) != []


def test_every_workload_is_walked(base) -> None:
    names = {name for name, _ in workloads(base)}
    assert names == {
        "CronJob/churn-train",
        "CronJob/churn-score",
        "Deployment/churn-api",
        "Deployment/prefect-server",
    }
