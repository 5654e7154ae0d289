"""pytest configuration shared by ``tests/`` and the doctests of ``sklav/``.

matplotlib draws off-screen (Agg), so the plotting doctests need not choose a
backend themselves.
"""


def pytest_configure(config):
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is optional
        return
    matplotlib.use("Agg")
