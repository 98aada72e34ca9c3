"""``churn outcomes DATA``: outcomes joined with the prediction log, realized performance.

DATA (a CSV or Parquet file or URL, or the rows of a SQL query or table read at ``--as-of``,
:func:`churn.sources.sql.fetch_rows`) holds one row per known outcome: the customer's id (the
spec's id column, or ``id``), whether they churned (the spec's target column, or ``churned``:
the target's positive value, ``true``/``yes``/``1`` or ``false``/``no``/``0``), and the ``date``
it was observed. Each outcome is matched with the customer's latest prediction scored at most
``horizon_days`` before that date (``pandas.merge_asof``: sorted, no per-row Python); outcomes
without one are counted, not used. The predictions are the Parquet log's and, when
``CHURN_PREDICTION_LOG_TABLE`` names one, the database table's (the API's rows and ``churn
score --to-table``'s alike): only the log's columns and the rows scored in the outcomes' date
window, filtered by the server. The matches join those recorded before
(``monitoring/labelled.parquet``; the same customer and date again replaces the earlier match),
and :class:`~churn.monitoring.realized.RealizedRecord` is computed from all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from churn.errors import DataContractError, RegistryError, one_line
from churn.monitoring.prediction_log import read_prediction_log
from churn.monitoring.prediction_table import read_table_predictions
from churn.monitoring.realized import (
    FOLDER,
    LABELLED,
    RealizedMetrics,
    RealizedRecord,
    realized_metrics,
    write_realized,
)
from churn.registry.atomic_io import atomic_write
from churn.registry.reading import open_regular
from churn.sources.database_url import DatabaseUrl
from churn.sources.score_table import TableName
from churn.sources.sql import SqlRead, fetch_rows
from churn.sources.urls import DataLocation, fetched, is_url, shown, suffix_of
from churn.spec import Spec

TRUE_WORDS: Final = frozenset({"true", "yes", "1", "1.0"})
FALSE_WORDS: Final = frozenset({"false", "no", "0", "0.0"})
MAX_LABELLED_BYTES: Final = 1024 * 1024 * 1024
"""labelled.parquet may be at most 1 GiB (about 50M matched outcomes)."""

Profit = Callable[[np.ndarray, np.ndarray], float]
"""Profit per customer of (churned, flagged), at the spec's costs."""


@dataclass(frozen=True)
class OutcomesSummary:
    """What one ``churn outcomes`` did."""

    source: str
    outcomes: int
    """Distinct outcomes read: a repeated row (same id, day and outcome) counts once."""
    repeated: int
    """Rows that repeated an earlier row's id, day and outcome (left out of ``outcomes``)."""
    matched: int
    unmatched: int
    before_first_score: int
    """Unmatched outcomes dated before every score of their customer that was read (a date or
    id mix-up, or outcomes older than the log)."""
    labelled: int
    record: RealizedRecord
    skipped_log_files: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "source": self.source,
            "outcomes": self.outcomes,
            "repeated": self.repeated,
            "matched": self.matched,
            "unmatched": self.unmatched,
            "before_first_score": self.before_first_score,
            "labelled": self.labelled,
            "skipped_log_files": self.skipped_log_files,
            "realized": self.record.model_dump(mode="json"),
        }


def read_outcomes(spec: Spec, source: DataLocation | SqlRead) -> pd.DataFrame:
    """``source``'s outcomes as columns ``id`` (text), ``churned`` (bool), ``outcome_date``.

    Raises:
        DataContractError: The file cannot be read, the query returns no rows, a column is
            missing, or a row holds a label or date it cannot use (the message names the
            source, the column and the first lines, or ids for a database).
        SourceError: The database cannot be reached or refuses the query.
    """
    if isinstance(source, SqlRead):
        frame = fetch_rows(source).to_pandas()
        return _outcome_columns(spec, frame, source.source.label, rows="ids")
    if is_url(source):
        with fetched(str(source)) as (handle, _):
            table = _read_table(handle, source)
    else:
        path = Path(source)
        if not path.is_file():
            raise DataContractError(str(source), ["file not found (or not a file)"])
        table = _read_table(path, source)
    rows = "lines" if _is_csv(source) else "rows"
    return _outcome_columns(spec, table.to_pandas(), shown(source), rows=rows)


