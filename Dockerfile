# churn: the API (default command) and the nightly job (`churn run`) in one image.
#   podman build -t churn:local .          (docker build works the same)
#   podman run --read-only -v churn-home:/var/lib/churn churn:local churn run /app/spec/telco.yaml
#   podman run --read-only -v churn-home:/var/lib/churn:ro -p 8000:8000 churn:local

# ---------------------------------------------------------------- build: a venv with everything
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies alone, pinned by CI's constraints: this layer changes only with them. The `dask`
# extra too: the same image runs `dask scheduler` / `dask worker` (k8s/overlays/dask), and, for
# dask-kubernetes and Helm charts that still call them, `dask-scheduler` / `dask-worker` (Dask
# 2026 no longer installs those two commands).
COPY pyproject.toml ./
COPY .ci/constraints.txt .ci/constraints.txt
RUN python3 -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['dask']))" > /tmp/requirements.txt \
 && pip install -c .ci/constraints.txt -r /tmp/requirements.txt \
 && pip install -c .ci/constraints.txt setuptools wheel \
 && printf '#!/bin/sh\nexec dask scheduler "$@"\n' > /opt/venv/bin/dask-scheduler \
 && printf '#!/bin/sh\nexec dask worker "$@"\n' > /opt/venv/bin/dask-worker \
 && chmod 755 /opt/venv/bin/dask-scheduler /opt/venv/bin/dask-worker

# The package itself (not editable; no dependencies left to resolve).
COPY README.md ./
COPY churn churn
COPY flows flows
COPY api api
COPY cli cli
RUN pip install --no-deps --no-build-isolation . \
 && pip uninstall -y setuptools wheel pip

# ---------------------------------------------------------------- runtime: no compilers, no caches
FROM python:3.11-slim
RUN echo 'churn:x:10001:10001:churn:/tmp:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'churn:x:10001:' >> /etc/group \
 && mkdir -p /var/lib/churn /app \
 && chown 10001:10001 /var/lib/churn

COPY --from=build /opt/venv /opt/venv
COPY docker/entrypoint.sh /usr/local/bin/churn-entrypoint
WORKDIR /app
COPY spec spec
COPY data data

# Writes go to CHURN_HOME (a volume) and /tmp (a tmpfs / emptyDir) only: the root filesystem
# can be read-only. No network at run time: no analytics, no telemetry, no UI assets fetched.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    MPLCONFIGDIR=/tmp/matplotlib \
    PREFECT_HOME=/tmp/prefect \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=180 \
    CHURN_HOME=/var/lib/churn \
    CHURN_SPEC=/app/spec/telco.yaml

USER 10001:10001
EXPOSE 8000
VOLUME ["/var/lib/churn"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
ENTRYPOINT ["/usr/local/bin/churn-entrypoint"]
CMD ["churn", "serve", "--host", "0.0.0.0", "--port", "8000"]
