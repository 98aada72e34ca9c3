"""Report: EDA and evaluation plots, the predictions table and the self-contained HTML report."""

from __future__ import annotations

import base64
import copy
import dataclasses
import html
import threading
from concurrent.futures import Executor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import subscriptions_frame, subscriptions_spec
from fresh_interpreter import GROUP
from matplotlib import image as mpimg

from churn.explain import PipelineExplainer
from churn.registry import as_manifest
from churn.report import (
    PREDICTION_COLUMNS,
    SECTION_IDS,
    PlotSet,
    build_predictions,
    draw_eda,
    draw_evaluation,
    evaluation_plots,
    write_report,
)
from churn.report import eda as eda_module
from churn.report.evaluation_parts import PLOT_ORDER, join_evaluation
from churn.report.figures import DPI, new_figure, save_figure
from churn.report.model_plots import importance_repeats, importance_table
from churn.report.predictions import risk_deciles
from churn.report.reasons import explain_run, reason_text
from churn.run.pool import InlineExecutor
from churn.run.report_steps import start_evaluation
from churn.spec import Spec
from churn.training.compile import compile_spec
from churn.training.evaluate import (
    CandidateResult,
    Split,
    select_winner,
    split_dataset,
    train_candidate,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EDA_PLOTS = {
    "eda_class_balance",
    "eda_numeric_distributions",
    "eda_categorical_churn_rate",
    "eda_correlation",
    "eda_missing_values",
}
EVALUATION_PLOTS = {
    "eval_roc",
    "eval_precision_recall",
    "eval_confusion_matrix",
    "eval_calibration",
    "eval_threshold_metrics",
    "eval_gains_lift",
    "eval_feature_importance",
    "eval_model_comparison",
}
# (width, height) in pixels for the subscriptions data: figure inches x 100 dpi. The grids
# grow with the columns (numeric: 3 panels, 1 row; categorical: 2 panels of <= 4 levels),
# the importance plot with the 5 input columns, the missing-values plot with the gaps (none).
EXPECTED_PIXELS = {
    "eda_class_balance": (700, 500),
    "eda_numeric_distributions": (1200, 300),
    "eda_categorical_churn_rate": (1200, 200),
    "eda_correlation": (800, 700),
    "eda_missing_values": (700, 204),
    "eval_roc": (700, 500),
    "eval_precision_recall": (700, 500),
    "eval_confusion_matrix": (600, 500),
    "eval_calibration": (700, 500),
    "eval_threshold_metrics": (700, 500),
    "eval_gains_lift": (1200, 450),
    "eval_feature_importance": (1200, 280),
    "eval_model_comparison": (700, 500),
}


@dataclass
class Trained:
    spec: Spec
    frame: pd.DataFrame
    split: Split
    results: dict[str, CandidateResult]
    winner: str


def make_spec(**overrides: Any) -> Spec:
    return Spec.model_validate(subscriptions_spec(**overrides))


def train(spec: Spec, frame: pd.DataFrame) -> Trained:
    split = split_dataset(spec, frame)
    results = {
        name: train_candidate(spec, name, pipeline, split)
        for name, pipeline in compile_spec(spec).items()
    }
    return Trained(spec, frame, split, results, select_winner(spec, results))


def manifest_for(run: Trained, **overrides: Any) -> dict[str, Any]:
    """A run.json of the shape the flow writes."""
    winner = run.results[run.winner]
    manifest: dict[str, Any] = {
        "run_id": "20260101T000000-abc123",
        "status": "succeeded",
        "started_at": "2026-01-01T00:00:00+00:00",
        "ended_at": "2026-01-01T00:00:12.5+00:00",
        "spec_name": run.spec.name,
        "spec_sha256": "a" * 64,
        "data_sha256": "b" * 64,
        "seed": 7,
        "versions": {"scikit-learn": "1.9"},
        "data": {
            "rows": len(run.frame),
            "columns": run.frame.shape[1],
            "positives": int(run.frame["churned"].sum()),
            "path": "subscriptions.csv",
        },
        "candidates": {name: result.summary() for name, result in run.results.items()},
        "winner": run.winner,
        "selection_metric": "roc_auc",
        "gates": {
            "passed": True,
            "passed_value": True,
            "passed_change": True,
            "empty": False,
            "when_empty": "fail",
            "reason": "every threshold passed",
            "results": [
                {
                    "kind": "value",
                    "metric": "roc_auc",
                    "value": winner.holdout["roc_auc"],
                    "lower": 0.6,
                    "upper": None,
                    "direction": None,
                    "min_absolute_change": None,
                    "min_relative_change": None,
                    "champion": None,
                    "delta": None,
                    "relative_delta": None,
                    "verdict": "pass",
                    "reason": "roc_auc >= lower 0.6",
                },
                {
                    "kind": "change",
                    "metric": "roc_auc",
                    "value": winner.holdout["roc_auc"],
                    "lower": None,
                    "upper": None,
                    "direction": "higher",
                    "min_absolute_change": -0.005,
                    "min_relative_change": None,
                    "champion": 0.7,
                    "delta": 0.05,
                    "relative_delta": 0.071,
                    "verdict": "pass",
                    "reason": "d = +0.05 >= -0.005",
                },
            ],
        },
        "decision": {"action": "promote", "run_failed": False, "reason": "gates passed"},
        "champion_before": None,
        "champion_after": "20260101T000000-abc123",
        "error": None,
    }
    manifest.update(overrides)
    return manifest


class PageParser(HTMLParser):
    """Collects section ids, their headings, image sources, tags and table rows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.headings: dict[str, str] = {}
        self.images: list[str] = []
        self.tags: set[str] = set()
        self.attribute_values: list[str] = []
        self.texts: list[str] = []
        self.winner_rows: list[str] = []
        self._in_h2 = False
        self._in_winner_row = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.add(tag)
        self.attribute_values += [value or "" for _, value in attrs]
        if tag == "section":
            self.sections.append(attributes.get("id") or "")
        elif tag == "h2":
            self._in_h2 = True
        elif tag == "img":
            self.images.append(attributes.get("src") or "")
        elif tag == "tr" and "winner" in (attributes.get("class") or "").split():
            self._in_winner_row = 1
            self.winner_rows.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False
        elif tag == "tr":
            self._in_winner_row = 0

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._in_h2 and self.sections:
            self.headings[self.sections[-1]] = data
        if self._in_winner_row:
            self.winner_rows[-1] += data


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def png_shape(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG, read by matplotlib (which fails on a broken file)."""
    pixels = mpimg.imread(path, format="png")
    return pixels.shape[1], pixels.shape[0]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def run() -> Trained:
    """The subscriptions spec's two cheap candidates, trained once for the module."""
    return train(make_spec(), subscriptions_frame(600))


@pytest.fixture(scope="module")
def plots(run: Trained, tmp_path_factory: pytest.TempPathFactory) -> tuple[PlotSet, PlotSet]:
    folder = tmp_path_factory.mktemp("plots")
    return (
        draw_eda(run.spec, run.frame, folder),
        draw_evaluation(run.spec, run.split, run.results, run.winner, folder),
    )


@pytest.fixture(scope="module")
def predictions(run: Trained) -> pd.DataFrame:
    return build_predictions(run.spec, run.results[run.winner], run.split)


@pytest.fixture(scope="module")
def report(
    run: Trained,
    plots: tuple[PlotSet, PlotSet],
    predictions: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    eda, evaluation = plots
    return write_report(
        tmp_path_factory.mktemp("run"),
        as_manifest(manifest_for(run)),
        spec_text="name: subscriptions\n",
        predictions=predictions,
        eda=eda,
        evaluation=evaluation,
        top_at_risk=10,
        reasons=explain_run(run.spec, run.results[run.winner], run.split, predictions, 10),
    )


# --------------------------------------------------------------------------- plots


def test_eda_and_evaluation_write_every_plot_without_errors(plots) -> None:
    eda, evaluation = plots
    assert eda.errors == [] and evaluation.errors == []
    assert {path.stem for path in eda.paths} == EDA_PLOTS
    assert {path.stem for path in evaluation.paths} == EVALUATION_PLOTS
    assert all(path.name.startswith("eda_") for path in eda.paths)
    assert all(path.name.startswith("eval_") for path in evaluation.paths)


def test_every_plot_is_a_non_empty_png_of_its_figure_size(plots) -> None:
    for path in [*plots[0].paths, *plots[1].paths]:
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE), path.name
        assert len(data) > 5_000, path.name
        assert png_shape(path) == EXPECTED_PIXELS[path.stem], path.name


def test_plots_are_not_blank(plots) -> None:
    for path in [*plots[0].paths, *plots[1].paths]:
        pixels = mpimg.imread(path, format="png")[..., :3]
        assert pixels.std() > 0.05, f"{path.name} looks blank"


def test_eda_uses_all_rows_below_the_sample_limit(plots, run: Trained) -> None:
    eda = plots[0]
    assert not eda.sampled
    assert eda.rows_used == len(run.frame)
    assert eda.missing_values == dict.fromkeys(run.spec.columns, 0)


def test_a_failing_eda_plot_is_reported_and_the_others_are_drawn(
    run: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise ValueError("no\ncorrelation today")

    monkeypatch.setattr(eda_module, "plot_correlation", broken)
    result = draw_eda(run.spec, run.frame, tmp_path)
    assert result.errors == ["plot eda_correlation: ValueError: no correlation today"]
    assert {path.stem for path in result.paths} == EDA_PLOTS - {"eda_correlation"}
    assert all(path.exists() for path in result.paths)
    assert not (tmp_path / "eda_correlation.png").exists()


def test_a_failing_evaluation_plot_is_reported_and_the_others_are_drawn(
    run: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("importance exploded")

    monkeypatch.setattr(evaluation_plots, "plot_feature_importance", broken)
    result = draw_evaluation(run.spec, run.split, run.results, run.winner, tmp_path)
    assert result.errors == ["plot eval_feature_importance: RuntimeError: importance exploded"]
    assert {path.stem for path in result.paths} == EVALUATION_PLOTS - {"eval_feature_importance"}
    assert all(path.exists() for path in result.paths)


def test_evaluation_drawn_in_parts_joins_in_the_reports_order(
    run: Trained, plots: tuple[PlotSet, PlotSet], tmp_path: Path
) -> None:
    first = draw_evaluation(
        run.spec, run.split, run.results, run.winner, tmp_path, names={"eval_confusion_matrix"}
    )
    assert [path.name for path in first.paths] == ["eval_confusion_matrix.png"]
    assert first.paths[0].exists() and not (tmp_path / "eval_roc.png").exists()
    whole = plots[1]
    late = [path for path in whole.paths if path.stem != "eval_roc"]
    broken = PlotSet(paths=[], errors=["plot eval_roc: ValueError: x"], rows_used=5)
    joined = join_evaluation([PlotSet(late, [], rows_used=5), broken, PlotSet(whole.paths[:1], [])])
    assert joined.paths == whole.paths  # eval_roc first again, whatever part it came from
    assert joined.errors == ["plot eval_roc: ValueError: x"] and joined.rows_used == 5
    assert {path.stem for path in whole.paths} <= set(PLOT_ORDER)


def test_evaluation_is_not_started_early_without_local_workers(run: Trained) -> None:
    no_context: Any = None  # the pool decides before the run's context is read
    inline = InlineExecutor()
    assert start_evaluation(no_context, run.split, run.results, run.winner, inline) is None


def test_eda_draws_from_a_seeded_sample_when_rows_exceed_eda_max_rows(tmp_path: Path) -> None:
    spec = make_spec(output={"eda_max_rows": 1000})
    frame = subscriptions_frame(1200, seed=3)
    first = draw_eda(spec, frame, tmp_path / "first")
    second = draw_eda(spec, frame, tmp_path / "second")
    assert first.sampled and first.rows_used == 1000
    assert first.errors == []
    assert sum(first.missing_values.values()) == 0
    for path in first.paths:
        assert path.read_bytes() == (tmp_path / "second" / path.name).read_bytes(), path.name
    assert second.sampled


def test_report_says_when_eda_was_sampled(run: Trained, tmp_path: Path) -> None:
    eda = PlotSet([], [], sampled=True, rows_used=1000)
    page = write_report(
        tmp_path,
        as_manifest(
            manifest_for(
                run, data={"path": "big.csv", "rows": 1200, "columns": 7, "positives": 400}
            )
        ),
        spec_text="",
        predictions=pd.DataFrame(),
        eda=eda,
        evaluation=PlotSet([], []),
        top_at_risk=5,
    ).read_text()
    assert "EDA was sampled" in page
    assert "sample of 1,000 of 1,200 rows" in page


def test_drawing_from_two_threads_at_once_works(run: Trained, tmp_path: Path) -> None:
    outcomes: dict[str, PlotSet] = {}

    def draw(name: str) -> None:
        outcomes[name] = draw_eda(run.spec, run.frame, tmp_path / name)

    threads = [threading.Thread(target=draw, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [len(outcomes[name].paths) for name in ("a", "b")] == [5, 5]
    assert outcomes["a"].errors == outcomes["b"].errors == []


@pytest.mark.xdist_group(GROUP)
def test_importing_and_drawing_leave_pyplot_alone(fresh_import: dict[str, Any]) -> None:
    assert fresh_import["pyplot_after_importing_report"] is False, "import loaded pyplot"
    assert fresh_import["pyplot_after_importing_churn"] is False, "import loaded pyplot"
    assert (fresh_import["eda_errors"], fresh_import["eda_plots"]) == ([], 5)
    assert fresh_import["pyplot_after_drawing"] is False, "drawing loaded pyplot"


def test_save_figure_writes_the_bytes_savefig_writes(tmp_path: Path) -> None:
    def drawn() -> Any:
        figure = new_figure((4.0, 3.0))
        ax = figure.subplots()
        ax.plot([0, 1, 2], [2, 0, 1], label="a line")
        ax.set_title("Title")
        ax.legend()
        return figure

    drawn().savefig(tmp_path / "savefig.png", format="png", dpi=DPI, metadata={"Software": None})
    save_figure(drawn(), tmp_path / "saved.png")
    assert (tmp_path / "saved.png").read_bytes() == (tmp_path / "savefig.png").read_bytes()


def test_feature_importance_is_per_original_input_column(run: Trained) -> None:
    table = importance_table(run.spec, run.split, run.results[run.winner])
    assert set(table.index) == set(run.spec.feature_columns)
    assert table["mean"].is_monotonic_decreasing
    assert table.attrs == {"repeats": 5, "rows": len(run.split.ids_test)}


def test_permutation_importance_work_is_bounded_for_many_columns() -> None:
    assert [importance_repeats(n) for n in (1, 5, 12, 18, 30, 200)] == [5, 5, 5, 3, 2, 2]


# --------------------------------------------------------------------------- predictions


def test_predictions_have_one_row_per_hold_out_customer(
    run: Trained, predictions: pd.DataFrame
) -> None:
    assert tuple(predictions.columns) == PREDICTION_COLUMNS
    assert len(predictions) == len(run.split.ids_test)
    assert set(predictions["id"]) == set(run.split.ids_test)
    assert set(predictions["id"]) <= set(run.frame["account_id"])
    assert (predictions["set"] == "holdout").all()


def test_predictions_are_ranked_probabilities_with_deciles_and_decisions(
    run: Trained, predictions: pd.DataFrame
) -> None:
    probability = predictions["churn_probability"]
    assert probability.between(0, 1).all()
    assert predictions["rank"].tolist() == list(range(1, len(predictions) + 1))
    assert probability.is_monotonic_decreasing
    assert sorted(predictions["risk_decile"].unique()) == list(range(1, 11))
    assert predictions["risk_decile"].is_monotonic_increasing
    counts = predictions["risk_decile"].value_counts()
    assert counts.max() - counts.min() <= 1
    threshold = run.results[run.winner].threshold
    assert (predictions["will_churn"] == (probability >= threshold)).all()


def test_predictions_carry_the_actual_outcome_of_each_hold_out_customer(
    run: Trained, predictions: pd.DataFrame
) -> None:
    truth = dict(zip(run.frame["account_id"], run.frame["churned"], strict=True))
    assert predictions["actual"].tolist() == [truth[i] for i in predictions["id"]]
    by_id = dict(zip(run.split.ids_test, run.results[run.winner].test_proba, strict=True))
    assert np.allclose(predictions["churn_probability"], [by_id[i] for i in predictions["id"]])


def test_predictions_all_scores_every_input_row(run: Trained) -> None:
    spec = make_spec(output={"predictions": "all"})
    table = build_predictions(spec, run.results[run.winner], run.split, run.frame)
    assert len(table) == len(run.frame)
    assert set(table["id"]) == set(run.frame["account_id"])
    holdout = table[table["set"] == "holdout"]
    assert set(holdout["id"]) == set(run.split.ids_test)
    assert holdout["actual"].notna().all()
    assert set(table.loc[table["set"] != "holdout", "set"]) == {"train"}
    assert table.loc[table["set"] == "train", "actual"].isna().all()
    assert table["rank"].tolist() == list(range(1, len(run.frame) + 1))
    by_id = dict(zip(run.split.ids_test, run.results[run.winner].test_proba, strict=True))
    assert np.allclose(holdout["churn_probability"], [by_id[i] for i in holdout["id"]])
    csv = table.to_csv(index=False).splitlines()
    assert any(line.endswith(",,train") for line in csv)


def test_predictions_all_without_a_frame_scores_the_hold_out(run: Trained) -> None:
    spec = make_spec(output={"predictions": "all"})
    table = build_predictions(spec, run.results[run.winner], run.split)
    assert len(table) == len(run.split.ids_test)


def test_risk_deciles_cut_the_ranking_like_qcut_and_survive_few_rows() -> None:
    ranks = np.arange(1, 1410)
    expected = pd.qcut(ranks, 10, labels=False) + 1
    assert (risk_deciles(ranks) == expected).all()
    assert risk_deciles(np.arange(1, 4)).tolist() == [1, 4, 7]
    assert risk_deciles(np.array([1])).tolist() == [1]


def test_tied_probabilities_still_fill_ten_equal_deciles(run: Trained) -> None:
    result = copy.copy(run.results[run.winner])
    result.test_proba = np.full(len(run.split.ids_test), 0.5)
    table = build_predictions(run.spec, result, run.split)
    counts = table["risk_decile"].value_counts()
    assert len(counts) == 10 and counts.max() - counts.min() <= 1


# --------------------------------------------------------------------------- HTML report


def test_report_has_every_section_with_a_heading(report: Path) -> None:
    page = parse(report)
    assert page.sections == list(SECTION_IDS)
    assert all(page.headings.get(section) for section in SECTION_IDS)


def test_report_embeds_every_plot_as_a_png_data_uri(report: Path, plots) -> None:
    page = parse(report)
    assert len(page.images) == len(plots[0].paths) + len(plots[1].paths) == 13
    for source in page.images:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]).startswith(PNG_SIGNATURE)


def test_report_is_self_contained(report: Path) -> None:
    page = parse(report)
    assert page.tags.isdisjoint({"script", "link", "iframe", "object", "embed"})
    for value in page.attribute_values:
        assert "://" not in value and not value.startswith("//"), value
    text = report.read_text()
    assert "<style>" in text and "url(" not in text
    assert [p.name for p in report.parent.iterdir()] == ["report.html"]
    assert report.stat().st_mode & 0o777 == 0o644


def test_report_shows_status_gates_metrics_and_winner(report: Path, run: Trained) -> None:
    text = report.read_text()
    page = parse(report)
    assert 'class="badge badge-green"' in text
    assert "succeeded · promote" in text
    assert "gates passed" in text
    assert "d = +0.05 &gt;= -0.005" in text
    assert len(page.winner_rows) == 1 and page.winner_rows[0].startswith(run.winner)
    for name in run.results:
        assert f"<td>{name}" in text


def test_report_lists_the_top_at_risk_customers(report: Path, predictions: pd.DataFrame) -> None:
    text = report.read_text()
    at_risk = text.split('<section id="at-risk">')[1].split("</section>")[0]
    assert at_risk.count("<tr>") == 1 + 10
    for customer in predictions["id"].head(10):
        assert f"<td>{customer}</td>" in at_risk
    assert f"<td>{predictions['id'].iloc[10]}</td>" not in at_risk


def test_the_at_risk_list_shows_each_customers_top_three_reasons(
    report: Path, predictions: pd.DataFrame, run: Trained
) -> None:
    at_risk = report.read_text().split('<section id="at-risk">')[1].split("</section>")[0]
    assert '<th scope="col">top reasons</th>' in at_risk
    reasons = explain_run(run.spec, run.results[run.winner], run.split, predictions, 10)
    assert list(reasons.by_id) == predictions["id"].head(10).tolist()
    for customer, why in reasons.by_id.items():
        assert len(why) == 3
        assert html.escape(reason_text(why), quote=False) in at_risk, customer


def test_the_global_view_ranks_columns_by_mean_absolute_contribution(
    report: Path, run: Trained, predictions: pd.DataFrame
) -> None:
    section = report.read_text().split('<section id="reasons">')[1].split("</section>")[0]
    explanation, _ = PipelineExplainer(run.results[run.winner].pipeline).explain_frame(
        run.split.X_test
    )
    means = np.abs(explanation.contributions).mean(axis=0)
    order = [explanation.columns[i] for i in np.argsort(-means, kind="stable")]
    shown = [cell.split("</td>")[0] for cell in section.split("<tr><td>")[1:]]
    assert shown == order


def test_the_global_view_of_a_large_hold_out_explains_a_seeded_sample_and_says_so(
    run: Trained, predictions: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    from churn.report import reasons as reasons_module

    limit = len(run.split.X_test) // 2
    monkeypatch.setattr(reasons_module, "GLOBAL_VIEW_MAX_ROWS", limit)
    first = explain_run(run.spec, run.results[run.winner], run.split, predictions, 10)
    again = explain_run(run.spec, run.results[run.winner], run.split, predictions, 10)

    assert (first.rows, first.holdout_rows) == (limit, len(run.split.X_test))
    assert first.importance == again.importance  # seeded
    assert list(first.by_id) == predictions["id"].head(10).tolist()  # the at-risk list: all
    text = " ".join(str(reasons_module.reasons_section(first)).split())
    assert f"over a seeded sample of {limit:,} of the {len(run.split.X_test):,} hold-out" in text


def test_the_importance_computed_in_a_worker_is_the_one_computed_here(run: Trained) -> None:
    import pickle
    from concurrent.futures import Future

    from churn.run.report_steps import start_importance

    sent: list[Any] = []

    class Pickling(Executor):
        """Runs each call on a pickled copy of its arguments, as a worker process would."""

        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            sent.extend(args)
            future: Future[Any] = Future()
            future.set_result(fn(*pickle.loads(pickle.dumps(args))))
            return future

    winner = run.results[run.winner]
    computed = start_importance(Pickling(), run.spec, run.split, winner)()

    pd.testing.assert_frame_equal(computed, importance_table(run.spec, run.split, winner))
    assert computed.attrs == importance_table(run.spec, run.split, winner).attrs
    split = next(arg for arg in sent if isinstance(arg, Split))
    assert (len(split.X_train), len(split.X_test)) == (0, len(run.split.X_test))


def report_page(run: Trained, folder: Path, evaluation: PlotSet) -> str:
    """The report of ``run`` with no EDA plots and the given evaluation plots."""
    return write_report(
        folder,
        as_manifest(manifest_for(run)),
        spec_text="",
        predictions=pd.DataFrame(),
        eda=PlotSet([], []),
        evaluation=evaluation,
        top_at_risk=5,
    ).read_text()


def test_report_lists_plot_errors(run: Trained, tmp_path: Path) -> None:
    page = report_page(run, tmp_path, PlotSet([], ["plot eval_roc: ValueError: <bad> input"]))
    assert "<li>plot eval_roc: ValueError: &lt;bad&gt; input</li>" in page


@pytest.mark.parametrize(
    ("status", "action", "color"),
    [
        ("succeeded", "promote", "green"),
        ("succeeded", "keep_champion", "amber"),
        ("succeeded", "hold", "amber"),
        ("failed", "reject", "red"),
        ("running", None, "amber"),
    ],
)
def test_status_badge_colour_follows_the_outcome(
    run: Trained, tmp_path: Path, status: str, action: str | None, color: str
) -> None:
    decision = (
        None
        if action is None
        else {"action": action, "run_failed": status == "failed", "reason": "because"}
    )
    page = write_report(
        tmp_path,
        as_manifest(manifest_for(run, status=status, decision=decision)),
        spec_text="",
        predictions=pd.DataFrame(),
        eda=PlotSet([], []),
        evaluation=PlotSet([], []),
        top_at_risk=5,
    ).read_text()
    assert f'class="badge badge-{color}"' in page


def test_report_of_a_run_that_died_early_still_has_every_section(tmp_path: Path) -> None:
    manifest = {
        "run_id": "r1",
        "status": "failed",
        "started_at": "2026-01-01T00:00:00+00:00",
        "error": "DataContractError: tenure: below min 0",
        "ended_at": None,
    }
    path = write_report(
        tmp_path,
        as_manifest(manifest),
        spec_text="version: 1\n",
        predictions=pd.DataFrame(),
        eda=PlotSet([], []),
        evaluation=PlotSet([], []),
        top_at_risk=25,
    )
    page = parse(path)
    assert page.sections == list(SECTION_IDS)
    text = path.read_text()
    assert "badge-red" in text and "DataContractError: tenure: below min 0" in text
    assert "No candidate was scored" in text and "No predictions" in text


def test_data_and_spec_text_are_escaped(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    raw = subscriptions_spec(name="evil")
    raw["columns"][evil] = raw["columns"].pop("region")
    raw["features"]["groups"][1]["columns"] = ["plan", evil]
    spec = Spec.model_validate(raw)
    frame = subscriptions_frame(300).rename(columns={"region": evil})
    frame["account_id"] = frame["account_id"] + evil
    run = train(spec, frame)
    with_gaps = frame.copy()
    with_gaps.loc[with_gaps.index[:3], evil] = None
    eda = draw_eda(spec, with_gaps, tmp_path / "plots")
    assert eda.errors == [] and eda.missing_values[evil] == 3
    predictions = build_predictions(spec, run.results[run.winner], run.split)
    manifest = manifest_for(run, spec_name=evil, error=evil)
    manifest["candidates"][evil] = manifest["candidates"]["logreg"]
    path = write_report(
        tmp_path,
        as_manifest(manifest),
        spec_text=f"name: {evil}\n",
        predictions=predictions,
        eda=eda,
        evaluation=PlotSet([], []),
        top_at_risk=5,
    )
    text = path.read_text()
    assert "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    page = parse(path)
    assert "script" not in page.tags
    assert sum(evil in chunk for chunk in page.texts) >= 5


def test_stratified_sample_is_seeded_keeps_the_balance_and_spares_small_inputs() -> None:
    from churn.report.sampling import stratified_sample

    y = np.array([1] * 300 + [0] * 2700)
    keep = stratified_sample(y, 1000, seed=4)
    assert keep is not None and len(set(keep.tolist())) == 1000
    assert y[keep].sum() == 100
    assert np.array_equal(keep, stratified_sample(y, 1000, seed=4))  # type: ignore[arg-type]
    assert stratified_sample(y, 3000, seed=4) is None


def test_evaluation_plots_of_a_large_hold_out_are_drawn_from_a_sample(
    run: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = 2500
    rng = np.random.default_rng(0)
    y = (rng.random(rows) < 0.3).astype(np.int64)
    big = {name: copy.copy(result) for name, result in run.results.items()}  # larger hold-out
    for result in big.values():
        result.test_proba = np.clip(y * 0.4 + rng.random(rows) * 0.6, 0, 1)
    split = dataclasses.replace(run.split, y_test=y)
    monkeypatch.setattr(evaluation_plots, "plot_feature_importance", lambda *args: None)
    spec = run.spec.model_copy(
        update={"output": run.spec.output.model_copy(update={"evaluation_max_rows": 1000})}
    )
    plots = draw_evaluation(spec, split, big, run.winner, tmp_path)
    assert plots.sampled and plots.rows_used == 1000
    assert all(len(result.test_proba) == rows for result in big.values())  # not cut in place
    page = report_page(run, tmp_path, plots)
    assert "sample of 1,000 hold-out rows (output.evaluation_max_rows)" in page
