"""Shared fixtures, and one BLAS/OpenMP thread per test process.

pytest-xdist already runs one test process per core. A second native thread per process only
contends for the other's core, and L-BFGS's many tiny BLAS calls then wait on each other:
a 400-row logistic regression fit ran 5x slower with OpenBLAS's default two threads than with
one. The variables reach the libraries not yet loaded and every subprocess a test starts;
threadpoolctl limits those a plugin has already loaded.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

NATIVE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
for _variable in NATIVE_THREAD_VARIABLES:
    os.environ.setdefault(_variable, "1")

import pytest  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

if TYPE_CHECKING:
    from postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
TELCO_SPEC = ROOT / "spec" / "telco.yaml"
_THREAD_LIMITS = pytest.StashKey[object]()
_SIGINT_AT_START = pytest.StashKey[tuple[Any, bool]]()


@pytest.fixture(scope="session")
def telco_spec_path() -> Path:
    """The default spec shipped with the project."""
    return TELCO_SPEC


@pytest.fixture(scope="session", autouse=True)
def prefect_template_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The template of Prefect's database (``churn.flows.server.DatabaseTemplate``) in a folder
    of the session, never the user's cache: the first fresh Prefect home makes it."""
    folder = tmp_path_factory.mktemp("prefect-template")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHURN_PREFECT_TEMPLATE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def fresh_import(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """What one fresh interpreter saw while importing churn and drawing (``fresh_interpreter``)."""
    from fresh_interpreter import observe

    return observe(tmp_path_factory.mktemp("fresh-import"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the session (see ``tests/postgres_server.py``); tests
    that use it are marked ``postgres`` and share the ``postgres`` xdist group."""
    from postgres_server import running_postgres

    with running_postgres() as server:
        yield server


GROUPED_BY_THEIR_CONFTEST = ("tests/flows/",)
"""Folders whose own conftest puts every test in an xdist group, in a hook that runs after the
one below (a second group would split the flow tests from the session's Prefect server)."""


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (its loadgroup scheduling)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep each module whose tests share a module-scoped fixture on one xdist worker.

    Without a group, ``--dist loadgroup`` hands a module's tests to both workers, and each
    builds the module's fixture: two trained registries, two served APIs, two probes of a
    fresh interpreter (seen twice in ``--durations`` for test_gate_runs, test_cli_registry,
    test_cli_startup, test_score, test_api_batching). The whole module goes, in file order, as
    ``pytest -n 0`` runs it (test_gate_runs' in-process pytest run, last in its file, leaves
    state its earlier tests do not expect). A test with a group of its own keeps it.
    """
    ungrouped = [
        item
        for item in items
        if item.get_closest_marker("xdist_group") is None
        and not module_of(item).startswith(GROUPED_BY_THEIR_CONFTEST)
    ]
    shared = {module_of(item) for item in ungrouped if uses_a_module_fixture(item)}
    for item in ungrouped:
        if module_of(item) in shared:
            item.add_marker(pytest.mark.xdist_group(module_of(item)))


def module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


def uses_a_module_fixture(item: pytest.Item) -> bool:
    """Whether the test, or a fixture it uses, asks for a module-scoped fixture (pytest has no
    public API for a collected test's fixture definitions: ``churn.private_apis``)."""
    from churn.private_apis import fixture_scope

    names = getattr(item, "fixturenames", ())  # every fixture the test needs, transitively
    return any(fixture_scope(item, name) == "module" for name in names)


def pytest_configure(config: pytest.Config) -> None:
    """Limit the native thread pools already loaded (numpy's OpenBLAS, by a plugin); note how
    the process started with SIGINT (see :func:`pytest_runtest_teardown`)."""
    config.stash[_THREAD_LIMITS] = threadpool_limits(limits=1)
    config.stash[_SIGINT_AT_START] = sigint_state()


def sigint_state() -> tuple[Any, bool]:
    """The process's SIGINT handler, and whether the calling thread blocks SIGINT."""
    return signal.getsignal(signal.SIGINT), signal.SIGINT in signal.pthread_sigmask(
        signal.SIG_BLOCK, []
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """Fail the test that leaves SIGINT handled, ignored or blocked otherwise than the process
    started with, and put it back for the tests after.

    A worker changed so passes it on to every command a later test starts, which then never
    sees a Ctrl-C. Pytest started with SIGINT ignored (a background job of a script, ``nohup``)
    starts its workers so too, and Python then keeps it ignored: that is the state to keep, and
    what the Ctrl-C test resets for its child. Two system calls per test: 14 µs, about 30 ms
    over the suite.
    """
    yield
    started = item.config.stash[_SIGINT_AT_START]
    now = sigint_state()
    if now == started:
        return
    handler, blocked = started
    signal.signal(signal.SIGINT, handler)
    signal.pthread_sigmask(signal.SIG_BLOCK if blocked else signal.SIG_UNBLOCK, {signal.SIGINT})
    raise AssertionError(
        f"{item.nodeid} left SIGINT with handler {now[0]!r}, {'' if now[1] else 'un'}blocked; "
        f"the process started with {handler!r}, {'' if blocked else 'un'}blocked"
    )
