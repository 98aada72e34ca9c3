"""Ctrl-C in the ``churn`` command: one line ``interrupted`` on stderr, exit code 130."""

from __future__ import annotations

import signal
import sys

INTERRUPTED_EXIT_CODE = 130
"""128 + SIGINT, what a shell reports for a command stopped by Ctrl-C."""

_said = False


def say_interrupted() -> None:
    """Print ``interrupted`` once and ignore further Ctrl-C while the command unwinds."""
    global _said
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not _said:
        _said = True
        try:
            sys.stderr.write("interrupted\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr closed: the exit code still says it
            pass
