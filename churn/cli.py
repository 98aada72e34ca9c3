"""The ``churn`` command. Exit codes: 0 ok, 1 unexpected, 2 spec, 3 data contract, 4 gates."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from churn.errors import ChurnError
from churn.spec_loader import DEFAULT_SPEC

app = typer.Typer(
    name="churn",
    help="Spec-driven churn pipeline: check a spec, train and gate, inspect the registry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SpecArg = Annotated[
    Path, typer.Argument(help="The YAML spec.", show_default=True)
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="Registry folder (default: $CHURN_HOME or ./artifacts)."),
]

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
        except typer.Exit:
            raise
        except Exception as exc:
            typer.echo(f"unexpected error: {type(exc).__name__}: {exc}", err=True)
            raise typer.Exit(1) from exc

    return wrapper  # type: ignore[return-value]


def emit(payload: dict[str, Any] | list[Any], *, as_json: bool, text: str) -> None:
    """Print JSON or the human text."""
    typer.echo(json.dumps(payload, indent=2, default=str) if as_json else text)


@app.command()
@exits_with_error_codes
def check(spec: SpecArg = DEFAULT_SPEC, as_json: JsonOpt = False) -> None:
    """Validate the spec and the data and compile every candidate, without training."""
    from churn.checking import check_spec

    summary = check_spec(spec)
    emit(summary.to_dict(), as_json=as_json, text=summary.to_text())


def main() -> None:
    """Entry point for ``python -m churn``."""
    app(prog_name="churn")


if __name__ == "__main__":
    sys.exit(main())
