"""``python -m sklav`` and the ``sklav`` command: :func:`sklav.cli.main`, then exit with its status."""

import os
import sys

from .cli import EXIT_INTERRUPTED, main


def run():
    """Run the command line, exit with its status (130 after Ctrl-C, however Python was stopped).

    CPython kills itself with SIGINT at exit whenever a KeyboardInterrupt
    once escaped code run through ``exec`` (as in a lazily created
    dataclass), even one handled later; that would turn the documented
    status 130 into a death by signal, so an interrupted run leaves through
    ``os._exit`` once its output streams are flushed.
    """
    status = main()
    if status == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
