"""Tiny HTML builders that escape everything unless it is already marked as :class:`Html`."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


class Html(str):
    """A string of trusted markup: :func:`esc` leaves it as it is."""

    __slots__ = ()


def esc(value: object) -> Html:
    """``value`` as HTML text; :class:`Html` passes through, anything else is escaped."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def tag(name: str, /, *children: object, **attributes: object) -> Html:
    """``<name attr="...">children</name>``; ``class_`` means ``class``; None drops an attr."""
    content = "".join(esc(child) for child in children)
    return Html(f"{void(name, **attributes)}{content}</{name}>")


def void(name: str, /, **attributes: object) -> Html:
    """An element without content or end tag, such as ``<img src="...">``."""
    attrs = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{esc(value)}"'
        for key, value in attributes.items()
        if value is not None
    )
    return Html(f"<{name}{attrs}>")


def join(parts: Iterable[object]) -> Html:
    """The parts one after another, each escaped unless it is :class:`Html`."""
    return Html("".join(esc(part) for part in parts))


def table(
    headers: Sequence[object],
    rows: Iterable[Sequence[object]],
    *,
    row_classes: Sequence[str | None] | None = None,
    class_: str | None = None,
) -> Html:
    """A table with one header row; cells are escaped unless they are :class:`Html`."""
    head = tag("thead", tag("tr", join(tag("th", header, scope="col") for header in headers)))
    body_rows = []
    for index, row in enumerate(rows):
        row_class = row_classes[index] if row_classes is not None else None
        body_rows.append(tag("tr", join(tag("td", cell) for cell in row), class_=row_class))
    return tag(
        "div", tag("table", head, tag("tbody", join(body_rows)), class_=class_), class_="table-wrap"
    )


def definition_list(items: Mapping[str, object]) -> Html:
    """``<dl>`` of label/value pairs; pairs whose value is None are left out."""
    return tag(
        "dl",
        join(
            join([tag("dt", label), tag("dd", value)])
            for label, value in items.items()
            if value is not None
        ),
    )


def number(value: Any, digits: int = 4) -> str:
    """A metric value for a table: rounded, ``—`` when missing or not a number."""
    if value is None or isinstance(value, bool):
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(as_float):
        return "—"
    return f"{as_float:.{digits}f}"


def signed(value: Any, digits: int = 4) -> str:
    """A change with its sign (``+0.0123``), ``—`` when missing."""
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(as_float) else f"{as_float:+.{digits}f}"
