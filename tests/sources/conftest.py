"""Session-scoped real servers of the source tests: SeaweedFS and HTTPS for URL sources (see
:mod:`servers`), and PostgreSQL with the subscriptions snapshots loaded for SQL sources
(:mod:`sqltools`); and the environment that points churn at each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import servers
from postgres_server import PostgresServer
from servers import HttpsServer, S3Server
from sqltools import load_table, snapshots_frame


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS's S3 gateway with the test bucket, for the whole session (per xdist worker)."""
    with servers.seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The server's credentials and endpoint in this test's environment."""
    for name, value in s3_server.environment().items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture(scope="session")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsServer]:
    """An HTTPS server on a throwaway certificate, for the whole session."""
    with servers.https(tmp_path_factory.mktemp("https")) as server:
        yield server


@pytest.fixture
def https_env(https_server: HttpsServer, monkeypatch: pytest.MonkeyPatch) -> HttpsServer:
    """The server's certificate trusted in this test (``SSL_CERT_FILE``)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(https_server.certificate))
    return https_server


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
