"""Plot plumbing shared by the EDA and evaluation plots.

Figures are plain :class:`matplotlib.figure.Figure` objects: no pyplot, no global backend,
no figure registry. They are safe to draw from worker threads and are freed as soon as they
go out of scope. Every plot is drawn on its own by :func:`draw_plots`; a plot that fails is
recorded in the ``errors`` of a :class:`~churn.report.plotset.PlotSet`, the others still drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from churn.errors import one_line

DPI = 100
"""Pixels per inch of every saved PNG: a figure of w x h inches is w*DPI x h*DPI pixels."""
STANDARD_SIZE = (7.0, 5.0)
"""Size in inches of single-panel plots."""
WIDE_SIZE = (12.0, 4.5)
"""Size in inches of two-panel plots."""
GRID_WIDTH = 12.0
"""Width in inches of small-multiple grids (one panel per column)."""

STAYED_COLOR = "#4c72b0"
CHURNED_COLOR = "#dd8452"
WINNER_COLOR = "#c44e52"
CANDIDATE_COLORS = (
    "#4c72b0",
    "#55a868",
    "#8172b3",
    "#937860",
    "#64b5cd",
    "#8c8c8c",
    "#ccb974",
    "#da8bc3",
)
"""Colours of the other candidates; none is close to :data:`WINNER_COLOR`."""

Drawer = Callable[[], Figure | None]
"""Draws one plot; returns None when there is nothing to draw (e.g. no numeric columns)."""


def new_figure(size: tuple[float, float]) -> Figure:
    """A pyplot-free figure of ``size`` inches with constrained layout (nothing clipped)."""
    return Figure(figsize=size, dpi=DPI, layout="constrained")


def draw_plots(
    plots: Sequence[tuple[str, Drawer]], plots_dir: Path
) -> tuple[list[Path], list[str]]:
    """Draw and save every plot as ``plots_dir/NAME.png``, each in its own try/except."""
    plots_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    errors: list[str] = []
    for name, draw in plots:
        try:
            figure = draw()
            if figure is None:
                continue
            path = plots_dir / f"{name}.png"
            save_figure(figure, path)
        except Exception as exc:  # noqa: BLE001 - one broken plot must not cost the others
            errors.append(f"plot {name}: {type(exc).__name__}: {one_line(exc)}")
        else:
            paths.append(path)
    return paths, errors


def save_figure(figure: Figure, path: Path) -> None:
    """Write ``figure`` as a PNG of exactly its size at :data:`DPI`, then free it.

    One draw on an Agg canvas (the layout engine runs inside it), then its pixels as a PNG:
    the bytes ``figure.savefig(path, dpi=DPI)`` writes (the figure is made at :data:`DPI`),
    without the extra draw pass savefig makes to lay the figure out first (about a tenth of
    the drawing's CPU).
    """
    try:
        canvas = FigureCanvasAgg(figure)
        canvas.print_png(path, metadata={"Software": None})  # type: ignore[no-untyped-call]
    finally:
        figure.clear()


def plain(text: object) -> str:
    """``text`` as literal matplotlib text: a ``$`` would otherwise start math mode."""
    return str(text).replace("$", r"\$")


def style_axes(ax: Axes, *, grid_axis: str = "both") -> None:
    """Light grid behind the data, no top/right frame."""
    ax.set_axisbelow(True)
    ax.grid(True, axis=grid_axis, color="#dddddd", linewidth=0.8)  # type: ignore[arg-type]
    ax.spines[["top", "right"]].set_visible(False)


def grid_shape(panels: int, columns: int) -> tuple[int, int]:
    """Rows and columns of a grid holding ``panels`` panels at most ``columns`` wide."""
    columns = max(1, min(columns, panels))
    return max(1, math.ceil(panels / columns)), columns


def hide_unused(axes: Sequence[Axes], used: int) -> None:
    """Hide the grid cells after the first ``used`` ones."""
    for ax in axes[used:]:
        ax.set_visible(False)


def color_of(index: int) -> str:
    """Colour of the ``index``-th candidate."""
    return CANDIDATE_COLORS[index % len(CANDIDATE_COLORS)]


def shorten_label(text: str, limit: int = 28) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