def _is_csv(source: DataLocation) -> bool:
    return suffix_of(source).lower() != ".parquet"


def _read_table(data: Any, source: DataLocation) -> pa.Table:
    try:
        if not _is_csv(source):
            return pq.read_table(data)
        text = pacsv.ConvertOptions(strings_can_be_null=True, auto_dict_encode=False)
        return pacsv.read_csv(data, convert_options=text)
    except (OSError, pa.ArrowException) as exc:
        raise DataContractError(shown(source), [f"cannot read the file: {one_line(exc)}"]) from None


def _outcome_columns(spec: Spec, frame: pd.DataFrame, source: str, *, rows: str) -> pd.DataFrame:
    """The three columns, checked; ``rows`` says how a bad row is named: ``lines`` (a CSV's,
    from 2), ``rows`` (a Parquet file's, from 0) or ``ids`` (a database's)."""
    id_column = spec.data.id if spec.data.id in frame.columns else "id"
    label = spec.data.target.column if spec.data.target.column in frame.columns else "churned"
    wanted = {
        id_column: f"the customer id ({spec.data.id or 'id'})",
        label: f"the outcome ({spec.data.target.column} or churned)",
        "date": "the date the outcome was observed (date)",
    }
    missing = [f"column {name!r} is missing: {what}" for name, what in wanted.items()
               if name not in frame.columns]  # fmt: skip
    if missing:
        raise DataContractError(source, missing)
    if twice := sorted(set(frame.columns[frame.columns.duplicated()])):
        raise DataContractError(
            source, [f"column {name!r} appears more than once" for name in twice]
        )
    ids = frame[id_column]

    def where(bad: list[int]) -> str:
        if rows == "ids":
            return f"ids {', '.join(repr(str(ids.iloc[i])) for i in bad)}"
        return f"{rows} {[i + 2 for i in bad] if rows == 'lines' else bad}"

    problems = []
    churned = _labels(frame[label], spec.data.target.positive)
    if bad := np.flatnonzero(churned.isna().to_numpy())[:5].tolist():
        values = ", ".join(repr(frame[label].iloc[i]) for i in bad)
        problems.append(
            f"{label}: {where(bad)}: cannot tell churned from {values} "
            f"(use {spec.data.target.positive!r}, true/false, yes/no or 1/0)"
        )
    numeric = pd.api.types.is_numeric_dtype(frame["date"])  # 20261220 is not nanoseconds
    dates = pd.to_datetime(frame["date"].astype("string") if numeric else frame["date"],
                           errors="coerce", utc=True)  # fmt: skip
    if bad := np.flatnonzero(dates.isna().to_numpy())[:5].tolist():
        values = ", ".join(repr(str(frame["date"].iloc[i])) for i in bad)
        problems.append(f"date: {where(bad)}: not a date: {values} (use YYYY-MM-DD)")
    if bad := np.flatnonzero(ids.isna().to_numpy())[:5].tolist():
        place = f"rows {bad}" if rows == "ids" else where(bad)
        problems.append(f"{id_column}: {place}: the id is empty")
    if not problems and (bad := _contradictions(ids, dates, churned)):
        problems.append(
            f"{label}: {where(bad)}: the same id has both outcomes on the same date "
            "(one outcome per customer and day)"
        )
    if problems:
        raise DataContractError(source, problems)
    return pd.DataFrame(
        {"id": ids.astype(str), "churned": churned.astype(bool), "outcome_date": dates}
    )


def _contradictions(ids: pd.Series, dates: pd.Series, churned: pd.Series) -> list[int]:
    """Positions (at most 5) of rows whose id and day repeat with the other outcome: which of
    the two is true cannot be told, so neither is guessed."""
    key = pd.DataFrame({"id": ids.astype(str).to_numpy(), "day": dates.dt.floor("D").to_numpy()})
    both = (
        pd.Series(churned.astype(bool).to_numpy())
        .groupby([key["id"], key["day"]])
        .transform("nunique")
    )
    return [int(i) for i in np.flatnonzero(both.to_numpy() > 1)[:5]]


