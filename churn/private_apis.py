"""Every use of another library's private API, in one place: none of these has a public
equivalent in the versions churn supports.

* scikit-learn checks an estimator's parameters against its ``_parameter_constraints`` only
  inside ``fit`` (``BaseEstimator._validate_params``); churn checks a spec's parameters at load
  time, before anything trains, with the same method and the same wording. XGBoost's wrapper
  parameters are checked by the same machinery (``sklearn.utils._param_validation``).
* ``set_output(transform="pandas")`` leaves its choice in ``_sklearn_output_config`` only; the
  fast serving path must refuse a ``ColumnTransformer`` that returns DataFrames.
* joblib's Dask backend class lives in ``joblib._dask`` (joblib registers it under the name
  ``"dask"`` but exports no class); :mod:`churn.training.dask_loops` subclasses it and
  overrides its ``_to_func_args`` hook.
* pytest resolves a test's fixtures only when the test is set up; ``churn check`` names a gate
  test asking for a fixture nobody provides at collection time, through the session's fixture
  manager (``session._fixturemanager.getfixturedefs``), so nothing of the test runs. The
  test suite's ``conftest.py`` asks the same manager for a fixture's scope (:func:`fixture_scope`)
  to keep the tests that share a module-scoped fixture on one xdist worker.
* A fitted ``HistGradientBoostingClassifier`` keeps its trees (``_predictors``) and its
  starting log-odds (``_baseline_prediction``) only as private attributes; the exact
  explanations of :mod:`churn.explain.trees` read both.
* Prefect creates a fresh SQLite database by replaying its Alembic migrations through its async
  engine (``aiosqlite``): tens of thousands of reflection queries, each a hop to aiosqlite's
  thread, most of a first start's CPU. :func:`migrate_sqlite` replays the same migration
  scripts (Prefect's ``alembic.ini`` and SQLite versions folder, handed in by
  ``churn.flows.server``: churn imports no Prefect) with the same options as Prefect's
  ``env.py``, on a synchronous connection; only Alembic's
  ``ScriptDirectory._upgrade_revs`` (what ``alembic upgrade`` itself calls) is private.
  Each batch operation reflects the table it rebuilds, and SQLAlchemy's reflection reflects
  every table its foreign keys name as well (a third of the replay's CPU); the replay reflects
  the rebuilt table alone (``resolve_fks=False`` on the ``Table`` that
  ``alembic.operations.batch`` builds), as Alembic's batch mode stubs the tables a foreign key
  names itself. The tables come out the same, some with their constraints in another order.

``tests/test_private_apis.py`` checks that each still exists and behaves as used here in the
installed versions, so an incompatible release fails there, by name, rather than somewhere in a
run. Nothing here is imported at churn's import time.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral
from pathlib import Path
from typing import Any


def declares_parameter_constraints(estimator: Any) -> bool:
    """Whether a scikit-learn estimator declares its parameters' constraints."""
    return hasattr(estimator, "_parameter_constraints")


def validate_estimator_params(estimator: Any) -> None:
    """Check a scikit-learn estimator's parameters as its ``fit`` would, without fitting.

    Raises:
        InvalidParameterError: (a ``ValueError`` and a ``TypeError``) one is out of range.
    """
    estimator._validate_params()


def whole_number_at_least(lower: int) -> Any:
    """The constraint "an int in the range [lower, inf)", as scikit-learn declares its own."""
    from sklearn.utils._param_validation import Interval

    return Interval(Integral, lower, None, closed="left")


def check_constraints(
    constraints: dict[str, list[Any]], values: dict[str, Any], *, caller_name: str
) -> None:
    """Check ``values`` against ``constraints`` and word a failure as scikit-learn words its own.

    Raises:
        InvalidParameterError: A value meets none of its constraints.
    """
    from sklearn.utils._param_validation import validate_parameter_constraints

    validate_parameter_constraints(constraints, values, caller_name=caller_name)


def output_config(transformer: Any) -> dict[str, Any]:
    """What ``transformer.set_output`` chose (``{"transform": "pandas"}``), or ``{}``."""
    config = getattr(transformer, "_sklearn_output_config", None)
    return dict(config) if isinstance(config, dict) else {}


def dask_distributed_backend() -> type:
    """joblib's ``DaskDistributedBackend`` class (imports dask.distributed)."""
    from joblib._dask import DaskDistributedBackend

    backend: type = DaskDistributedBackend
    return backend


