"""Every environment variable churn reads, with its default, in one pydantic-settings object.

:func:`load_settings` reads them when a command starts (never at import time) and turns a bad
value into a :class:`SettingsError` naming the variable (exit code 1). The API's limits extend
this object (:class:`churn.api.settings.Settings`); the README's "Environment variables" table lists
every field (a test keeps the two equal). Both worker counts default to
:meth:`ChurnSettings.cpus`, the one count of the CPUs a container may use, which also sizes
``churn score --explain``'s threads.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Final, TypeVar, overload

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from churn.cpus import CGROUP_ROOT, cpu_limit
from churn.defaults import DEFAULT_HOME as DEFAULT_HOME  # defined without pydantic-settings
from churn.defaults import DEFAULT_SPEC as DEFAULT_SPEC
from churn.errors import ChurnError

PREFIX: Final = "CHURN_"


S = TypeVar("S", bound="ChurnSettings")


class SettingsError(ChurnError):
    """An environment variable churn reads has a value it cannot use (exit code 1)."""


class ChurnSettings(BaseSettings):
    """The environment churn runs in. ``CHURN_*`` fields are churn's own; the others are the
    variables of Prefect and prometheus-client that churn reads without importing them."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, frozen=True, extra="ignore", env_ignore_empty=True, populate_by_name=True
    )

    home: Path = Field(default=DEFAULT_HOME, description="The run registry (`--home` wins).")
    spec: Path = Field(
        default=DEFAULT_SPEC, description="The spec whose columns the API's `/predict` accepts."
    )
    train_workers: int | None = Field(
        default=None,
        ge=1,
        validation_alias=AliasChoices("CHURN_TRAIN_WORKERS", "CHURN_WORKERS"),
        description="Training worker processes of `churn run` (at most one per candidate); "
        "default: the CPU limit. `CHURN_WORKERS`, its older name, is read when it is unset.",
    )
    api_workers: int | None = Field(
        default=None,
        ge=1,
        description="Processes of `churn serve` (`--workers` wins); default: the CPU limit.",
    )
    dask_scheduler: str = Field(
        default="",
        description="A Dask scheduler for `churn run` (wins over the spec's "
        "`compute.scheduler`); `local` trains on this machine.",
    )
    prefect_start_timeout: float = Field(
        default=180.0, gt=0, description="Seconds `churn run` waits for Prefect's temporary server."
    )
    prefect_local_url: str = Field(
        default="http://127.0.0.1:4200/api",
        description="Where `churn run` looks for a long-lived local Prefect server.",
    )
    prefect_template_dir: Path = Field(
        default=Path("~/.cache/churn/prefect"),
        description="Where `churn run` keeps an empty, migrated copy of Prefect's database "
        "(one per Prefect version) to start a fresh `PREFECT_HOME` without migrating it.",
    )
    supervisor_pid: int | None = Field(
        default=None,
        description="Set by `churn serve` for its worker processes (not for users).",
    )
    cgroup_root: Path = Field(
        default=CGROUP_ROOT,
        description="Where the CPU limit is read (`cpu.max`, or cgroup v1's `cpu/`); for tests.",
    )
    prefect_api_url: str = Field(
        default="",
        validation_alias="PREFECT_API_URL",
        description="Prefect's API (else the active Prefect profile's, else a local server).",
    )
    prefect_home: Path = Field(
        default=Path("~/.prefect"),
        validation_alias="PREFECT_HOME",
        description="Prefect's home (its profiles and the temporary server's database).",
    )
    prefect_profiles_path: Path | None = Field(
        default=None,
        validation_alias="PREFECT_PROFILES_PATH",
        description="Prefect's profiles file; default `PREFECT_HOME/profiles.toml`.",
    )
    prefect_profile: str = Field(
        default="", validation_alias="PREFECT_PROFILE", description="The active Prefect profile."
    )
    prefect_database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_API_DATABASE_CONNECTION_URL"
        ),
        description="Prefect's database, when not `PREFECT_HOME/prefect.db` (then no template "
        "is used). Never printed.",
    )
    azure_storage_account_name: str = Field(
        default="",
        validation_alias="AZURE_STORAGE_ACCOUNT_NAME",
        description="The Azure storage account of `az://container/path` data URLs "
        "(`abfs://container@account.dfs.core.windows.net/path` names it in the URL).",
    )
    azure_storage_account_key: SecretStr | None = Field(
        default=None,
        validation_alias="AZURE_STORAGE_ACCOUNT_KEY",
        description="Its account key for `az://` URLs; unset: Azure's default credential "
        "(environment, workload or managed identity). Never printed.",
    )
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        validation_alias="PROMETHEUS_MULTIPROC_DIR",
        description="The metric files of `churn serve --workers N` (default: a fresh temp "
        "folder, removed at exit).",
    )

    database_url: SecretStr | None = Field(
        default=None,
        description="The database URL of a `{kind: sql}` data source "
        "(`postgresql://user:password@host:port/db`); never printed or recorded.",
    )
    database_url_file: Path | None = Field(
        default=None,
        description="A file holding that URL (e.g. a mounted Kubernetes Secret), read when "
        "`CHURN_DATABASE_URL` is unset, for `churn score --to-table` and the prediction log "
        "table (a spec's SQL source names its own `url_file`).",
    )
    as_of: date | None = Field(
        default=None,
        description="The snapshot date bound as `:as_of` in a SQL source's query (`--as-of` "
        "wins); default today (UTC).",
    )

    prediction_log: bool = Field(
        default=True,
        description="Record what `churn serve` and `churn score` score (id, run, time, "
        "probability, decision) in the prediction log; `false` turns it off.",
    )
    prediction_log_dir: Path | None = Field(
        default=None,
        description="The prediction log's folder of Parquet files; default `predictions/` in "
        "the registry home (the API's must be writable).",
    )
    prediction_log_table: str | None = Field(
        default=None,
        pattern=r"^(?:[A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$",
        description="`SCHEMA.TABLE`: write the prediction log into this database table (the "
        "columns of `churn score --to-table`'s, created when missing; `as_of` NULL) instead of "
        "Parquet files, and let `churn outcomes` read it; the database is the spec's SQL "
        "source's, else `CHURN_DATABASE_URL`.",
    )
    prediction_log_max_mb: int = Field(
        default=1024,
        ge=1,
        description="Most MiB the prediction log keeps; past it the oldest files are removed.",
    )
    prediction_log_flush_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Seconds between writes of the prediction log (what a crash may lose).",
    )

    def prediction_log_folder(self, home: Path) -> Path | None:
        """Where the prediction log is written for registry ``home`` (None: the log is off)."""
        if not self.prediction_log:
            return None
        return self.prediction_log_dir or home / "predictions"

    def cpus(self) -> int:
        """The CPUs this process may use: :func:`churn.cpus.cpu_limit` under ``cgroup_root``."""
        return cpu_limit(self.cgroup_root)

    def training_workers(self) -> int:
        """Training workers: ``CHURN_TRAIN_WORKERS`` (or ``CHURN_WORKERS``), else the CPU limit."""
        return self.train_workers or self.cpus()

    def serving_workers(self) -> int:
        """API processes: ``CHURN_API_WORKERS``, else the CPU limit."""
        return self.api_workers or self.cpus()


