"""The ``churn`` command. Exit codes: 0 ok, 1 unexpected, 2 spec, 3 data contract, 4 gates,
5 database source, 6 drift alert (``churn drift``), 130 interrupted (Ctrl-C)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from churn.cli.interrupt import INTERRUPTED_EXIT_CODE, say_interrupted
from churn.cli.options import AsOfOpt, HomeOpt, JsonOpt
from churn.defaults import DEFAULT_SPEC
from churn.errors import ChurnError

if TYPE_CHECKING:
    from churn.registry import Registry

app = typer.Typer(
    name="churn",
    help="Spec-driven churn pipeline: check a spec, train and gate, inspect the registry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SpecArg = Annotated[Path, typer.Argument(help="The YAML spec.", show_default=True)]

F = TypeVar("F", bound=Callable[..., Any])


def exits_with_error_codes(command: F) -> F:
    """Turn churn errors into their exit codes, and anything else into exit code 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ChurnError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(exc.exit_code) from exc
        except (typer.Exit, typer.TyperException):
            raise  # a usage error (typer.BadParameter) is printed by typer, exit code 2
        except KeyboardInterrupt as exc:  # Ctrl-C: one line, exit 130 (children stopped on unwind)
            say_interrupted()
            raise typer.Exit(INTERRUPTED_EXIT_CODE) from exc
        except Exception as exc:
            typer.echo(f"unexpected error: {type(exc).__name__}: {exc}", err=True)
            raise typer.Exit(1) from exc

    return wrapper  # type: ignore[return-value]


def emit(payload: dict[str, Any] | list[Any], *, as_json: bool, text: str) -> None:
    """Print JSON or the human text."""
    typer.echo(json.dumps(payload, indent=2, default=str) if as_json else text)


