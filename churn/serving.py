"""Serving the champion: an immutable :class:`ServingModel` and a pandas-free :class:`FastScorer`.

Scoring one row through a fitted ``Pipeline`` costs milliseconds, almost all of it pandas
overhead in the ``ColumnTransformer``; the model itself needs well under one. The fast scorer
therefore skips the DataFrame: it takes the input as columns of plain values (one value per
column for a single record), computes the derived features on numpy arrays, runs each fitted
group transformer on a numpy array in the ``ColumnTransformer``'s fitted order, stacks the blocks
as the ``ColumnTransformer`` does and asks the final estimator for ``predict_proba``.

Every number equals what ``pipeline.predict_proba`` returns on the same rows (a one-row frame
for one record, an n-row frame for n records): the arrays handed to each fitted transformer
have the dtype and values that scikit-learn's own conversion of the training-typed DataFrame
produces, the derived features repeat :mod:`churn.features`' arithmetic operation by operation,
and one-hot / ordinal encoders (whose output is 0/1 or integer codes) are replaced by hash
look-ups into the fitted categories. Anything the scorer does not recognise (another step
type, a sparse output, a nullable integer column, ...) makes it fall back to the pipeline on a
DataFrame typed like the validated training data; :attr:`FastScorer.reason` says why.
"""

from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)
from threadpoolctl import ThreadpoolController

from churn.errors import RegistryError
from churn.features import DerivedFeatures
from churn.registry import Registry
from churn.spec import NUMERIC_DTYPES, ColumnSpec

log = logging.getLogger(__name__)

Columns = Mapping[str, Sequence[Any]]
"""Input as columns: column name -> one value per record (None for missing)."""
Values = Sequence[Any] | np.ndarray
"""One column: a list of Python values or a 1-d array."""
FloatArray = npt.NDArray[np.float64]

_GENERIC_STEPS: Final = (
    SimpleImputer,
    StandardScaler,
    MinMaxScaler,
    RobustScaler,
    KBinsDiscretizer,
)
"""Fitted steps the scorer runs through their own ``transform`` on a numpy array."""
_FUNCTIONS: Final = (np.log1p,)
"""Functions a ``FunctionTransformer`` step may apply (``churn.features``' log step)."""
_SMALL: Final = 64
"""Up to this many rows, encoders look every value up; above, each distinct value once."""


class Unsupported(Exception):
    """The pipeline holds something the fast scorer does not reproduce; use the pipeline."""


# --------------------------------------------------------------------------- input typing


def frame_dtype(column: ColumnSpec) -> str:
    """The pandas dtype a validated column has (see :mod:`churn.contract`)."""
    if column.dtype == "int":
        return "Int64" if column.nullable else "int64"
    if column.dtype == "bool":
        return "boolean" if column.nullable else "bool"
    if column.dtype == "float":
        return "float64"
    return "str"


def records_frame(columns: Columns, specs: Mapping[str, ColumnSpec]) -> pd.DataFrame:
    """A DataFrame of the input columns typed like the validated training data."""
    return pd.DataFrame(
        {name: pd.Series(list(columns[name]), dtype=frame_dtype(specs[name])) for name in specs}
    )


def _array_kind(column: ColumnSpec) -> str:
    """numpy dtype of the column's values as scikit-learn sees them, or raise Unsupported."""
    kind = frame_dtype(column)
    if kind in ("Int64", "boolean"):
        raise Unsupported(f"nullable {column.dtype} columns are scored through the pipeline")
    return "object" if kind == "str" else kind


def _to_array(values: Sequence[Any], kind: str) -> np.ndarray:
    if kind == "float64":
        return np.array(values, dtype=np.float64)  # None -> nan
    if kind == "object":
        out = np.empty(len(values), dtype=object)
        out[:] = [np.nan if v is None else v for v in values] if None in values else values
        return out
    return np.array(values, dtype=kind)


# --------------------------------------------------------------------------- derived features


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(all="ignore"):
        return num / np.where(den == 0.0, np.nan, den)


def _product(arrays: list[FloatArray]) -> FloatArray:
    result = arrays[0]
    for other in arrays[1:]:
        result = result * other
    return result


