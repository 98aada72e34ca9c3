"""What every step of one run needs, without the ML stack: a run's context exists (and
Prefect's server and the training pool start) before this process imports scikit-learn."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from churn.registry import Registry, new_run_id, resolve_home, utcnow
from churn.spec import Spec
from churn.spec.loader import load_spec_and_text


@dataclass(frozen=True)
class RunContext:
    """What every step of one run needs: the spec, where it came from, and the registry."""

    spec: Spec
    spec_path: Path
    spec_text: str
    registry: Registry
    run_id: str

    @property
    def run_dir(self) -> Path:
        """``runs/<run_id>/``."""
        return self.registry.run_dir(self.run_id)


def prepare_run(
    spec_path: str | Path,
    home: str | Path | None = None,
    *,
    registry: Registry | None = None,
    run_id: str | None = None,
    loaded: tuple[Spec, str] | None = None,
) -> RunContext:
    """Load the spec and name the run; creates nothing on disk (see :func:`start_run`).

    ``registry`` and ``run_id`` are given when the run lock was taken first (preflight), and
    ``loaded`` (the spec and its text) when the spec was loaded before the ML stack.
    """
    path = Path(spec_path)
    spec, text = load_spec_and_text(path) if loaded is None else loaded
    return RunContext(
        spec=spec,
        spec_path=path,
        spec_text=text,
        registry=registry if registry is not None else Registry(resolve_home(home)),
        run_id=run_id if run_id is not None else new_run_id(utcnow()),
    )
