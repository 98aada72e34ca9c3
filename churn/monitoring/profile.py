"""The reference profile of a run: its training data and hold-out scores, bucketed for drift.

A run writes ``runs/<run_id>/profile.json`` (:func:`write_profile`): for each numeric input
column the interior bucket edges at the training data's quantiles (deduplicated) and the rows
per bucket; for each category column the categories seen and their rows; nulls and rows of
each; and the same buckets for the winning candidate's hold-out probabilities.

Any batch (a file, a micro-batch the API scores) is counted on those buckets by
:func:`current_counts` (vectorised: ``np.searchsorted`` for numbers, a category lookup for
categories), and counts of micro-batches add up (:func:`add_counts`) to the counts of the whole.

Bucket rule: with interior edges ``e``, bucket ``i`` holds ``e[i-1] < x <= e[i]`` (``-inf`` and
``+inf`` at the ends), so there are ``len(e) + 1`` buckets; NaN is a null, ``+-inf`` fall in the
end buckets. Datetime columns are not profiled.

Nothing happens at import time.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from churn.errors import RegistryError
from churn.monitoring.tree_scorer import TreeScorer, compile_scorer
from churn.registry.atomic_io import atomic_write, to_json
from churn.registry.reading import MAX_RECORD_BYTES, parse_json, read_regular
from churn.registry.record import validation_problems
from churn.spec.model import Spec

if TYPE_CHECKING:  # pandas is imported where a frame is read: a profile reads without it
    import pandas as pd

PROFILE_FILE: Final = "profile.json"
"""The profile's file name in a run folder."""
DEFAULT_BINS: Final = 10
"""Buckets per numeric column unless a run asks for others."""
SCORER_CHECK_ROWS: Final = 5_000
"""Rows of the training data a compiled model must score as the pipeline does."""


class ProfileNotFound(RegistryError):
    """The run has no profile.json (it was trained before churn recorded profiles)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Buckets(_Frozen):
    """Checks shared by the bucketed profiles: edges ascend, one count per bucket."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]

    @model_validator(mode="after")
    def _consistent(self) -> _Buckets:
        edges = np.asarray(self.edges, dtype=np.float64)
        if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
            raise ValueError("edges must be finite and strictly increasing")
        if len(self.counts) != len(self.edges) + 1:
            raise ValueError(
                f"expected {len(self.edges) + 1} counts (edges + 1), got {len(self.counts)}"
            )
        if any(count < 0 for count in self.counts):
            raise ValueError("counts must not be negative")
        return self


class NumericProfile(_Buckets):
    """A numeric input column: quantile buckets of the training data."""

    kind: Literal["numeric"] = "numeric"
    column: str
    nulls: int = Field(ge=0)
    rows: int = Field(ge=0)

    @model_validator(mode="after")
    def _rows_add_up(self) -> NumericProfile:
        _check_rows(self.column, sum(self.counts) + self.nulls, self.rows)
        return self