def _cut(x: FloatArray, edges: Sequence[float], labels: Sequence[str], right: bool) -> np.ndarray:
    """``pd.cut(x, edges, labels=labels, right=right)`` as an object array (nan outside)."""
    bins = np.asarray(edges, dtype=np.float64)
    ids = bins.searchsorted(x, side="left" if right else "right")
    missing = np.isnan(x) | (ids == 0) | (ids == len(bins))
    out = np.empty(len(x), dtype=object)
    out[:] = np.nan
    named = np.asarray(list(labels), dtype=object)
    out[~missing] = named[ids[~missing] - 1]
    return out


def _derive_step(entry: Mapping[str, Any]) -> tuple[list[str], Callable[..., np.ndarray]]:
    kind = entry["type"]
    if kind == "ratio":
        return [entry["numerator"], entry["denominator"]], _ratio
    if kind == "difference":
        return [entry["left"], entry["right"]], lambda a, b: a - b
    if kind == "product":
        return list(entry["columns"]), lambda *arrays: _product(list(arrays))
    if kind == "bins":
        edges = list(entry["edges"])
        labels = entry["labels"] or [f"{a:g}-{b:g}" for a, b in itertools.pairwise(edges)]
        right = bool(entry["right"])
        return [entry["column"]], lambda x: _cut(x, edges, labels, right)
    raise Unsupported(f"derived feature type {kind!r}")


# --------------------------------------------------------------------------- encoders


class _Lookup:
    """Category -> output code for one input column (a dict: Python equality, as sklearn's).

    Unknown categories get -1. A missing value (nan) gets ``missing`` when the encoder learned
    a missing category, else -1 like any unknown value.
    """

    def __init__(self, categories: np.ndarray, codes: Sequence[int], missing: int) -> None:
        self._table: dict[Any, int] = {}
        self._missing: int | None = None
        for value, code in zip(categories.tolist(), codes, strict=True):
            if _is_missing(value):
                self._missing = missing
            else:
                self._table[value] = code

    def __call__(self, values: Values) -> npt.NDArray[np.int64]:
        """One code per value (a list, or a 1-d array)."""
        missing = -1 if self._missing is None else self._missing
        if len(values) <= _SMALL:
            items = values.tolist() if isinstance(values, np.ndarray) else values
            return np.fromiter(
                (missing if _is_missing(v) else self._table.get(v, -1) for v in items),
                np.int64,
                count=len(items),
            )
        if not isinstance(values, np.ndarray):
            values = np.array(values, dtype=object)
        # Look each distinct value up once; factorize's -1 (None, nan) picks the last entry.
        positions, distinct = pd.factorize(values, use_na_sentinel=True)
        get = self._table.get
        table = np.fromiter(
            itertools.chain((get(v, -1) for v in distinct.tolist()), (missing,)), np.int64
        )
        return np.asarray(table[positions], dtype=np.int64)


def _is_missing(value: Any) -> bool:
    """None or nan: what pandas calls missing in an object column."""
    return value is None or (isinstance(value, float) and value != value)


def _check_no_infrequent(encoder: OneHotEncoder | OrdinalEncoder) -> None:
    if encoder.min_frequency is not None or encoder.max_categories is not None:
        raise Unsupported("encoders that group infrequent categories")