def _labels(values: pd.Series, positive: object) -> pd.Series:
    """True / False per value, NA where it is neither."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(FALSE_WORDS)] = False
    out[text.isin(TRUE_WORDS) | (text == str(positive).strip().lower())] = True
    return out


def match_outcomes(
    outcomes: pd.DataFrame, predictions: pd.DataFrame, horizon_days: int
) -> pd.DataFrame:
    """Each outcome with the customer's latest prediction scored in the ``horizon_days`` days
    up to the end of the outcome's date; outcomes without one are left out."""
    if outcomes.empty or predictions.empty:
        empty = outcomes.head(0)  # typed, so the merge and the weeks work on no match
        return _labelled_frame(
            predictions.head(0).assign(churned=empty["churned"], outcome_date=empty["outcome_date"])
        )
    left = outcomes.assign(
        at=outcomes["outcome_date"].dt.floor("D") + pd.Timedelta(days=1) - pd.Timedelta(1, "us")
    ).sort_values("at", kind="stable")
    right = predictions.assign(at=predictions["scored_at"]).sort_values("at", kind="stable")
    right["at"] = right["at"].astype(left["at"].dtype)
    joined = pd.merge_asof(
        left,
        right,
        on="at",
        by="id",
        direction="backward",
        tolerance=pd.Timedelta(days=horizon_days) + pd.Timedelta(days=1),
    )
    joined = joined[joined["run_id"].notna()]
    within = joined["scored_at"] >= joined["outcome_date"].dt.floor("D") - pd.Timedelta(
        days=horizon_days
    )
    return _labelled_frame(joined[within])


def _labelled_frame(frame: pd.DataFrame) -> pd.DataFrame:
    columns = ["id", "run_id", "scored_at", "churn_probability", "will_churn", "churned",
               "outcome_date"]  # fmt: skip
    return frame[columns].reset_index(drop=True)


def record_outcomes(
    spec: Spec,
    home: Path,
    source: DataLocation | SqlRead,
    *,
    log_folder: Path,
    horizon_days: int,
    profit: Profit | None,
    log_table: tuple[DatabaseUrl, TableName] | None = None,
    now: datetime | None = None,
) -> OutcomesSummary:
    """Read ``source``, match it with the prediction log (the Parquet files of ``log_folder``
    and the database table ``log_table``), add the matches to the labelled outcomes of
    ``home`` and write the realized-performance record from all of them.

    Raises:
        DataContractError: ``source`` is unusable; nothing is written.
        SourceError: A database cannot be read; nothing is written.
        RegistryError: The stored labelled outcomes cannot be read; nothing is written.
    """
    read = read_outcomes(spec, source)
    outcomes = _distinct(read)
    files, skipped = read_prediction_log(log_folder)
    tables = [files]
    if log_table is not None and not outcomes.empty:
        tables.append(read_table_predictions(*log_table, *_window(outcomes, horizon_days)))
    predictions = pa.concat_tables(tables).to_pandas()
    matched = match_outcomes(outcomes, predictions, horizon_days)
    labelled = _merge(_read_labelled(home), matched)
    record = realized_record(labelled, horizon_days, profit, now or datetime.now(UTC))
    arrow = pa.Table.from_pandas(labelled, preserve_index=False)
    path = home / FOLDER / LABELLED
    atomic_write(path, lambda handle: pq.write_table(arrow, handle, compression="zstd"))
    write_realized(home, record)
    return OutcomesSummary(
        source=source.source.label if isinstance(source, SqlRead) else shown(source),
        outcomes=len(outcomes),
        repeated=len(read) - len(outcomes),
        matched=len(matched),
        unmatched=len(outcomes) - len(matched),
        before_first_score=_before_first_score(outcomes, predictions),
        labelled=len(labelled),
        record=record,
        skipped_log_files=skipped,
    )


