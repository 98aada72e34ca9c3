"""API settings, read from ``CHURN_*`` environment variables when the app is created: churn's
settings (:class:`churn.settings.ChurnSettings`: the registry home, the spec, ...) and the API's
limits."""

from __future__ import annotations

from pydantic import Field

from churn.api.server_limits import ServerLimits

BYTES_PER_RECORD = 4096
"""Body allowance per record (a Telco record is about 500 bytes of JSON)."""


class Settings(ServerLimits):
    """How the API finds the registry and the spec (churn's settings), and its limits.

    Every field is read from the environment with the ``CHURN_`` prefix: ``CHURN_MAX_BATCH``,
    ``CHURN_RELOAD_INTERVAL``, ``CHURN_MAX_BODY_BYTES``, ``CHURN_BATCH_MAX_WAIT_MS``,
    ``CHURN_BATCH_MAX_SIZE``, and churn's own (``CHURN_HOME``, ``CHURN_SPEC``, ...).
    """

    max_batch: int = Field(
        default=1000, ge=1, le=1_000_000, description="Most records one /predict call may send."
    )
    reload_interval: float = Field(
        default=5.0,
        ge=0,
        description="Seconds between checks of champion.json for a new champion; 0 turns them off.",
    )
    batch_max_wait_ms: float = Field(
        default=2.0,
        ge=0,
        le=1000,
        description="Longest a /predict request waits for others to be scored with it, in ms "
        "(CHURN_BATCH_MAX_WAIT_MS); a lone request never waits.",
    )
    batch_max_size: int = Field(
        default=64,
        ge=1,
        le=100_000,
        description="Most records scored in one batched call (CHURN_BATCH_MAX_SIZE); requests of "
        "this many records or more are scored alone; 1 turns batching off.",
    )
    drift_tracking: bool = Field(
        default=True,
        description="Count what /predict scores on the champion's reference buckets over "
        "`monitoring.window` and export drift in /metrics; `false` turns it off.",
    )
    recorder_process: bool = Field(
        default=False,
        description="`true`: write the prediction log and count drift in a recorder process "
        "of each worker (fed one message per flush), so their work never holds the worker's "
        "GIL; default: in a thread of the worker (as fast on 2 cores, fewer processes).",
    )
    max_body_bytes: int | None = Field(
        default=None,
        ge=1024,
        description=f"Largest /predict body; default max_batch * {BYTES_PER_RECORD} + 64 KiB.",
    )

    @property
    def body_limit(self) -> int:
        """The largest /predict body accepted, in bytes."""
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        return self.max_batch * BYTES_PER_RECORD + 65536

    @property
    def batching(self) -> bool:
        """True when concurrent small /predict requests are scored together."""
        return self.batch_max_size > 1