class _OneHot:
    """A fitted ``OneHotEncoder`` (dense, no infrequent grouping) as look-ups."""

    def __init__(self, encoder: OneHotEncoder) -> None:
        _check_no_infrequent(encoder)
        if encoder.sparse_output or encoder.handle_unknown not in ("ignore", "error"):
            raise Unsupported("a sparse or infrequent_if_exist one-hot encoder")
        drop = encoder.drop_idx_
        self._lookups: list[_Lookup] = []
        offset = 0
        for i, categories in enumerate(encoder.categories_):
            dropped = None if drop is None or drop[i] is None else int(drop[i])
            codes, missing = [], -1
            for index, value in enumerate(categories.tolist()):
                code = -1 if index == dropped else offset
                offset += code >= 0
                codes.append(code)
                if _is_missing(value):
                    missing = code
            self._lookups.append(_Lookup(categories, codes, missing))
        self._width = offset
        self._dtype = encoder.dtype
        self._strict = encoder.handle_unknown == "error"
        self._categories = encoder.categories_

    def transform(self, X: np.ndarray) -> np.ndarray:
        """One 0/1 column per kept category; unknown and dropped categories are all zeros."""
        return self.encode([X[:, i] for i in range(X.shape[1])], X.shape[0])

    def encode(self, columns: Sequence[Values], n: int) -> np.ndarray:
        """:meth:`transform` of the input given as columns (lists or arrays)."""
        out = np.zeros((n, self._width), dtype=self._dtype)
        for i, (lookup, values) in enumerate(zip(self._lookups, columns, strict=True)):
            codes = lookup(values)
            if self._strict:
                _raise_unknown(values, self._categories[i], i)
            rows = np.flatnonzero(codes >= 0)
            out[rows, codes[rows]] = 1
        return out


_MISSING_CODE: Final = -2


class _Ordinal:
    """A fitted ``OrdinalEncoder`` (no infrequent grouping) as look-ups."""

    def __init__(self, encoder: OrdinalEncoder) -> None:
        _check_no_infrequent(encoder)
        if encoder.handle_unknown not in ("use_encoded_value", "error"):
            raise Unsupported(f"ordinal handle_unknown={encoder.handle_unknown!r}")
        self._lookups = [
            _Lookup(cats, range(len(cats)), _MISSING_CODE) for cats in encoder.categories_
        ]
        self._dtype = encoder.dtype
        self._strict = encoder.handle_unknown == "error"
        self._unknown = encoder.unknown_value
        self._encoded_missing = encoder.encoded_missing_value
        self._categories = encoder.categories_

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Codes in fitted category order; missing and unknown values as the encoder says."""
        return self.encode([X[:, i] for i in range(X.shape[1])], X.shape[0])

    def encode(self, columns: Sequence[Values], n: int) -> np.ndarray:
        """:meth:`transform` of the input given as columns (lists or arrays)."""
        out = np.empty((n, len(self._lookups)), dtype=self._dtype)
        for i, (lookup, values) in enumerate(zip(self._lookups, columns, strict=True)):
            codes = lookup(values)
            if self._strict:
                _raise_unknown(values, self._categories[i], i)
            column = codes.astype(self._dtype)
            column[codes == -1] = self._unknown
            column[codes == _MISSING_CODE] = self._encoded_missing
            out[:, i] = column
        return out


def _raise_unknown(values: Values, known: np.ndarray, i: int) -> None:
    """sklearn's error for categories the encoder never saw (handle_unknown='error')."""
    seen = set(known.tolist())
    has_missing = any(_is_missing(v) for v in seen)
    items = values.tolist() if isinstance(values, np.ndarray) else values
    unknown = sorted(
        {str(v) for v in items if v not in seen and not (has_missing and _is_missing(v))}
    )
    if unknown:
        raise ValueError(f"Found unknown categories {unknown} in column {i} during transform")


# --------------------------------------------------------------------------- the plan


Transform = Callable[[np.ndarray], np.ndarray]
Encode = Callable[[Sequence[Values], int], np.ndarray]


def _identity(X: np.ndarray) -> np.ndarray:
    return X


def _encoder(step: Any) -> _OneHot | _Ordinal | None:
    if type(step) is OneHotEncoder:
        return _OneHot(step)
    if type(step) is OrdinalEncoder:
        return _Ordinal(step)
    return None


def _step(step: Any) -> Transform:
    """A fitted group step as a function of a numpy array, or raise Unsupported."""
    encoder = _encoder(step)
    if encoder is not None:
        return encoder.transform
    if type(step) is FunctionTransformer:
        if step.func is None and not step.validate:
            return _identity  # what a ColumnTransformer fits for "passthrough"
        if step.func not in _FUNCTIONS or step.validate or step.kw_args:
            raise Unsupported(f"FunctionTransformer({step.func!r})")
    elif type(step) not in _GENERIC_STEPS:
        raise Unsupported(f"step type {type(step).__name__}")
    private = copy.deepcopy(step)
    # Fitted on a DataFrame, the step warns on arrays without names; the copy forgets them.
    if hasattr(private, "feature_names_in_"):
        del private.feature_names_in_
    transform: Transform = private.transform
    return transform


