"""The training flow: validate, explore, train every candidate in parallel, gate, promote, record.

Every task is a thin wrapper over a function of :mod:`churn.run` or :mod:`churn.report`;
no pandas work happens here. Run it with ``churn run`` or ``python -m flows.train [SPEC]``.
Without ``PREFECT_API_URL`` Prefect starts a temporary local server; with it, runs are reported to
that server. A gate failure raises :class:`churn.errors.GateFailure`, so the flow run is Failed
(and a Kubernetes Job running it fails too).
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from churn import report
from churn.run import steps as run_steps
from churn.run.steps import ChampionScore, RunContext
from churn.training.evaluate import CandidateResult, Split
from churn.training.gates import Decision, GateReport
from flows.runtime import prefect_api, training_task_runner


@task(name="load-spec", cache_policy=NONE)
def prepare(spec_path: str, home: str | None) -> RunContext:
    """Load and check the spec; name the run."""
    ctx = run_steps.prepare_run(spec_path, home)
    get_run_logger().info(
        "spec %s (%s): %d candidates; registry %s; run %s",
        spec_path,
        ctx.spec.name,
        len(ctx.spec.models),
        ctx.registry.home,
        ctx.run_id,
    )
    return ctx


@task(name="read-validate", cache_policy=NONE)
def read_validate(ctx: RunContext) -> pd.DataFrame:
    """Read the data and validate it against the spec's contract."""
    run_steps.start_run(ctx)
    frame = run_steps.load_data(ctx)
    get_run_logger().info("validated %s: %d rows x %d columns", ctx.spec.source_path, *frame.shape)
    return frame


@task(name="eda", cache_policy=NONE)
def eda(ctx: RunContext, frame: pd.DataFrame) -> report.PlotSet:
    """Draw the EDA plots; a plot that fails is logged, not fatal."""
    plots = report.draw_eda(ctx.spec, frame, ctx.run_dir / "plots")
    _log_plots("eda", plots)
    return plots


@task(name="split", cache_policy=NONE)
def split(ctx: RunContext, frame: pd.DataFrame) -> Split:
    """Seeded hold-out split."""
    data = run_steps.split(ctx, frame)
    get_run_logger().info("split: %d train / %d hold-out rows", len(data.y_train), len(data.y_test))
    return data


@task(name="train", cache_policy=NONE)
def train(ctx: RunContext, name: str, data: Split) -> CandidateResult:
    """Cross-validate, fit and score one candidate."""
    result = run_steps.train(ctx, name, data)
    metric = ctx.spec.evaluation.selection_metric
    get_run_logger().info(
        "%s: CV %s %.4f ± %.4f, hold-out %.4f, threshold %.3f, %.1fs",
        name,
        metric,
        result.cv_mean[metric],
        result.cv_std[metric],
        result.holdout[metric],
        result.threshold,
        result.fit_seconds,
    )
    return result


@task(name="select-and-gate", cache_policy=NONE)
def select_and_gate(
    ctx: RunContext, results: dict[str, CandidateResult], data: Split, frame: pd.DataFrame
) -> tuple[str, ChampionScore | None, GateReport, Decision]:
    """Pick the winner, re-score the champion on the same hold-out, apply the gates."""
    logger = get_run_logger()
    winner = run_steps.select(ctx, results)
    logger.info("winner: %s", winner)
    champion = run_steps.score_champion(ctx, data, frame)
    if champion is None:
        logger.info("no champion yet: change thresholds are skipped")
    elif champion.error:
        logger.warning("champion %s could not be re-scored: %s", champion.run_id, champion.error)
    report_, decision = run_steps.judge(ctx, results[winner], champion)
    for result in report_.results:
        logger.info(
            "gate %s %s: %s (%s)", result.kind, result.metric, result.verdict, result.reason
        )
    logger.info("decision: %s (%s)", decision.action, decision.reason)
    return winner, champion, report_, decision


@task(name="record", cache_policy=NONE)
def record(
    ctx: RunContext,
    results: dict[str, CandidateResult],
    winner: str,
    champion: ChampionScore | None,
    gates: GateReport,
    decision: Decision,
) -> dict[str, Any]:
    """Write metrics, the model and the manifest."""
    manifest = run_steps.record(ctx, results, winner, champion, gates, decision)
    get_run_logger().info("recorded %s", ctx.run_dir)
    return manifest


