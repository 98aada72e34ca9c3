"""Time limits on a gate test running in this process.

In the main thread a ``SIGALRM`` timer raises :class:`GateTestTimeout` in the test (it also
interrupts a ``time.sleep`` or a blocking read). In any other thread (a step run by an
orchestrator's worker thread) the exception is set asynchronously on that thread
(``PyThreadState_SetAsyncExc``), which Python raises at the thread's next bytecode: a test
looping in Python stops at its limit, one blocked inside a C call stops when that call returns.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class GateTestTimeout(Exception):
    """A gate test ran past its time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`GateTestTimeout` in this thread if the block runs longer than ``seconds``."""
    if seconds <= 0:
        raise GateTestTimeout
    if threading.current_thread() is threading.main_thread():
        with _alarm(seconds):
            yield
    else:
        with _async_raise(seconds):
            yield


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    armed = True

    def expire(signum: int, frame: FrameType | None) -> None:
        if armed:
            raise GateTestTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _async_raise(seconds: float) -> Iterator[None]:
    target = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()
    state = {"armed": True}

    def expire() -> None:
        with lock:
            if state["armed"]:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    target, ctypes.py_object(GateTestTimeout)
                )

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["armed"] = False
            timer.cancel()
            # An exception set but not yet raised (the block ended just in time) is cleared.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(target, None)
