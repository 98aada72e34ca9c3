"""The hold-out split, and whether the data is big enough for what the spec asks of it.

:func:`holdout_positions` is the one definition of the seeded hold-out (training uses it).
:func:`check_sizes` counts, with the data in hand, what each class leaves for every step that
splits it again, and refuses the data (a :class:`~churn.errors.DataContractError`, exit 3)
naming the spec's line when a step cannot work:

* the hold-out has fewer than ``evaluation.split.min_class_rows`` rows of a class (a model
  judged on 2 rows is not judged);
* the training part has fewer rows of a class than ``evaluation.cv_folds`` or a search's
  ``cv`` folds need, or a fold's training rows fewer than a calibration's or a stacking
  ensemble's ``cv`` (stratified splits; a time split is checked on its hold-out only);
* a SMOTE candidate sees no more minority rows than ``k_neighbors``;
* a resampling ``sampling_strategy`` below the data's own minority / majority ratio (the
  sampler would have to remove minority rows, and refuses at training).

Nothing happens at import time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pandas as pd

from churn.errors import DataContractError, one_line
from churn.spec import Candidate, EnsembleSpec, Spec

Positions = npt.NDArray[np.intp]


def holdout_positions(
    spec: Spec, frame: pd.DataFrame, y: npt.NDArray[np.int64]
) -> tuple[Positions, Positions]:
    """Training and hold-out row positions: seeded and stratified, or the latest rows by
    ``time_column`` when the spec sets one."""
    from sklearn.model_selection import train_test_split

    settings = spec.evaluation.split
    if settings.time_column is not None:
        order = np.argsort(frame[settings.time_column].to_numpy(), kind="stable")
        cut = round(len(order) * (1 - settings.test_size))
        return order[:cut], order[cut:]
    train, test = train_test_split(
        np.arange(len(frame)),
        test_size=settings.test_size,
        random_state=settings.seed,
        stratify=y if settings.stratify else None,
    )
    return train, test


def check_sizes(spec: Spec, frame: pd.DataFrame, y: npt.NDArray[np.int64], source: str) -> None:
    """Refuse data too small for the spec's splits, folds and resampling (see the module).

    Raises:
        DataContractError: One line per step that cannot work, naming the spec's line.
    """
    if len(y) < 2 or len(np.unique(y)) < 2:
        return  # reported by the contract (no rows, one class)
    problems = list(_problems(spec, frame, y))
    if problems:
        raise DataContractError(source, problems)


def _problems(spec: Spec, frame: pd.DataFrame, y: npt.NDArray[np.int64]) -> Iterator[str]:
    split = spec.evaluation.split
    try:
        train, test = holdout_positions(spec, frame, y)
    except ValueError as exc:  # scikit-learn: too few rows to stratify at this test_size
        yield (
            f"{spec.place('evaluation', 'split', 'test_size')}: {_classes(_counts(y))} cannot "
            f"be split: {one_line(exc)}"
        )
        return
    held = _counts(y[test])
    if min(held) < split.min_class_rows:
        yield (
            f"{spec.place('evaluation', 'split', 'test_size')}: the hold-out holds "
            f"{_classes(held)}; judging a model needs at least {split.min_class_rows} of each "
            f"(evaluation.split.min_class_rows): use more data or a larger test_size"
        )
    yield from _ratio_problems(spec, _counts(y))
    if split.time_column is not None:
        return
    trained = _counts(y[train])
    folds = spec.evaluation.cv_folds
    if min(trained) < folds:
        yield _too_few(spec.place("evaluation", "cv_folds"), folds, "the training part", trained)
    yield from _candidate_problems(spec, trained, _left(trained, folds))


def _candidate_problems(
    spec: Spec, trained: tuple[int, int], in_fold: tuple[int, int]
) -> Iterator[str]:
    fold_words = f"a training fold of evaluation.cv_folds ({spec.evaluation.cv_folds})"
    for index, model in enumerate(spec.models):
        smallest = in_fold
        search = getattr(model, "search", None)
        if search is not None:
            if min(trained) < search.cv:
                where = spec.place("models", index, "search", "cv")
                yield _too_few(where, search.cv, "the training part", trained)
            smallest = _fewer(smallest, _left(trained, search.cv))
        for loc, cv in _inner_folds(model):
            if min(in_fold) < cv:
                yield _too_few(spec.place("models", index, *loc), cv, fold_words, in_fold)
            smallest = _fewer(smallest, _left(in_fold, cv))
        resample = getattr(model, "resample", None)
        k = getattr(resample, "k_neighbors", None)
        if k is not None and min(smallest) <= k:
            yield (
                f"{spec.place('models', index, 'resample', 'k_neighbors')}: {k} neighbours need "
                f"more than {k} minority rows in every fit, and the smallest fit of this "
                f"candidate holds {min(smallest)}: use fewer neighbours or more data"
            )


def _inner_folds(model: Candidate) -> list[tuple[tuple[str, ...], int]]:
    """Where a candidate splits a training fold again: (its spec location, its folds)."""
    inner: list[tuple[tuple[str, ...], int]] = []
    if model.calibration is not None:
        inner.append((("calibration", "cv"), model.calibration.cv))
    if isinstance(model, EnsembleSpec) and model.type == "stacking":
        inner.append((("cv",), model.cv))
    return inner


def _left(counts: tuple[int, int], folds: int) -> tuple[int, int]:
    """Fewest rows of each class a training fold keeps when ``counts`` is split in ``folds``."""
    return counts[0] - math.ceil(counts[0] / folds), counts[1] - math.ceil(counts[1] / folds)


def _ratio_problems(spec: Spec, counts: tuple[int, int]) -> Iterator[str]:
    ratio = min(counts) / max(counts)
    for index, model in enumerate(spec.models):
        wanted = getattr(getattr(model, "resample", None), "sampling_strategy", "auto")
        if isinstance(wanted, float) and wanted < ratio:
            yield (
                f"{spec.place('models', index, 'resample', 'sampling_strategy')}: {wanted} is "
                f"below the data's minority / majority ratio {ratio:.4f} ({min(counts)} / "
                f"{max(counts)}); resampling cannot lower it: use at least {ratio:.4f} or auto"
            )


def _too_few(where: str, folds: int, part: str, counts: tuple[int, int]) -> str:
    return (
        f"{where}: {folds} folds need at least {folds} rows of each class in {part}, which "
        f"holds {_classes(counts)}: use fewer folds or more data"
    )


def _counts(y: npt.NDArray[np.int64]) -> tuple[int, int]:
    """(negatives, positives)."""
    positives = int(y.sum())
    return len(y) - positives, positives


def _fewer(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return min(a[0], b[0]), min(a[1], b[1])


def _classes(counts: tuple[int, int]) -> str:
    negatives, positives = counts
    return f"{positives} positive and {negatives} negative row{'s' if negatives != 1 else ''}"
