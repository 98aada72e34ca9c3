"""The database URL of a SQL source: where it comes from, and how it is shown without secrets.

The URL is read from the environment variable the spec names (``url_env``, default
``CHURN_DATABASE_URL``) or from a file (``url_file``, a mounted Kubernetes Secret). It is held
as a :class:`pydantic.SecretStr` and only :func:`redacted` (``postgresql://churn@db:5432/crm``:
user, host, port and database, no password, no query options) is ever printed or recorded.

The host may also be a unix-socket folder given as libpq's ``host`` option
(``postgresql://churn:PASSWORD@/crm?host=/run/postgresql``): a database on the same machine, or
one whose socket folder is mounted into a container that has no network. It is shown as
``postgresql://churn@/crm?host=/run/postgresql`` and named in messages as the socket file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr

from churn.errors import SourceError
from churn.settings import ChurnSettings, load_settings, named_secret
from churn.spec.sources import DEFAULT_URL_ENV, SqlSource

SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_SECONDS = 5
"""libpq's ``connect_timeout`` added to a URL that sets none: an unreachable host answers in
seconds, not in the kernel's two minutes."""
MAX_URL_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class DatabaseUrl:
    """A connection URL (secret) and its printable parts."""

    secret: SecretStr
    host: str
    port: int
    shown: str

    @property
    def where(self) -> str:
        """``host:port`` (the socket file for a unix-socket folder), for messages."""
        if self.host.startswith("/"):
            return f"{self.host.rstrip('/')}/.s.PGSQL.{self.port}"
        return f"{self.host}:{self.port}"

    def connect_url(self) -> str:
        """The URL for the driver, with a ``connect_timeout`` when it sets none; the query is
        re-encoded with ``%20`` for a space (libpq does not read ``+`` as one)."""
        parts = urlsplit(self.secret.get_secret_value())
        options = dict(parse_qsl(parts.query))
        options.setdefault("connect_timeout", str(CONNECT_TIMEOUT_SECONDS))
        return urlunsplit(parts._replace(query=urlencode(options, quote_via=quote)))


def database_url(
    source: SqlSource, where: str, settings: ChurnSettings | None = None
) -> DatabaseUrl:
    """The URL of ``source``; ``where`` names the spec's ``data.source`` in messages.

    Raises:
        SourceError: The variable is unset, the file unreadable, or the URL not a PostgreSQL URL
            (the message never quotes the URL).
    """
    if source.url_file is not None:
        return parse(_from_file(Path(source.url_file), where), where)
    variable = source.url_variable
    if variable == DEFAULT_URL_ENV:
        secret = (settings or load_settings()).database_url
    else:
        secret = named_secret(variable)
    if secret is None:
        raise SourceError(
            f"{where}: the environment variable {variable} is not set; it must hold the URL "
            "postgresql://user:password@host:port/database"
        )
    return parse(secret, where)


def default_database_url(settings: ChurnSettings, needed_by: str) -> DatabaseUrl:
    """``CHURN_DATABASE_URL``, else the file ``CHURN_DATABASE_URL_FILE`` names: the database
    of a score or log table when the spec reads none.

    Raises:
        SourceError: Neither is set (``needed_by`` says what needs it), the file cannot be
            read, or the URL is not a PostgreSQL URL.
    """
    if settings.database_url is not None:
        return parse(settings.database_url, "CHURN_DATABASE_URL")
    if settings.database_url_file is not None:
        where = "CHURN_DATABASE_URL_FILE"
        return parse(_from_file(settings.database_url_file, where), where)
    raise SourceError(
        f"{needed_by} needs a database: set CHURN_DATABASE_URL or CHURN_DATABASE_URL_FILE (or "
        "use a spec whose data.source is {kind: sql})"
    )


def parse(secret: SecretStr, where: str) -> DatabaseUrl:
    """Split a URL into its printable parts.

    Raises:
        SourceError: Not a ``postgresql://`` URL with a host or a ``host=`` option (the URL
            itself is not quoted).
    """
    try:
        parts = urlsplit(secret.get_secret_value().strip())
        options = dict(parse_qsl(parts.query))
        port = int(options.get("port") or parts.port or 5432)
    except ValueError:
        raise SourceError(f"{where}: the database URL is malformed (its port?)") from None
    host = options.get("host") or parts.hostname
    if parts.scheme not in SCHEMES or not host:
        raise SourceError(
            f"{where}: the database URL must look like postgresql://user:password@host:port/db "
            f"(scheme {parts.scheme or 'missing'!r}{'' if host else ', no host'})"
        )
    user = f"{parts.username}@" if parts.username else ""
    if host.startswith("/"):  # a unix-socket folder (libpq's host option)
        shown = f"{parts.scheme}://{user}{parts.path}?{urlencode({'host': host}, safe='/')}"
        if port != 5432:
            shown += f"&port={port}"
    else:
        shown_host = f"[{host}]" if ":" in host else host
        shown = f"{parts.scheme}://{user}{shown_host}:{port}{parts.path}"
    return DatabaseUrl(SecretStr(secret.get_secret_value().strip()), host, port, shown)


def _from_file(path: Path, where: str) -> SecretStr:
    try:
        with path.open("rb") as handle:
            content = handle.read(MAX_URL_FILE_BYTES + 1)
    except OSError as exc:
        raise SourceError(f"{where}: cannot read url_file {path}: {exc.strerror}") from None
    if len(content) > MAX_URL_FILE_BYTES:
        raise SourceError(f"{where}: url_file {path} is larger than {MAX_URL_FILE_BYTES} bytes")
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        raise SourceError(f"{where}: url_file {path} is empty; it must hold the database URL")
    return SecretStr(text)
