"""Sphinx configuration of the sklav documentation.

Build (warnings are errors, as in the tests)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The gallery runs every script of ``examples/`` and writes ``docs/auto_examples``,
``docs/generated`` (API stubs) and ``docs/sg_execution_times.rst``, all
git-ignored; the tests build a copy of ``docs/`` and ``examples/`` in a
temporary folder instead. ``SKLAV_DOCS_PLOT_GALLERY=0`` skips running the
examples.
"""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout's sklav, when not installed

import sklav  # noqa: E402

project = "sklav"
author = "the sklav developers"
copyright = "the sklav developers, BSD-3-Clause"
version = release = sklav.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
# No intersphinx: the build must not touch the network.

templates_path = ["_templates"]
exclude_patterns = ["_build", "_static/*.rst", "**.ipynb_checkpoints"]
default_role = "literal"

autosummary_generate = True
autosummary_imported_members = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "pydata_sphinx_theme"
html_title = f"sklav {version}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
}
html_show_sourcelink = False

sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "plot_gallery": os.environ.get("SKLAV_DOCS_PLOT_GALLERY", "True"),
    "abort_on_example_error": True,
    "download_all_examples": False,
    "show_memory": False,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    "write_computation_times": True,
}
