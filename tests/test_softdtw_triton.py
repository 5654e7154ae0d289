"""Tests of the Triton Soft-DTW kernels against a plain float64 recursion.

Without a GPU the kernels run in Triton's interpreter (``TRITON_INTERPRET=1``)
on CPU tensors. The interpreter is chosen when the ``@triton.jit`` functions
are defined, so those runs happen in one subprocess, which keeps the setting
out of this pytest process.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sklav.alignment import _softdtw_triton
from sklav.alignment._softdtw_triton import (
    softdtw_backward_cuda,
    softdtw_forward_cuda,
    triton_available,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
MODULE_PATH = REPO_ROOT / "sklav" / "alignment" / "_softdtw_triton.py"
HAS_TRITON = _softdtw_triton.triton is not None


# --------------------------------------------------------------------------
# reference


def reference_softdtw(D, gamma):
    """Value, weights (n, m, 3: diag, up, left) and E of one unpadded pair."""
    n, m = D.shape
    R = np.full((n + 1, m + 1), np.inf)  # R[i + 1, j + 1] = R(i, j)
    R[0, 0] = 0.0
    weights = np.zeros((n, m, 3))
    for i in range(n):
        for j in range(m):
            predecessors = np.array([R[i, j], R[i, j + 1], R[i + 1, j]])
            smallest = predecessors.min()
            e = np.exp(-(predecessors - smallest) / gamma)
            R[i + 1, j + 1] = D[i, j] + smallest - gamma * np.log(e.sum())
            weights[i, j] = e / e.sum()
    E = np.zeros((n, m))
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if i == n - 1 and j == m - 1:
                E[i, j] = 1.0
                continue
            if i + 1 < n and j + 1 < m:
                E[i, j] += E[i + 1, j + 1] * weights[i + 1, j + 1, 0]
            if i + 1 < n:
                E[i, j] += E[i + 1, j] * weights[i + 1, j, 1]
            if j + 1 < m:
                E[i, j] += E[i, j + 1] * weights[i, j + 1, 2]
    return R[n, m], weights, E


def assert_matches_reference(D, nx, ny, gamma, values, weights, E):
    D, values, weights, E = (np.asarray(a, dtype=np.float64) for a in (D, values, weights, E))
    for b in range(D.shape[0]):
        lx, ly = int(nx[b]), int(ny[b])
        ref_value, ref_weights, ref_E = reference_softdtw(D[b, :lx, :ly], gamma)
        np.testing.assert_allclose(values[b], ref_value, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            weights[b, :lx, :ly], ref_weights[..., :2], rtol=1e-10, atol=1e-12
        )
        np.testing.assert_allclose(E[b, :lx, :ly], ref_E, rtol=1e-10, atol=1e-12)
        outside = np.ones(E.shape[1:], dtype=bool)
        outside[:lx, :ly] = False
        assert np.all(E[b][outside] == 0.0)


def test_reference_matches_closed_form():
    # One row: a single path, so the value is the sum of the costs and E is 1.
    D = np.array([[1.0, 2.0, 3.0]])
    value, _, E = reference_softdtw(D, 0.5)
    assert value == pytest.approx(6.0)
    np.testing.assert_allclose(E, 1.0)
    # 2x2: paths diag (a+d) and the two length-3 ones; value is their softmin.
    D = np.array([[1.0, 2.0], [3.0, 4.0]])
    gamma = 0.7
    costs = np.array([1 + 4, 1 + 2 + 4, 1 + 3 + 4])
    value, _, _ = reference_softdtw(D, gamma)
    assert value == pytest.approx(-gamma * np.log(np.exp(-costs / gamma).sum()))


# --------------------------------------------------------------------------
# interpreter runs (one subprocess for all cases)


def _make_cases():
    rng = np.random.default_rng(0)
    cases = {}

    def add(name, batch, n, m, gamma, dtype="float64", block_size=None, full=True, scale=1.0):
        D = rng.random((batch, n, m)) * scale
        nx = rng.integers(1, n + 1, size=batch)
        ny = rng.integers(1, m + 1, size=batch)
        if full:
            nx[0], ny[0] = n, m
        cases[name] = dict(D=D.astype(dtype), nx=nx, ny=ny, gamma=gamma, block_size=block_size)

    add("square", 2, 6, 6, 1.0)
    add("non_square_padded_float32", 4, 7, 5, 0.1, dtype="float32")
    add("one_row", 2, 1, 6, 0.5)
    add("one_column", 2, 6, 1, 0.5)
    add("one_cell", 1, 1, 1, 0.5)
    add("small_gamma", 2, 5, 8, 0.01, scale=10.0)
    add("tiled_diagonals", 2, 23, 19, 0.3, block_size=8)
    add("tiled_wide", 1, 9, 40, 0.3, block_size=4)
    return cases


CASES = _make_cases()

_INTERPRETER_SCRIPT = """
import json, sys
import numpy as np, torch
from sklav.alignment._softdtw_triton import softdtw_forward_cuda, softdtw_backward_cuda
inputs, outputs = sys.argv[1], sys.argv[2]
data = np.load(inputs)
spec = json.loads(sys.argv[3])
results = {}
for name, (gamma, block_size, transpose) in spec.items():
    D = torch.from_numpy(data[name + "/D"])
    if transpose:
        D = D.transpose(1, 2).contiguous().transpose(1, 2)  # same values, other strides
    nx = torch.from_numpy(data[name + "/nx"])
    ny = torch.from_numpy(data[name + "/ny"])
    values, weights = softdtw_forward_cuda(D, nx, ny, gamma, block_size=block_size)
    E = softdtw_backward_cuda(weights, nx, ny, block_size=block_size)
    results[name + "/values"] = values.numpy()
    results[name + "/weights"] = weights.numpy()
    results[name + "/E"] = E.numpy()