def named_secret(variable: str) -> SecretStr | None:
    """The value of the environment variable a spec names (a SQL source's ``url_env``), kept
    secret; None when unset or empty (``CHURN_DATABASE_URL`` is ``database_url`` above)."""
    value = os.environ.get(variable, "")
    return SecretStr(value) if value else None


def environment_names(settings: type[BaseSettings], field: str) -> list[str]:
    """The environment variables a field is read from, in priority order."""
    info = settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    if isinstance(alias, str):
        return [alias]
    prefix = settings.model_config.get("env_prefix", "")
    return [f"{prefix}{field}".upper()]


@overload
def load_settings() -> ChurnSettings: ...


@overload
def load_settings(settings: type[S]) -> S: ...


def load_settings(settings: type[ChurnSettings] = ChurnSettings) -> ChurnSettings:
    """The environment as ``settings`` (churn's, or the API's that extend them), read now.

    Raises:
        SettingsError: A variable's value is unusable; the message names it, its value and what
            was expected, one line per variable.
    """
    try:
        return settings()
    except ValidationError as exc:
        raise SettingsError(_problems(settings, exc)) from None


def _problems(settings: type[BaseSettings], exc: ValidationError) -> str:
    fields = settings.model_fields
    by_alias = {name: field for field in fields for name in environment_names(settings, field)}
    lines = []
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else ""
        field = by_alias.get(key, key)
        names = environment_names(settings, field) if field in settings.model_fields else [key]
        name = next((n for n in names if os.environ.get(n, "").strip()), names[0])
        said = error["msg"][:1].lower() + error["msg"][1:]  # a pattern shown keeps its case
        lines.append(f"{name}={error['input']!r}: {said}")
    return "invalid environment: " + "; ".join(lines)