def unknown_fixtures(item: Any) -> list[str]:
    """The fixture names a collected pytest test asks for that no fixture provides."""
    manager = item.session._fixturemanager
    return [
        name
        for name in item.fixturenames
        if name != "request" and not manager.getfixturedefs(name, item)
    ]


def fixture_scope(item: Any, name: str) -> str | None:
    """The scope (``"function"``, ``"module"``, ...) of the fixture a collected pytest test gets
    for ``name``: the innermost definition visible to it; None when no fixture provides it."""
    definitions = item.session._fixturemanager.getfixturedefs(name, item)
    return str(definitions[-1].scope) if definitions else None


def hist_gradient_boosting_trees(model: Any) -> tuple[list[Any], float]:
    """A fitted binary ``HistGradientBoostingClassifier``'s tree predictors and its baseline.

    Returns:
        One ``TreePredictor`` per boosting iteration (its ``nodes`` structured array holds
        ``value``, ``count``, ``feature_idx``, ``num_threshold``, ``missing_go_to_left``,
        ``left``, ``right``, ``is_leaf``, ``is_categorical``), and the raw baseline log-odds.
    """
    import numpy as np

    predictors = [trees[0] for trees in model._predictors]
    baseline = float(np.asarray(model._baseline_prediction, dtype=np.float64).ravel()[0])
    return predictors, baseline


def alembic_head(config: Any, versions_dir: Path) -> str:
    """The revision the migration scripts in ``versions_dir`` end at (one head)."""
    return str(_migration_scripts(config, versions_dir).get_current_head())


def _migration_scripts(config: Any, versions_dir: Path) -> Any:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(config)
    scripts.version_locations = [str(versions_dir)]
    return scripts


def migrate_sqlite(path: Path, config: Any, versions_dir: Path, metadata: Any) -> str:
    """Create a database in the new SQLite file ``path`` with the Alembic migrations of
    ``config`` (Prefect's ``alembic.ini``) in ``versions_dir``, as Prefect's ``env.py`` runs
    them (batch mode, one transaction per migration, foreign keys off), on a synchronous
    connection; returns the revision reached. Nothing but ``path`` is written.
    """
    import sqlalchemy as sa
    from alembic.runtime.environment import EnvironmentContext

    scripts = _migration_scripts(config, versions_dir)
    head = scripts.get_current_head()
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    environment = EnvironmentContext(
        config,
        scripts,
        fn=lambda revision, _context: scripts._upgrade_revs(head, revision),
        destination_rev=head,
    )
    try:
        with (
            warnings.catch_warnings(),
            _batch_reflects_one_table(),
            environment,
            engine.connect() as connection,
        ):
            warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
            for pragma in ("foreign_keys=OFF", "journal_mode=MEMORY", "synchronous=OFF"):
                connection.exec_driver_sql(f"PRAGMA {pragma}")
            connection.commit()  # Alembic begins its own transaction per migration
            environment.configure(
                connection=connection,
                target_metadata=metadata,
                include_schemas=True,
                render_as_batch=True,
                transaction_per_migration=True,
                template_args={"dialect": "sqlite"},
            )
            with environment.begin_transaction():
                environment.run_migrations()
            reached = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            return str(reached.scalar_one())
    finally:
        engine.dispose()


@contextmanager
def _batch_reflects_one_table() -> Iterator[None]:
    """Alembic's batch operations reflect the table they rebuild without the tables its foreign
    keys name (see the module's docstring); restored afterwards."""
    from alembic.operations import batch

    table = batch.Table  # type: ignore[attr-defined]

    def reflect_alone(*args: Any, **kwargs: Any) -> Any:
        if "autoload_with" in kwargs:
            kwargs.setdefault("resolve_fks", False)
        return table(*args, **kwargs)

    batch.Table = reflect_alone  # type: ignore[attr-defined,assignment]
    try:
        yield
    finally:
        batch.Table = table  # type: ignore[attr-defined]


def fit_cox_baseline(model: Any, linear_predictor: Any, event: Any, time: Any) -> None:
    """Fit a ``CoxPHSurvivalAnalysis``'s own Breslow baseline (its ``_baseline_model``, behind
    ``cum_baseline_hazard_`` and ``predict_survival_function``) as its ``fit`` does last, for
    coefficients found by churn's vectorised Newton steps (:mod:`churn.survival.cox_newton`)."""
    model._baseline_model.fit(linear_predictor, event, time)
