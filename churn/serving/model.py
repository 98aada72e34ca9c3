"""Serving the champion: an immutable :class:`ServingModel` and how it is loaded.

:func:`load_serving_model` reads the champion from the registry, checks that it is a pipeline
the serving spec's records can feed (the kinds of its input columns have not changed since it
was trained), sets it to score on the calling thread and wraps it in a
:class:`~churn.serving.fast_scorer.FastScorer`. A reload builds a new :class:`ServingModel`;
nothing in one is mutated after loading. The package ``churn.serving`` re-exports the fast
scorer, its input typing, its step types and the thread settings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sklearn.pipeline import Pipeline

from churn.errors import RegistryError, SpecError
from churn.explain import PipelineExplainer, Unexplainable
from churn.registry import Registry
from churn.registry.pointer import ChampionPointer
from churn.serving.fast_inputs import (
    Columns,
    Unsupported,
)
from churn.serving.fast_scorer import FastScorer
from churn.serving.threads import serve_single_threaded, single_openmp_thread
from churn.spec import ColumnSpec, Spec
from churn.spec.loader import parse_spec
from churn.survival.scoring import SurvivalScorer, SurvivalScores, is_survival_estimator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServingModel:
    """Everything one request needs about the champion; never mutated after loading.

    A reload builds a new object and swaps the one reference the API holds, so a request keeps
    the object it started with.
    """

    run_id: str
    scorer: FastScorer
    threshold: float
    pointer: ChampionPointer
    """champion.json as loaded."""
    candidate: str | None = None
    model_type: str | None = None
    explainer: PipelineExplainer | None = None
    """Exact per-column reasons (None when the model has none: see ``explain_off``)."""
    explain_off: str | None = None
    """Why the model cannot be explained (None when it can)."""
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    survival: SurvivalScorer | None = None
    """A survival champion's horizons and curves (None for a classifier)."""

    @property
    def version(self) -> str:
        """The model version answers carry: the champion's run id."""
        return self.run_id

    @property
    def pipeline(self) -> Pipeline:
        """The fitted pipeline."""
        return self.scorer.pipeline

    def score_survival(self, columns: Columns, n: int) -> SurvivalScores:
        """A survival champion's P(churn by each horizon) and median time of ``n`` records.

        Raises:
            ValueError: The model refuses the values (as ``FastScorer.predict_proba``).
        """
        if self.survival is None:
            raise TypeError(f"champion {self.run_id} is not a survival model")
        encoded, _ = self.scorer.encoded(columns, n)
        with single_openmp_thread():
            return self.survival.score(encoded)


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
    run_id = pointer.run_id
    survival = isinstance(pipeline, Pipeline) and is_survival_estimator(pipeline[-1])
    if not isinstance(pipeline, Pipeline) or not (survival or hasattr(pipeline, "predict_proba")):
        raise RegistryError(f"champion {run_id}: the model file holds no scikit-learn Pipeline")
    try:
        scorer = FastScorer(serve_single_threaded(pipeline), specs)
    except Unsupported as exc:
        raise RegistryError(f"champion {run_id} cannot be served with this spec: {exc}") from None
    trained = _trained_spec(registry, run_id)
    drift = _kind_changes(trained, specs, scorer.input_columns)
    if drift:
        raise RegistryError(
            f"champion {run_id} cannot be served with this spec: it was trained with "
            f"{', '.join(drift)}; serve it with the spec it was trained with"
        )
    if scorer.reason:
        log.warning("champion %s is scored through the pipeline: %s", run_id, scorer.reason)
    candidate, model_type = _candidate(registry, run_id)
    explainer, explain_off = _explainer(scorer.pipeline)
    return ServingModel(
        run_id=run_id,
        scorer=scorer,
        threshold=pointer.threshold if pointer.threshold is not None else 0.5,
        pointer=pointer,
        candidate=candidate,
        model_type=model_type,
        explainer=explainer,
        explain_off=explain_off,
        survival=_survival_scorer(run_id, pipeline, trained) if survival else None,
    )


def _survival_scorer(run_id: str, pipeline: Pipeline, trained: Spec | None) -> SurvivalScorer:
    """The champion's curves at the horizons of the spec it was trained with.

    Raises:
        RegistryError: The run's spec copy is unreadable or has no survival target.
    """
    target = trained.data.target if trained is not None else None
    horizons = getattr(target, "horizons", None)
    if target is None or not horizons:
        raise RegistryError(
            f"champion {run_id} is a survival model, but its run's spec.yaml declares no "
            "survival target with horizons"
        )
    return SurvivalScorer(pipeline[-1], horizons, str(getattr(target, "unit", "")))


def _explainer(pipeline: Pipeline) -> tuple[PipelineExplainer | None, str | None]:
    """The pipeline's explainer, or None and the reason it has none."""
    try:
        return PipelineExplainer(pipeline), None
    except Unexplainable as exc:
        return None, str(exc)


def _trained_spec(registry: Registry, run_id: str) -> Spec | None:
    """The run's spec copy, read as every registry file is (:meth:`Registry.spec_copy_text`)
    and parsed by the bounded spec loader; None (named in a warning) when it cannot be."""
    try:
        return parse_spec(registry.spec_copy_text(run_id), source=f"run {run_id}: spec.yaml")
    except (RegistryError, SpecError) as exc:
        log.warning("champion %s: spec copy not compared with the serving spec: %s", run_id, exc)
        return None


def _kind_changes(
    trained: Spec | None, specs: Mapping[str, ColumnSpec], names: Sequence[str]
) -> list[str]:
    """Input columns whose kind differs between the run's spec copy and the serving spec
    (nothing is compared without a copy)."""
    if trained is None:
        return []
    changes = []
    for name in names:
        column = trained.columns.get(name)
        if column is not None and column.kind != specs[name].kind:
            changes.append(f"{name} as {column.dtype} (the serving spec says {specs[name].dtype})")
    return changes


def _candidate(registry: Registry, run_id: str) -> tuple[str | None, str | None]:
    """The champion's candidate name and model type, from its run.json (None if unreadable)."""
    try:
        manifest = registry.record(run_id)
    except RegistryError:
        return None, None
    return manifest.candidate, manifest.model.type if manifest.model else None
