"""Fixtures of the SQL source tests: the session's server with the subscriptions snapshots
loaded (:mod:`sqltools`), and the environment that points churn at it."""

from __future__ import annotations

import pytest
from postgres_server import PostgresServer
from sqltools import load_table, snapshots_frame


@pytest.fixture(scope="session")
def subscriptions_db(postgres_server: PostgresServer) -> PostgresServer:
    """The server with the ``subscriptions`` table loaded (once per session)."""
    load_table(postgres_server, "subscriptions", snapshots_frame())
    return postgres_server


@pytest.fixture
def database_env(
    subscriptions_db: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> PostgresServer:
    """``CHURN_DATABASE_URL`` set to the server, ``CHURN_AS_OF`` unset."""
    monkeypatch.setenv("CHURN_DATABASE_URL", subscriptions_db.url)
    monkeypatch.delenv("CHURN_AS_OF", raising=False)
    return subscriptions_db
