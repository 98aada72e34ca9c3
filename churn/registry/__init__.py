"""The run registry on disk: run folders and manifests, the champion pointer, the ledger, the
lock."""

from __future__ import annotations

from churn.errors import (
    RegistryError,
)
from churn.registry.atomic_io import (
    sha256_file,
)
from churn.registry.home import (
    DEFAULT_HOME,
    HOME_ENV,
    MANIFEST,
    new_run_id,
    resolve_home,
    utcnow,
)
from churn.registry.ledger import (
    CHAMPION_ACTIONS,
    LEDGER_ACTIONS,
    LedgerEntry,
)
from churn.registry.record import (
    RECORD_VERSION,
    RunManifest,
    RunNotFound,
    as_manifest,
)
from churn.registry.registry import (
    Registry,
)

__all__ = [
    "CHAMPION_ACTIONS",
    "DEFAULT_HOME",
    "HOME_ENV",
    "LEDGER_ACTIONS",
    "MANIFEST",
    "RECORD_VERSION",
    "LedgerEntry",
    "Registry",
    "RegistryError",
    "RunManifest",
    "RunNotFound",
    "as_manifest",
    "new_run_id",
    "resolve_home",
    "sha256_file",
    "utcnow",
]