@task(name="promote", cache_policy=NONE)
def promote(ctx: RunContext, decision: Decision) -> dict[str, Any]:
    """Move the champion pointer (or write why not) and close the run."""
    manifest = run_steps.apply_decision(ctx, decision)
    get_run_logger().info("%s; champion is now %s", decision.action, manifest["champion_after"])
    return manifest


@task(name="report", cache_policy=NONE)
def write_report(
    ctx: RunContext,
    manifest: dict[str, Any],
    frame: pd.DataFrame,
    data: Split,
    results: dict[str, CandidateResult],
    winner: str,
    eda_plots: report.PlotSet,
) -> None:
    """Evaluation plots, predictions.csv and report.html; failures are logged, not fatal."""
    logger = get_run_logger()
    try:
        evaluation = report.draw_evaluation(ctx.spec, data, results, winner, ctx.run_dir / "plots")
        _log_plots("evaluation", evaluation)
        predictions = report.build_predictions(ctx.spec, results[winner], data, frame)
        ctx.registry.write_text(ctx.run_dir / "predictions.csv", predictions.to_csv(index=False))
        path = report.write_report(
            ctx.run_dir,
            manifest,
            spec_text=ctx.spec_text,
            predictions=predictions,
            eda=eda_plots,
            evaluation=evaluation,
            top_at_risk=ctx.spec.output.top_at_risk,
        )
        logger.info("report: %s", path)
    except Exception as exc:
        logger.exception("report failed: %s", exc)


def _eda_plots(future: Any) -> report.PlotSet:
    """The EDA task's plots; a failed EDA task is logged and reported, never fatal."""
    try:
        plots: report.PlotSet = future.result()
    except Exception as exc:  # noqa: BLE001 - the run is already recorded; keep it
        get_run_logger().warning("eda failed: %s: %s", type(exc).__name__, exc)
        return report.PlotSet(paths=[], errors=[f"EDA failed: {type(exc).__name__}: {exc}"])
    return plots


def _log_plots(kind: str, plots: report.PlotSet) -> None:
    logger = get_run_logger()
    logger.info(
        "%s: %d plots%s",
        kind,
        len(plots.paths),
        f" (sampled {plots.rows_used} rows)" if plots.sampled else "",
    )
    for error in plots.errors:
        logger.warning("%s: %s", kind, error)


@flow(name="churn-train", task_runner=training_task_runner(), log_prints=False)
def train_flow(spec_path: str = "spec/telco.yaml", home: str | None = None) -> dict[str, Any]:
    """Train, gate and (maybe) promote; return the run's manifest.

    Raises:
        GateFailure: the winner did not pass the gates (the flow run is Failed).
    """
    ctx = prepare(spec_path, home)
    with ctx.registry.lock(ctx.run_id):
        try:
            frame = read_validate(ctx)
            eda_future = eda.submit(ctx, frame)
            data = split(ctx, frame)
            futures = {
                name: train.with_options(task_run_name=f"train-{name}").submit(ctx, name, data)
                for name in (model.name for model in ctx.spec.models)
            }
            results = {name: future.result() for name, future in futures.items()}
            winner, champion, gates, decision = select_and_gate(ctx, results, data, frame)
            record(ctx, results, winner, champion, gates, decision)
            manifest = promote(ctx, decision)
        except BaseException as exc:
            if ctx.registry.run_dir(ctx.run_id).exists():
                ctx.registry.mark_incomplete(ctx.run_id, f"{type(exc).__name__}: {exc}")
            raise
        write_report(ctx, manifest, frame, data, results, winner, _eda_plots(eda_future))
    run_steps.raise_if_failed(manifest)
    return manifest


def run_training(spec_path: str, home: str | None = None) -> dict[str, Any]:
    """Run :func:`train_flow` against ``PREFECT_API_URL``, or a temporary local server."""
    with prefect_api():
        return train_flow(spec_path, home)


def main(argv: list[str] | None = None) -> None:
    """``python -m flows.train [SPEC] [--home DIR]``: the same as ``churn run``."""
    from cli.app import app

    app(["run", *(sys.argv[1:] if argv is None else argv)], prog_name="python -m flows.train")


if __name__ == "__main__":
    main()
