"""The run step that writes the reference profile and measures the training data's drift.

After the winner is chosen: ``runs/<run_id>/profile.json`` from the validated data and the
winner's hold-out probabilities (its sha256 in run.json's ``profile``), and the data against
the champion's profile in run.json's ``training_drift``.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from churn.monitoring.champion import training_drift
from churn.monitoring.profile import build_profile, profile_bytes, write_profile
from churn.registry.record import FileRecord, RunManifest
from churn.run.context import RunContext
from churn.training.evaluate import CandidateResult


def profile_and_drift(ctx: RunContext, frame: pd.DataFrame, winner: CandidateResult) -> RunManifest:
    """Write profile.json and record it and the training data's drift in run.json."""
    profile = build_profile(
        frame, ctx.spec, winner.test_proba, run_id=ctx.run_id, model=winner.pipeline
    )
    path = write_profile(ctx.run_dir, profile)
    data = profile_bytes(profile)
    record = FileRecord(
        path=path.relative_to(ctx.registry.home).as_posix(),
        sha256=hashlib.sha256(data).hexdigest(),
        bytes=len(data),
    )
    drift = training_drift(ctx.registry, ctx.spec, frame)
    if drift is None:
        return ctx.registry.update_manifest(ctx.run_id, profile=record)
    return ctx.registry.update_manifest(ctx.run_id, profile=record, training_drift=drift)
