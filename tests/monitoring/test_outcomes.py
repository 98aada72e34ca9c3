"""`churn outcomes`: planted outcomes joined with a planted prediction log give the precision,
recall and ROC-AUC computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from factories import subscriptions_spec
from sklearn.metrics import roc_auc_score

from churn.errors import DataContractError
from churn.monitoring.outcomes import record_outcomes
from churn.monitoring.prediction_log import PredictionLogFolder, log_table
from churn.monitoring.realized import read_realized
from churn.monitoring.scored import ScoredBatch
from churn.spec.loader import parse_spec

W49 = datetime(2026, 11, 30, 9, tzinfo=UTC).timestamp()  # a Monday
W50 = datetime(2026, 12, 8, 9, tzinfo=UTC).timestamp()


def _spec():  # the subscriptions spec: id account_id, target churned
    return parse_spec(yaml.safe_dump(subscriptions_spec()))


def _log(folder: Path) -> Path:
    log = PredictionLogFolder(folder, max_bytes=10**9)
    first = {"C0": 0.9, "C1": 0.8, "C2": 0.7, "C3": 0.2, "C4": 0.1, "C5": 0.6, "C8": 0.9}
    later = {"C0": 0.3, "C6": 0.95, "C7": 0.05}
    for run_id, at, scored in (("r1", W49, first), ("r2", W50, later)):
        proba = np.array(list(scored.values()))
        batch = ScoredBatch(list(scored), run_id, at, proba, proba >= 0.5)
        log.write(log_table([batch]), datetime.fromtimestamp(at, UTC))
    return folder


def _outcomes(path: Path, churned: dict[str, object], when: str = "2026-12-10") -> Path:
    rows = [{"account_id": i, "churned": c, "date": when} for i, c in churned.items()]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


PLANTED = {"C0": "yes", "C1": True, "C2": 0, "C3": 1, "C4": "no", "C5": False, "C6": 1, "C7": 0}


def test_planted_outcomes_give_the_hand_computed_metrics(tmp_path: Path) -> None:
    log = _log(tmp_path / "log")
    data = _outcomes(tmp_path / "outcomes.csv", {**PLANTED, "C99": 1})
    _outcomes(tmp_path / "late.csv", {"C8": 1}, when="2027-03-01")  # past the horizon
    home = tmp_path / "home"
    summary = record_outcomes(_spec(), home, data, log_folder=log, horizon_days=30, profit=None)
    assert (summary.outcomes, summary.matched, summary.unmatched) == (9, 8, 1)
    late = record_outcomes(
        _spec(), home, tmp_path / "late.csv", log_folder=log, horizon_days=30, profit=None
    )
    assert (late.matched, late.unmatched, late.labelled) == (0, 1, 8)
    record = read_realized(home)
    assert record is not None and record == late.record
    w49, w50 = record.by_week
    # W49, run r1: C1 TP, C2 FP, C3 FN, C4 TN, C5 FP
    assert (w49.week, w49.rows, w49.flagged, w49.churned, w49.true_positives) == (
        "2026-W49",
        5,
        3,
        2,
        1,
    )
    assert w49.precision == pytest.approx(1 / 3) and w49.recall == pytest.approx(1 / 2)
    assert (
        w49.roc_auc
        == pytest.approx(roc_auc_score([1, 0, 1, 0, 0], [0.8, 0.7, 0.2, 0.1, 0.6]))
        == pytest.approx(4 / 6)
    )
    # W50, run r2: C0 (its later prediction) FN, C6 TP, C7 TN
    assert (w50.week, w50.rows, w50.precision, w50.recall) == ("2026-W50", 3, 1.0, 0.5)
    by_run = {entry.run_id: entry for entry in record.by_run}
    assert by_run["r1"].precision == w49.precision and by_run["r2"].recall == w50.recall


def test_a_repeated_outcome_row_counts_once(tmp_path: Path) -> None:
    """The same customer, day and outcome twice (an export run twice) is one outcome: it was
    counted twice as matched ("10 outcomes, 10 matched") while the record kept it once."""
    log, home = _log(tmp_path / "log"), tmp_path / "home"
    path = _outcomes(tmp_path / "twice.csv", PLANTED)
    rows = pd.read_csv(path)
    pd.concat([rows, rows.iloc[[1, 6]]]).to_csv(path, index=False)  # C1 and C6 again
    summary = record_outcomes(_spec(), home, path, log_folder=log, horizon_days=30, profit=None)
    assert (summary.outcomes, summary.repeated, summary.matched, summary.unmatched) == (8, 2, 8, 0)
    assert summary.labelled == 8 and summary.to_dict()["repeated"] == 2
    w49, w50 = summary.record.by_week
    assert (w49.rows, w49.precision, w49.recall, w50.rows) == (5, pytest.approx(1 / 3), 0.5, 3)


def test_outcomes_dated_before_the_first_score_are_counted_apart(tmp_path: Path) -> None:
    """A date or id mix-up (outcomes older than every score of the customer) is unmatched
    and said so; a customer never scored or an outcome past the horizon is not that."""
    log, home = _log(tmp_path / "log"), tmp_path / "home"
    rows = [("C0", 1, "2026-11-20"), ("C1", 0, "2026-11-29"), ("C99", 1, "2026-11-20"),
            ("C8", 1, "2027-03-01"), ("C2", 0, "2026-11-30")]  # fmt: skip
    path = tmp_path / "early.csv"
    pd.DataFrame(rows, columns=["account_id", "churned", "date"]).to_csv(path, index=False)
    summary = record_outcomes(_spec(), home, path, log_folder=log, horizon_days=30, profit=None)
    assert (summary.matched, summary.unmatched, summary.before_first_score) == (1, 4, 2)
    assert summary.to_dict()["before_first_score"] == 2  # C2 scored the same day: matched


def test_a_corrected_outcome_replaces_the_earlier_one(tmp_path: Path) -> None:
    log, home = _log(tmp_path / "log"), tmp_path / "home"
    record_outcomes(
        _spec(),
        home,
        _outcomes(tmp_path / "a.csv", PLANTED),
        log_folder=log,
        horizon_days=30,
        profit=lambda churned, flagged: float(churned.sum()),
    )
    again = record_outcomes(
        _spec(),
        home,
        _outcomes(tmp_path / "b.csv", {"C2": 1}),
        log_folder=log,
        horizon_days=30,
        profit=None,
    )
    assert again.labelled == 8
    w49 = again.record.by_week[0]
    assert (w49.true_positives, w49.churned) == (2, 3)  # C2 churned after all
    assert w49.precision == pytest.approx(2 / 3) and w49.recall == pytest.approx(2 / 3)


def test_a_bad_label_or_date_names_the_file_lines_and_records_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "account_id,churned,date\nC0,yes,2026-12-10\nC1,maybe,2026-12-10\nC2,no,someday\n"
    )
    with pytest.raises(DataContractError) as caught:
        record_outcomes(
            _spec(),
            tmp_path / "home",
            path,
            log_folder=_log(tmp_path / "log"),
            horizon_days=30,
            profit=None,
        )
    text = str(caught.value)
    assert "bad.csv" in text and "churned: lines [3]" in text and "'maybe'" in text
    assert "date: lines [4]" in text
    assert not (tmp_path / "home").exists()
    (tmp_path / "nodate.csv").write_text("account_id,churned\nC0,1\n")
    with pytest.raises(DataContractError, match="column 'date' is missing"):
        record_outcomes(
            _spec(),
            tmp_path / "home",
            tmp_path / "nodate.csv",
            log_folder=tmp_path / "log",
            horizon_days=30,
            profit=None,
        )
