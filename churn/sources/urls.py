"""Data files at URLs: ``s3://``, ``gs://``, ``az://`` (and ``abfs://``) and ``https://``.

A URL in ``data.source`` (or as ``churn score``'s SOURCE) is read like a local file: the object
is streamed once into an unnamed temporary file while its sha256 is computed, and the contract
parses that same file, so the recorded hash belongs to exactly the bytes parsed, and every
message is the one a local file gets (with the URL in place of the path).

Object stores are read through pyarrow's own filesystems (``FileSystem.from_uri``: S3, Google
Cloud Storage, Azure Blob Storage), ``https://`` through fsspec's HTTP filesystem. Credentials
come only from the environment those libraries read (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``, ``GOOGLE_APPLICATION_CREDENTIALS``,
``AZURE_STORAGE_ACCOUNT_KEY``...): churn reads none of them itself. A URL is never shown as
written: :func:`shown` drops its user, password and query (a presigned URL's signature), and
every message and record uses that form. Nothing happens at import time.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final, NoReturn
from urllib.parse import urlsplit, urlunsplit

from churn.errors import DataContractError, one_line
from churn.spec import Spec

DataLocation = Path | str
"""Where data is: a local path, or a URL (a ``str`` for which :func:`is_url` holds)."""

OBJECT_STORES: Final = ("s3", "gs", "az", "abfs", "abfss")
"""URL schemes read through pyarrow's filesystems."""
WEB: Final = ("https",)
"""URL schemes read through fsspec's HTTP filesystem (plain ``http`` is refused)."""
CHUNK_BYTES: Final = 8 * 1024 * 1024
"""Bytes copied from the remote stream at a time."""
ANY_URL: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
"""What any ``scheme://`` URL starts with, read by churn or not."""


def is_url(source: object) -> bool:
    """Whether ``source`` is a URL churn reads (``s3://``, ``gs://``, ``az://``, ``https://``)."""
    if not isinstance(source, str) or "://" not in source:
        return False
    return source.split("://", 1)[0].lower() in (*OBJECT_STORES, *WEB)


def as_location(source: Path | str) -> DataLocation:
    """A URL as it is written, anything else as a path.

    Raises:
        DataContractError: ``source`` is a URL of a scheme churn does not read (``http://``).
    """
    if isinstance(source, str):
        refuse_other_urls(source)
    return source if isinstance(source, str) and is_url(source) else Path(source)


def data_location(spec: Spec) -> DataLocation:
    """The spec's data: its URL as written, else the file resolved against the spec's folder
    (a SQL source's :attr:`~churn.spec.Spec.source_path`, its label).

    Raises:
        DataContractError: ``data.source`` is a URL of a scheme churn does not read.
    """
    source = spec.data.source
    if isinstance(source, str):
        refuse_other_urls(source)
    return source if isinstance(source, str) and is_url(source) else spec.source_path


def refuse_other_urls(source: str) -> None:
    """Refuse a ``scheme://`` URL churn does not read, rather than look for a local file of
    that name (``http://host/x.csv`` was read as the path ``http:/host/x.csv``).

    Raises:
        DataContractError: The scheme is not one of :data:`OBJECT_STORES` or :data:`WEB`.
    """
    if ANY_URL.match(source) is None or is_url(source):
        return
    scheme = source.split("://", 1)[0]
    plain = "; plain http is refused: use https://" if scheme.lower() == "http" else ""
    read = ", ".join(f"{known}://" for known in (*OBJECT_STORES, *WEB))
    _fail(source, f"{scheme}:// is not read: churn reads {read} URLs, or a local file{plain}")


def shown(location: DataLocation) -> str:
    """``location`` as messages and records show it: a URL without password or query, and
    without a user beside a password or in an ``https`` URL (``abfs://container@account/...``
    keeps its container)."""
    if not isinstance(location, str) or ANY_URL.match(location) is None:
        return str(location)
    parts = urlsplit(location)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if parts.username and parts.password is None and parts.scheme.lower() not in WEB:
        host = f"{parts.username}@{host}"
    query = "?..." if parts.query else ""
    return urlunsplit((parts.scheme, host, parts.path, "", "")) + query


