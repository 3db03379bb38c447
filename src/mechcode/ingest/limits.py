"""The per-file time limit of PDF extraction (``MECHCODE_FILE_TIMEOUT`` seconds, default 180)."""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager

from mechcode.errors import BadPDF

FILE_TIMEOUT = float(os.environ.get("MECHCODE_FILE_TIMEOUT", "180"))


class ExtractionTimeout(BadPDF):
    """One file took longer than the per-file time limit."""


@contextmanager
def time_limit(seconds: float | None, name: str):
    """Raise :class:`ExtractionTimeout` when the block runs longer than ``seconds``.

    Uses a timer signal, so it applies in a process's main thread (the CLI
    and every worker); elsewhere, with ``seconds`` 0/None, or when the caller
    already runs a timer, it is a no-op.
    """
    usable = (seconds and seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)  # never replace a caller's timer
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise ExtractionTimeout(f"{name}: extraction timed out after {seconds:g} s "
                                f"(limit: MECHCODE_FILE_TIMEOUT)")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
