"""The package's layout rules (docs/developers.rst), checked on the source.

- Packages import only the packages below them: the import graph has no
  cycles and no upward edges.
- No package imports another package's private (underscore) module.
- No module is much longer than 400 lines, the compiled kernels excepted.
"""

import ast
from pathlib import Path

import pytest

SKLAV = Path(__file__).resolve().parents[1] / "sklav"

# package -> the sklav packages it may import (a layered DAG)
ALLOWED = {
    "utils": set(),
    "alignment": {"utils"},
    "metrics": {"utils", "alignment"},  # alignment: DTW matching, imported when used
    "datasets": {"utils"},
    "losses": {"utils", "alignment"},
    "encoders": {"utils", "alignment", "losses", "datasets"},
    "evaluation": {"utils", "metrics"},
    "plotting": {"utils", "metrics", "alignment", "datasets"},
    "poses": {"utils", "datasets"},
    "pretrained": {"utils", "datasets", "encoders"},
    "cli": {"utils", "alignment", "datasets", "encoders", "evaluation", "metrics", "plotting", "losses",
            "poses"},
    "__init__": set(),
}
KERNELS = {"_softdtw_numba.py", "_softdtw_triton.py"}
MAX_LINES = 430  # "about 400"


def _modules():
    return sorted(p for p in SKLAV.rglob("*.py"))


def _imported(path):
    """(target package, target module path) of every sklav import in ``path``."""
    rel = path.relative_to(SKLAV).parts
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(rel[: len(rel) - node.level])  # the package the dots lead to
                names = base + (node.module.split(".") if node.module else [])
                if not node.module:
                    names = [names + [alias.name] for alias in node.names]
                    for full in names:
                        yield full
                    continue
            elif node.module and node.module.split(".")[0] == "sklav":
                names = node.module.split(".")[1:]
            else:
                continue
            yield names
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sklav":
                    yield alias.name.split(".")[1:]


def _package(path):
    rel = path.relative_to(SKLAV).parts
    name = rel[0].removesuffix(".py")
    return "cli" if name == "__main__" else name  # the command line's entry point


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SKLAV)))
def test_imports_follow_the_layers(path):
    package = _package(path)
    for names in _imported(path):
        if not names or names[0] == package or names == ["__version__"]:
            continue
        assert names[0] in ALLOWED[package], f"{path.name}: {package} may not import sklav.{'.'.join(names)}"
        assert not any(part.startswith("_") for part in names[1:]), (
            f"{path.name} imports sklav.{'.'.join(names)}, a private module of another package"
        )


def test_layers_have_no_cycles():
    order = []
    while len(order) < len(ALLOWED):
        ready = [p for p in ALLOWED if p not in order and ALLOWED[p] <= set(order)]
        assert ready, f"the allowed imports have a cycle among {set(ALLOWED) - set(order)}"
        order += sorted(ready)


@pytest.mark.parametrize("path", [p for p in _modules() if p.name not in KERNELS],
                         ids=lambda p: str(p.relative_to(SKLAV)))
def test_modules_stay_short(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(SKLAV)} has {lines} lines; split it along its seams"