def _distinct(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and day: a repeat says the same (rows that disagree were refused
    by :func:`read_outcomes`), so it is one outcome, matched and counted once."""
    day = outcomes["outcome_date"].dt.floor("D")
    repeat = pd.DataFrame({"id": outcomes["id"], "day": day}).duplicated(keep="first")
    return outcomes[~repeat.to_numpy()].reset_index(drop=True)


def _before_first_score(outcomes: pd.DataFrame, predictions: pd.DataFrame) -> int:
    """Outcomes whose day ends before their customer's first score in ``predictions``."""
    if outcomes.empty or predictions.empty:
        return 0
    first = predictions.groupby("id")["scored_at"].min()
    scored = outcomes["id"].map(first)
    day_end = outcomes["outcome_date"].dt.floor("D") + pd.Timedelta(days=1)
    return int((scored.notna() & (scored >= day_end)).sum())


def _window(outcomes: pd.DataFrame, horizon_days: int) -> tuple[datetime, datetime]:
    """The scores :func:`match_outcomes` may use: ``horizon_days`` before the first outcome's
    day up to the end of the last one's."""
    days = outcomes["outcome_date"].dt.floor("D")
    start = days.min() - pd.Timedelta(days=horizon_days)
    end = days.max() + pd.Timedelta(days=1)
    return start.to_pydatetime(), end.to_pydatetime()


def _read_labelled(home: Path) -> pd.DataFrame | None:
    path = home / FOLDER / LABELLED
    try:
        with open_regular(path, what="labelled outcomes", limit=MAX_LABELLED_BYTES) as handle:
            frame: pd.DataFrame = pq.read_table(handle).to_pandas()
            return frame
    except FileNotFoundError:
        return None
    except (OSError, pa.ArrowException) as exc:
        raise RegistryError(f"{path}: cannot read the labelled outcomes: {one_line(exc)}; "
                            "move it away to start again") from None  # fmt: skip


def _merge(before: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    if before is None or before.empty:
        both = new
    elif new.empty:
        both = before
    else:
        both = pd.concat([before, new.astype(before.dtypes.to_dict())], ignore_index=True)
    key = [both["id"], both["outcome_date"].dt.floor("D")]
    keep = ~pd.DataFrame({"id": key[0], "day": key[1]}).duplicated(keep="last")
    return (
        both[keep.to_numpy()].sort_values(["scored_at", "id"], kind="stable").reset_index(drop=True)
    )


def realized_record(
    labelled: pd.DataFrame, horizon_days: int, profit: Profit | None, now: datetime
) -> RealizedRecord:
    """The metrics of all ``labelled`` matches per ISO week of the score, per run, and both."""
    iso = labelled["scored_at"].dt.isocalendar()
    weeks = iso["year"].astype(str) + "-W" + iso["week"].astype(int).astype(str).str.zfill(2)
    frame = labelled.assign(week=weeks.to_numpy())

    def groups(by: list[str]) -> tuple[RealizedMetrics, ...]:
        if frame.empty:
            return ()
        out = []
        for key, group in frame.groupby(by, sort=True):
            keys = {
                name: str(value)
                for name, value in zip(by, key if isinstance(key, tuple) else (key,), strict=True)
            }
            churned = group["churned"].to_numpy(dtype=bool)
            flagged = group["will_churn"].to_numpy(dtype=bool)
            out.append(
                realized_metrics(
                    keys.get("week"),
                    keys.get("run_id"),
                    churned,
                    group["churn_probability"].to_numpy(dtype=np.float64),
                    flagged,
                    profit(churned, flagged) if profit is not None else None,
                )
            )
        return tuple(out)

    return RealizedRecord(
        computed_at=now,
        horizon_days=horizon_days,
        by_week=groups(["week"]),
        by_run=groups(["run_id"]),
        by_week_and_run=groups(["week", "run_id"]),
    )


def spec_profit(spec: Spec) -> Profit | None:
    """Profit per customer at the spec's ``evaluation.costs`` (None when it declares none)."""
    costs = spec.evaluation.costs
    if costs is None:
        return None
    from churn.training.thresholds import cost_kwargs, profit_per_customer

    kwargs = cost_kwargs(costs)
    return lambda churned, flagged: profit_per_customer(
        churned.astype(int), flagged.astype(int), **kwargs
    )