@dataclass(frozen=True)
class _Group:
    """One ``ColumnTransformer`` entry: its columns, their array dtype and its steps.

    When the first step is an encoder, it reads the columns as they are (lists of Python
    values), which skips building an object array only to take it apart again.
    """

    columns: tuple[str, ...]
    dtype: str
    steps: tuple[Transform, ...]
    encode: Encode | None = None

    def run(self, arrays: Mapping[str, Values], n: int) -> np.ndarray:
        if self.encode is not None:
            X = self.encode([arrays[name] for name in self.columns], n)
        else:
            X = np.empty((n, len(self.columns)), dtype=self.dtype)
            for j, name in enumerate(self.columns):
                values = arrays[name]
                X[:, j] = values if isinstance(values, np.ndarray) else _to_array(values, "object")
        for step in self.steps:
            X = step(X)
        return X


def _group(trans: Any, columns: Any, kinds: Mapping[str, str]) -> _Group:
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise Unsupported("ColumnTransformer columns given other than as a list of names")
    missing = [c for c in columns if c not in kinds]
    if missing:
        raise Unsupported(f"columns {missing} are neither inputs nor derived")
    group_kinds = {kinds[c] for c in columns}
    if group_kinds <= {"int64", "float64"}:
        dtype = str(np.result_type(*sorted(group_kinds)))
    elif len(group_kinds) == 1:
        dtype = next(iter(group_kinds))
    else:
        raise Unsupported(f"a group mixing column kinds {sorted(group_kinds)}")
    if isinstance(trans, str) and trans == "passthrough":
        steps: list[Any] = []
    elif type(trans) is Pipeline:
        steps = [step for _, step in trans.steps if not _is_passthrough(step)]
    else:
        steps = [trans]
    first = _encoder(steps[0]) if steps else None
    if first is not None:
        return _Group(tuple(columns), dtype, tuple(map(_step, steps[1:])), first.encode)
    return _Group(tuple(columns), dtype, tuple(map(_step, steps)))


def _is_passthrough(step: Any) -> bool:
    return step is None or (isinstance(step, str) and step == "passthrough")


@dataclass(frozen=True)
class _Plan:
    """The compiled fast path: derived features, groups in fitted order, the estimator."""

    inputs: Mapping[str, str]
    derived: tuple[tuple[str, tuple[str, ...], Callable[..., np.ndarray]], ...]
    groups: tuple[_Group, ...]
    estimator: Any

    def run(self, columns: Columns, n: int) -> FloatArray:
        # Text stays a list of Python values until a group needs an array of it.
        arrays: dict[str, Values] = {
            name: columns[name] if kind == "object" else _to_array(columns[name], kind)
            for name, kind in self.inputs.items()
        }
        for name, reads, compute in self.derived:
            arrays[name] = compute(*(np.asarray(arrays[c], dtype=np.float64) for c in reads))
        blocks = [group.run(arrays, n) for group in self.groups]
        proba = self.estimator.predict_proba(np.hstack(blocks))
        return np.asarray(proba[:, 1], dtype=np.float64)


