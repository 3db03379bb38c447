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

    message = f"{name}: extraction timed out after {seconds:g} s (limit: MECHCODE_FILE_TIMEOUT)"
    expired: list[bool] = []

    def expire(signum, frame):
        expired.append(True)
        raise ExtractionTimeout(message)

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except ExtractionTimeout:
        raise
    except Exception as exc:
        # the timer can fire inside a C call (pypdfium2's ctypes), whose caller then wraps our
        # exception in its own (ctypes.ArgumentError, then "page N cannot be read"): still a timeout
        if expired:
            raise ExtractionTimeout(message) from exc
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
