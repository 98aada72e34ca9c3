"""The default spec and registry home: plain paths, importable without pydantic-settings
(the CLI names them in its signatures; :mod:`churn.settings` re-exports them)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

DEFAULT_SPEC: Final = Path("spec/telco.yaml")
"""The spec every command uses when none is named."""
DEFAULT_HOME: Final = Path("artifacts")
"""The registry home when neither ``--home`` nor ``CHURN_HOME`` names one."""
