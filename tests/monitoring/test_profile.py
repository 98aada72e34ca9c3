"""The reference profile: quantile buckets, category counts, streaming counts, the file."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import subscriptions_frame, subscriptions_spec

from churn.errors import RegistryError
from churn.monitoring.profile import (
    CategoryProfile,
    NumericProfile,
    ProfileNotFound,
    ReferenceProfile,
    ScoreProfile,
    add_counts,
    build_profile,
    current_counts,
    read_profile,
    write_profile,
)
from churn.spec.model import Spec

RUN_ID = "20261206T130000Z-abc123"


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec.model_validate(subscriptions_spec())


@pytest.fixture(scope="module")
def profile(spec: Spec) -> ReferenceProfile:
    frame = subscriptions_frame(600)
    frame.loc[::10, "monthly_fee"] = np.nan
    scores = np.random.default_rng(1).uniform(size=200)
    return build_profile(frame, spec, scores, run_id=RUN_ID)


def test_every_feature_column_is_profiled_by_its_kind(profile: ReferenceProfile) -> None:
    kinds = {entry.column: entry.kind for entry in profile.columns}

    assert kinds == {
        "plan": "category",
        "region": "category",
        "monthly_fee": "numeric",
        "support_calls": "numeric",
        "months_active": "numeric",
    }
    assert profile.bins == 10
    assert profile.scores.rows == 200


def test_numeric_buckets_follow_the_documented_rule(profile: ReferenceProfile) -> None:
    fee = profile.column("monthly_fee")
    assert isinstance(fee, NumericProfile)
    values = subscriptions_frame(600)["monthly_fee"].to_numpy(copy=True)
    values[::10] = np.nan
    present = values[~np.isnan(values)]
    edges = np.array(fee.edges)
    buckets = [(present <= edges[0]).sum()]
    buckets += [((present > lo) & (present <= hi)).sum() for lo, hi in itertools.pairwise(edges)]
    buckets += [(present > edges[-1]).sum()]

    assert len(fee.edges) == 9
    assert list(fee.counts) == buckets
    assert fee.nulls == 60
    assert fee.rows == 600
    assert all(40 <= count <= 70 for count in fee.counts)  # quantile buckets are even


def test_a_column_with_few_values_gets_fewer_buckets(spec: Spec) -> None:
    frame = subscriptions_frame(300)
    frame["support_calls"] = np.tile([0, 1], 150)

    calls = build_profile(frame, spec, np.zeros(3), run_id=RUN_ID).column("support_calls")

    assert isinstance(calls, NumericProfile)
    assert calls.edges == (0.0,)
    assert calls.counts == (150, 150)


def test_categories_are_sorted_with_their_counts(profile: ReferenceProfile) -> None:
    plan = profile.column("plan")
    expected = subscriptions_frame(600)["plan"].value_counts()

    assert isinstance(plan, CategoryProfile)
    assert plan.categories == ("basic", "enterprise", "pro")
    assert plan.counts == tuple(int(expected[name]) for name in plan.categories)
    assert plan.nulls == 0


def test_numbers_are_counted_on_the_reference_buckets() -> None:
    column = NumericProfile(column="x", edges=(1.0, 2.0), counts=(1, 1, 1), nulls=0, rows=3)

    counted = current_counts(column, np.array([0.5, 1.0, 1.5, 2.0, 7.0, np.inf, -np.inf, np.nan]))

    assert counted.counts.tolist() == [3, 2, 2]
    assert counted.counts.dtype == np.int64
    assert (counted.unseen, counted.nulls, counted.rows) == (0, 1, 8)


def test_nullable_and_object_numbers_are_counted_too() -> None:
    column = NumericProfile(column="x", edges=(1.0,), counts=(1, 1), nulls=0, rows=2)

    nullable = current_counts(column, pd.Series([1, 2, None], dtype="Int64"))
    objects = current_counts(column, np.array([1, None, 3.0], dtype=object))

    assert (nullable.counts.tolist(), nullable.nulls) == ([1, 1], 1)
    assert (objects.counts.tolist(), objects.nulls) == ([1, 1], 1)


def test_categories_are_counted_with_unseen_and_null_values() -> None:
    column = CategoryProfile(column="c", categories=("a", "b"), counts=(1, 1), nulls=0, rows=2)
    values = pd.Series(["b", "a", "zzz", None, "b", "zzz"])

    for batch in (values, values.astype("category"), values.to_numpy()):
        counted = current_counts(column, batch)
        assert counted.counts.tolist() == [1, 2]
        assert (counted.unseen, counted.nulls, counted.rows) == (2, 1, 6)


def test_non_text_categories_are_compared_as_text() -> None:
    column = CategoryProfile(column="c", categories=("1", "2"), counts=(1, 1), nulls=0, rows=2)

    counted = current_counts(column, np.array([1, "1", 2, 3], dtype=object))

    assert counted.counts.tolist() == [2, 1]
    assert counted.unseen == 1


def test_scores_are_counted_like_numbers(profile: ReferenceProfile) -> None:
    scores = np.random.default_rng(1).uniform(size=200)

    assert current_counts(profile.scores, scores).counts.tolist() == list(profile.scores.counts)


@pytest.mark.parametrize("batches", [1, 3, 17])
def test_counts_of_micro_batches_add_up_to_one_batch(
    profile: ReferenceProfile, batches: int
) -> None:
    frame = subscriptions_frame(500, seed=7)
    frame.loc[::7, "plan"] = None
    frame.loc[::5, "region"] = "nowhere"
    for column in profile.columns:
        whole = current_counts(column, frame[column.column])
        pieces = np.array_split(frame[column.column], batches)
        parts = [current_counts(column, piece) for piece in pieces]
        streamed = parts[0]
        for part in parts[1:]:
            streamed = add_counts(streamed, part)
        assert streamed.counts.tolist() == whole.counts.tolist()
        assert streamed[1:] == whole[1:]


def test_counts_on_other_buckets_do_not_add(profile: ReferenceProfile) -> None:
    plan, fee = profile.column("plan"), profile.column("monthly_fee")
    assert plan is not None and fee is not None
    frame = subscriptions_frame(10)

    with pytest.raises(ValueError, match="cannot add counts of 3 and 10 buckets"):
        add_counts(current_counts(plan, frame["plan"]), current_counts(fee, frame["monthly_fee"]))


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"edges": (2.0, 1.0), "counts": (1, 1, 1), "rows": 3}, "strictly increasing"),
        ({"edges": (1.0,), "counts": (1, 1, 1), "rows": 3}, "expected 2 counts"),
        ({"edges": (1.0,), "counts": (1, 1), "rows": 5}, "expected rows = 5"),
    ],
)
def test_inconsistent_buckets_are_refused(fields: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        ScoreProfile.model_validate(fields)


def test_the_profile_file_reads_back_equal(profile: ReferenceProfile, tmp_path: Path) -> None:
    run_dir = tmp_path / RUN_ID

    written = write_profile(run_dir, profile)

    assert written == run_dir / "profile.json"
    assert read_profile(run_dir) == profile
    assert json.loads(written.read_text())["schema_version"] == 1


def test_a_missing_damaged_or_foreign_profile_is_named(
    profile: ReferenceProfile, tmp_path: Path
) -> None:
    run_dir = tmp_path / RUN_ID
    with pytest.raises(ProfileNotFound, match=f"run {RUN_ID} has no profile.json"):
        read_profile(run_dir)
    run_dir.mkdir()
    (run_dir / "profile.json").write_text('{"schema_version": 1, "run_id": 3}')
    with pytest.raises(RegistryError, match=r"profile.json is not a reference profile: run_id"):
        read_profile(run_dir)
    write_profile(tmp_path / "other", profile)
    (run_dir / "profile.json").unlink()
    (run_dir / "profile.json").symlink_to(tmp_path / "other" / "profile.json")
    with pytest.raises(RegistryError, match="symlink"):
        read_profile(run_dir)
    (run_dir / "profile.json").unlink()
    write_profile(run_dir, profile.model_copy(update={"run_id": "elsewhere"}))
    with pytest.raises(RegistryError, match="not the name of its folder"):
        read_profile(run_dir)
