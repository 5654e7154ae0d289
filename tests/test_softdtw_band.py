"""Soft-DTW in a Sakoe-Chiba band (``bandwidth``) against a float64 reference
recursion restricted to tslearn's band mask, and the float32 saved weights."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from _reference import banded_softdtw_reference, sakoe_chiba_reference, softdtw_reference
from sklav.alignment import SoftDTW, soft_alignment, soft_dtw, soft_dtw_from_cost
from sklav.alignment import _softdtw_dispatch as dispatch_module

numba_kernels = pytest.importorskip("sklav.alignment._softdtw_numba")


def _radius(bandwidth, n, m):
    """The documented rule: an int is frames, a float a fraction of the longer."""
    if isinstance(bandwidth, int):
        return bandwidth
    return math.ceil(round(bandwidth * max(n, m), 9))


def _cost64(x, y, cost):
    """(n, m) float64 cost of two sequences, written out independently."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    diff = x[:, None, :] - y[None, :, :]
    if cost == "sqeuclidean":
        return (diff**2).sum(-1)
    if cost == "euclidean":
        return np.sqrt((diff**2).sum(-1))
    if cost == "l1":
        return np.abs(diff).sum(-1)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    yn = y / np.linalg.norm(y, axis=1, keepdims=True)
    return 1.0 - xn @ yn.T


def _torch_cost64(x, y, cost):
    """The same cost in torch (float64, differentiable), for the chain rule."""
    diff = x[:, None, :] - y[None, :, :]
    if cost == "sqeuclidean":
        return (diff**2).sum(-1)
    if cost == "euclidean":
        return (diff**2).sum(-1).sqrt()
    if cost == "l1":
        return diff.abs().sum(-1)
    return 1.0 - (x / x.norm(dim=1, keepdim=True)) @ (y / y.norm(dim=1, keepdim=True)).T


def _reference_value_and_grads(x, y, gamma, w, cost):
    """Banded Soft-DTW of one pair and its gradients, all in float64: the
    reference's E contracted with the cost's Jacobian."""
    x64 = torch.as_tensor(x, dtype=torch.float64).detach().clone().requires_grad_()
    y64 = torch.as_tensor(y, dtype=torch.float64).detach().clone().requires_grad_()
    mask = sakoe_chiba_reference(len(x), len(y), w)
    value, E = banded_softdtw_reference(_cost64(x64.detach(), y64.detach(), cost), gamma, mask)
    (_torch_cost64(x64, y64, cost) * torch.from_numpy(E)).sum().backward()
    return value, x64.grad.numpy(), y64.grad.numpy()


def _relative_error(actual, expected):
    actual = np.asarray(actual, dtype=np.float64)
    return np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-300)


# --------------------------------------------------------------------------
# the numba kernel, cell by cell


@pytest.mark.parametrize(
    "n, m", [(1, 1), (1, 9), (9, 1), (6, 6), (7, 4), (4, 7), (70, 70), (130, 90), (90, 130)]
)
@pytest.mark.parametrize("w", [0, 1, 3, 40])
def test_kernel_matches_banded_reference(n, m, w):
    # sizes straddle the kernel's 64-row strips; the second pair is padded
    rng = np.random.default_rng(n * 1000 + m * 10 + w)
    D = rng.random((2, n, m)) * 3
    nx, ny = np.array([n, max(1, n - 3)]), np.array([m, max(1, m - 2)])
    shift = ny - nx
    band = np.stack([np.maximum(np.minimum(shift, 0) - w, 1 - nx),
                     np.minimum(np.maximum(shift, 0) + w, ny - 1)], 1)
    values, weights = numba_kernels.softdtw_forward(D, nx, ny, 0.3, band=band)
    E = numba_kernels.softdtw_backward(weights, nx, ny, n, m, band=band)
    for b in range(2):
        mask = sakoe_chiba_reference(nx[b], ny[b], w)
        value, E_ref = banded_softdtw_reference(D[b, : nx[b], : ny[b]], 0.3, mask)
        assert values[b] == pytest.approx(value, rel=1e-13, abs=1e-13)
        np.testing.assert_allclose(E[b, : nx[b], : ny[b]], E_ref, rtol=1e-11, atol=1e-14)
        assert (E[b, nx[b] :] == 0).all() and (E[b, :, ny[b] :] == 0).all()
        # the band's cells only are computed and saved
        assert weights.shape[-1] == max(sakoe_chiba_reference(a, c, w).sum() for a, c in zip(nx, ny)) + 1


