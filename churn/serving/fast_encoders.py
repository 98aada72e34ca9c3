"""Fitted one-hot, ordinal and target encoders as hash look-ups into their fitted categories.

An encoder's output is 0/1, integer codes or a learned number per category (target encoding),
so a dict from category to code reproduces it exactly, without the per-call validation and array
conversion of ``transform``. Keys compare with Python
equality, as scikit-learn's own category matching does; unknown and missing values get what the
encoder's ``handle_unknown``, ``drop`` and ``encoded_missing_value`` say, and
``handle_unknown="error"`` raises scikit-learn's error. Encoders that group infrequent categories,
sparse output and ``infrequent_if_exist`` raise :class:`~churn.serving.fast_inputs.Unsupported`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

from churn.serving.fast_inputs import Unsupported, Values

_SMALL: Final = 64
"""Up to this many rows, encoders look every value up; above, each distinct value once."""
_MISSING_CODE: Final = -2


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


class OneHotLookup:
    """A fitted ``OneHotEncoder`` (dense, no infrequent grouping) as look-ups.

    Args:
        encoder: The fitted encoder.

    Raises:
        Unsupported: The encoder groups infrequent categories, has sparse output or handles
            unknown categories as infrequent.
    """

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


class OrdinalLookup:
    """A fitted ``OrdinalEncoder`` (no infrequent grouping) as look-ups.

    Args:
        encoder: The fitted encoder.

    Raises:
        Unsupported: The encoder groups infrequent categories or has another
            ``handle_unknown`` than ``"use_encoded_value"`` or ``"error"``.
    """

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


class TargetLookup:
    """A fitted binary ``TargetEncoder`` as look-ups into its learned encodings.

    A new row's encoding is the one learned on all training rows (``encodings_``, what
    ``transform`` returns); an unseen category, and a missing value when training had none,
    gets the training churn rate (``target_mean_``).

    Args:
        encoder: The fitted encoder.

    Raises:
        Unsupported: The encoder was fitted on another than a binary target.
    """

    def __init__(self, encoder: TargetEncoder) -> None:
        if encoder.target_type_ != "binary":
            raise Unsupported(f"a {encoder.target_type_} target encoder")
        self._lookups = []
        self._tables = []
        for categories, encodings in zip(encoder.categories_, encoder.encodings_, strict=True):
            missing = [i for i, value in enumerate(categories.tolist()) if _is_missing(value)]
            self._lookups.append(
                _Lookup(categories, range(len(categories)), missing[0] if missing else -1)
            )
            # code -1 (unknown) picks the last entry: the overall rate
            self._tables.append(np.append(np.asarray(encodings, np.float64), encoder.target_mean_))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """One float column per input column: each value's learned encoding."""
        return self.encode([X[:, i] for i in range(X.shape[1])], X.shape[0])

    def encode(self, columns: Sequence[Values], n: int) -> np.ndarray:
        """:meth:`transform` of the input given as columns (lists or arrays)."""
        out = np.empty((n, len(self._lookups)), dtype=np.float64)
        for i, (lookup, table, values) in enumerate(
            zip(self._lookups, self._tables, columns, strict=True)
        ):
            out[:, i] = table[lookup(values)]
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


def lookup_encoder(step: Any) -> OneHotLookup | OrdinalLookup | TargetLookup | None:
    """A fitted step as look-ups when it is exactly a one-hot, ordinal or target encoder.

    Args:
        step: A fitted transformer.

    Returns:
        The encoder's look-ups, or None for any other step (subclasses included).

    Raises:
        Unsupported: The step is an encoder the look-ups do not reproduce.
    """
    if type(step) is OneHotEncoder:
        return OneHotLookup(step)
    if type(step) is OrdinalEncoder:
        return OrdinalLookup(step)
    if type(step) is TargetEncoder:
        return TargetLookup(step)
    return None