@app.command()
@exits_with_error_codes
def check(spec: SpecArg = DEFAULT_SPEC, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Validate the spec and the data, compile every candidate and verify the champion's model
    file, without training."""
    from churn.check import check_spec

    summary = check_spec(spec, home=home)
    emit(summary.to_dict(), as_json=as_json, text=summary.to_text())


@app.command()
@exits_with_error_codes
def run(
    spec: SpecArg = DEFAULT_SPEC,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
    as_of: AsOfOpt = None,
    if_needed: Annotated[
        bool,
        typer.Option(
            "--if-needed",
            help="Train only if there is no champion, it is older than monitoring."
            "max_champion_age_days, the data drifted past the alert level against its "
            "profile, or the latest week's realized metric (churn outcomes) fell below a value "
            "gate's lower bound; otherwise record the skip in skips.jsonl and exit 0.",
        ),
    ] = False,
) -> None:
    """Train every candidate, apply the gates, promote or not; print the summary.

    Exit codes: 0 promoted or champion kept by policy (or skipped with --if-needed), 4 gates
    not met, 3 data contract, 2 spec, 5 database unreachable or refusing, 1 anything else.
    """
    if as_of is not None:
        _refuse_as_of_for_a_file(spec, as_of)
    if if_needed:
        from churn.run.if_needed import check_retrain

        check = check_retrain(spec, home)
        if not check.needed:
            emit(check.skip or {}, as_json=as_json, text=check.skip_text())
            return
        typer.echo(f"training: {'; '.join(check.reasons)}", err=True)
    from churn.cli.summary import run_text
    from churn.flows.runtime import run_training

    outcome = run_training(str(spec), str(home) if home is not None else None)
    emit(outcome.manifest.as_dict(), as_json=as_json, text=run_text(outcome.manifest))
    if outcome.failed:
        typer.echo(outcome.reason, err=True)
    raise typer.Exit(outcome.exit_code)


def _refuse_as_of_for_a_file(spec: Path, as_of: str) -> None:
    """``churn run --as-of`` on a spec whose data is a file or URL: a usage error (exit 2)."""
    from churn.cli.options import refuse_as_of
    from churn.sources.urls import data_location, shown
    from churn.spec.loader import load_spec

    loaded = load_spec(spec, estimator_checks=False)  # a spec error is reported as the run would
    if loaded.sql_source is None:
        refuse_as_of(as_of, f"the spec's data.source {shown(data_location(loaded))}")


def _registry(home: Path | None) -> Registry:
    from churn.registry import Registry, resolve_home

    return Registry(resolve_home(home))


@app.command()
@exits_with_error_codes
def runs(home: HomeOpt = None, as_json: JsonOpt = False, limit: int = 20) -> None:
    """List runs, newest first."""
    from churn.cli.summary import runs_text

    records = _registry(home).records(limit=limit)
    emit([r.as_dict() for r in records], as_json=as_json, text=runs_text(records))


@app.command()
@exits_with_error_codes
def show(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one run: candidates, gates, decision."""
    from churn.cli.summary import run_text

    record = _registry(home).record(run_id)
    emit(record.as_dict(), as_json=as_json, text=run_text(record))


@app.command()
@exits_with_error_codes
def champion(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Show the serving model."""
    from churn.cli.summary import champion_text

    pointer = _registry(home).champion()
    emit(pointer.as_dict() if pointer else {}, as_json=as_json, text=champion_text(pointer))


ReasonOpt = Annotated[str, typer.Option("--reason", help="Why; recorded in the ledger.")]


@app.command()
@exits_with_error_codes
def promote(
    run_id: Annotated[str, typer.Argument(help="The run whose model to serve.")],
    reason: ReasonOpt,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Force a run's model into service, overriding the gates (the reason is recorded)."""
    from churn.cli.summary import champion_text

    registry = _registry(home)
    with registry.lock(run_id):
        pointer = registry.promote(run_id, reason=reason, forced=True)
    emit(pointer.as_dict(), as_json=as_json, text=champion_text(pointer))


@app.command()
@exits_with_error_codes
def rollback(
    reason: ReasonOpt,
    to: Annotated[str | None, typer.Option("--to", help="Run to go back to.")] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Point the champion back at the previous champion (or at --to RUN)."""
    from churn.cli.summary import champion_text

    registry = _registry(home)
    with registry.lock():
        pointer = registry.rollback(reason=reason, to=to)
    emit(pointer.as_dict(), as_json=as_json, text=champion_text(pointer))


@app.command()
@exits_with_error_codes
def report(
    run_id: Annotated[str | None, typer.Argument(help="Run id (default: latest).")] = None,
    home: HomeOpt = None,
) -> None:
    """Print the path of a run's report.html (the latest run by default)."""
    from churn.errors import RegistryError

    registry = _registry(home)
    if run_id is None:
        latest = registry.latest_record()
        if latest is None:
            raise RegistryError(f"no runs in {registry.home}")
        run_id = latest.run_id
    path = registry.run_dir(run_id) / "report.html"
    registry.inside(path, f"run {run_id}: report")  # never a path through a symlink
    if not path.is_file():
        registry.record(run_id)  # says "run not found" for an unknown run
        raise RegistryError(f"run {run_id} has no report ({path})")
    typer.echo(str(path))


@app.command()
@exits_with_error_codes
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    home: HomeOpt = None,
    spec: Annotated[
        Path | None, typer.Option("--spec", help="Spec whose columns /predict accepts.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes (default: $CHURN_API_WORKERS or one per CPU).",
        ),
    ] = None,
    max_header_bytes: Annotated[
        int | None,
        typer.Option(help="Largest request head in bytes; more: 431 (default 16384)."),
    ] = None,
    max_headers: Annotated[
        int | None, typer.Option(help="Most header lines per request; more: 431 (default 100).")
    ] = None,
    idle_timeout: Annotated[
        float | None,
        typer.Option(help="Seconds a connection may wait between requests (default 5)."),
    ] = None,
    request_timeout: Annotated[
        float | None,
        typer.Option(help="Seconds a request may take to arrive in full; then 408 (default 30)."),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(help="Most open connections per worker; then the longest-idle closes."),
    ] = None,
    access_log: Annotated[
        bool,
        typer.Option(help="Log a line per request (uvicorn's access log; off: /metrics counts)."),
    ] = False,
) -> None:
    """Serve the champion, the run history and metrics over HTTP (FastAPI + uvicorn).

    The bounds on headers, time and connections are also read from CHURN_MAX_HEADER_BYTES,
    CHURN_MAX_HEADERS, CHURN_IDLE_TIMEOUT, CHURN_REQUEST_TIMEOUT and CHURN_MAX_CONNECTIONS.
    """
    from churn.api.server_limits import limits_problem
    from churn.api.workers import default_workers, run_server

    flags = {
        "HOME": home,
        "SPEC": spec,
        "MAX_HEADER_BYTES": max_header_bytes,
        "MAX_HEADERS": max_headers,
        "IDLE_TIMEOUT": idle_timeout,
        "REQUEST_TIMEOUT": request_timeout,
        "MAX_CONNECTIONS": max_connections,
    }
    os.environ.update(
        {f"CHURN_{name}": str(value) for name, value in flags.items() if value is not None}
    )
    problem = limits_problem()
    if problem is not None:
        typer.echo(f"churn serve: {problem}", err=True)
        raise typer.Exit(2)
    run_server(
        host, port, workers if workers is not None else default_workers(), access_log=access_log
    )


from churn.cli.score import score_command  # noqa: E402 - the command module imports churn lazily

app.command(name="score")(exits_with_error_codes(score_command))


@app.command("prefect-server")
@exits_with_error_codes
def prefect_server(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 4200,
) -> None:
    """Keep a Prefect server (with its UI) running; later `churn run`s find and use it.

    Runs `prefect server start` on 127.0.0.1 in the foreground until Ctrl-C. `churn run` looks
    for it at http://127.0.0.1:4200/api (or $CHURN_PREFECT_LOCAL_URL) when PREFECT_API_URL is
    not set, so it skips starting a temporary server.
    """
    import subprocess
    import sys

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    typer.echo(f"Prefect UI and API on http://127.0.0.1:{port} (Ctrl-C stops it)", err=True)
    try:
        code = subprocess.call([*command, "--port", str(port)])
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


from churn.cli.synth import synth as _synth  # noqa: E402 - the command module imports churn lazily

app.command(name="synth")(exits_with_error_codes(_synth))

from churn.cli.reproduce import reproduce_command  # noqa: E402 - imports churn lazily

app.command(name="reproduce")(exits_with_error_codes(reproduce_command))

from churn.cli.gate import gate_command  # noqa: E402 - imports churn lazily

app.command(name="gate")(exits_with_error_codes(gate_command))

from churn.cli.drift import drift_command  # noqa: E402 - imports churn lazily

app.command(name="drift")(exits_with_error_codes(drift_command))

from churn.cli.outcomes import outcomes_command  # noqa: E402 - imports churn lazily

app.command(name="outcomes")(exits_with_error_codes(outcomes_command))

from churn.cli.monitor import monitor_command  # noqa: E402 - imports churn lazily

app.command(name="monitor")(exits_with_error_codes(monitor_command))


def main() -> None:
    """Entry point for ``python -m churn``."""
    app(prog_name="churn")


if __name__ == "__main__":
    main()