def test_reference_band_is_tslearns_mask():
    tslearn_metrics = pytest.importorskip("tslearn.metrics")
    for n, m, w in [(5, 5, 1), (4, 9, 2), (9, 4, 0), (6, 8, 3)]:
        mask = np.asarray(tslearn_metrics.sakoe_chiba_mask(n, m, radius=w))
        mask = mask if mask.dtype == bool else np.isfinite(mask)  # boolean in recent tslearn, inf/0 in older
        np.testing.assert_array_equal(sakoe_chiba_reference(n, m, w), mask)


def test_reference_with_full_mask_is_the_plain_reference():
    D = np.random.default_rng(0).random((6, 9))
    value, E = banded_softdtw_reference(D, 0.2, np.ones((6, 9), bool))
    value_ref, E_ref = softdtw_reference(D, 0.2)
    assert value == pytest.approx(value_ref, rel=1e-13)
    np.testing.assert_allclose(E, E_ref, rtol=1e-11, atol=1e-15)


# --------------------------------------------------------------------------
# the public functions


@pytest.mark.parametrize("cost", ["sqeuclidean", "euclidean", "l1", "cosine"])
@pytest.mark.parametrize("bandwidth", [0, 2, 0.25, 1.0])
def test_values_and_gradients_match_reference(cost, bandwidth):
    gen = torch.Generator().manual_seed(len(cost) * 10 + int(bandwidth * 8))
    x = torch.randn(3, 11, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(3, 8, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    lengths_x, lengths_y = [11, 6, 5], [8, 8, 5]
    values = soft_dtw(x, y, 0.3, lengths_x, lengths_y, cost=cost, bandwidth=bandwidth)
    values.sum().backward()
    for b, (n, m) in enumerate(zip(lengths_x, lengths_y)):
        w = _radius(bandwidth, n, m)
        value, grad_x, grad_y = _reference_value_and_grads(x[b, :n], y[b, :m], 0.3, w, cost)
        assert values[b].item() == pytest.approx(value, rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(x.grad[b, :n], grad_x, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(y.grad[b, :m], grad_y, rtol=1e-8, atol=1e-10)
        assert (x.grad[b, n:] == 0).all() and (y.grad[b, m:] == 0).all()


@pytest.mark.parametrize("bandwidth", [1, 0.3])
def test_divergence_uses_the_pairs_band_in_its_three_terms(bandwidth):
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(2, 10, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 7, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    lengths_x, lengths_y = [10, 4], [7, 7]
    values = soft_dtw(x, y, 0.5, lengths_x, lengths_y, normalize=True, bandwidth=bandwidth)
    values.sum().backward()
    for b, (n, m) in enumerate(zip(lengths_x, lengths_y)):
        w = _radius(bandwidth, n, m)  # of the pair (x, y), for all three terms
        xb, yb = x[b, :n].detach(), y[b, :m].detach()
        xy, gx_xy, gy_xy = _reference_value_and_grads(xb, yb, 0.5, w, "sqeuclidean")
        xx, gx_a, gx_b = _reference_value_and_grads(xb, xb, 0.5, w, "sqeuclidean")
        yy, gy_a, gy_b = _reference_value_and_grads(yb, yb, 0.5, w, "sqeuclidean")
        assert values[b].item() == pytest.approx(xy - (xx + yy) / 2, rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(x.grad[b, :n], gx_xy - (gx_a + gx_b) / 2, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(y.grad[b, :m], gy_xy - (gy_a + gy_b) / 2, rtol=1e-8, atol=1e-10)


def test_a_band_wider_than_the_table_is_the_full_dp_exactly():
    gen = torch.Generator().manual_seed(12)
    x, y = torch.randn(2, 9, 3, generator=gen), torch.randn(2, 13, 3, generator=gen)
    lengths = dict(x_lengths=[9, 5], y_lengths=[13, 12])
    results = []
    for bandwidth in (None, 13, 1.0):
        xg, yg = x.clone().requires_grad_(), y.clone().requires_grad_()
        values = soft_dtw(xg, yg, 0.1, **lengths, bandwidth=bandwidth)
        values.sum().backward()
        results.append((values, xg.grad, yg.grad, soft_alignment(x, y, 0.1, **lengths, bandwidth=bandwidth)))
    for banded in results[1:]:
        for full, band in zip(results[0], banded):
            assert torch.equal(full, band)


def test_bandwidth_zero_is_the_diagonal():
    # one path: its value is the sum of the diagonal costs, for any gamma,
    # and its expected alignment the identity
    gen = torch.Generator().manual_seed(13)
    x = torch.randn(2, 6, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(2, 6, 3, generator=gen, dtype=torch.float64)
    diagonal = ((x - y) ** 2).sum(-1).sum(-1)
    for gamma in (0.01, 1.0, 10.0):
        torch.testing.assert_close(soft_dtw(x, y, gamma, bandwidth=0), diagonal, rtol=1e-14, atol=0)
        E = soft_alignment(x, y, gamma, bandwidth=0)
        assert torch.equal(E, torch.eye(6, dtype=torch.float64).expand(2, 6, 6))
    D = torch.rand(1, 5, 5, dtype=torch.float64)
    assert soft_dtw_from_cost(D, 1.0, bandwidth=0).item() == pytest.approx(D[0].diagonal().sum().item())


def test_fraction_is_of_the_longer_sequence_rounded_up():
    # 0.1 * 30 is 3 frames (not 4, as its float64 product would round up)
    D = torch.rand(1, 30, 30, dtype=torch.float64, generator=torch.Generator().manual_seed(14))
    for fraction, frames in [(0.1, 3), (0.11, 4), (0.5, 15)]:
        torch.testing.assert_close(
            soft_dtw_from_cost(D, 0.2, bandwidth=fraction), soft_dtw_from_cost(D, 0.2, bandwidth=frames)
        )


def test_gradcheck_in_float64():
    gen = torch.Generator().manual_seed(15)
    x = torch.randn(2, 6, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 4, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    lengths = ([6, 3], [4, 4])
    for bandwidth in (0, 1, 0.5):
        for cost in ("sqeuclidean", "l1"):
            torch.autograd.gradcheck(
                lambda a, b: soft_dtw(a, b, 0.7, *lengths, cost=cost, bandwidth=bandwidth), (x, y)
            )
    D = torch.rand(2, 5, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda c: soft_dtw_from_cost(c, 0.4, [5, 3], [7, 6], bandwidth=1), (D,))


def test_module_takes_the_bandwidth():
    gen = torch.Generator().manual_seed(16)
    x, y = torch.randn(2, 7, 3, generator=gen), torch.randn(2, 9, 3, generator=gen)
    module = SoftDTW(0.2, normalize=True, bandwidth=0.2)
    assert torch.equal(module(x, y), soft_dtw(x, y, 0.2, normalize=True, bandwidth=0.2))
    assert "bandwidth=0.2" in repr(module)


@pytest.mark.parametrize("bandwidth", [-1, 1.5, 0.0, -0.5, True, "3", float("nan"), 2.0, [1]])
def test_bad_bandwidths_raise_clearly(bandwidth):
    x = torch.randn(1, 4, 2)
    for call in (
        lambda: soft_dtw(x, x, bandwidth=bandwidth),
        lambda: soft_dtw_from_cost(torch.rand(1, 4, 4), bandwidth=bandwidth),
        lambda: soft_alignment(x, x, bandwidth=bandwidth),
        lambda: SoftDTW(bandwidth=bandwidth),
    ):
        with pytest.raises((ValueError, TypeError), match="'bandwidth' parameter"):
            call()


# --------------------------------------------------------------------------
# the pure-torch fallback and the Triton kernel


def test_torch_fallback_agrees_with_numba(monkeypatch):
    gen = torch.Generator().manual_seed(17)
    D = torch.rand(3, 12, 9, generator=gen, dtype=torch.float64)
    x, y = torch.randn(3, 12, 3, generator=gen), torch.randn(3, 9, 3, generator=gen)
    lengths = ([12, 5, 7], [9, 9, 2])
    results = []
    for force in (False, True):
        monkeypatch.setattr(dispatch_module, "_FORCE_TORCH_KERNEL", force)
        cost = D.clone().requires_grad_()
        values = soft_dtw_from_cost(cost, 0.1, *lengths, bandwidth=1)
        values.sum().backward()
        results.append((values, cost.grad, soft_alignment(x, y, 0.1, *lengths, bandwidth=0.3)))
    for numba_result, torch_result in zip(*results):
        assert torch.isfinite(torch_result).all()
        torch.testing.assert_close(torch_result, numba_result, rtol=1e-10, atol=1e-13)


_TRITON_SCRIPT = """
import json, sys
import torch
from sklav.alignment._softdtw_triton import softdtw_forward_cuda, softdtw_backward_cuda
case = json.loads(sys.argv[1])
D = torch.tensor(case["D"], dtype=torch.float64)
nx, ny, band = (torch.tensor(case[k], dtype=torch.int64) for k in ("nx", "ny", "band"))
values, weights = softdtw_forward_cuda(D, nx, ny, 0.3, band=band, block_size=4)
E = softdtw_backward_cuda(weights, nx, ny, block_size=4)
print(json.dumps({"values": values.tolist(), "E": E.tolist(), "weights": weights.tolist()}))
"""


def test_triton_kernel_in_the_interpreter_matches_banded_reference():
    pytest.importorskip("triton")
    rng = np.random.default_rng(18)
    D = rng.random((2, 9, 6))
    nx, ny, w = np.array([9, 4]), np.array([6, 6]), 1
    shift = ny - nx
    band = np.stack([np.maximum(np.minimum(shift, 0) - w, 1 - nx),
                     np.minimum(np.maximum(shift, 0) + w, ny - 1)], 1)
    case = {"D": D.tolist(), "nx": nx.tolist(), "ny": ny.tolist(), "band": band.tolist()}
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, TRITON_INTERPRET="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", _TRITON_SCRIPT, json.dumps(case)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = {k: np.array(v) for k, v in json.loads(proc.stdout.splitlines()[-1]).items()}
    assert np.isfinite(out["weights"]).all()
    for b in range(2):
        mask = sakoe_chiba_reference(nx[b], ny[b], w)
        value, E_ref = banded_softdtw_reference(D[b, : nx[b], : ny[b]], 0.3, mask)
        assert out["values"][b] == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(out["E"][b, : nx[b], : ny[b]], E_ref, rtol=1e-10, atol=1e-14)


# --------------------------------------------------------------------------
# memory: the saved weights


def test_float32_inputs_save_float32_weights_float64_inputs_float64():
    # the state a forward keeps for the backward hangs on the autograd node
    gen = torch.Generator().manual_seed(19)
    for dtype, weights_dtype in ((torch.float32, np.float32), (torch.float64, np.float64)):
        x = torch.randn(1, 5, 2, generator=gen, dtype=dtype, requires_grad=True)
        values = soft_dtw(x, x.detach().flip(1), 0.1)
        assert values.grad_fn.state.weights.dtype == weights_dtype
        D = torch.rand(1, 5, 5, generator=gen, dtype=dtype, requires_grad=True)
        values = soft_dtw_from_cost(D, 0.1, bandwidth=1)
        assert values.grad_fn.weights.weights.dtype == weights_dtype
        assert values.grad_fn.weights.weights.shape[-1] == 5 * 3 - 2 + 1  # the band's cells + 1


def test_float32_weights_keep_float32_gradients_exact():
    # LAV's size: the float32 weights cost nothing beyond the float32 inputs'
    # own rounding (measured: ~1e-7 relative, as with float64 weights)
    gen = torch.Generator().manual_seed(20)
    x = torch.randn(2, 96, 32, generator=gen) / 32**0.5
    y = torch.randn(2, 80, 32, generator=gen) / 32**0.5
    grads = []
    for inputs in ((x, y), (x.double(), y.double())):
        a, b = (t.clone().requires_grad_() for t in inputs)
        soft_dtw(a, b, 0.1, bandwidth=0.5).sum().backward()
        grads.append((a.grad.double(), b.grad.double()))
    for g32, g64 in zip(*grads):
        assert _relative_error(g32, g64.numpy()) <= 1e-6
