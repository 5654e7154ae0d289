"""``python -m sklav``: the ``sklav`` command line (:func:`sklav.cli.run`)."""

from .cli import run

if __name__ == "__main__":  # pragma: no cover
    run()
