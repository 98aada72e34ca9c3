"""A small job's fixed cost: `churn run` against the plain script a user would write.

The job: the default data (7,043 customers), logistic regression, a random forest of 100
trees and XGBoost with its defaults, 5-fold CV on the training part, scored on a 20 % hold-out.
Every measurement is a whole command in a child process, one after the other:

1. the plain script (:func:`plain_script`, run as ``python -m benchmarks.bench_small_job
   --plain``): pandas, scikit-learn and XGBoost with their defaults, nothing else;
2. ``churn run`` of the same job with a Prefect server already running (``PREFECT_API_URL``);
3. ``churn run`` again into the same registry, on the same data (a nightly run: EDA reused);
4. ``churn run`` from a fresh ``PREFECT_HOME`` (its temporary server creates its database, on
   a machine where churn keeps no template of it yet);
5. ``churn run`` from another fresh ``PREFECT_HOME``, its database copied from the template the
   previous run left (``CHURN_PREFECT_TEMPLATE_DIR``: any later first run on that machine, or
   an image that carries the template).

    python -m benchmarks.bench_small_job

Prints the ratios (goals: at most 1.5x with a running server, 2.5x from a fresh Prefect home),
the load average before and after, each run's stages, and writes
benchmarks/results/small_job.json. Beside the wall seconds it gives each command's CPU seconds
(user + system, its own and its descendants'), which other work on a shared machine disturbs
less: this process adopts the descendants a command leaves behind (Linux's child subreaper: a
fork server that ran the training workers, where one is used, exits just after ``churn run``)
and waits for them, so their CPU counts too. The running server's CPU is not in a command's
figure (it serves both runs); it is given beside it (``server_cpu_s``: what each run cost that
server, read from ``/proc`` before and after, a second after the command so its queued events
are processed).
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.bench_train import NO_LONG_LIVED, ROOT, save, stages, timed
from benchmarks.scale.tree_cpu import own_cpu

DATA = ROOT / "data" / "telco_churn.csv"
MODELS = [
    {"name": "logreg", "type": "logistic_regression"},
    {"name": "forest", "type": "random_forest", "params": {"n_estimators": 100}},
    {"name": "xgb", "type": "xgboost"},
]


def small_spec(folder: Path) -> Path:
    """The default spec cut down to the small job, written into ``folder``."""
    spec = yaml.safe_load((ROOT / "spec" / "telco.yaml").read_text())
    spec["data"]["source"] = str(DATA)
    spec["models"] = MODELS
    spec["evaluation"]["cv_folds"] = 5
    spec["gates"] = {"value": [{"metric": "roc_auc", "lower": 0.5}], "when_empty": "fail"}
    path = folder / "small-job.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def plain_script() -> None:
    """What a user writes by hand for the same job (library defaults, no churn)."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_score, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from xgboost import XGBClassifier

    frame = pd.read_csv(DATA, na_values=[" "])
    y = frame.pop("Churn").eq("Yes").astype(int)
    x = frame.drop(columns="customerID")
    numeric = ["tenure", "MonthlyCharges", "TotalCharges", "SeniorCitizen"]
    categorical = [name for name in x.columns if name not in numeric]
    prepare = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=42
    )
    models = {
        "logreg": LogisticRegression(max_iter=1000),
        "forest": RandomForestClassifier(n_estimators=100, random_state=42),
        "xgb": XGBClassifier(),
    }
    for name, model in models.items():
        pipeline = make_pipeline(prepare, model)
        cv = cross_val_score(pipeline, x_train, y_train, cv=5, scoring="roc_auc")
        pipeline.fit(x_train, y_train)
        holdout = roc_auc_score(y_test, pipeline.predict_proba(x_test)[:, 1])
        print(f"{name}: CV roc_auc {cv.mean():.4f}, hold-out {holdout:.4f}")


PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans() -> None:
    """Become the parent of descendants whose parent exits (Linux), so they can be waited for."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_orphans(seconds: float = 3.0) -> None:
    """Wait for adopted descendants that have exited (their CPU then counts as this process's
    children's); a child still running (the benchmark's own server) is left alone."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.1)


def children_cpu() -> float:
    """User + system CPU seconds of every child waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(command: list[str], **env: str) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the command and its descendants) and stderr of ``command``."""
    before = children_cpu()
    seconds, log = timed(command, **env)
    reap_orphans()
    return seconds, children_cpu() - before, log


