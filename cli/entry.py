"""The ``churn`` console script: Ctrl-C at any moment ends in one line and exit code 130.

The command's modules (typer, pydantic, pandas, scikit-learn, ...) take a second or more to
import; a SIGINT then would print Python's traceback. :func:`console_main` imports the CLI inside
its own ``try`` so an interrupt while importing, parsing or running any command prints
``interrupted`` on stderr and exits 130; a second Ctrl-C while the first unwinds (children being
stopped) is ignored rather than shown as a traceback.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from churn.cli import quick_exit
from churn.cli.interrupt import INTERRUPTED_EXIT_CODE, say_interrupted


def console_main() -> NoReturn:
    """Run the ``churn`` command line; see the module docstring for Ctrl-C. A command that
    ends with an exit code skips the interpreter's teardown (:mod:`churn.cli.quick_exit`)."""
    quick_exit.arm()
    try:
        from churn.cli.app import app

        app(prog_name="churn")
    except KeyboardInterrupt:
        say_interrupted()
        sys.exit(INTERRUPTED_EXIT_CODE)
    except SystemExit as exc:
        if exc.code == INTERRUPTED_EXIT_CODE:  # typer turns a KeyboardInterrupt into Exit(130)
            say_interrupted()
        else:
            quick_exit.finished(exc.code)
        raise
    quick_exit.finished(0)
    sys.exit(0)