def _compile(pipeline: Pipeline, specs: Mapping[str, ColumnSpec]) -> _Plan:
    steps = list(pipeline.steps)
    derive: DerivedFeatures | None = None
    if steps and type(steps[0][1]) is DerivedFeatures:
        derive = steps.pop(0)[1]
    if len(steps) != 2 or type(steps[0][1]) is not ColumnTransformer:
        raise Unsupported("a pipeline other than [derive] -> ColumnTransformer -> model")
    ct: ColumnTransformer = steps[0][1]
    estimator = steps[1][1]
    if not hasattr(estimator, "predict_proba") or len(getattr(estimator, "classes_", ())) != 2:
        raise Unsupported("a final estimator without binary predict_proba")
    if ct.sparse_output_ or getattr(ct, "_sklearn_output_config", {}).get("transform"):
        raise Unsupported("a ColumnTransformer with sparse or pandas output")
    inputs = {name: _array_kind(specs[name]) for name in _input_names(pipeline, specs)}
    kinds = dict(inputs)
    derived = []
    for entry in derive.derived if derive is not None else ():
        reads, compute = _derive_step(entry)
        for name in reads:
            if kinds.get(name) not in ("int64", "float64", "bool"):
                raise Unsupported(f"derived feature {entry['name']!r} reads non-numeric {name!r}")
        derived.append((entry["name"], tuple(reads), compute))
        kinds[entry["name"]] = "object" if entry["type"] == "bins" else "float64"
    groups = []
    for _, trans, columns in ct.transformers_:
        if (isinstance(trans, str) and trans == "drop") or len(columns) == 0:
            continue
        groups.append(_group(trans, columns, kinds))
    return _Plan(MappingProxyType(inputs), tuple(derived), tuple(groups), estimator)


def _input_names(pipeline: Pipeline, specs: Mapping[str, ColumnSpec]) -> list[str]:
    names = [str(name) for name in getattr(pipeline, "feature_names_in_", [])]
    if not names:
        raise Unsupported("a pipeline fitted without column names")
    unknown = [name for name in names if name not in specs]
    if unknown:
        raise Unsupported(f"the model reads columns the serving spec does not declare: {unknown}")
    return names


# --------------------------------------------------------------------------- the scorer


class FastScorer:
    """Churn probabilities from columns of plain values, equal to the pipeline's own.

    Args:
        pipeline: A fitted ``[derive] -> ColumnTransformer -> model`` pipeline.
        specs: The spec's contract of every column the request carries (at least every column
            the pipeline was fitted on).

    Raises:
        Unsupported: The pipeline reads a column ``specs`` does not declare.
    """

    def __init__(self, pipeline: Pipeline, specs: Mapping[str, ColumnSpec]) -> None:
        self.pipeline = pipeline
        self.input_columns = _input_names(pipeline, specs)
        """The columns the pipeline was fitted on."""
        self._specs = {name: specs[name] for name in self.input_columns}
        self.reason: str | None = None
        """Why the fast path is off (None when it is on)."""
        _threadpools()  # pay the inspection at load time, not on the first request
        try:
            self._plan: _Plan | None = _compile(pipeline, specs)
        except Unsupported as exc:
            self._plan, self.reason = None, str(exc)

    @property
    def fast(self) -> bool:
        """True when scoring skips pandas."""
        return self._plan is not None

    def predict_proba(self, columns: Columns, n: int) -> FloatArray:
        """P(churn) of ``n`` records given as columns (the pipeline's ``predict_proba[:, 1]``).

        Raises:
            ValueError: The model refuses the values (for example an unknown category for an
                encoder that errors on them, or an infinite derived feature).
        """
        if self._plan is None:
            return self.predict_proba_frame(records_frame(columns, self._specs))
        with single_openmp_thread():
            return self._plan.run(columns, n)

    def predict_proba_frame(self, frame: pd.DataFrame) -> FloatArray:
        """The pipeline on a DataFrame: the reference the fast path must equal."""
        with single_openmp_thread():
            return np.asarray(self.pipeline.predict_proba(frame)[:, 1], dtype=np.float64)


@cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded libraries once (about 20 ms)


def single_openmp_thread() -> AbstractContextManager[Any]:
    """Run OpenMP code (hist gradient boosting) on one thread in the calling thread.

    Waking OpenMP workers for a one-row prediction costs from a fraction of a millisecond to
    over 100 ms on a busy 2-core machine; per-row results do not depend on the thread count.
    The limit is per thread (OpenMP's nthreads is a thread-local setting), so concurrent
    requests do not interfere.
    """
    limiter: AbstractContextManager[Any] = _threadpools().limit(limits=1, user_api="openmp")
    return limiter


