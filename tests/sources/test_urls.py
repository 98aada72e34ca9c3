"""Data at s3:// and https:// URLs reads exactly like the same local file: hash, contract, messages.

Against real servers (see ``conftest.py``): SeaweedFS's S3 gateway and an HTTPS server on a
throwaway certificate. The secret key never reaches a message, a record or an output.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from factories import subscriptions_frame, subscriptions_spec, train_run
from servers import HttpsServer, S3Server, free_ports
from typer.testing import CliRunner

from churn.cli.app import app
from churn.cli.reproduce import reproduce_run
from churn.contract import load_dataset_and_hash
from churn.errors import DataContractError
from churn.registry import Registry
from churn.sources.urls import is_url, shown
from churn.spec import Spec
from churn.spec.loader import load_spec

pytestmark = [pytest.mark.object_store, pytest.mark.xdist_group("object-store")]
"""One worker starts the servers and runs these tests (--dist loadgroup)."""

ROWS = 300


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def spec_at(folder: Path, source: str, **overrides: Any) -> Path:
    """A subscriptions spec in ``folder`` whose data is ``source``."""
    document = subscriptions_spec(**overrides)
    document["data"] = {**document["data"], "source": source}
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def local_twin(folder: Path, name: str, content: bytes) -> Spec:
    """The spec reading the same bytes from a local file."""
    (folder / name).write_bytes(content)
    return load_spec(spec_at(folder, name))


# --------------------------------------------------------------------------- plain helpers


def test_urls_are_told_from_paths_and_shown_without_credentials() -> None:
    assert is_url("s3://bucket/a.csv") and is_url("GS://b/a.parquet") and is_url("az://c/a.csv")
    assert is_url("https://host/a.csv") and is_url("abfss://c@acct.dfs.core.windows.net/a.csv")
    assert not is_url("data/a.csv") and not is_url("http://host/a.csv") and not is_url(3)
    assert shown("https://user:pa55@host:8443/x/a.csv?sig=abc") == "https://host:8443/x/a.csv?..."
    assert shown("s3://KEY:SECRET@bucket/a.csv") == "s3://bucket/a.csv"
    assert shown("https://token@host/a.csv") == "https://host/a.csv"
    assert shown("abfs://box@acct.dfs.core.windows.net/a.csv") == (
        "abfs://box@acct.dfs.core.windows.net/a.csv"
    )
    assert shown(Path("data/a.csv")) == "data/a.csv"


def test_a_url_of_a_scheme_churn_does_not_read_is_refused_by_name(tmp_path: Path) -> None:
    """``http://`` and ``ftp://`` were taken for local paths (``http:/host/a.csv: file not
    found``); now the scheme is named, the URL shown without its credentials, exit 3."""
    spec = spec_at(tmp_path, "http://user:fake-test-password@host/a.csv?sig=abc")
    with pytest.raises(DataContractError) as refused:
        load_dataset_and_hash(load_spec(spec))
    assert str(refused.value).startswith("http://host/a.csv?...: data contract violated")
    assert "http:// is not read" in str(refused.value)
    assert "plain http is refused: use https://" in str(refused.value)
    assert "fake-test-password" not in str(refused.value) and "sig=abc" not in str(refused.value)

    args = ["--spec", str(spec_at(tmp_path, "a.csv")), "--home", str(tmp_path / "home")]
    result = CliRunner().invoke(app, ["drift", "ftp://host/a.csv", *args])
    assert result.exit_code == 3, result.output
    assert "ftp://host/a.csv: data contract violated" in result.stderr
    assert "ftp:// is not read: churn reads s3://" in result.stderr
    assert "abfss://, https:// URLs" in " ".join(result.stderr.split())  # every scheme read


# --------------------------------------------------------------------------- s3://


@pytest.mark.parametrize(("suffix", "encode"), [(".csv", csv_bytes), (".parquet", parquet_bytes)])
def test_an_s3_object_reads_like_the_same_local_file(
    s3_env: S3Server, tmp_path: Path, suffix: str, encode: Any
) -> None:
    content = encode(subscriptions_frame(ROWS))
    url = s3_env.put(f"same/subscriptions{suffix}", content)
    frame, digest = load_dataset_and_hash(load_spec(spec_at(tmp_path, url)))
    local, local_digest = load_dataset_and_hash(local_twin(tmp_path, f"x{suffix}", content))
    assert digest == local_digest == hashlib.sha256(content).hexdigest()
    pd.testing.assert_frame_equal(frame, local)


def test_a_contract_failure_names_the_url_and_the_lines_as_for_a_file(
    s3_env: S3Server, tmp_path: Path
) -> None:
    frame = subscriptions_frame(ROWS)
    frame.loc[[3, 7], "months_active"] = -5
    content = csv_bytes(frame)
    url = s3_env.put("bad/subscriptions.csv", content)
    with pytest.raises(DataContractError) as remote:
        load_dataset_and_hash(load_spec(spec_at(tmp_path, url)))
    with pytest.raises(DataContractError) as local:
        load_dataset_and_hash(local_twin(tmp_path, "bad.csv", content))
    assert str(remote.value).startswith(f"{url}: data contract violated")
    assert remote.value.failures == local.value.failures
    assert any("lines 5, 9" in line for line in remote.value.failures)


def test_a_missing_object_or_an_unknown_suffix_is_a_clear_error(
    s3_env: S3Server, tmp_path: Path
) -> None:
    url = "s3://churn-data/nowhere/subscriptions.csv"
    with pytest.raises(DataContractError, match="object not found"):
        load_dataset_and_hash(load_spec(spec_at(tmp_path, url)))
    with pytest.raises(DataContractError, match=r"cannot tell the format from the suffix '\.txt'"):
        load_dataset_and_hash(load_spec(spec_at(tmp_path, "s3://churn-data/a.txt")))


def test_a_wrong_secret_is_refused_without_showing_either_secret(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = s3_server.put("secret/subscriptions.csv", csv_bytes(subscriptions_frame(ROWS)))
    wrong = "wrong-" + s3_server.secret
    for name, value in s3_server.environment(secret=wrong).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(DataContractError) as refused:
        load_dataset_and_hash(load_spec(spec_at(tmp_path, url)))
    message = str(refused.value)
    assert message.startswith(f"{url}: data contract violated")
    assert "cannot read the object: " in message
    assert "ACCESS_DENIED" in message or "AccessDenied" in message
    assert s3_server.secret not in message and wrong not in message


def test_an_unreachable_endpoint_is_a_clear_error(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in s3_server.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_ports(1)[0]}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(
        DataContractError, match=r"cannot read the object: .*127\.0\.0\.1"
    ) as refused:
        load_dataset_and_hash(load_spec(spec_at(tmp_path, "s3://churn-data/ready.csv")))
    assert s3_server.secret not in str(refused.value)


def test_churn_check_names_the_url_without_credentials(s3_env: S3Server, tmp_path: Path) -> None:
    """`churn check` reads an s3:// source (given with inline credentials, which pyarrow takes)
    and shows the URL without them."""
    url = s3_env.put("check/subscriptions.csv", csv_bytes(subscriptions_frame(ROWS)))
    inline = url.replace("s3://", f"s3://churn-tests:{s3_env.secret}@")
    spec = spec_at(tmp_path, inline)
    arguments = ["check", str(spec), "--home", str(tmp_path / "home"), "--json"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["data"] == url
    assert s3_env.secret not in result.output


# --------------------------------------------------------------------------- a run and a score


def test_train_on_s3_score_from_s3_and_reproduce_sees_a_changed_object(
    s3_env: S3Server, tmp_path: Path
) -> None:
    """One whole run on an s3:// source: recorded by URL and hash; `churn score` reads a URL
    (and names a contract failure by URL and line, writing nothing); `churn reproduce` re-reads
    the object and names it when its bytes changed. The secret is in no output or record."""
    content = csv_bytes(subscriptions_frame(600))
    url = s3_env.put("run/subscriptions.csv", content)
    spec = spec_at(tmp_path, url)
    home = tmp_path / "home"
    manifest = train_run(spec, home).as_dict()
    assert manifest["data"]["path"] == url
    assert manifest["data_sha256"] == hashlib.sha256(content).hexdigest()

    unlabelled = subscriptions_frame(120, seed=5).drop(columns=["churned"])
    to_score = s3_env.put("score/customers.parquet", parquet_bytes(unlabelled))
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(
        app, ["score", to_score, "-o", str(out), "--spec", str(spec), "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    assert f"120 rows scored by {manifest['run_id']}" in result.output
    scores = pd.read_csv(out)
    assert scores["account_id"].tolist() == unlabelled["account_id"].tolist()
    assert s3_env.secret not in result.output + out.read_text()

    bad = subscriptions_frame(50, seed=2)
    bad.loc[4, "months_active"] = -1
    bad_url = s3_env.put("score/bad.csv", csv_bytes(bad))
    refused = tmp_path / "refused.csv"
    arguments = ["score", bad_url, "-o", str(refused), "--spec", str(spec), "--home", str(home)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 3, result.output
    assert f"{bad_url}: data contract violated" in result.output
    assert "months_active: below min 0: 1 row failed at line 6; values -1" in result.output
    assert not refused.exists()

    s3_env.put("run/subscriptions.csv", csv_bytes(subscriptions_frame(600, seed=9)))
    found = reproduce_run(Registry(home), manifest["run_id"])
    assert found.problems == [f"{url}: the data changed since the run (sha256 differs)"]
    for file in home.rglob("*"):
        if file.is_file():
            assert s3_env.secret.encode() not in file.read_bytes(), file


# --------------------------------------------------------------------------- https://


def test_an_https_file_reads_like_the_same_local_file(
    https_env: HttpsServer, tmp_path: Path
) -> None:
    content = csv_bytes(subscriptions_frame(ROWS))
    (https_env.root / "subscriptions.csv").write_bytes(content)
    url = f"{https_env.url}/subscriptions.csv?token=s3cr3t"
    frame, digest = load_dataset_and_hash(load_spec(spec_at(tmp_path, url)))
    local, local_digest = load_dataset_and_hash(local_twin(tmp_path, "x.csv", content))
    assert digest == local_digest
    pd.testing.assert_frame_equal(frame, local)


def test_an_https_error_names_the_url_without_its_query(
    https_env: HttpsServer, tmp_path: Path
) -> None:
    url = f"{https_env.url}/missing.csv?token=s3cr3t"
    with pytest.raises(DataContractError, match="object not found") as missing:
        load_dataset_and_hash(load_spec(spec_at(tmp_path, url)))
    assert "s3cr3t" not in str(missing.value)
    assert str(missing.value).startswith(f"{https_env.url}/missing.csv?...: ")


def test_an_untrusted_certificate_is_refused(
    https_server: HttpsServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (https_server.root / "plain.csv").write_bytes(csv_bytes(subscriptions_frame(ROWS)))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(DataContractError, match=r"cannot read the object: .*certificate"):
        load_dataset_and_hash(load_spec(spec_at(tmp_path, f"{https_server.url}/plain.csv")))


# --------------------------------------------------------------------------- az://


def test_az_needs_an_account_and_never_shows_its_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No Azure stand-in runs here: the account is required, and a refused read (no route to
    the account's host from this machine) names the URL, never the key."""
    spec = load_spec(spec_at(tmp_path, "az://box/exports/subscriptions.csv"))
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME", raising=False)
    with pytest.raises(DataContractError, match="set AZURE_STORAGE_ACCOUNT_NAME"):
        load_dataset_and_hash(spec)
    key = "a2V5LW5ldmVyLXNob3du"
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "churnnowhere")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", key)
    with pytest.raises(DataContractError, match="cannot read the object") as refused:
        load_dataset_and_hash(spec)
    assert str(refused.value).startswith("az://box/exports/subscriptions.csv: ")
    assert key not in str(refused.value)
