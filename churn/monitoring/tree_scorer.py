"""A fitted XGBoost pipeline as plain numbers, scored with numpy alone.

``churn drift`` scores a 20,000-row sample of a batch for the score PSI. Unpickling the run's
``Pipeline`` needs scikit-learn and XGBoost, whose imports alone cost more than the rest of
the command's model half; yet what such a pipeline computes is a few numbers per column
(an imputer's fill value, a scaler's mean and scale, a one-hot encoder's categories) and
trees of threshold comparisons. :func:`compile_scorer` writes those numbers down once, when
the run records its profile, and :meth:`TreeScorer.predict` repeats the pipeline's arithmetic
with numpy operation by operation:

- derived ``ratio`` and ``bins`` features as :mod:`churn.training.features` computes them;
- numbers as float64, NaN replaced by a ``SimpleImputer``'s statistic, then
  ``(x - mean) / scale`` as ``StandardScaler`` does; a ``passthrough`` column as it is;
- one-hot columns: 1.0 where the value equals the category (Python equality, as
  scikit-learn's matching), all zeros for an unknown value (``handle_unknown="ignore"``) and
  for a dropped category;
- the trees in XGBoost's float32: a missing value follows the node's default branch, else
  ``x < threshold`` goes left; the leaves are added to the base margin tree by tree in float32,
  then the logistic function.

Anything else (another step, derived feature, objective or booster; categorical splits,
early stopping, several trees per round) gives no scorer, and the caller loads the pickled
model. A compiled scorer is kept only when it gives the pipeline's ``predict_proba`` to within
:data:`SCORER_TOLERANCE` on the rows it is compiled with.

Nothing happens at import time; scoring imports numpy only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import pandas as pd

SCORER_TOLERANCE: Final = 1e-6
"""Largest difference from ``predict_proba`` a compiled scorer may show on its check rows."""
MAX_TREE_NODES: Final = 100_000
"""Larger forests are not compiled: about 40 bytes of profile.json per node, and reading
the profile (the parent of `churn drift`, serving) must stay cheaper than what it saves."""
_BLOCK_ROWS: Final = 256
_FROZEN: Final = ConfigDict(frozen=True, extra="forbid")


class _Unsupported(Exception):
    """The pipeline has a piece this module does not reproduce."""


class CompiledRatio(BaseModel):
    """``numerator / denominator``, NaN where the denominator is 0."""

    model_config = _FROZEN

    kind: Literal["ratio"] = "ratio"
    name: str
    numerator: str
    denominator: str


class CompiledBins(BaseModel):
    """``pd.cut(column, edges, labels=labels, right=right)``, NaN outside the edges."""

    model_config = _FROZEN

    kind: Literal["bins"] = "bins"
    name: str
    column: str
    edges: tuple[float, ...]
    labels: tuple[str, ...]
    right: bool


class NumberColumn(BaseModel):
    """One numeric input of the model: float64, NaN filled, then centred and scaled."""

    model_config = _FROZEN

    kind: Literal["number"] = "number"
    column: str
    fill: float | None = None
    mean: float | None = None
    scale: float | None = None


class CategoryColumn(BaseModel):
    """One one-hot input: 1.0 where the value is ``category`` (None: the missing value)."""

    model_config = _FROZEN

    kind: Literal["category"] = "category"
    column: str
    category: str | None


class Trees(BaseModel):
    """Every tree's nodes, numbered across trees; a leaf has feature -1 and its value as
    threshold. Thresholds, leaf values and the base margin are float32 values."""

    model_config = _FROZEN

    base_margin: float
    roots: tuple[int, ...]
    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    default_left: tuple[bool, ...]
    depth: int = Field(ge=0)


class TreeScorer(BaseModel):
    """A compiled ``[derive] -> ColumnTransformer -> XGBClassifier`` pipeline."""

    model_config = _FROZEN

    numbers: tuple[str, ...]
    """Input columns read as float64 (the rest are read as they are)."""
    derived: tuple[Annotated[CompiledRatio | CompiledBins, Field(discriminator="kind")], ...]
    columns: tuple[Annotated[NumberColumn | CategoryColumn, Field(discriminator="kind")], ...]
    """The model's input columns, in the ``ColumnTransformer``'s output order."""
    trees: Trees

    @property
    def inputs(self) -> list[str]:
        """The batch columns the scorer reads."""
        made = {feature.name for feature in self.derived}
        reads = [*self.numbers]
        for feature in self.derived:
            reads += (
                [feature.numerator, feature.denominator]
                if isinstance(feature, CompiledRatio)
                else [feature.column]
            )
        reads += [column.column for column in self.columns]
        return list(dict.fromkeys(name for name in reads if name not in made))

    @property
    def reads(self) -> dict[str, bool]:
        """Each of :attr:`inputs`, and whether it is read as float64 (else as it is)."""
        numbers = set(self.numbers)
        return {name: name in numbers for name in self.inputs}

    def predict(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """P(churn) of every row: ``values`` maps each of :attr:`inputs` to a 1-d array
        (numbers as float64, categories as object arrays with NaN or None for missing)."""
        arrays = dict(values)
        for name in self.numbers:
            arrays[name] = np.asarray(arrays[name], dtype=np.float64)
        for feature in self.derived:
            arrays[feature.name] = _derive(feature, arrays)
        n = len(next(iter(arrays.values()))) if arrays else 0
        X = np.empty((n, len(self.columns)), dtype=np.float64)
        for j, column in enumerate(self.columns):
            X[:, j] = _encode(column, arrays[column.column])
        return _forest(self.trees).predict(X.astype(np.float32))


def _derive(feature: CompiledRatio | CompiledBins, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    if isinstance(feature, CompiledRatio):
        numerator = np.asarray(arrays[feature.numerator], dtype=np.float64)
        denominator = np.asarray(arrays[feature.denominator], dtype=np.float64)
        with np.errstate(all="ignore"):
            result: np.ndarray = numerator / np.where(denominator == 0.0, np.nan, denominator)
        return result
    x = np.asarray(arrays[feature.column], dtype=np.float64)
    edges = np.asarray(feature.edges, dtype=np.float64)
    ids = edges.searchsorted(x, side="left" if feature.right else "right")
    inside = ~np.isnan(x) & (ids > 0) & (ids < len(edges))
    out = np.full(len(x), np.nan, dtype=object)
    out[inside] = np.asarray(feature.labels, dtype=object)[ids[inside] - 1]
    return out


def _encode(column: NumberColumn | CategoryColumn, values: np.ndarray) -> np.ndarray:
    if isinstance(column, CategoryColumn):
        if column.category is None:
            return np.fromiter((v is None or v != v for v in values.tolist()), bool, len(values))
        return np.asarray(values == column.category, dtype=bool)
    x = np.array(values, dtype=np.float64)
    if column.fill is not None:
        x[np.isnan(x)] = column.fill
    if column.mean is not None:
        x -= column.mean
    if column.scale is not None:
        x /= column.scale
    return x


class _Forest:
    """:class:`Trees` as numpy arrays. A leaf splits on feature 0 at +inf with a default
    left branch to itself, so every row walks ``depth`` steps; a split node's right child is
    its left child + 1 (XGBoost numbers them so; checked when compiling)."""

    def __init__(self, trees: Trees) -> None:
        feature = np.asarray(trees.feature, dtype=np.int32)
        leaf = feature < 0
        nodes = np.arange(len(feature), dtype=np.int32)
        self.feature = np.where(leaf, 0, feature).astype(np.int32)
        self.split = np.where(leaf, np.inf, np.asarray(trees.threshold, dtype=np.float32))
        self.split = self.split.astype(np.float32)
        self.value = np.asarray(trees.threshold, dtype=np.float32)
        self.left = np.where(leaf, nodes, np.asarray(trees.left, dtype=np.int32)).astype(np.int32)
        self.default_left = np.asarray(trees.default_left, dtype=bool) | leaf
        self.roots = np.asarray(trees.roots, dtype=np.int32)
        self.base = np.float32(trees.base_margin)
        self.depth = trees.depth

    def predict(self, X: np.ndarray) -> np.ndarray:
        """P(class 1) of the float32 rows ``X``."""
        margin = np.empty(len(X), dtype=np.float32)
        work = _Walk(len(self.roots), min(len(X), _BLOCK_ROWS))
        for start in range(0, len(X), _BLOCK_ROWS):
            block = X[start : start + _BLOCK_ROWS]
            margin[start : start + len(block)] = self._margin(block, work)
        return _sigmoid(margin).astype(np.float64)

    def _margin(self, X: np.ndarray, work: _Walk) -> np.ndarray:
        """Trees by rows: ``at[t, i]`` is the node of row ``i`` in tree ``t``. Every step
        writes into ``work``'s arrays: fresh ones per step were megabytes each, mapped and
        faulted in by the kernel every time (a third of the walk's time in a new process)."""
        flat = np.ascontiguousarray(X).ravel()
        at, index, value, split, right = work.views(len(X))
        offsets = work.offsets[: len(X)] * np.int32(X.shape[1])
        at[...] = self.roots[:, None]
        missing_possible = bool(np.isnan(flat).any())
        for _ in range(self.depth):
            np.take(self.feature, at, out=index)
            index += offsets
            np.take(flat, index, out=value)
            np.take(self.split, at, out=split)
            np.greater_equal(value, split, out=right)  # NaN compares False: fixed below
            if missing_possible and (missing := np.isnan(value)).any():
                right[missing] = ~self.default_left.take(at[missing])
            np.take(self.left, at, out=index)
            np.add(index, right, out=at)
        leaves = self.value.take(at)
        margin = np.full(len(X), self.base, dtype=np.float32)
        for tree in leaves:  # XGBoost adds the trees in order, in float32
            margin += tree
        return margin


class _Walk:
    """The arrays one block's walk writes into, made once per :meth:`_Forest.predict`."""

    def __init__(self, trees: int, rows: int) -> None:
        shape = (trees, rows)
        self.at = np.empty(shape, dtype=np.int32)
        self.index = np.empty(shape, dtype=np.int32)
        self.value = np.empty(shape, dtype=np.float32)
        self.split = np.empty(shape, dtype=np.float32)
        self.right = np.empty(shape, dtype=bool)
        self.offsets = np.arange(rows, dtype=np.int32)

    def views(self, rows: int) -> tuple[np.ndarray, ...]:
        """The arrays for a block of ``rows`` rows (contiguous: a shorter last block gets
        arrays of its own)."""
        if rows == self.at.shape[1]:
            return self.at, self.index, self.value, self.split, self.right
        shape = (self.at.shape[0], rows)
        return tuple(
            np.empty(shape, dtype=a.dtype)
            for a in (self.at, self.index, self.value, self.split, self.right)
        )


def _sigmoid(margin: np.ndarray) -> np.ndarray:
    """XGBoost's logistic function in float32: ``1 / (expf(min(-x, 88.7)) + 1)`` with the C
    library's ``expf``. numpy's float32 ``exp`` differs from it in the last bit now and then,
    which can move a score across a bucket edge that is itself a score. ``expf`` is within
    0.502 ULP of the exact value, so it is the exact value rounded (which the float64 ``exp``
    gives) unless that lies within a hundredth of a ULP of a rounding midpoint: only those
    few are asked of ``expf`` itself."""
    exponent = np.minimum(-margin, np.float32(88.7)).astype(np.float64)
    exact = np.exp(exponent)
    powers = exact.astype(np.float32)
    below = np.where(powers.astype(np.float64) <= exact, powers, np.nextafter(powers, -np.inf))
    above = np.nextafter(below, np.float32(np.inf)).astype(np.float64)
    below64 = below.astype(np.float64)
    close = np.abs(exact - (below64 + above) / 2) < (above - below64) / 100
    expf = _c_expf() if close.any() else None  # finding libm runs ldconfig: only if needed
    if expf is not None:
        powers[close] = np.fromiter(map(expf, exponent[close].tolist()), np.float32)
    proba: np.ndarray = np.float32(1.0) / (powers + np.float32(1.0))
    return proba


@functools.cache
def _c_expf() -> Callable[[float], float] | None:
    """The C math library's ``expf``, which XGBoost's logistic function calls."""
    name = ctypes.util.find_library("m")
    if name is None:
        return None
    try:
        function = ctypes.CDLL(name).expf
    except (OSError, AttributeError):
        return None
    function.restype, function.argtypes = ctypes.c_float, [ctypes.c_float]
    return cast("Callable[[float], float]", function)


_FORESTS: list[tuple[Trees, _Forest]] = []
"""The last trees made into arrays (held, so the same object is not rebuilt per call)."""


def _forest(trees: Trees) -> _Forest:
    if not _FORESTS or _FORESTS[0][0] is not trees:
        _FORESTS[:] = [(trees, _Forest(trees))]
    return _FORESTS[0][1]


# --------------------------------------------------------------------------- compiling


def compile_scorer(pipeline: Any, check_rows: pd.DataFrame) -> TreeScorer | None:
    """``pipeline`` as a :class:`TreeScorer`, or None when it has a piece this module does
    not reproduce or the compiled scores differ from ``predict_proba`` on ``check_rows``
    by more than :data:`SCORER_TOLERANCE`."""
    try:
        scorer = _compile(pipeline)
    except (_Unsupported, AttributeError, KeyError, TypeError, ValueError):
        return None  # a piece, or a shape of one, it does not know: the run keeps the pickle
    return scorer if scores_agree(scorer, pipeline, check_rows) else None


def scores_agree(scorer: TreeScorer, pipeline: Any, rows: pd.DataFrame) -> bool:
    """True when ``scorer`` gives ``pipeline.predict_proba``'s P(churn) on ``rows`` to within
    :data:`SCORER_TOLERANCE`."""
    frame = rows[[str(name) for name in pipeline.feature_names_in_]]
    expected = np.asarray(pipeline.predict_proba(frame)[:, 1], dtype=np.float64)
    got = scorer.predict(sample_columns(frame, scorer))
    if got.shape != expected.shape:
        return False
    return bool(np.allclose(got, expected, rtol=0, atol=SCORER_TOLERANCE))


def sample_columns(
    frame: pd.DataFrame, scorer: TreeScorer, *, strict: bool = True
) -> dict[str, np.ndarray]:
    """The columns of ``frame`` :meth:`TreeScorer.predict` reads, as numpy arrays (only those
    ``frame`` has unless ``strict``, for a caller that reports the missing ones).

    Raises:
        KeyError: ``strict`` and ``frame`` lacks one of them.
    """
    return read_columns(frame, scorer.reads, strict=strict)


def read_columns(
    frame: pd.DataFrame, reads: Mapping[str, bool], *, strict: bool = True
) -> dict[str, np.ndarray]:
    """:func:`sample_columns` for a caller that has only the scorer's :attr:`TreeScorer.reads`
    (``churn drift``'s parent, told them by its model process): each column as float64 when
    it is read as a number, else as an object array.

    Raises:
        KeyError: ``strict`` and ``frame`` lacks one of them.
    """
    return {
        name: (
            frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
            if as_number
            else frame[name].to_numpy(dtype=object)
        )
        for name, as_number in reads.items()
        if strict or name in frame.columns
    }


def _compile(pipeline: Any) -> TreeScorer:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from xgboost import XGBClassifier

    from churn.training.features import DerivedFeatures

    if type(pipeline) is not Pipeline:
        raise _Unsupported("not a Pipeline")
    steps = [step for _, step in pipeline.steps]
    derived: list[CompiledRatio | CompiledBins] = []
    if steps and type(steps[0]) is DerivedFeatures:
        derived = [_derived(entry) for entry in steps.pop(0).derived]
    if len(steps) != 2 or type(steps[0]) is not ColumnTransformer:
        raise _Unsupported("not [derive] -> ColumnTransformer -> model")
    transformer, model = steps
    if type(model) is not XGBClassifier or transformer.sparse_output_:
        raise _Unsupported("not an XGBClassifier on a dense matrix")
    columns: list[NumberColumn | CategoryColumn] = []
    for _, trans, names in transformer.transformers_:
        if (isinstance(trans, str) and trans == "drop") or len(names) == 0:
            continue
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise _Unsupported("columns given other than by name")
        columns += _group(trans, names)
    made = {feature.name for feature in derived}
    read_as_numbers = {c.column for c in columns if isinstance(c, NumberColumn)} - made
    for feature in derived:
        if isinstance(feature, CompiledRatio):
            read_as_numbers |= {feature.numerator, feature.denominator}
        else:
            read_as_numbers.add(feature.column)
    numbers = [str(name) for name in pipeline.feature_names_in_ if name in read_as_numbers]
    return TreeScorer(
        numbers=tuple(numbers),
        derived=tuple(derived),
        columns=tuple(columns),
        trees=_trees(model, len(columns)),
    )


def _derived(entry: Mapping[str, Any]) -> CompiledRatio | CompiledBins:
    if entry["type"] == "ratio":
        return CompiledRatio(
            name=entry["name"], numerator=entry["numerator"], denominator=entry["denominator"]
        )
    if entry["type"] == "bins" and entry.get("labels"):
        return CompiledBins(
            name=entry["name"],
            column=entry["column"],
            edges=tuple(float(edge) for edge in entry["edges"]),
            labels=tuple(str(label) for label in entry["labels"]),
            right=bool(entry["right"]),
        )
    raise _Unsupported(f"derived feature type {entry['type']!r}")


def _group(trans: Any, names: Sequence[str]) -> list[NumberColumn | CategoryColumn]:
    from sklearn.pipeline import Pipeline

    if isinstance(trans, str) and trans == "passthrough":
        steps: list[Any] = []
    elif type(trans) is Pipeline:
        steps = [step for _, step in trans.steps if step is not None and step != "passthrough"]
    else:
        steps = [trans]
    if len(steps) == 1 and _is_one_hot(steps[0]):
        return _one_hot(steps[0], names)
    fill = mean = scale = None
    for position, step in enumerate(steps):
        kind = type(step).__name__
        if kind == "FunctionTransformer" and step.func is None and not step.validate:
            continue
        if kind == "SimpleImputer" and position == 0 and _plain_imputer(step):
            fill = np.asarray(step.statistics_, dtype=np.float64)
        elif kind == "StandardScaler" and mean is None and scale is None:
            mean = None if step.mean_ is None else np.asarray(step.mean_, dtype=np.float64)
            scale = None if step.scale_ is None else np.asarray(step.scale_, dtype=np.float64)
        else:
            raise _Unsupported(f"step {kind}")
    return [
        NumberColumn(
            column=name,
            fill=None if fill is None else float(fill[i]),
            mean=None if mean is None else float(mean[i]),
            scale=None if scale is None else float(scale[i]),
        )
        for i, name in enumerate(names)
    ]


def _plain_imputer(step: Any) -> bool:
    statistics = np.asarray(step.statistics_)
    return bool(
        step.strategy in ("mean", "median")
        and not step.add_indicator
        and isinstance(step.missing_values, float)
        and np.isnan(step.missing_values)
        and statistics.dtype.kind == "f"
        and np.all(np.isfinite(statistics))
    )


def _is_one_hot(step: Any) -> bool:
    return type(step).__name__ == "OneHotEncoder"


def _one_hot(encoder: Any, names: Sequence[str]) -> list[NumberColumn | CategoryColumn]:
    if encoder.handle_unknown != "ignore" or encoder.min_frequency or encoder.max_categories:
        raise _Unsupported("a one-hot encoder that errors on or groups categories")
    drops = encoder.drop_idx_ if encoder.drop_idx_ is not None else [None] * len(names)
    columns: list[NumberColumn | CategoryColumn] = []
    for name, categories, drop in zip(names, encoder.categories_, drops, strict=True):
        for index, category in enumerate(categories.tolist()):
            if drop is not None and index == drop:
                continue
            if isinstance(category, float) and category != category:
                columns.append(CategoryColumn(column=name, category=None))
            elif type(category) is str:
                columns.append(CategoryColumn(column=name, category=category))
            else:
                raise _Unsupported(f"category {category!r} of {name!r} is not text")
    return columns


def _trees(model: Any, features: int) -> Trees:
    if model.get_params().get("enable_categorical") or model.n_classes_ != 2:
        raise _Unsupported("categorical or multi-class XGBoost")
    try:
        model.best_iteration  # noqa: B018 - defined only when early stopping was used
    except AttributeError:
        pass
    else:
        raise _Unsupported("early stopping (predict_proba uses the best iteration)")
    learner = json.loads(bytes(model.get_booster().save_raw("json")))["learner"]
    booster = learner["gradient_booster"]
    if booster["name"] != "gbtree" or learner["objective"]["name"] != "binary:logistic":
        raise _Unsupported("a booster other than gbtree binary:logistic")
    params = learner["learner_model_param"]
    if int(params["num_feature"]) != features or int(params.get("num_target", "1")) != 1:
        raise _Unsupported("the model's features are not the ColumnTransformer's")
    if int(booster["model"]["gbtree_model_param"]["num_parallel_tree"]) != 1:
        raise _Unsupported("several trees per round")
    base = np.float32(params["base_score"].strip("[]"))
    margin = -np.log(np.float32(1.0) / base - np.float32(1.0))
    roots: list[int] = []
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    default_left: list[bool] = []
    depth = 0
    for tree in booster["model"]["trees"]:
        if any(tree["split_type"]) or tree["categories"]:
            raise _Unsupported("categorical splits")
        offset = len(feature)
        roots.append(offset)
        children_left, children_right = tree["left_children"], tree["right_children"]
        for node, (lo, hi) in enumerate(zip(children_left, children_right, strict=True)):
            leaf = lo == -1
            feature.append(-1 if leaf else int(tree["split_indices"][node]))
            threshold.append(float(np.float32(tree["split_conditions"][node])))
            if not leaf and hi != lo + 1:
                raise _Unsupported("a right child not next to its left child")
            left.append(-1 if leaf else offset + lo)
            right.append(-1 if leaf else offset + hi)
            default_left.append(bool(tree["default_left"][node]))
        depth = max(depth, _depth(children_left, children_right))
        if len(feature) > MAX_TREE_NODES:
            raise _Unsupported("too many nodes")
    return Trees(
        base_margin=float(np.float32(margin)),
        roots=tuple(roots),
        feature=tuple(feature),
        threshold=tuple(threshold),
        left=tuple(left),
        right=tuple(right),
        default_left=tuple(default_left),
        depth=depth,
    )


def _depth(left: Sequence[int], right: Sequence[int]) -> int:
    deepest, level = 0, [(0, 0)]
    while level:
        node, depth = level.pop()
        if left[node] == -1:
            deepest = max(deepest, depth)
        else:
            level += [(left[node], depth + 1), (right[node], depth + 1)]
    return deepest
