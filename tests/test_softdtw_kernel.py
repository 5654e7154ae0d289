"""The CPU Soft-DTW kernels: numba (SIMD exp/log, row strips, threads) and the
pure-torch fallback, against the float64 reference recursion."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from _reference import softdtw_grad_reference, softdtw_reference
from sklav.alignment import soft_alignment, soft_dtw, soft_dtw_from_cost
from sklav.alignment import _softdtw_dispatch as dispatch_module

numba_kernels = pytest.importorskip("sklav.alignment._softdtw_numba")


def _relative_error(actual, expected):
    actual = np.asarray(actual, dtype=np.float64)
    return np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-300)


def _kernel(D, nx, ny, gamma):
    values, weights = numba_kernels.softdtw_forward(D, nx, ny, gamma)
    E = numba_kernels.softdtw_backward(weights, nx, ny, D.shape[1], D.shape[2])
    return values, E


# --------------------------------------------------------------------------
# exp and log


def _vectorised(fn, nout):
    import numba

    @numba.njit(error_model="numpy")
    def apply(values, out, constants):
        for i in range(values.shape[0]):
            out[i] = fn(values[i], constants)[0] if nout == 2 else fn(values[i], constants)

    return apply


def test_exp_is_accurate_to_a_few_ulp_and_flushes_underflow():
    rng = np.random.default_rng(0)
    x = np.concatenate([-np.linspace(0.0, 345.0, 200_001), -rng.random(10_000)])
    out = np.empty_like(x)
    _vectorised(numba_kernels._exp_nonpositive, 1)(x, out, numba_kernels.CONSTANTS)
    ulp = np.spacing(np.exp(x))
    assert (np.abs(out - np.exp(x)) <= 4 * ulp).all()
    special = np.array([0.0, -np.inf, -345.5, -1e300])
    out = np.empty_like(special)
    _vectorised(numba_kernels._exp_nonpositive, 1)(special, out, numba_kernels.CONSTANTS)
    assert out.tolist() == [1.0, 0.0, 0.0, 0.0]


def test_log_and_inverse_on_one_to_three():
    split = np.sqrt(3.0)  # where the reduction switches constants
    s = np.concatenate([np.linspace(1.0, 3.0, 200_001), [split, np.nextafter(split, 0)]])
    log = np.empty_like(s)
    _vectorised(numba_kernels._log_and_inverse, 2)(s, log, numba_kernels.CONSTANTS)
    assert np.abs(log - np.log(s)).max() <= 4e-16
    assert log[0] == 0.0


def _fresh_asm(kernel, *args):
    """Assembly of ``kernel`` compiled afresh (not from the cache) for ``args``."""
    import numba

    options = {k: v for k, v in kernel.targetoptions.items() if k not in ("cache", "nopython")}
    fresh = numba.njit(**options)(kernel.py_func)
    fresh(*args)
    return fresh.inspect_asm(fresh.signatures[0])


def _packed_double_pattern():
    """A regex for a packed float64 instruction ``{op}`` on the host's widest
    vectors, or None where the host has none this guard knows.

    x86-64 with AVX2 or AVX-512: 256-bit ``ymm`` or 512-bit ``zmm`` registers
    (LLVM picks either on an AVX-512 host); 64-bit Arm: NEON ``v.2d`` or SVE
    ``z.d`` registers.
    """
    import platform

    import llvmlite.binding as llvm

    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        if not llvm.get_host_cpu_features().get("avx2", False):
            return None
        return r"\bv{op}\w*pd\b.*\b[yz]mm\d+"
    if machine in ("aarch64", "arm64"):
        return r"\bf{op}\w*\b.*\b(v\d+\.2d|z\d+\.d)\b"
    return None


def _has_packed(asm, op):
    import re

    pattern = re.compile(_packed_double_pattern().format(op=op))
    return any(pattern.search(line) for line in asm.splitlines())


@pytest.mark.parametrize(
    "line, op, packed",
    [
        ("vdivpd %ymm1, %ymm2, %ymm3", "div", True),
        ("vdivpd %zmm1, %zmm2, %zmm3", "div", True),
        ("vfmadd213pd %zmm1, %zmm2, %zmm3", "fmadd", True),
        ("vdivsd %xmm1, %xmm2, %xmm3", "div", False),  # scalar
        ("vdivpd %xmm1, %xmm2, %xmm3", "div", False),  # 128-bit only
    ],
)
def test_packed_vector_guard_reads_avx2_and_avx512(line, op, packed, monkeypatch):
    import llvmlite.binding as llvm
    import platform

    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(llvm, "get_host_cpu_features", lambda: {"avx2": True})
    assert _has_packed(line, op) is packed


@pytest.mark.parametrize("weights_dtype", [np.float64, np.float32])
def test_sweeps_are_simd(weights_dtype):
    # a guard on performance: the soft-min loop and the backward's
    # multiply-add loop must compile to packed vector code (exp and log
    # inlined), not to scalar code, with either dtype of saved weights, on
    # whatever vector width the host offers
    if _packed_double_pattern() is None:
        pytest.skip("no packed-vector guard for this host CPU (x86-64 without AVX2, or not x86/Arm)")
    G = np.random.default_rng(0).random((8, 8))
    zeros = np.zeros(8)
    weights = np.zeros((2, 65), weights_dtype)
    top = np.full(9, np.inf)
    top[0] = 0.0
    scratch = [np.empty(10) for _ in range(5)]  # bottom, three diagonals, costs
    band = (-7, 7)
    asm = _fresh_asm(
        numba_kernels._forward_strip, G, zeros, zeros, 1.0, -np.inf, 0, 8, 8, *band, 0.1,
        weights[0], weights[1], 0, top, *scratch, numba_kernels.CONSTANTS,
    )
    assert _has_packed(asm, "div")
    E, sums, rows, e = np.zeros((8, 8)), np.zeros((2, 8)), np.zeros((2, 9)), np.zeros((3, 10))
    asm = _fresh_asm(
        numba_kernels._backward_strip, weights[0], weights[1], 0, 8, 8, *band, 0, 64, 1.0,
        E, sums[0], sums[1], rows[0], rows[1], e[0], e[1], e[2],
    )
    assert _has_packed(asm, "fmadd") or _has_packed(asm, "mla")


# --------------------------------------------------------------------------
# numba kernel against the reference


@pytest.mark.parametrize(
    "n, m",
    [(1, 1), (1, 130), (130, 1), (64, 64), (65, 3), (3, 65), (129, 70), (70, 129), (200, 41)],
)
def test_kernel_matches_reference_across_strips(n, m):
    # STRIP rows at a time: sizes straddle one and several strips
    rng = np.random.default_rng(n * 1000 + m)
    D = rng.random((2, n, m)) * 3
    nx = np.array([n, max(1, n - 64)])
    ny = np.array([m, max(1, m // 2)])
    values, E = _kernel(D, nx, ny, 0.3)
    for b in range(2):
        value, E_ref = softdtw_reference(D[b, : nx[b], : ny[b]], 0.3)
        assert values[b] == pytest.approx(value, rel=1e-13, abs=1e-13)
        np.testing.assert_allclose(E[b, : nx[b], : ny[b]], E_ref, rtol=1e-11, atol=1e-15)
        assert (E[b, nx[b] :] == 0).all() and (E[b, :, ny[b] :] == 0).all()


def test_kernel_handles_huge_cost_gaps_without_nan():
    # soft-min terms far below exp(-345) are flushed to zero, no NaN; (the
    # reference's E, from differences of R ~ 1e5 divided by gamma, is only
    # good to ~1e-8 here; E is a probability, so within [0, 1])
    rng = np.random.default_rng(1)
    D = rng.random((1, 40, 50)) * 1e4
    D[0, ::3] *= 1e-3
    for gamma in (1e-3, 0.1, 10.0):
        values, E = _kernel(D, np.array([40]), np.array([50]), gamma)
        value, E_ref = softdtw_reference(D[0], gamma)
        assert np.isfinite(E).all() and (E >= 0).all() and (E <= 1 + 1e-12).all()
        assert E[0, 0, 0] == E[0, -1, -1] == 1.0
        assert values[0] == pytest.approx(value, rel=1e-13)
        np.testing.assert_allclose(E[0], E_ref, rtol=1e-6, atol=1e-12)


@pytest.fixture
def two_numba_threads():
    """numba runs 2 threads for the test (it may have been set to 1, e.g. by
    NUMBA_NUM_THREADS or a joblib worker); skip where it cannot."""
    numba = numba_kernels.numba
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip(f"numba's thread pool has {numba.config.NUMBA_NUM_THREADS} thread (NUMBA_NUM_THREADS)")
    before = numba.get_num_threads()
    numba.set_num_threads(2)
    yield
    numba.set_num_threads(before)


def test_threads_give_the_same_results(monkeypatch, two_numba_threads):
    rng = np.random.default_rng(2)
    D = rng.random((5, 70, 33)) * 2
    nx, ny = np.array([70, 12, 70, 1, 40]), np.array([33, 33, 5, 7, 1])
    monkeypatch.setattr(numba_kernels, "PARALLEL_MIN_CELLS", 10**12)
    assert numba_kernels._chunks(nx * ny, 2) == 1
    serial = _kernel(D, nx, ny, 0.1)
    monkeypatch.setattr(numba_kernels, "PARALLEL_MIN_CELLS", 0)
    assert numba_kernels._chunks(nx * ny, 2) > 1  # the pairs are really split between threads
    threaded = _kernel(D, nx, ny, 0.1)
    np.testing.assert_array_equal(serial[0], threaded[0])
    np.testing.assert_array_equal(serial[1], threaded[1])


def test_soft_dtw_keeps_the_callers_torch_thread_count():
    """Starting numba's pool (under its 'omp' layer) reset OpenMP's count, which torch shares."""
    script = (
        "import torch\n"
        "torch.set_num_threads(1)\n"
        "from sklav.alignment import soft_dtw\n"
        "x = torch.randn(4, 30, 3, requires_grad=True)\n"
        "soft_dtw(x, torch.randn(4, 30, 3), gamma=0.1).sum().backward()\n"
        "print(torch.get_num_threads())\n"
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["1"]


def test_fused_squared_euclidean_cost_matches_plain_cost():
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((3, 20, 6)), rng.standard_normal((3, 17, 6))
    nx, ny = np.array([20, 9, 1]), np.array([17, 17, 4])
    D = ((X[:, :, None] - Y[:, None]) ** 2).sum(-1)
    plain_values, plain_weights = numba_kernels.softdtw_forward(D, nx, ny, 0.2)
    gram = np.einsum("bik,bjk->bij", X, Y)
    values, weights = numba_kernels.softdtw_forward(gram, nx, ny, 0.2, X, Y)
    np.testing.assert_allclose(values, plain_values, rtol=1e-12)
    for b in range(3):  # the weights past a pair's cells are scratch
        used = nx[b] * ny[b] + 1
        np.testing.assert_allclose(
            weights[b, :, :used], plain_weights[b, :, :used], rtol=1e-9, atol=1e-12
        )


# --------------------------------------------------------------------------
# the torch layer


def test_grad_in_float32_and_float64_and_backward_twice():
    gen = torch.Generator().manual_seed(4)
    for dtype in (torch.float32, torch.float64):
        x = torch.randn(2, 9, 4, generator=gen, dtype=dtype, requires_grad=True)
        y = torch.randn(2, 11, 4, generator=gen, dtype=dtype, requires_grad=True)
        values = soft_dtw(x, y, 0.1)
        values.sum().backward(retain_graph=True)
        first = x.grad.clone()
        values.sum().backward()
        torch.testing.assert_close(x.grad, 2 * first)
        assert x.grad.dtype == y.grad.dtype == dtype
        for b in range(2):
            _, grad_x, grad_y = softdtw_grad_reference(x[b].detach(), y[b].detach(), 0.1)
            assert _relative_error(first[b], grad_x) <= 1e-5


def test_non_contiguous_inputs_and_one_sided_gradient():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 4, 8, generator=gen).transpose(1, 2)  # (2, 8, 4), strided
    y = torch.randn(2, 6, 4, generator=gen, requires_grad=True)
    values = soft_dtw(x, y, 0.5)
    values.sum().backward()
    for b in range(2):
        value, _, grad_y = softdtw_grad_reference(x[b], y[b].detach(), 0.5)
        assert values[b].item() == pytest.approx(value, rel=1e-6)
        assert _relative_error(y.grad[b], grad_y) <= 1e-5


def test_cost_gradient_is_scaled_alignment_in_cost_dtype():
    gen = torch.Generator().manual_seed(6)
    D = torch.rand(2, 7, 5, generator=gen, requires_grad=True)
    (soft_dtw_from_cost(D, 0.2) * torch.tensor([2.0, -3.0])).sum().backward()
    assert D.grad.dtype == torch.float32
    for b, scale in enumerate((2.0, -3.0)):
        _, E = softdtw_reference(D[b].detach(), 0.2)
        np.testing.assert_allclose(D.grad[b], scale * E, rtol=1e-5, atol=1e-7)


def test_soft_alignment_equals_gradient_of_the_cost():
    gen = torch.Generator().manual_seed(7)
    x, y = torch.randn(2, 6, 3, generator=gen), torch.randn(2, 8, 3, generator=gen)
    E = soft_alignment(x, y, 0.3, x_lengths=[6, 4], y_lengths=[5, 8])
    D = ((x[:, :, None].double() - y[:, None].double()) ** 2).sum(-1).requires_grad_()
    soft_dtw_from_cost(D, 0.3, x_lengths=[6, 4], y_lengths=[5, 8]).sum().backward()
    torch.testing.assert_close(E, D.grad, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------
# the pure-torch fallback


@pytest.fixture
def torch_kernel(monkeypatch):
    monkeypatch.setattr(dispatch_module, "_FORCE_TORCH_KERNEL", True)


def test_torch_fallback_matches_reference(torch_kernel):
    gen = torch.Generator().manual_seed(8)
    x = torch.randn(3, 9, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(3, 7, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    lengths_x, lengths_y = [9, 4, 1], [7, 7, 3]
    values = soft_dtw(x, y, 0.2, lengths_x, lengths_y)
    values.sum().backward()
    for b, (a, c) in enumerate(zip(lengths_x, lengths_y)):
        value, grad_x, grad_y = softdtw_grad_reference(x[b, :a].detach(), y[b, :c].detach(), 0.2)
        assert values[b].item() == pytest.approx(value, rel=1e-10)
        np.testing.assert_allclose(x.grad[b, :a], grad_x, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(y.grad[b, :c], grad_y, rtol=1e-8, atol=1e-10)
        assert (x.grad[b, a:] == 0).all() and (y.grad[b, c:] == 0).all()


def test_torch_fallback_agrees_with_numba(monkeypatch):
    gen = torch.Generator().manual_seed(9)
    D = torch.rand(2, 12, 10, generator=gen, dtype=torch.float64)
    x, y = torch.randn(2, 12, 3, generator=gen), torch.randn(2, 10, 3, generator=gen)
    results = []
    for force in (False, True):
        monkeypatch.setattr(dispatch_module, "_FORCE_TORCH_KERNEL", force)
        cost = D.clone().requires_grad_()
        values = soft_dtw_from_cost(cost, 0.1, [12, 5], [10, 9])
        values.sum().backward()
        results.append((values, cost.grad, soft_alignment(x, y, 0.1, [12, 3], [4, 10])))
    for numba_result, torch_result in zip(*results):
        torch.testing.assert_close(torch_result, numba_result, rtol=1e-10, atol=1e-13)


def test_fallback_warns_once_without_numba(monkeypatch):
    monkeypatch.setattr(dispatch_module, "_softdtw_numba", None)
    monkeypatch.setattr(dispatch_module, "_warned_no_numba", False)
    x, y = torch.randn(1, 3, 2), torch.randn(1, 4, 2)
    with pytest.warns(RuntimeWarning, match="numba is not available"):
        soft_dtw(x, y)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        soft_dtw(x, y)
