"""Gate tests in the gate report and the decision: a failing or erroring test of the candidate
that would be promoted fails the gates exactly like a failed value threshold (the candidate is
rejected, the run fails, exit code 4). Outcomes of other candidates are recorded, never judged.
"""

from __future__ import annotations

from collections.abc import Sequence

from churn.gates.subjects import GateTestOutcome
from churn.registry.record import DecisionRecord, GateReportRecord

MAX_FAILING_SHOWN = 3
"""The failing gate tests a reason names; the rest are counted."""


def judged_outcomes(outcomes: Sequence[GateTestOutcome], winner: str) -> list[GateTestOutcome]:
    """The outcomes that decide: those of the candidate that would be promoted."""
    return [o for o in outcomes if o.candidate == winner]


def tests_failed(outcomes: Sequence[GateTestOutcome], winner: str) -> list[GateTestOutcome]:
    """The winner's failed and erroring tests."""
    return [o for o in judged_outcomes(outcomes, winner) if o.outcome in ("failed", "error")]


def tests_reason(outcomes: Sequence[GateTestOutcome], winner: str) -> str:
    """``gate tests: 4 passed, 1 failed (test_x: message)``, on one line."""
    judged = judged_outcomes(outcomes, winner)
    counts = {
        kind: sum(o.outcome == kind for o in judged)
        for kind in ("passed", "failed", "error", "skipped")
    }
    words = ", ".join(
        f"{n} {'errors' if k == 'error' and n != 1 else k}" for k, n in counts.items() if n
    )
    text = f"gate tests: {words or 'none collected'}"
    failing = tests_failed(outcomes, winner)
    if failing:
        shown = "; ".join(
            f"{o.nodeid}: {' '.join(o.message.split())[:200]}" for o in failing[:MAX_FAILING_SHOWN]
        )
        more = len(failing) - MAX_FAILING_SHOWN
        text += f" ({shown}{f'; and {more} more' if more > 0 else ''})"
    return text


def gate_report_fields(
    report: GateReportRecord, outcomes: Sequence[GateTestOutcome], winner: str, *, ran: bool
) -> GateReportRecord:
    """The gate report as run.json records it, with the tests' outcomes when they ran."""
    if not ran:
        return report
    fields = report.as_dict()
    fields["tests"] = [o.model_dump() for o in outcomes]
    fields["reason"] = f"{fields['reason']}; {tests_reason(outcomes, winner)}"
    if tests_failed(outcomes, winner):
        fields["passed"] = False
        fields["passed_value"] = False
    return GateReportRecord.model_validate(fields)


def decide_with_tests(
    decision: DecisionRecord, outcomes: Sequence[GateTestOutcome], winner: str
) -> DecisionRecord:
    """The decision once the winner's gate tests are in: a failure rejects and fails the run."""
    if not tests_failed(outcomes, winner):
        return decision
    return DecisionRecord(action="reject", run_failed=True, reason=tests_reason(outcomes, winner))
