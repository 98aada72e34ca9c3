"""``pytest --churn-run RUN PATH``: gate tests under plain pytest, against a recorded run.

Registered as churn's ``pytest11`` entry point, so any pytest in an environment with churn has
the options; without ``--churn-run`` it does nothing (and imports nothing heavy). With it, the
churn plugin's fixtures (``model``, ``champion``, ``holdout``, ``train_sample``, ``spec``,
``metrics``) come from the recorded run, as ``churn gate RUN`` gives them, and pytest's own
options, output and exit codes apply. The spec's time limits do not: that is ``churn gate``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PLUGIN_NAME = "churn-gates"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--churn-run RUN`` and ``--churn-home PATH``."""
    group = parser.getgroup("churn", "churn gate tests against a recorded run")
    group.addoption(
        "--churn-run",
        metavar="RUN",
        default=None,
        help="Give gate tests the model, hold-out and champion of this recorded run.",
    )
    group.addoption(
        "--churn-home",
        metavar="PATH",
        default=None,
        help="The run's registry folder (default: $CHURN_HOME or ./artifacts).",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Load the run's subjects and register the churn plugin when ``--churn-run`` is given."""
    run_id = config.getoption("churn_run", default=None)
    if not run_id:
        return
    from churn.errors import ChurnError
    from churn.gates.plugin import ChurnGatePlugin
    from churn.registry import Registry, resolve_home
    from churn.run.gate_tests import recorded_subjects

    home = config.getoption("churn_home", default=None)
    try:
        subjects, _ = recorded_subjects(
            Registry(resolve_home(Path(home) if home else None)), str(run_id)
        )
    except ChurnError as exc:
        raise pytest.UsageError(f"--churn-run {run_id}: {exc}") from None
    plugin = ChurnGatePlugin(subjects, candidate=subjects.model.name)
    config.pluginmanager.register(plugin, PLUGIN_NAME)
