"""Ending a finished ``churn`` command without the interpreter's teardown.

Once a command has returned, Python runs its at-exit functions (logging's flush, Prefect's log
and event workers, multiprocessing's clean-up of its pools) and then tears itself down: every
module and object freed one by one. After ``churn run`` that is about 270,000 objects in 2,900
modules (pandas, scikit-learn, XGBoost, Prefect and the run's frames and models) after the
summary is printed, for nothing anyone reads: 0.5 s of wall time at load 6 on a 2-core machine,
2.2-2.8 s (about 1 CPU s) at load 10-15. :func:`arm` registers
:func:`_finish` as the first at-exit function, so it runs last: every other at-exit function has
run and the non-daemon threads were joined; it flushes the standard streams and ends the process
with the command's exit code (``os._exit``). Objects are not finalised, and need not be: churn
writes its files through ``with`` blocks, temporary folders are removed by their own at-exit
hook, and the worker processes were shut down before (a run's files are byte for byte those of
a run that tears down).

It stands aside, and Python tears down as usual, when the command did not end with an integer
code (a message, a crash) or when coverage measures the process (its own at-exit function,
registered before churn's, saves the data and must run).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys

_code: list[int] = []
"""The finished command's exit code, once :func:`finished` has been told it."""
_armed: list[bool] = []


def arm() -> None:
    """Register :func:`_finish`; call it first thing in the process, before anything registers
    an at-exit function of its own (those registered later run before it)."""
    if not _armed:
        atexit.register(_finish)
        _armed.append(True)


def finished(code: object) -> None:
    """The command ended with ``code`` (``SystemExit.code``): end without teardown if it is an
    integer (``None`` counts as 0)."""
    _code.clear()
    if code is None:
        _code.append(0)
    elif isinstance(code, int) and not isinstance(code, bool):
        _code.append(code)


def _finish() -> None:
    if not _code or "coverage" in sys.modules:
        return
    logging = sys.modules.get("logging")  # its own at-exit flush ran unless imported before arm()
    if logging is not None:
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):  # closed or replaced
            stream.flush()
    os._exit(_code[0])
