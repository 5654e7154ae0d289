"""Stop signals: Ctrl-C (SIGINT), SIGTERM (how schedulers stop a job) and SIGHUP.

- :data:`STOP_SIGNALS`: those of them this platform has.
- :func:`stops_deferred`: holds them over a block that must not be cut in
  half (a checkpoint being written), then lets the handlers in place act.
"""

import contextlib
import signal
import threading

__all__ = ["STOP_SIGNALS", "stops_deferred"]

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def stops_deferred():
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends (main thread only).

    A stop then lands between checkpoints, never inside one: what is on disk
    is the epoch trained, and no half-removed temporary folder is left by a
    stop that interrupted the cleaning up. The handlers in place (Python's
    Ctrl-C, the command line's, or death) act on the held signal afterwards.

    Examples
    --------
    >>> import os, signal
    >>> from sklav.utils.signals import stops_deferred
    >>> seen = []
    >>> previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append("stopped"))
    >>> with stops_deferred():
    ...     os.kill(os.getpid(), signal.SIGTERM)
    ...     seen.append("written")
    >>> seen
    ['written', 'stopped']
    >>> _ = signal.signal(signal.SIGTERM, previous)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = []
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if held:
        handler = previous[held[0]]
        if callable(handler):
            handler(held[0], None)
        elif handler == signal.SIG_DFL:
            signal.raise_signal(held[0])
