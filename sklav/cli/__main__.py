"""``python -m sklav.cli``: the ``sklav`` command line (:func:`sklav.cli.run`)."""

from . import run

if __name__ == "__main__":  # pragma: no cover
    run()
