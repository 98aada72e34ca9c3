"""The Dockerfile's contract (the container smoke test builds and runs it for real)."""

from __future__ import annotations

import re

from kube import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTRUCTIONS = [
    line.split(None, 1)
    for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def stages() -> list[list[list[str]]]:
    """The instructions of each stage."""
    out: list[list[list[str]]] = []
    for instruction in INSTRUCTIONS:
        if instruction[0] == "FROM":
            out.append([])
        out[-1].append(instruction)
    return out


def test_every_stage_starts_from_python_3_11_slim() -> None:
    assert [s[0][1].split()[0] for s in stages()] == ["python:3.11-slim"] * 2


def test_dependencies_install_before_the_source_is_copied() -> None:
    build = [" ".join(i) for i in stages()[0]]
    constraints = next(n for n, line in enumerate(build) if ".ci/constraints.txt" in line)
    source = next(n for n, line in enumerate(build) if line.startswith("COPY churn"))
    assert constraints < source
    assert any("pip install -c .ci/constraints.txt" in line for line in build[:source])


def test_the_final_stage_runs_as_a_numeric_non_root_user_with_a_healthcheck() -> None:
    final = {i[0]: i[1] for i in stages()[-1]}
    assert final["USER"].split(":")[0] not in ("0", "root")
    assert final["USER"].split(":")[0].isdigit()
    assert "/health" in final["HEALTHCHECK"]
    assert '"churn", "serve"' in final["CMD"]
    assert "entrypoint" in final["ENTRYPOINT"]


def test_the_final_stage_installs_nothing() -> None:
    final = " ".join(" ".join(i) for i in stages()[-1])
    assert not re.search(r"pip install|apt-get|gcc|build-essential", final)


def test_writable_paths_point_at_tmp_and_the_network_stays_off() -> None:
    env = " ".join(" ".join(i[1:]) for i in stages()[-1] if i[0] == "ENV")
    for variable in ("HOME", "MPLCONFIGDIR", "PREFECT_HOME", "XDG_CACHE_HOME"):
        assert re.search(rf"\b{variable}=/tmp\b", env), variable
    for setting in ("DO_NOT_TRACK=1", "PREFECT_SERVER_ANALYTICS_ENABLED=false"):
        assert setting in env
    assert re.search(r"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=\d{2,}", env)


def test_every_installed_package_is_copied_into_the_build_and_not_ignored() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    build = [" ".join(i) for i in stages()[0]]
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    for package in packages:
        assert f"COPY {package} {package}" in build, package
        assert f"!{package}/" in ignore, package


def test_the_image_answers_to_the_dask_commands_dask_kubernetes_calls() -> None:
    build = " ".join(" ".join(i) for i in stages()[0])
    for role in ("scheduler", "worker"):
        assert re.search(rf"exec dask {role} \"\$@\"\\n' > /opt/venv/bin/dask-{role}", build), role
        assert "chmod 755" in build and f"/opt/venv/bin/dask-{role}" in build


def test_the_image_sets_no_churn_variable_to_its_default() -> None:
    from churn.api.settings import Settings
    from churn.settings import environment_names

    env = " ".join(" ".join(i[1:]) for i in stages()[-1] if i[0] == "ENV")
    defaults = {
        name: str(info.default)
        for field, info in Settings.model_fields.items()
        for name in environment_names(Settings, field)
    }
    churn = dict(re.findall(r"\b(CHURN_[A-Z_]+)=(\S+)", env))
    assert set(churn) == {"CHURN_HOME", "CHURN_SPEC"}  # the image's own places
    assert {name: value for name, value in churn.items() if defaults.get(name) == value} == {}
