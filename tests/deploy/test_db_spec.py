"""The cluster's spec, ``k8s/base/spec/telco-db.yaml``, is a valid spec with a real SQL source.

``tests/deploy/checks.py`` compares its YAML with ``spec/telco.yaml``; here churn itself loads
it, as the CronJobs will, and plans its read (no server: the URL file is a stand-in).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from checks import DB_SPEC_FILE
from kube import K8S

from churn.sources.sql import plan_read
from churn.spec.loader import load_spec

DB_SPEC = K8S / "base" / "spec" / DB_SPEC_FILE
SECRET_FILE = "/var/run/secrets/churn/database-url"
"""Where both CronJobs mount the churn-database Secret's ``url`` key."""


def test_the_cluster_spec_loads_with_a_sql_source_read_from_the_secret_file() -> None:
    spec = load_spec(DB_SPEC)
    source = spec.sql_source
    assert source is not None
    assert source.url_file == SECRET_FILE
    assert source.query is not None and source.table is None
    assert spec.data.id == "customerID"


def test_the_cluster_query_binds_only_the_snapshot_date(tmp_path: Path) -> None:
    spec = load_spec(DB_SPEC)
    assert spec.sql_source is not None
    url_file = tmp_path / "database-url"
    url_file.write_text("postgresql://churn:secret@db.example:5432/crm\n", encoding="utf-8")
    stand_in = spec.sql_source.model_copy(update={"url_file": str(url_file)})
    read = plan_read(spec, stand_in, date(2026, 12, 1))
    assert read.settings == (("churn.as_of", "2026-12-01"),)
    assert read.parameters == {"as_of": "2026-12-01"}
    assert ":as_of" not in read.sql and "current_setting('churn.as_of')::date" in read.sql
    assert "2026-12-01" not in read.sql
    assert "secret" not in str(read.record())
