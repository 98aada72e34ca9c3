"""``churn run --if-needed``: train only when there is a reason to, else record why not.

Under the registry's run lock (so no run starts meanwhile): with no champion the run trains
without reading the data; otherwise the data is read and checked as a run reads it and
compared with the champion's reference profile, and :func:`churn.monitoring.retrain.
retrain_reasons` gives the reasons to train. With none, one JSON line goes to
``$CHURN_HOME/skips.jsonl`` (time, spec, champion, its age, the drift summary, the reason) and
nothing else changes: not the ledger (whose lines move or judge a champion), not ``runs/``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from churn.contract import load_dataset_and_hash
from churn.monitoring.champion import training_drift
from churn.monitoring.retrain import champion_age_days, retrain_reasons
from churn.registry import Registry, resolve_home, utcnow
from churn.registry.ledger import append_json_line
from churn.registry.record import TrainingDriftRecord
from churn.sources.as_of import as_of_date
from churn.spec.loader import load_spec

SKIPS_FILE: Final = "skips.jsonl"


@dataclass(frozen=True)
class RetrainCheck:
    """Whether to train, why, and what the check saw."""

    reasons: list[str]
    champion: str | None
    age_days: float | None
    drift: TrainingDriftRecord | None
    skip: dict[str, Any] | None = None
    """The line appended to ``skips.jsonl`` when the run is skipped (``--json`` prints it)."""

    @property
    def needed(self) -> bool:
        """True when there is at least one reason to train."""
        return bool(self.reasons)

    def skip_text(self) -> str:
        """The one line ``churn run --if-needed`` prints when it skips."""
        age = "" if self.age_days is None else f", {self.age_days:.1f} days old"
        status = "no drift status" if self.drift is None else f"data drift {self.drift.status}"
        return f"skipped: champion {self.champion}{age}, {status}; nothing to retrain"


def check_retrain(spec_path: str | Path, home: str | Path | None = None) -> RetrainCheck:
    """Decide, under the run lock, whether a run of ``spec_path`` should train; record a skip.

    Raises:
        SpecError, DataContractError, SourceError, RegistryError: as ``churn run`` would.
    """
    registry = Registry(resolve_home(home))
    spec = load_spec(spec_path)
    now = utcnow()
    with registry.lock():
        champion = registry.champion()
        if champion is None:
            return RetrainCheck(retrain_reasons(registry, spec, None, now=now), None, None, None)
        frame, _ = load_dataset_and_hash(spec, as_of=as_of_date())  # as the run reads it
        drift = training_drift(registry, spec, frame)
        check = RetrainCheck(
            reasons=retrain_reasons(registry, spec, drift, now=now),
            champion=champion.run_id,
            age_days=champion_age_days(registry, champion.run_id, now),
            drift=drift,
        )
        if not check.needed:
            line = record_skip(
                registry, check, spec_name=spec.name, spec_path=str(spec_path), now=now
            )
            check = replace(check, skip=line)
    return check


def record_skip(
    registry: Registry, check: RetrainCheck, *, spec_name: str, spec_path: str, now: datetime
) -> dict[str, Any]:
    """Append the skip to ``skips.jsonl`` in the registry home; the line appended."""
    line = {
        "timestamp": now.isoformat(),
        "spec_name": spec_name,
        "spec_path": spec_path,
        "champion": check.champion,
        "champion_age_days": check.age_days,
        "drift": None if check.drift is None else check.drift.as_dict(),
        "reason": check.skip_text(),
    }
    path = registry.inside(registry.home / SKIPS_FILE, "skip record")
    append_json_line(path, line, what="skip record", about=f"skip of {spec_name}")
    return line
