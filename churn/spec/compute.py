"""The spec's ``compute`` block: where candidates, CV folds and search trials run.

Only the address is checked here (no Dask import): whether a scheduler answers there is known
when a run connects (:mod:`churn.run.cluster`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from churn.spec.base import StrictModel

SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss")
"""The Dask comm protocols a scheduler address may name (``host:port`` alone means tcp)."""


def scheduler_address(raw: str) -> str:
    """``raw`` as a Dask scheduler address ``SCHEME://HOST:PORT`` (``host:port`` -> tcp).

    Raises:
        ValueError: Not an address of that form; the message says what was expected.
    """
    text = raw.strip()
    expected = f"expected SCHEME://HOST:PORT with SCHEME one of {', '.join(SCHEDULER_SCHEMES)}"
    address = text if "://" in text else f"tcp://{text}"
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if (
        parts.scheme not in SCHEDULER_SCHEMES
        or not parts.hostname
        or port is None
        or not 0 < port < 65536
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise ValueError(f"{expected} (e.g. tcp://dask-scheduler:8786), got {raw!r}")
    return address.rstrip("/")


class ComputeSpec(StrictModel):
    """Where the training runs: this machine's worker processes, or a Dask cluster."""

    scheduler: str | None = Field(
        default=None,
        description=(
            "Address of a Dask scheduler (tcp://HOST:PORT; tls://, ws:// and wss:// too): "
            "candidates, CV folds and search trials then run on its workers. The environment "
            "variable CHURN_DASK_SCHEDULER overrides it (CHURN_DASK_SCHEDULER=local: this "
            "machine). Unset: worker processes on this machine."
        ),
    )
    connect_timeout: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Seconds to wait for the scheduler to answer before the run fails (exit 1).",
    )

    @field_validator("scheduler")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        return None if value is None else scheduler_address(value)