np.savez(outputs, **results)
"""


@pytest.fixture(scope="module")
def interpreter_results(tmp_path_factory):
    if not HAS_TRITON:
        pytest.skip("triton is not installed")
    tmp = tmp_path_factory.mktemp("triton_interpreter")
    arrays, spec = {}, {}
    for name, case in CASES.items():
        arrays[name + "/D"] = case["D"]
        arrays[name + "/nx"] = case["nx"]
        arrays[name + "/ny"] = case["ny"]
        spec[name] = (case["gamma"], case["block_size"], False)
    # A non-contiguous D: same values as "non_square_padded_float32".
    spec["strided"] = (CASES["non_square_padded_float32"]["gamma"], None, True)
    for key in ("D", "nx", "ny"):
        arrays[f"strided/{key}"] = CASES["non_square_padded_float32"][key]
    np.savez(tmp / "inputs.npz", **arrays)
    env = dict(os.environ, TRITON_INTERPRET="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", _INTERPRETER_SCRIPT, str(tmp / "inputs.npz"),
         str(tmp / "outputs.npz"), json.dumps(spec)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return dict(np.load(tmp / "outputs.npz"))


@pytest.mark.slow
@pytest.mark.parametrize("name", [*CASES, "strided"])
def test_interpreter_matches_reference(interpreter_results, name):
    case = CASES["non_square_padded_float32" if name == "strided" else name]
    out = {key: interpreter_results[f"{name}/{key}"] for key in ("values", "weights", "E")}
    B, n, m = case["D"].shape
    assert out["values"].shape == (B,) and out["values"].dtype == np.float64
    assert out["weights"].shape == (B, n, m, 2) and out["weights"].dtype == np.float64
    assert out["E"].shape == (B, n, m) and out["E"].dtype == np.float64
    assert_matches_reference(
        case["D"], case["nx"], case["ny"], case["gamma"], out["values"], out["weights"], out["E"]
    )


# --------------------------------------------------------------------------
# availability and input checks (no kernel launch)


def test_triton_available_is_bool():
    assert triton_available() == (HAS_TRITON and torch.cuda.is_available())


def test_imports_and_fails_clearly_without_triton(monkeypatch):
    monkeypatch.setitem(sys.modules, "triton", None)
    monkeypatch.setitem(sys.modules, "triton.language", None)
    spec = importlib.util.spec_from_file_location("_softdtw_triton_without_triton", MODULE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.triton_available() is False
    lengths = torch.ones(1, dtype=torch.int64)
    with pytest.raises(ImportError, match="need Triton"):
        module.softdtw_forward_cuda(torch.zeros(1, 1, 1), lengths, lengths, 1.0)
    with pytest.raises(ImportError, match="need Triton"):
        module.softdtw_backward_cuda(torch.zeros(1, 1, 1, 2), lengths, lengths)


needs_triton = pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed")


@needs_triton
@pytest.mark.skipif(os.environ.get("TRITON_INTERPRET") == "1", reason="interpreter accepts CPU")
def test_cpu_tensor_is_rejected():
    lengths = torch.full((1,), 3)
    with pytest.raises(ValueError, match="must be a CUDA tensor"):
        softdtw_forward_cuda(torch.rand(1, 3, 3), lengths, lengths, 1.0)


@pytest.fixture
def pretend_interpreter(monkeypatch):
    """Let CPU tensors through the device check; every case below fails before launch."""
    monkeypatch.setattr(_softdtw_triton, "_interpreting", lambda: True)


@needs_triton
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(D=torch.rand(3, 3)), ValueError, r"shape \(B, n, m\)"),
        (dict(D=torch.rand(1, 3, 3).half()), ValueError, "float32 or float64"),
        (dict(D=torch.rand(1, 0, 3)), ValueError, "non-empty"),
        (dict(D=[[[1.0]]]), TypeError, "D must be a torch.Tensor"),
        (dict(nx=torch.full((1,), 3, dtype=torch.int32)), ValueError, "nx must be an int64"),
        (dict(ny=torch.full((2,), 3)), ValueError, r"ny must be an int64 tensor of shape \(1,\)"),
        (dict(nx=torch.full((1,), 4)), ValueError, r"nx has entries outside \[1, 3\]"),
        (dict(ny=torch.full((1,), 0)), ValueError, r"ny has entries outside \[1, 3\]"),
        (dict(gamma=0.0), ValueError, "gamma must be a positive finite float"),
        (dict(gamma=float("nan")), ValueError, "gamma must be a positive finite float"),
        (dict(gamma="1"), TypeError, "gamma must be a positive float"),
        (dict(block_size=12), ValueError, "power of two"),
    ],
)
def test_forward_input_errors(pretend_interpreter, kwargs, error, match):
    args = dict(D=torch.rand(1, 3, 3), nx=torch.full((1,), 3), ny=torch.full((1,), 3), gamma=1.0)
    args.update(kwargs)
    block_size = args.pop("block_size", None)
    with pytest.raises(error, match=match):
        softdtw_forward_cuda(**args, block_size=block_size)


@needs_triton
def test_backward_input_errors(pretend_interpreter):
    lengths = torch.full((1,), 3)
    with pytest.raises(ValueError, match=r"float64 tensor of shape \(B, n, m, 2\)"):
        softdtw_backward_cuda(torch.rand(1, 3, 3, 2), lengths, lengths)
    with pytest.raises(ValueError, match=r"float64 tensor of shape \(B, n, m, 2\)"):
        softdtw_backward_cuda(torch.rand(1, 3, 3, 3, dtype=torch.float64), lengths, lengths)


# --------------------------------------------------------------------------
# CUDA


@pytest.mark.gpu
@pytest.mark.skipif(not triton_available(), reason="needs a CUDA GPU and triton")
@pytest.mark.parametrize(
    "batch, n, m, gamma, dtype, block_size",
    [
        (3, 9, 7, 0.1, torch.float32, None),
        (2, 1, 12, 1.0, torch.float64, None),
        (2, 12, 1, 1.0, torch.float64, None),
        (4, 70, 50, 0.5, torch.float64, 16),
        (2, 300, 260, 0.05, torch.float32, None),
    ],
)
def test_cuda_matches_reference(batch, n, m, gamma, dtype, block_size):
    generator = torch.Generator().manual_seed(n * m)
    D = torch.rand(batch, n, m, generator=generator, dtype=torch.float64)
    nx = torch.randint(1, n + 1, (batch,), generator=generator)
    ny = torch.randint(1, m + 1, (batch,), generator=generator)
    nx[0], ny[0] = n, m
    D_cuda = D.to(dtype).cuda()
    values, weights = softdtw_forward_cuda(
        D_cuda, nx.cuda(), ny.cuda(), gamma, block_size=block_size
    )
    E = softdtw_backward_cuda(weights, nx.cuda(), ny.cuda(), block_size=block_size)
    assert values.dtype == weights.dtype == E.dtype == torch.float64
    assert_matches_reference(
        D.to(dtype).double().numpy(), nx, ny, gamma,
        values.cpu().numpy(), weights.cpu().numpy(), E.cpu().numpy(),
    )


@pytest.mark.gpu
@pytest.mark.skipif(not triton_available(), reason="needs a CUDA GPU and triton")
def test_cuda_long_sequences_are_tiled():
    # Diagonals longer than the 1024-cell vector; E is checked through its
    # defining property: the gradient of the value (finite differences).
    generator = torch.Generator().manual_seed(0)
    n, m, gamma = 1100, 1050, 1.0
    D = torch.rand(1, n, m, generator=generator, dtype=torch.float64).cuda()
    lengths_x, lengths_y = torch.tensor([n]).cuda(), torch.tensor([m]).cuda()
    values, weights = softdtw_forward_cuda(D, lengths_x, lengths_y, gamma)
    E = softdtw_backward_cuda(weights, lengths_x, lengths_y)
    small_values, _ = softdtw_forward_cuda(D, lengths_x, lengths_y, gamma, block_size=64)
    torch.testing.assert_close(values, small_values, rtol=1e-12, atol=1e-9)
    eps = 1e-6
    for i, j in [(0, 0), (500, 480), (n - 1, m - 1), (n - 1, 0)]:
        shifted = D.clone()
        shifted[0, i, j] += eps
        value_plus, _ = softdtw_forward_cuda(shifted, lengths_x, lengths_y, gamma)
        finite_difference = (value_plus - values).item() / eps
        assert finite_difference == pytest.approx(E[0, i, j].item(), abs=1e-5)
