"""The report's "Training data drift" section: run.json's ``training_drift`` in a table."""

from __future__ import annotations

from markupsafe import Markup

from churn.registry.record import RunManifest
from churn.report.templating import render_template


def training_drift_section(manifest: RunManifest) -> Markup:
    """The run's data against the champion's profile: status, alerts and PSI per column
    (largest first)."""
    drift = manifest.training_drift
    rows = []
    if drift is not None:
        ranked = sorted(drift.psi.items(), key=lambda item: -(item[1] or 0.0))
        rows = [(column, "-" if value is None else f"{value:.4f}") for column, value in ranked]
    return render_template("training_drift.html.j2", drift=drift, rows=rows)
