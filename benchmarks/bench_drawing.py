"""What a run's drawing and report assembly cost: CPU seconds per figure and per report part.

The small job of :mod:`benchmarks.bench_small_job` (the Telco data, logistic regression, a
100-tree forest and XGBoost, 5-fold CV) runs once in this process with an inline pool and
without drawing; its run record and the objects the report step receives are kept. Then,
one after the other in this process (single-threaded matplotlib, so CPU ~ wall), it measures:

- every EDA and evaluation figure: building it, saving it as PNG, and the file's bytes;
- the report step's parts: the predictions table (built in the record step and again in the
  report step), the winner's reasons, its permutation importance, the HTML page (images
  encoded, templates rendered).

    python -m benchmarks.bench_drawing [--repeat 3] [--plots DIR]

Each figure is drawn ``--repeat`` times and the smallest CPU time kept (the machine is shared);
``--plots DIR`` keeps the PNGs (to look at them). Prints a table with the load average and
writes benchmarks/results/drawing.json. Run it on two checkouts (``PYTHONPATH=/other/checkout``)
to compare code before and after a change.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.bench_small_job import small_spec
from benchmarks.bench_train import save

Timings = dict[str, dict[str, float]]


def cpu() -> float:
    """CPU seconds of this process (user + system, every thread)."""
    return time.process_time()


def best_of(repeat: int, call: Callable[[], Any]) -> tuple[float, Any]:
    """The smallest CPU seconds of ``repeat`` calls of ``call``, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = cpu()
        result = call()
        best = min(best, cpu() - start)
    return best, result


def timing_draw_plots(
    figures: Timings, repeat: int
) -> Callable[[Sequence[tuple[str, Callable[[], Any]]], Path], tuple[list[Path], list[str]]]:
    """A stand-in for :func:`churn.report.figures.draw_plots` that times each plot's drawing
    and saving (best of ``repeat``) into ``figures``."""
    from churn.report.figures import save_figure

    def draw_plots(
        plots: Sequence[tuple[str, Callable[[], Any]]], plots_dir: Path
    ) -> tuple[list[Path], list[str]]:
        plots_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, draw in plots:
            build = save_cost = float("inf")
            path = plots_dir / f"{name}.png"
            for _ in range(repeat):
                start = cpu()
                figure = draw()
                built = cpu()
                if figure is None:
                    break
                save_figure(figure, path)
                build, save_cost = min(build, built - start), min(save_cost, cpu() - built)
            if figure is None and not path.exists():
                continue
            figures[name] = {
                "build_s": round(build, 3),
                "save_s": round(save_cost, 3),
                "total_s": round(build + save_cost, 3),
                "bytes": path.stat().st_size,
            }
            paths.append(path)
        return paths, []

    return draw_plots


def captured_run(folder: Path) -> dict[str, Any]:
    """The small job run in this process without drawing; what its report step received."""
    from churn.run import report_steps
    from churn.run.compose import compose_run
    from churn.run.pool import InlineExecutor

    captured: dict[str, Any] = {}

    def keep(
        ctx: Any, manifest: Any, frame: Any, data: Any, results: Any, winner: str, *rest: Any
    ) -> None:
        captured.update(
            ctx=ctx, manifest=manifest, frame=frame, data=data, results=results, winner=winner
        )

    def no_eda(ctx: Any, frame: Any, pool: Any = None) -> Any:
        from churn.report import PlotSet

        return PlotSet(paths=[], errors=[])

    vars(report_steps).update(report_step=keep, eda_step=no_eda)  # the run keeps, draws nothing
    compose_run(small_spec(folder), folder / "home", pool=InlineExecutor(), say=lambda _: None)
    return captured


