"""The report's tables read as sentences: names apart from their notes, units beside numbers."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from wide_report import write_wide_report


class Cells(HTMLParser):
    """The text of every table cell (``td``/``th``), by the class of its table, row by row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.notes: list[str] = []
        self._table = ""
        self._cell: list[str] | None = None
        self._note: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table":
            self._table = classes[0] if classes else ""
            self.tables.setdefault(self._table, [])
        elif tag == "tr":
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "p" and "note" in classes:
            self._note = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "p" and self._note is not None:
            self.notes.append(" ".join("".join(self._note).split()))
            self._note = None

    def handle_data(self, data: str) -> None:
        for buffer in (self._cell, self._note):
            if buffer is not None:
                buffer.append(data)


def cells(path: Path) -> Cells:
    parser = Cells()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def test_an_ensemble_row_reads_blend_of_its_members(tmp_path: Path) -> None:
    page = cells(write_wide_report(tmp_path))
    names = [row[0] for row in page.tables["choices"][1:]]
    assert "blend of logreg, xgb" in names, names
    metric_names = [row[0] for row in page.tables["metrics"][1:]]
    assert "blend winner soft_voting" in metric_names, metric_names


def test_profit_has_a_unit_and_an_explanation(tmp_path: Path) -> None:
    page = cells(write_wide_report(tmp_path))
    header = page.tables["metrics"][0]
    assert "profit per customer" in header, header
    explained = [note for note in page.notes if note.startswith("profit:")]
    assert explained, page.notes
    assert "expected gain per scored customer" in explained[0]
    assert "evaluation.costs" in explained[0]


def test_a_report_without_profit_does_not_explain_it(tmp_path: Path) -> None:
    page = cells(write_wide_report(tmp_path, candidates={}))
    assert not any(note.startswith("profit:") for note in page.notes)
