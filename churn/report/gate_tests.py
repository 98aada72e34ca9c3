"""The report's gate-tests section: every gate test's outcome, the slice table and its plots.

Built from the :class:`~churn.gates.subjects.GateTestOutcome` records of ``run.json``. Each
sliced metric (one test, one candidate, one column, one metric) gets a plot of its segments:
the value with its bootstrap interval, the champion's value beside it, coloured by verdict. The
plots are drawn in memory and embedded as PNG data URIs, like the rest of the page.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from churn.gates.subjects import GateTestOutcome, SliceEvidence
from churn.report.formatting import number
from churn.report.templating import render_template

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PASSED_COLOR = "#1a7f37"
"""The report's green: a segment that met its bound."""
REPORTED_COLOR = "#8c8c8c"
"""A segment only reported (too few rows, or no bound)."""
MAX_PLOTS = 24
"""Sliced metrics drawn at most; the table lists every segment whatever the count."""
OUTCOME_CLASS = {"passed": "pass", "failed": "fail", "error": "fail", "skipped": "other"}


@dataclass(frozen=True)
class SlicedMetric:
    """The segments one test measured for one candidate, one column and one metric."""

    candidate: str
    test: str
    column: str
    metric: str
    segments: tuple[SliceEvidence, ...]

    @property
    def title(self) -> str:
        return f"{self.metric} by {self.column} ({self.candidate}, {self.test})"


def gate_tests_section(outcomes: Sequence[GateTestOutcome]) -> Markup:
    """The section's HTML: a summary, one row per test, the slice table and one plot per
    sliced metric (at most :data:`MAX_PLOTS`)."""
    sliced = sliced_metrics(outcomes)
    counts: Counter[str] = Counter(outcome.outcome for outcome in outcomes)
    return render_template(
        "gate_tests.html.j2",
        summary=", ".join(f"{counts[kind]} {kind}" for kind in OUTCOME_CLASS if counts[kind]),
        tests=[_test_row(outcome) for outcome in outcomes],
        slices=[_slice_row(entry, item) for entry in sliced for item in entry.segments],
        figures=[_figure(entry) for entry in sliced[:MAX_PLOTS]],
        left_out=max(0, len(sliced) - MAX_PLOTS),
    )


def sliced_metrics(outcomes: Sequence[GateTestOutcome]) -> list[SlicedMetric]:
    """The evidence grouped by candidate, test, column and metric, in the order recorded."""
    groups: dict[tuple[str, str, str, str], list[SliceEvidence]] = {}
    for outcome in outcomes:
        for item in outcome.evidence:
            key = (outcome.candidate, _test_name(outcome.nodeid), item.column, item.metric)
            groups.setdefault(key, []).append(item)
    return [SlicedMetric(*key, segments=tuple(items)) for key, items in groups.items()]


def draw_sliced_metric(entry: SlicedMetric) -> Figure:
    """Each segment's value with its interval (a bar), the champion's value as a diamond."""
    from churn.report.figures import STAYED_COLOR, new_figure, plain, shorten_label, style_axes

    count = len(entry.segments)
    figure = new_figure((7.0, 1.4 + 0.42 * count))
    ax = figure.add_subplot()
    positions = list(range(count))[::-1]
    for position, item in zip(positions, entry.segments, strict=True):
        color = _color(item)
        if item.low is not None and item.high is not None:
            ax.plot([item.low, item.high], [position, position], color=color, linewidth=3)
        if item.value is not None:
            ax.plot(item.value, position, "o", color=color, markersize=7)
        if item.champion is not None:
            ax.plot(item.champion, position, "D", color=STAYED_COLOR, markersize=6)
    ax.set_yticks(
        positions,
        [plain(shorten_label(f"{item.segment} (n={item.rows:,})")) for item in entry.segments],
    )
    ax.set_ylim(-0.7, count - 0.3)
    ax.set_xlabel(plain(f"{entry.metric} (dot: value, bar: interval, diamond: champion)"))
    ax.set_title(plain(shorten_label(entry.title, 80)), fontsize=10)
    style_axes(ax, grid_axis="x")
    return figure


def png_data_uri(figure: Figure) -> str:
    """``figure`` as a base64 PNG data URI (then freed)."""
    from churn.report.figures import DPI

    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        figure.clear()
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(entry: SlicedMetric) -> dict[str, Any]:
    try:
        source = png_data_uri(draw_sliced_metric(entry))
    except Exception as exc:  # noqa: BLE001 - one broken plot must not cost the section
        return {"caption": entry.title, "source": None, "error": f"{type(exc).__name__}: {exc}"}
    return {"caption": entry.title, "source": source, "error": None}


def _test_name(nodeid: str) -> str:
    return nodeid.rsplit("::", 1)[-1]


def _test_row(outcome: GateTestOutcome) -> dict[str, Any]:
    where = outcome.file if outcome.line is None else f"{outcome.file}:{outcome.line}"
    return {
        "candidate": outcome.candidate,
        "test": outcome.nodeid,
        "outcome": outcome.outcome,
        "outcome_class": OUTCOME_CLASS[outcome.outcome],
        "duration": f"{outcome.duration_s:.2f} s",
        "where": where or "—",
        "message": outcome.message,
    }


def _slice_row(entry: SlicedMetric, item: SliceEvidence) -> dict[str, Any]:
    interval = (
        f"[{number(item.low)}, {number(item.high)}]"
        if item.low is not None and item.high is not None
        else "—"
    )
    verdict = {True: "pass", False: "fail", None: "reported"}[item.passed]
    return {
        "candidate": entry.candidate,
        "test": entry.test,
        "column": item.column,
        "segment": item.segment,
        "metric": item.metric,
        "rows": number(item.rows),
        "value": number(item.value),
        "interval": interval,
        "champion": number(item.champion),
        "bound": item.bound or "—",
        "verdict": verdict,
        "verdict_class": "other" if item.passed is None else verdict,
    }


def _color(item: SliceEvidence) -> str:
    from churn.report.figures import WINNER_COLOR

    return {True: PASSED_COLOR, False: WINNER_COLOR, None: REPORTED_COLOR}[item.passed]
