"""Other libraries' private APIs are used in one module only, and each still works as used.

When a release of scikit-learn, joblib or Prefect moves one of them, the tests below fail by its
name (not a spec check or a Dask run somewhere later).
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"churn", "flows", "api", "cli"}
ISOLATED = ROOT / "churn" / "private_apis.py"
PRIVATE_PATH = re.compile(r"\b[a-z]\w*(?:\.\w+)*\._[a-z]\w*")
"""A dotted module path with a private part (``sklearn.ensemble._forest``)."""


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return []


def _private_module(module: str) -> bool:
    parts = module.split(".")
    foreign = parts[0] not in OURS and parts[0] != "__future__"
    return foreign and any(part.startswith("_") for part in parts)


def _looked_up(node: ast.AST) -> str | None:
    """The private attribute name a ``getattr``/``hasattr``/``setattr`` call looks up."""
    lookup = isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    if not lookup or node.func.id not in {"getattr", "hasattr", "setattr"} or len(node.args) < 2:  # type: ignore[attr-defined]
        return None
    name = node.args[1]  # type: ignore[attr-defined]
    text = str(name.value) if isinstance(name, ast.Constant) else ""
    return text if text.startswith("_") and not text.startswith("__") else None


def _private_text(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    text = node.value
    return "PREFECT__" in text or bool(PRIVATE_PATH.fullmatch(text) and _private_module(text))


def private_uses(path: Path) -> list[str]:
    """Private modules of other libraries imported or named, private attributes looked up by
    name, and Prefect's internal ``PREFECT__`` variables, in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        found += [f"{where} imports {m}" for m in _imported(node) if _private_module(m)]
        if (name := _looked_up(node)) is not None:
            found.append(f"{where} looks up {name}")
        if _private_text(node):
            found.append(f"{where} names {node.value}")  # type: ignore[attr-defined]
    return found


def test_no_module_but_one_uses_another_librarys_private_api() -> None:
    sources = sorted(p for package in OURS for p in (ROOT / package).rglob("*.py"))
    assert len(sources) > 50
    assert [use for path in sources if path != ISOLATED for use in private_uses(path)] == []


def test_the_scan_finds_planted_private_uses(tmp_path: Path) -> None:
    planted = tmp_path / "m.py"
    planted.write_text(
        "from joblib._dask import DaskDistributedBackend\n"
        "x = getattr(ct, '_sklearn_output_config', {})\n"
        "ROW = ('sklearn.ensemble._forest', 'RandomForestClassifier')\n"
        "env = {'PREFECT__SERVER_FINAL': '1'}\n"
        "from churn._x import y\nimport os\nos._exit\n"
    )
    assert private_uses(planted) == [
        "m.py:1 imports joblib._dask",
        "m.py:2 looks up _sklearn_output_config",
        "m.py:3 names sklearn.ensemble._forest",
        "m.py:4 names PREFECT__SERVER_FINAL",
    ]


# --------------------------------------------------------------------------- each still works


def test_sklearn_still_checks_parameter_constraints_without_fitting() -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.utils._param_validation import InvalidParameterError

    from churn.private_apis import declares_parameter_constraints, validate_estimator_params

    assert declares_parameter_constraints(RandomForestClassifier())
    validate_estimator_params(RandomForestClassifier(max_depth=3))
    with pytest.raises(InvalidParameterError, match="'max_depth' parameter of Random"):
        validate_estimator_params(RandomForestClassifier(max_depth=-1))


def test_sklearn_still_checks_declared_constraints_with_its_wording() -> None:
    from churn.private_apis import check_constraints, whole_number_at_least

    constraints = {"n_estimators": [whole_number_at_least(1), None]}
    check_constraints(constraints, {"n_estimators": 5}, caller_name="XGBClassifier")
    with pytest.raises(ValueError, match=r"must be an int in the range \[1, inf\) or None\. Got 0"):
        check_constraints(constraints, {"n_estimators": 0}, caller_name="XGBClassifier")


def test_set_output_is_still_read_from_the_estimator() -> None:
    from sklearn.compose import ColumnTransformer

    from churn.private_apis import output_config

    ct = ColumnTransformer([("keep", "passthrough", [0])])
    assert output_config(ct).get("transform") is None
    assert output_config(ct.set_output(transform="pandas")) == {"transform": "pandas"}