def suffix_of(location: DataLocation) -> str:
    """The file suffix of a path or of a URL's path (``.csv``, ``.parquet``; ``""`` if none)."""
    if isinstance(location, str) and is_url(location):
        return PurePosixPath(urlsplit(location).path).suffix
    return Path(location).suffix


@contextmanager
def fetched(url: str) -> Iterator[tuple[IO[bytes], str]]:
    """The object at ``url`` in an unnamed temporary file (at offset 0) and its sha256.

    The file is removed when the block ends.

    Raises:
        DataContractError: The object is missing, is a folder, or cannot be read (access
            denied, host unreachable); the message names the URL without its credentials.
    """
    with tempfile.TemporaryFile() as handle:
        digest = hashlib.sha256()
        try:
            with _open(url) as remote:
                while chunk := remote.read(CHUNK_BYTES):
                    digest.update(chunk)
                    handle.write(chunk)
        except DataContractError:
            raise
        except FileNotFoundError as exc:
            cause = exc.__cause__  # fsspec's HTTP reports any failure as missing, from its cause
            missing = isinstance(cause, FileNotFoundError) or getattr(cause, "status", 0) == 404
            if cause is not None and not missing:
                _fail(url, f"cannot read the object: {_scrubbed(cause, url)}")
            _fail(url, "object not found; check data.source (or SOURCE) and the bucket")
        except IsADirectoryError:
            _fail(url, "not a file; a URL must name a .csv or .parquet object")
        except Exception as exc:  # noqa: BLE001 - every client error becomes one clean message
            _fail(url, f"cannot read the object: {_scrubbed(exc, url)}")
        handle.seek(0)
        yield handle, digest.hexdigest()


def _open(url: str) -> IO[bytes]:
    scheme = url.split("://", 1)[0].lower()
    if scheme in WEB:
        import ssl

        import fsspec

        # A context made now: the system's CAs, or SSL_CERT_FILE as the environment says now.
        web = fsspec.filesystem(scheme, ssl=ssl.create_default_context(), skip_instance_cache=True)
        opened: IO[bytes] = web.open(url, "rb", block_size=0)  # one streamed GET; 404 = missing
        return opened
    from pyarrow import fs

    store, path = _azure(url) if scheme == "az" else fs.FileSystem.from_uri(url)
    info = store.get_file_info(path)
    if info.type == fs.FileType.NotFound:
        raise FileNotFoundError(path)
    if info.type == fs.FileType.Directory:
        raise IsADirectoryError(path)
    stream: IO[bytes] = store.open_input_stream(path)
    return stream


def _azure(url: str) -> tuple[Any, str]:
    """``az://container/path`` (adlfs' form, which pyarrow's ``from_uri`` does not take): the
    account is ``AZURE_STORAGE_ACCOUNT_NAME``, the key ``AZURE_STORAGE_ACCOUNT_KEY`` or else
    Azure's default credential."""
    from pyarrow import fs

    from churn.settings import load_settings

    settings = load_settings()
    if not settings.azure_storage_account_name:
        _fail(
            url,
            "az:// needs the storage account: set AZURE_STORAGE_ACCOUNT_NAME, or write "
            "abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PATH",
        )
    key = settings.azure_storage_account_key
    store = fs.AzureFileSystem(
        settings.azure_storage_account_name,
        account_key=key.get_secret_value() if key is not None else None,
    )
    return store, url.split("://", 1)[1]


def _scrubbed(exc: BaseException, url: str) -> str:
    """The error in one line, with the URL as written (and its user and password) left out."""
    text = one_line(exc).replace(url, shown(url))
    parts = urlsplit(url)
    for secret in (parts.password, parts.query, parts.username):
        if secret:
            text = text.replace(secret, "***")
    return text or type(exc).__name__


def _fail(url: str, message: str) -> NoReturn:
    raise DataContractError(shown(url), [message]) from None
