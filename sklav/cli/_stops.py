"""How a ``sklav`` command stops early: a user error or a stop signal.

- :class:`CLIError`: a user error, reported as one ``sklav: error: ...``
  line, exit status 2.
- :class:`Stopped`: Ctrl-C (SIGINT), SIGTERM (how Slurm and Kubernetes stop
  a job) or SIGHUP (a closed terminal), with what the command left undone;
  reported as one line, exit status 128 + the signal's number (130, 143,
  129), as shells report a death by that signal.
- :func:`handle_stop_signals`: within it, SIGTERM and SIGHUP raise
  :class:`Stopped` where they would kill the process, so that they unwind
  like Ctrl-C: temporary files are removed, the last complete checkpoint is
  kept.
- :func:`watch_stops`: notices a stop signal even when the code it stops
  catches the ``KeyboardInterrupt`` (skorch's training loop does).

Only the standard library is imported here: the handlers are in place
before the command imports numpy, torch or scikit-learn, so a stop during
those imports is reported like any other.
"""

import contextlib
import signal

__all__ = ["CLIError", "Stopped", "handle_stop_signals", "watch_stops"]

# the stop signals of sklav.utils.signals.STOP_SIGNALS, listed here too: importing
# sklav.utils would load scikit-learn before the handlers are in place
_WORDS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)"}
if hasattr(signal, "SIGHUP"):  # not on Windows
    _WORDS[signal.SIGHUP] = "hung up (SIGHUP)"


class CLIError(Exception):
    """A user error: reported as one line, exit status 2."""


class Stopped(KeyboardInterrupt):
    """A stop signal, with what it left undone.

    Parameters
    ----------
    signum : int, default=signal.SIGINT
        The signal.
    details : str, default=""
        What follows ``sklav: interrupted`` in the message: what was done, what
        was not written, how to resume.

    Examples
    --------
    >>> import signal
    >>> from sklav.cli._stops import Stopped
    >>> stop = Stopped(signal.SIGTERM, " after 3 of 75 epochs")
    >>> stop.message(), stop.exit_status
    ('sklav: terminated (SIGTERM) after 3 of 75 epochs', 143)
    """

    def __init__(self, signum=signal.SIGINT, details=""):
        super().__init__(details)
        self.signum = int(signum)
        self.details = details

    @property
    def exit_status(self):
        return 128 + self.signum

    def message(self):
        return f"sklav: {_WORDS.get(self.signum, f'stopped by signal {self.signum}')}{self.details}"


class _Record:
    """The last stop signal received (None before any)."""

    signum = None


_RECORD = _Record()


def _raise_stopped(signum, frame):
    _RECORD.signum = signum
    raise Stopped(signum)


@contextlib.contextmanager
def handle_stop_signals():
    """Within the block, SIGINT, SIGTERM and SIGHUP raise :class:`Stopped` (main thread only).

    A signal that is ignored (a background job's SIGINT, ``nohup``'s
    SIGHUP) or handled by someone else stays as it is: only Python's default
    Ctrl-C handler and the default action (death) are replaced, and put back
    on leaving.

    Examples
    --------
    >>> import signal
    >>> from sklav.cli._stops import handle_stop_signals
    >>> with handle_stop_signals():
    ...     signal.getsignal(signal.SIGTERM).__name__
    '_raise_stopped'
    >>> signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    True
    """
    replaced = {}
    for signum in _WORDS:
        previous = signal.getsignal(signum)
        if previous in (signal.SIG_DFL, signal.default_int_handler):
            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(signum, _raise_stopped)
                replaced[signum] = previous
    try:
        yield
    finally:
        for signum, previous in replaced.items():
            signal.signal(signum, previous)


class _Watch:
    @property
    def signum(self):
        return _RECORD.signum


@contextlib.contextmanager
def watch_stops():
    """Yield an object whose ``signum`` is the stop signal received within the block, or None.

    Examples
    --------
    >>> from sklav.cli._stops import watch_stops
    >>> with watch_stops() as watch:
    ...     pass
    >>> watch.signum is None
    True
    """
    _RECORD.signum = None
    yield _Watch()
