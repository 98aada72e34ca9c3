"""How much a connection may cost the server: bounds on headers, time and connections.

Read from ``CHURN_*`` environment variables (``churn serve`` sets them from its flags), once per
process, by :func:`server_limits`; :mod:`churn.api.protocol` enforces them and
:mod:`churn.api.workers` hands the idle timeout to uvicorn.
"""

from __future__ import annotations

import functools
import resource

from pydantic import Field, ValidationError

from churn.settings import ChurnSettings

FD_RESERVE = 128
"""Descriptors kept free of connections for the champion reload, registry reads and logs."""


class ServerLimits(ChurnSettings):
    """Bounds on what one client may make the server hold (``CHURN_`` environment variables),
    beside churn's own settings; :class:`churn.api.settings.Settings` extends it."""

    max_header_bytes: int = Field(
        default=16384,
        ge=1024,
        le=1_048_576,
        description="Largest request head (request line and headers) in bytes "
        "(CHURN_MAX_HEADER_BYTES); larger: 431 and the connection closed.",
    )
    max_headers: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Most header lines in one request (CHURN_MAX_HEADERS); more: 431, closed.",
    )
    idle_timeout: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds a connection may wait without sending a request, when new or after "
        "an answer (CHURN_IDLE_TIMEOUT); then it is closed.",
    )
    request_timeout: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds a request may take to arrive in full, head and body, from its first "
        "byte (CHURN_REQUEST_TIMEOUT); then 408 (head incomplete) or a closed connection.",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        description="Most open connections per process (CHURN_MAX_CONNECTIONS); one more is "
        f"closed at once. Never more than the descriptor limit less {FD_RESERVE}.",
    )

    @property
    def connection_cap(self) -> int:
        """``max_connections``, lowered so that :data:`FD_RESERVE` descriptors stay free."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self.max_connections
        return max(1, min(self.max_connections, soft - FD_RESERVE))


@functools.cache
def server_limits() -> ServerLimits:
    """This process's limits, read from the environment on first use."""
    return ServerLimits()


def limits_problem() -> str | None:
    """What is wrong with the ``CHURN_*`` limits in the environment, in words (None: nothing)."""
    try:
        ServerLimits()
    except ValidationError as exc:
        return "; ".join(
            f"CHURN_{'_'.join(map(str, error['loc'])).upper()}: {error['msg']}, "
            f"got {error['input']!r}"
            for error in exc.errors()
        )
    return None
