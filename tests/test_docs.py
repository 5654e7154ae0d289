"""The Sphinx documentation builds with warnings as errors, running every example.

The build works on a copy of ``docs/`` and ``examples/`` in a temporary
folder, so it writes nothing into the checkout.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS, EXAMPLES = ROOT / "docs", ROOT / "examples"
GENERATED = ("_build", "generated", "auto_examples", "sg_execution_times.rst")
#: Budget for the whole build, examples included, on two CPU cores.
BUILD_TIMEOUT_S = 1500  # a hang guard, not a speed target: the gallery runs every example


def _missing_docs_tools():
    missing = []
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "matplotlib"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    return missing


def _copy_sources(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs, ignore=shutil.ignore_patterns(*GENERATED))
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    return docs


def test_every_example_is_a_gallery_script():
    scripts = sorted(EXAMPLES.glob("*.py"))
    assert scripts, "examples/ holds no scripts"
    for script in scripts:
        assert script.name.startswith("plot_"), f"{script.name}: sphinx-gallery runs plot_*.py only"
        head = script.read_text(encoding="utf-8").lstrip()
        assert head.startswith('"""'), f"{script.name}: needs a docstring title for the gallery"
    assert (EXAMPLES / "GALLERY_HEADER.rst").is_file()


def test_paper_tables_include_exists():
    assert (DOCS / "_static" / "paper_tables.rst").is_file()
    assert ".. include:: _static/paper_tables.rst" in (DOCS / "reproducing.rst").read_text()


@pytest.mark.slow
@pytest.mark.timeout(1500)  # the whole Sphinx build with the gallery: minutes, not one test's 300 s
def test_docs_build_with_warnings_as_errors(tmp_path):
    missing = _missing_docs_tools()
    if missing:
        pytest.skip(f"documentation tools not installed: {missing} (pip install '.[docs]')")
    docs = _copy_sources(tmp_path)
    html = tmp_path / "html"
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore::DeprecationWarning")
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q",
         str(docs), str(html)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, (
        f"sphinx failed (exit {proc.returncode}) after {elapsed:.0f} s:\n"
        f"{proc.stdout[-5000:]}\n{proc.stderr[-10000:]}"
    )
    assert (html / "index.html").is_file()
    assert (html / "api.html").is_file()
    gallery = html / "auto_examples"
    for script in sorted(EXAMPLES.glob("plot_*.py")):
        assert (gallery / f"{script.stem}.html").is_file(), f"{script.name} was not rendered"
    images = list((html / "_images").glob("sphx_glr_plot_*.png"))
    assert len(images) >= len(list(EXAMPLES.glob("plot_*.py"))), "examples made too few figures"
    print(f"docs built in {elapsed:.0f} s")
