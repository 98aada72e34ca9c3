"""The report's gate-tests section: outcomes, the slice table, one plot per sliced metric."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

from churn.gates.subjects import GateTestOutcome, SliceEvidence
from churn.report import gate_tests
from churn.report.gate_tests import gate_tests_section, sliced_metrics

EVIL = '<script>alert("x")</script>'


def evidence(segment: str, passed: bool | None, **fields: object) -> SliceEvidence:
    values: dict[str, object] = {
        "column": "Contract",
        "segment": segment,
        "metric": "roc_auc",
        "rows": 300,
        "value": 0.71,
        "low": 0.65,
        "high": 0.77,
        "bound": "champion 0.8000 <= interval high + 0",
        "champion": 0.8,
        "passed": passed,
    }
    return SliceEvidence.model_validate(values | fields)


def outcomes() -> list[GateTestOutcome]:
    return [
        GateTestOutcome(
            nodeid="churn/gates/declarative.py::test_declared_slices",
            candidate="blend",
            outcome="failed",
            duration_s=0.4321,
            message="roc_auc per segment of Contract:\n  Contract = 'One year': ...",
            file="churn/gates/declarative.py",
            line=16,
            evidence=[
                evidence("Month-to-month", True, champion=0.7, value=0.75),
                evidence("One year", False),
                evidence("Two year", None, rows=12, low=None, high=None, bound=None),
                evidence("0", None, column="SeniorCitizen", metric="selection_rate"),
            ],
        ),
        GateTestOutcome(
            nodeid="gates/test_behaviour.py::test_longer_contract_never_raises_the_risk",
            candidate="blend",
            outcome="error",
            duration_s=0.01,
            message="KeyError: 'Contract'",
        ),
        GateTestOutcome(
            nodeid=f"gates/test_x.py::{EVIL}", candidate=EVIL, outcome="skipped", duration_s=0
        ),
    ]


class Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources.append(dict(attrs)["src"] or "")


def test_the_section_lists_every_test_every_segment_and_draws_each_sliced_metric() -> None:
    html = str(gate_tests_section(outcomes()))
    assert html.startswith('<section id="gate-tests"><h2>Gate tests</h2>')
    assert "<p>1 failed, 1 error, 1 skipped.</p>" in html
    assert '<span class="verdict verdict-fail">error</span>' in html  # an error fails the gate
    assert "churn/gates/declarative.py:16" in html and "0.43 s" in html
    assert "Contract = &#39;One year&#39;: ..." in html
    rows = re.findall(r"<tr><td>blend</td><td>test_declared_slices</td>(.*?)</tr>", html)
    assert len(rows) == 4
    assert (
        "<td>One year</td><td>roc_auc</td><td>300</td><td>0.7100</td><td>[0.6500, 0.7700]</td>"
        in rows[1]
    )
    assert rows[1].endswith('<span class="verdict verdict-fail">fail</span></td>')
    assert "<td>12</td><td>0.7100</td><td>—</td><td>0.8000</td><td>—</td>" in rows[2]
    assert rows[2].endswith('<span class="verdict verdict-other">reported</span></td>')
    images = Images()
    images.feed(html)
    assert len(images.sources) == 2  # roc_auc by Contract, selection_rate by SeniorCitizen
    for source in images.sources:
        data = base64.b64decode(source.removeprefix("data:image/png;base64,"))
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert "roc_auc by Contract (blend, test_declared_slices)" in html
    assert EVIL not in html and "&lt;script&gt;" in html


def test_no_tests_and_many_slices_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "No gate tests ran in this run." in str(gate_tests_section([]))
    monkeypatch.setattr(gate_tests, "MAX_PLOTS", 3)
    many = [outcomes()[0].model_copy(update={"candidate": f"c{index}"}) for index in range(3)]
    assert len(sliced_metrics(many)) == 6
    html = str(gate_tests_section(many))
    assert html.count("<img ") == 3
    assert "3 more sliced metrics are in the table but not drawn." in html