def serve_single_threaded(pipeline: Pipeline) -> Pipeline:
    """Set every ``n_jobs`` in the pipeline to 1 (joblib costs 30-50 ms a call); returns it."""
    params = pipeline.get_params(deep=True)
    single = {
        name: 1
        for name, value in params.items()
        if name.endswith("n_jobs") and value not in (None, 1)
    }
    if single:
        pipeline.set_params(**single)
    return pipeline


# --------------------------------------------------------------------------- the served model


@dataclass(frozen=True)
class ServingModel:
    """Everything one request needs about the champion; never mutated after loading.

    A reload builds a new object and swaps the one reference the API holds, so a request keeps
    the object it started with.
    """

    run_id: str
    scorer: FastScorer
    threshold: float
    pointer: Mapping[str, Any]
    """champion.json as loaded."""
    candidate: str | None = None
    model_type: str | None = None
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def version(self) -> str:
        """The model version answers carry: the champion's run id."""
        return self.run_id

    @property
    def pipeline(self) -> Pipeline:
        """The fitted pipeline."""
        return self.scorer.pipeline


def load_serving_model(registry: Registry, specs: Mapping[str, ColumnSpec]) -> ServingModel | None:
    """Load and verify the champion, ready to serve; None when nothing has been promoted.

    Args:
        registry: The registry to read.
        specs: The columns requests carry (the serving spec's id-less feature columns).

    Raises:
        RegistryError: champion.json is unreadable, the model file is missing or its hash does
            not match, or the model is not a pipeline this spec's records can feed.
    """
    loaded = registry.load_champion()
    if loaded is None:
        return None
    pointer, pipeline = loaded
    run_id = str(pointer["run_id"])
    if not isinstance(pipeline, Pipeline) or not hasattr(pipeline, "predict_proba"):
        raise RegistryError(f"champion {run_id}: the model file holds no scikit-learn Pipeline")
    try:
        scorer = FastScorer(serve_single_threaded(pipeline), specs)
    except Unsupported as exc:
        raise RegistryError(f"champion {run_id} cannot be served with this spec: {exc}") from None
    drift = _kind_changes(registry, run_id, specs, scorer.input_columns)
    if drift:
        raise RegistryError(
            f"champion {run_id} cannot be served with this spec: it was trained with "
            f"{', '.join(drift)}; serve it with the spec it was trained with"
        )
    if scorer.reason:
        log.warning("champion %s is scored through the pipeline: %s", run_id, scorer.reason)
    candidate, model_type = _candidate(registry, run_id)
    threshold = pointer.get("threshold")
    return ServingModel(
        run_id=run_id,
        scorer=scorer,
        threshold=float(threshold) if threshold is not None else 0.5,
        pointer=MappingProxyType(dict(pointer)),
        candidate=candidate,
        model_type=model_type,
    )


def _kind_changes(
    registry: Registry, run_id: str, specs: Mapping[str, ColumnSpec], names: Sequence[str]
) -> list[str]:
    """Input columns whose kind differs between the run's spec copy and the serving spec."""
    try:
        document = yaml.safe_load((registry.run_dir(run_id) / "spec.yaml").read_text("utf-8"))
        trained = document["columns"]
    except (OSError, yaml.YAMLError, TypeError, KeyError):
        return []  # no readable copy: nothing to compare
    changes = []
    for name in names:
        entry = trained.get(name) if isinstance(trained, dict) else None
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if dtype is None:
            continue
        kind = "numeric" if dtype in NUMERIC_DTYPES else "categorical"
        if kind != specs[name].kind:
            changes.append(f"{name} as {dtype} (the serving spec says {specs[name].dtype})")
    return changes


def _candidate(registry: Registry, run_id: str) -> tuple[str | None, str | None]:
    """The champion's candidate name and model type, from its run.json (None if unreadable)."""
    try:
        manifest = registry.manifest(run_id)
    except RegistryError:
        return None, None
    model = manifest.get("model")
    if not isinstance(model, dict):
        model = {}
    candidate = manifest.get("winner") or model.get("candidate")
    model_type = model.get("type")
    return (
        str(candidate) if candidate is not None else None,
        str(model_type) if model_type is not None else None,
    )