def served(command: list[str], server: Any, settle: float = 1.0) -> tuple[float, float, str, float]:
    """:func:`measured` against the running ``server`` (a ``TemporaryServer``), and the CPU
    seconds that server spent on the command (until ``settle`` seconds after it ended)."""

    def server_cpu() -> float:
        found = own_cpu(server.process.pid)
        return found[1] if found is not None else float("nan")

    before = server_cpu()
    seconds, cpu, log = measured(command, PREFECT_API_URL=server.api_url)
    time.sleep(settle)
    return seconds, cpu, log, server_cpu() - before


def fresh_home_run(command: list[str], folder: Path, templates: str) -> tuple[float, float, str]:
    """``command`` into a new registry with a new ``PREFECT_HOME``: its temporary server
    creates its database, or copies churn's template when ``templates`` holds one."""
    return measured(
        [*command[:-1], str(folder / "home")],
        PREFECT_HOME=str(folder / "prefect-home"),
        PREFECT_API_URL="",
        CHURN_PREFECT_TEMPLATE_DIR=templates,
        CHURN_PREFECT_START_TIMEOUT="900",  # a loaded machine creates the database slowly
        **NO_LONG_LIVED,
    )


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    """Run the four measurements and print the table."""
    adopt_orphans()
    load_before = load()
    plain, plain_cpu, _ = measured([sys.executable, "-m", "benchmarks.bench_small_job", "--plain"])

    from churn.flows.server import TemporaryServer

    with tempfile.TemporaryDirectory(prefix="churn-small-") as scratch:
        spec = str(small_spec(Path(scratch)))
        home = str(Path(scratch) / "home")
        command = [sys.executable, "-m", "churn.cli", "run", spec, "--home", home]
        server = TemporaryServer()
        server.start()
        try:
            server.wait_ready(600)
            warm, warm_cpu, warm_log, warm_server = served(command, server)
            again, again_cpu, again_log, again_server = served(command, server)
        finally:
            server.stop()
        templates = str(Path(scratch) / "prefect-templates")  # none yet: a new machine
        fresh, fresh_cpu, fresh_log = fresh_home_run(command, Path(scratch) / "fresh", templates)
        copied, copied_cpu, copied_log = fresh_home_run(
            command, Path(scratch) / "copied", templates
        )
    load_after = load()

    summary: dict[str, Any] = {
        "job": "telco 7,043 rows; logreg, forest 100 trees, xgb defaults; 5-fold CV; hold-out",
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "plain_script_s": round(plain, 2),
        "churn_run_running_server_s": round(warm, 2),
        "churn_run_again_same_data_s": round(again, 2),
        "churn_run_fresh_prefect_home_s": round(fresh, 2),
        "churn_run_fresh_prefect_home_template_s": round(copied, 2),
        "ratio_running_server": round(warm / plain, 2),
        "ratio_again_same_data": round(again / plain, 2),
        "ratio_fresh_prefect_home": round(fresh / plain, 2),
        "ratio_fresh_prefect_home_template": round(copied / plain, 2),
        "cpu_s": {
            "plain_script": round(plain_cpu, 2),
            "churn_run_running_server": round(warm_cpu, 2),
            "churn_run_again_same_data": round(again_cpu, 2),
            "churn_run_fresh_prefect_home": round(fresh_cpu, 2),
            "churn_run_fresh_prefect_home_template": round(copied_cpu, 2),
        },
        "server_cpu_s": {
            "churn_run_running_server": round(warm_server, 2),
            "churn_run_again_same_data": round(again_server, 2),
        },
        "stages_running_server": stages(warm_log),
        "stages_again_same_data": stages(again_log),
        "stages_fresh_prefect_home": stages(fresh_log),
        "stages_fresh_prefect_home_template": stages(copied_log),
    }
    print(f"load average (1, 5, 15 min) before: {load_before}; after: {load_after}")
    print(f"plain script                      {plain:7.1f} s              CPU {plain_cpu:6.1f} s")
    for label, seconds, cpu, goal in (
        ("churn run, running server", warm, warm_cpu, "<= 1.5x"),
        ("churn run again, same data", again, again_cpu, "<= 1.5x"),
        ("churn run, fresh Prefect home", fresh, fresh_cpu, "<= 2.5x"),
        ("  again, its database templated", copied, copied_cpu, "<= 2.5x"),
    ):
        print(
            f"{label:<33} {seconds:7.1f} s   {seconds / plain:.2f}x (goal {goal})"
            f"   CPU {cpu:6.1f} s   {cpu / plain_cpu:.2f}x"
        )
    print(f"the running server's CPU per run: {warm_server:.1f} s, again {again_server:.1f} s")
    save(summary, "small_job.json")


if __name__ == "__main__":
    if sys.argv[1:] == ["--plain"]:
        plain_script()
    else:
        main()