def unbatched_importance(spec: Any, data: Any, winner: Any) -> Any:
    """The winner's importance as :func:`churn.report.model_plots.importance_table` computed it
    before batching: scikit-learn's permutation_importance, one model call per shuffle."""
    from sklearn.inspection import permutation_importance
    from threadpoolctl import threadpool_limits

    from churn.report.model_plots import importance_repeats, importance_rows

    X, y = importance_rows(spec, data)
    with threadpool_limits(limits=1, user_api="openmp"):
        return permutation_importance(
            winner.pipeline,
            X,
            y,
            scoring="roc_auc",
            n_repeats=importance_repeats(X.shape[1]),
            random_state=spec.evaluation.split.seed,
            n_jobs=1,
        )


def measure(repeat: int, keep: Path | None = None) -> dict[str, Any]:
    """Per-figure and per-part CPU seconds of the small job's drawing and report."""
    from churn import report
    from churn.report import eda, evaluation_plots, html
    from churn.report.model_plots import importance_table
    from churn.report.reasons import explain_run
    from churn.run.classifier_predictions import classifier_predictions_csv

    figures: Timings = {}
    parts: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        run = captured_run(Path(scratch))
        spec, frame, data, results, winner = (
            run[key] for key in ("ctx", "frame", "data", "results", "winner")
        )
        spec = spec.spec
        plots_dir = keep or Path(scratch) / "plots"
        for module in (eda, evaluation_plots):  # each plot timed as it is drawn
            vars(module)["draw_plots"] = timing_draw_plots(figures, repeat)
        start = cpu()
        eda_plots = report.draw_eda(spec, frame, plots_dir)
        parts["eda step (all figures x repeat)"] = cpu() - start
        parts["permutation importance"], importance = best_of(
            repeat, lambda: importance_table(spec, data, results[winner])
        )
        parts["permutation importance, one model call a shuffle"], _ = best_of(
            repeat, lambda: unbatched_importance(spec, data, results[winner])
        )
        evaluation = report.draw_evaluation(
            spec, data, results, winner, plots_dir, lambda: importance
        )
        parts["predictions (record step: table + csv)"], _ = best_of(
            repeat, lambda: classifier_predictions_csv(spec, results[winner], data, frame)
        )
        parts["predictions (report step: table)"], predictions = best_of(
            repeat, lambda: report.build_predictions(spec, results[winner], data, frame)
        )
        parts["reasons"], reasons = best_of(
            repeat,
            lambda: explain_run(
                spec, results[winner], data, predictions, spec.output.top_at_risk, frame
            ),
        )
        parts["images as data URIs"], _ = best_of(
            repeat, lambda: [html.figure(path) for path in [*eda_plots.paths, *evaluation.paths]]
        )
        parts["report.html (render + write)"], page = best_of(
            repeat,
            lambda: report.write_report(
                Path(scratch),
                run["manifest"],
                spec_text=run["ctx"].spec_text,
                predictions=predictions,
                eda=eda_plots,
                evaluation=evaluation,
                top_at_risk=spec.output.top_at_risk,
                reasons=reasons,
            ),
        )
        page_bytes = Path(page).stat().st_size
    return {"figures": figures, "parts": parts, "report_bytes": page_bytes}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plots", type=Path, help="keep the PNGs in this folder (to look at)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    found = measure(args.repeat, args.plots)
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(f"{'figure':<30} {'build s':>8} {'save s':>8} {'CPU s':>8} {'KiB':>7}")
    for kind in ("eda_", "eval_"):
        rows = {k: v for k, v in found["figures"].items() if k.startswith(kind)}
        for name, row in rows.items():
            print(
                f"{name:<30} {row['build_s']:8.3f} {row['save_s']:8.3f} {row['total_s']:8.3f} "
                f"{row['bytes'] / 1024:7.0f}"
            )
        total = sum(row["total_s"] for row in rows.values())
        print(f"{kind + 'total':<30} {'':>8} {'':>8} {total:8.3f}")
    print(f"{'report part':<42} {'CPU s':>8}")
    for name, seconds in found["parts"].items():
        print(f"{name:<42} {seconds:8.3f}")
    print(f"report.html: {found['report_bytes'] / 1024:.0f} KiB")
    found["load_average"] = [load_before[0], load_after[0]]
    save(found, "drawing.json")


if __name__ == "__main__":
    main(sys.argv[1:])