class CategoryProfile(_Frozen):
    """A category input column: the categories seen in training (sorted) and their rows."""

    kind: Literal["category"] = "category"
    column: str
    categories: tuple[str, ...]
    counts: tuple[int, ...]
    nulls: int = Field(ge=0)
    rows: int = Field(ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> CategoryProfile:
        if list(self.categories) != sorted(set(self.categories)):
            raise ValueError("categories must be distinct and sorted")
        if len(self.counts) != len(self.categories):
            raise ValueError(
                f"expected one count per category ({len(self.categories)}), got {len(self.counts)}"
            )
        if any(count < 0 for count in self.counts):
            raise ValueError("counts must not be negative")
        _check_rows(self.column, sum(self.counts) + self.nulls, self.rows)
        return self


class ScoreProfile(_Buckets):
    """The winning candidate's hold-out probabilities, bucketed like a numeric column."""

    rows: int = Field(ge=0)

    @model_validator(mode="after")
    def _rows_add_up(self) -> ScoreProfile:
        _check_rows("scores", sum(self.counts), self.rows)
        return self


ColumnProfile = Annotated[NumericProfile | CategoryProfile, Field(discriminator="kind")]


class ReferenceProfile(_Frozen):
    """What ``runs/<run_id>/profile.json`` holds."""

    schema_version: Literal[1] = 1
    run_id: str
    bins: int = Field(ge=2)
    columns: tuple[ColumnProfile, ...]
    scores: ScoreProfile
    scorer: TreeScorer | None = None
    """The run's model compiled to numbers (:mod:`churn.monitoring.tree_scorer`), which
    ``churn drift`` scores its sample with; None when the model does not compile."""

    def column(self, name: str) -> NumericProfile | CategoryProfile | None:
        """The profile of column ``name``, or None when it was not profiled."""
        return next((entry for entry in self.columns if entry.column == name), None)


class CurrentCounts(NamedTuple):
    """One column of a batch, counted on the reference's buckets."""

    counts: np.ndarray
    """int64, as long as the reference's counts."""
    unseen: int
    """Category values not in the reference (0 for numbers)."""
    nulls: int
    rows: int


def _check_rows(column: str, counted: int, rows: int) -> None:
    if counted != rows:
        raise ValueError(f"{column}: counts + nulls = {counted}, expected rows = {rows}")


# --------------------------------------------------------------------------- building


def build_profile(
    frame: pd.DataFrame,
    spec: Spec,
    holdout_scores: np.ndarray,
    *,
    run_id: str,
    bins: int = DEFAULT_BINS,
    model: Any = None,
) -> ReferenceProfile:
    """The profile of ``frame`` (the training data) and the winner's hold-out scores.

    Every feature column of ``spec`` present in ``frame`` is profiled: numeric ones on
    ``bins`` quantile buckets, categorical ones by category; datetime columns are skipped.
    ``model`` (the winner's pipeline) is recorded compiled when it compiles and scores the
    first :data:`SCORER_CHECK_ROWS` rows of ``frame`` as its ``predict_proba`` does.

    Raises:
        ValueError: ``bins`` is below 2.
    """
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    kinds = spec.column_kinds()
    columns: list[NumericProfile | CategoryProfile] = []
    for name in spec.feature_columns:
        if name not in frame.columns or kinds[name] == "datetime":
            continue
        series = frame[name]
        if kinds[name] == "numeric":
            columns.append(_numeric_profile(name, float_values(series), bins))
        else:
            columns.append(_category_profile(name, series))
    scores = float_values(holdout_scores)
    edges = quantile_edges(scores, bins)
    counts, nulls = _bucket(edges, scores)
    score_profile = ScoreProfile(
        edges=tuple(edges.tolist()), counts=tuple(counts.tolist()), rows=len(scores) - nulls
    )
    scorer = None if model is None else compile_scorer(model, frame.iloc[:SCORER_CHECK_ROWS])
    return ReferenceProfile(
        run_id=run_id, bins=bins, columns=tuple(columns), scores=score_profile, scorer=scorer
    )


def quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Interior edges at the ``1/bins .. (bins-1)/bins`` quantiles of the finite values,
    deduplicated and below the largest value (a column with few distinct values gets fewer
    buckets; no reference bucket is empty)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.empty(0, dtype=np.float64)
    levels = np.arange(1, bins) / bins
    edges = np.unique(np.quantile(finite, levels, method="lower"))
    kept: np.ndarray = edges[edges < finite.max()]
    return kept  # the last bucket is never empty in the reference


def _numeric_profile(name: str, values: np.ndarray, bins: int) -> NumericProfile:
    edges = quantile_edges(values, bins)
    counts, nulls = _bucket(edges, values)
    return NumericProfile(
        column=name,
        edges=tuple(edges.tolist()),
        counts=tuple(counts.tolist()),
        nulls=nulls,
        rows=len(values),
    )


def _category_profile(name: str, series: pd.Series) -> CategoryProfile:
    codes, categories = _as_str_categories(series)
    nulls = int(np.count_nonzero(codes < 0))
    counts = np.bincount(codes[codes >= 0], minlength=len(categories))
    order = sorted(range(len(categories)), key=categories.__getitem__)
    return CategoryProfile(
        column=name,
        categories=tuple(categories[index] for index in order),
        counts=tuple(counts[order].tolist()),
        nulls=nulls,
        rows=len(codes),
    )


# --------------------------------------------------------------------------- counting


def current_counts(
    profile: NumericProfile | CategoryProfile | ScoreProfile, values: np.ndarray | pd.Series
) -> CurrentCounts:
    """``values`` (one column of a batch, or scores) counted on ``profile``'s buckets."""
    if isinstance(profile, CategoryProfile):
        return _category_counts(profile, values)
    numbers = float_values(values)
    counts, nulls = _bucket(np.asarray(profile.edges, dtype=np.float64), numbers)
    return CurrentCounts(counts=counts, unseen=0, nulls=nulls, rows=len(numbers))


def add_counts(a: CurrentCounts, b: CurrentCounts) -> CurrentCounts:
    """The counts of two batches together (counting them at once gives the same).

    Raises:
        ValueError: They were counted on different buckets.
    """
    if a.counts.shape != b.counts.shape:
        raise ValueError(f"cannot add counts of {len(a.counts)} and {len(b.counts)} buckets")
    return CurrentCounts(
        counts=a.counts + b.counts,
        unseen=a.unseen + b.unseen,
        nulls=a.nulls + b.nulls,
        rows=a.rows + b.rows,
    )


def float_values(values: np.ndarray | pd.Series) -> np.ndarray:
    """``values`` as float64 with NaN for every missing value (nullable dtypes, None, NA)."""
    import pandas as pd

    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    array = np.asarray(values)
    if array.dtype == object:
        return pd.Series(array).to_numpy(dtype=np.float64, na_value=np.nan)
    return array.astype(np.float64, copy=False)


def _bucket(edges: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, int]:
    """Rows per bucket of the non-NaN ``values`` and the number of NaN."""
    missing = np.isnan(values)
    nulls = int(np.count_nonzero(missing))
    present = values[~missing] if nulls else values
    index = np.searchsorted(edges, present, side="left")
    return np.bincount(index, minlength=len(edges) + 1).astype(np.int64), nulls


def _as_str_categories(values: np.ndarray | pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes (-1 for a null) and the distinct values as text, via one pandas factorisation
    (none for a column that is categorical already)."""
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values)
    categorical = (
        series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("category")
    )
    categories = [str(value) for value in categorical.cat.categories.tolist()]
    codes = categorical.cat.codes.to_numpy().astype(np.int64)
    if len(set(categories)) < len(categories):  # 1 and "1" are one category as text
        unique, inverse = np.unique(np.array(categories, dtype=object), return_inverse=True)
        codes = np.where(codes >= 0, inverse[np.maximum(codes, 0)], -1)
        categories = [str(value) for value in unique]
    return codes, categories


def _category_counts(profile: CategoryProfile, values: np.ndarray | pd.Series) -> CurrentCounts:
    """One pass over the rows (rows per code, nulls first), then the few codes mapped to the
    profile's categories: no row-sized gathers."""
    codes, categories = _as_str_categories(values)
    position = {category: index for index, category in enumerate(profile.categories)}
    lookup = np.array([position.get(category, -1) for category in categories], dtype=np.int64)
    by_code = np.bincount(codes + 1, minlength=len(categories) + 1).astype(np.int64)
    per_category = by_code[1:]
    seen = lookup >= 0
    counts = np.zeros(len(profile.categories), dtype=np.int64)
    np.add.at(counts, lookup[seen], per_category[seen])
    return CurrentCounts(
        counts=counts,
        unseen=int(per_category[~seen].sum()),
        nulls=int(by_code[0]),
        rows=int(codes.size),
    )


# --------------------------------------------------------------------------- the file


def profile_bytes(profile: ReferenceProfile) -> bytes:
    """The bytes of ``profile.json`` for ``profile`` (what its recorded sha256 is taken of)."""
    return to_json(profile.model_dump(mode="json")).encode()


def write_profile(run_dir: Path, profile: ReferenceProfile) -> Path:
    """Write ``run_dir/profile.json`` atomically; returns its path."""
    data = profile_bytes(profile)
    return atomic_write(run_dir / PROFILE_FILE, lambda handle: handle.write(data))


def read_profile(
    run_dir: Path, *, sha256: str | None = None, with_scorer: bool = True
) -> ReferenceProfile:
    """The profile of the run in ``run_dir`` (regular file, bounded, no symlink).

    Args:
        run_dir: ``runs/<run_id>``.
        sha256: The hash run.json recorded for it (``profile.sha256``); the file is refused
            unless its bytes hash to it. None reads it unchecked.
        with_scorer: False for a reader that does not score (``scorer`` is then None): the
            compiled model, most of the file, is left unparsed (a 600-tree model costs
            about 0.05 s to parse); its bytes are still covered by ``sha256``.

    Raises:
        ProfileNotFound: The run has no profile.json.
        RegistryError: It is not a regular file, too large, not JSON, not a profile (the
            message names the file and the first fields that do not fit), or not the file
            run.json recorded.
    """
    path = run_dir / PROFILE_FILE
    what = f"run {run_dir.name}: {PROFILE_FILE}"
    try:
        data = read_regular(path, what=what, limit=MAX_RECORD_BYTES)
    except FileNotFoundError:
        raise ProfileNotFound(
            f"run {run_dir.name} has no {PROFILE_FILE} (it was trained before churn recorded "
            "reference profiles; train a new run to monitor drift)"
        ) from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise RegistryError(
            f"{path} does not hash to the sha256 its run.json recorded; the profile was "
            "changed after the run (train a new run, or restore the file)"
        )
    raw: Any = parse_json(data, source=str(path))
    if not with_scorer and isinstance(raw, dict):
        raw.pop("scorer", None)
    try:
        profile = ReferenceProfile.model_validate(raw)
    except ValidationError as exc:
        raise RegistryError(
            f"{path} is not a reference profile: {validation_problems(exc)}"
        ) from None
    if profile.run_id != run_dir.name:
        raise RegistryError(
            f"{path} says run_id {profile.run_id!r:.80}, not the name of its folder; a profile "
            "belongs in the folder of its own run"
        )
    return profile