def test_joblibs_dask_backend_still_has_the_hook_churn_overrides() -> None:
    pytest.importorskip("distributed")
    from churn.private_apis import dask_distributed_backend

    backend = dask_distributed_backend()
    hook = backend._to_func_args
    assert inspect.iscoroutinefunction(hook)
    assert list(inspect.signature(hook).parameters) == ["self", "func"]
    assert backend.effective_n_jobs is not None


def test_prefects_server_app_still_takes_ephemeral_and_final() -> None:
    from prefect.server.api.server import create_app

    parameters = inspect.signature(create_app).parameters
    assert {"ephemeral", "final"} <= set(parameters)


@pytest.fixture(scope="module")
def a_module_fixture() -> int:
    return 1


@pytest.fixture
def needs_the_module_fixture(a_module_fixture: int) -> int:
    return a_module_fixture


def test_pytest_still_tells_a_collected_tests_fixture_scopes(
    request: pytest.FixtureRequest, needs_the_module_fixture: int
) -> None:
    from churn.private_apis import fixture_scope

    scopes = {name: fixture_scope(request.node, name) for name in request.node.fixturenames}
    assert scopes["a_module_fixture"] == "module"  # asked for by a fixture, not the test
    assert scopes["needs_the_module_fixture"] == "function"
    assert fixture_scope(request.node, "tmp_path_factory") == "session"
    assert fixture_scope(request.node, "no_such_fixture") is None


def test_hist_gradient_boosting_still_keeps_its_trees_and_baseline() -> None:
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    from churn.private_apis import hist_gradient_boosting_trees

    X = np.arange(40, dtype=float).reshape(20, 2)
    y = (X[:, 0] > 19).astype(int)
    model = HistGradientBoostingClassifier(max_iter=3, min_samples_leaf=2).fit(X, y)
    predictors, baseline = hist_gradient_boosting_trees(model)
    assert len(predictors) == model.n_iter_
    fields = {"value", "count", "feature_idx", "num_threshold", "missing_go_to_left", "is_leaf"}
    assert fields <= set(predictors[0].nodes.dtype.names)
    rate = y.mean()
    assert baseline == pytest.approx(np.log(rate / (1 - rate)))


def test_alembic_still_plans_prefects_sqlite_migrations_as_its_upgrade_command_does() -> None:
    from alembic.script import ScriptDirectory

    from churn.flows.server import prefect_sqlite_migrations
    from churn.private_apis import alembic_head

    head = alembic_head(*prefect_sqlite_migrations()[:2])
    assert len(head) == 12 and int(head, 16) >= 0  # an Alembic revision id, one head
    assert "_upgrade_revs" in vars(ScriptDirectory)
    assert list(inspect.signature(ScriptDirectory._upgrade_revs).parameters) == [
        "self",
        "destination",
        "current_rev",
    ]


def test_scikit_survivals_cox_still_fits_its_baseline_behind_its_curves() -> None:
    import numpy as np
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    from churn.private_apis import fit_cox_baseline

    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = Surv.from_arrays(event=[True, False, True, True], time=[1.0, 2.0, 3.0, 4.0])
    theirs = CoxPHSurvivalAnalysis().fit(X, y)
    ours = CoxPHSurvivalAnalysis()
    ours.coef_ = theirs.coef_
    fit_cox_baseline(ours, X @ ours.coef_, y["event"], y["time"])
    np.testing.assert_array_equal(ours.cum_baseline_hazard_.y, theirs.cum_baseline_hazard_.y)


def test_alembic_batch_still_reflects_through_sqlalchemys_table() -> None:
    """migrate_sqlite turns off the reflection of referred tables on the ``Table`` that
    ``alembic.operations.batch`` builds: that name must still be SQLAlchemy's ``Table``, and
    restored after a migration."""
    import sqlalchemy as sa
    from alembic.operations import batch

    from churn.private_apis import _batch_reflects_one_table

    assert vars(batch)["Table"] is sa.Table
    assert "resolve_fks" in inspect.signature(sa.Table.__init__).parameters
    with _batch_reflects_one_table():
        assert vars(batch)["Table"] is not sa.Table
        metadata = sa.MetaData()
        engine = sa.create_engine("sqlite://")
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE a (id INTEGER PRIMARY KEY)")
            connection.exec_driver_sql(
                "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id REFERENCES a (id))"
            )
        reflected = vars(batch)["Table"]("b", metadata, autoload_with=engine)
        assert list(metadata.tables) == ["b"] and len(reflected.foreign_keys) == 1
    assert vars(batch)["Table"] is sa.Table
