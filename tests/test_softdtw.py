"""Soft-DTW against an independent float64 recursion, DTW, and its invariants."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from _reference import dtw_reference, softdtw_grad_reference, softdtw_reference, sq_euclidean64
from sklav.alignment import SoftDTW, soft_alignment, soft_dtw, soft_dtw_from_cost


def _relative_error(actual, expected):
    actual = np.asarray(actual, dtype=np.float64)
    return np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-300)


def _check_against_reference(x, y, gamma, tol):
    x = x.clone().requires_grad_()
    y = y.clone().requires_grad_()
    values = soft_dtw(x, y, gamma)
    values.sum().backward()
    assert values.dtype == x.dtype
    for b in range(x.shape[0]):
        value, grad_x, grad_y = softdtw_grad_reference(x[b].detach(), y[b].detach(), gamma)
        assert abs(values[b].item() - value) <= tol * abs(value)
        assert _relative_error(x.grad[b], grad_x) <= tol
        assert _relative_error(y.grad[b], grad_y) <= tol


@pytest.mark.parametrize("n, m", [(1, 1), (1, 6), (6, 1), (2, 3), (7, 9), (23, 17)])
@pytest.mark.parametrize("gamma", [0.01, 0.1, 1.0])
def test_value_and_gradient_match_float64_reference(n, m, gamma):
    gen = torch.Generator().manual_seed(n * 100 + m)
    x = torch.randn(2, n, 5, generator=gen)
    y = torch.randn(2, m, 5, generator=gen)
    _check_against_reference(x, y, gamma, tol=1e-5)


@pytest.mark.slow
def test_exact_on_large_unnormalised_float32_embeddings():
    # The hard case: 256 x 256 frames of 128-d N(0, 1) embeddings, so
    # costs are ~256 and cost differences / gamma are huge.
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 256, 128, generator=gen)
    y = torch.randn(4, 256, 128, generator=gen)
    _check_against_reference(x, y, gamma=0.1, tol=1e-5)


def test_from_cost_matches_reference_and_gradient_is_alignment():
    gen = torch.Generator().manual_seed(1)
    D = torch.rand(3, 8, 11, generator=gen, dtype=torch.float64, requires_grad=True)
    values = soft_dtw_from_cost(D, gamma=0.3)
    values.sum().backward()
    for b in range(3):
        value, E = softdtw_reference(D[b].detach(), 0.3)
        assert values[b].item() == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(D.grad[b], E, rtol=1e-10, atol=1e-14)


def test_float32_cost_input_keeps_dtype():
    D = torch.rand(2, 5, 6)
    values = soft_dtw_from_cost(D, gamma=0.1)
    assert values.dtype == torch.float32
    expected = [softdtw_reference(D[b], 0.1)[0] for b in range(2)]
    np.testing.assert_allclose(values, expected, rtol=1e-6)


def test_gradcheck_float64():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 4, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    y = torch.randn(2, 5, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: soft_dtw(a, b, 0.5), (x, y))
    D = torch.rand(2, 4, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda c: soft_dtw_from_cost(c, 0.2), (D,))


@pytest.mark.parametrize("x_dtype, y_dtype", [(torch.float32, torch.float64), (torch.float64, torch.float32)])
def test_mixed_dtypes_promote_as_torch_does(x_dtype, y_dtype):
    gen = torch.Generator().manual_seed(3)
    x64, y64 = torch.randn(2, 6, 3, generator=gen, dtype=torch.float64), torch.randn(2, 4, 3, generator=gen, dtype=torch.float64)
    x, y = x64.to(x_dtype).requires_grad_(), y64.to(y_dtype).requires_grad_()
    values = soft_dtw(x, y, 0.2)
    assert values.dtype == torch.promote_types(x_dtype, y_dtype) == torch.float64
    values.sum().backward()
    assert x.grad.dtype == x_dtype and y.grad.dtype == y_dtype
    for b in range(2):  # the reference, on the inputs as given (one of them rounded to float32)
        value, grad_x, grad_y = softdtw_grad_reference(x[b].detach().double(), y[b].detach().double(), 0.2)
        assert values[b].item() == pytest.approx(value, rel=1e-12)
        assert _relative_error(x.grad[b], grad_x) <= 1e-6
        assert _relative_error(y.grad[b], grad_y) <= 1e-6
    E = soft_alignment(x.detach(), y.detach(), 0.2)
    assert E.dtype == torch.float64 and torch.isfinite(E).all()


def _differentiate_twice(function, *inputs):
    value = function(*inputs).sum()
    grads = torch.autograd.grad(value, inputs, create_graph=True)  # first order: fine
    return sum((g**2).sum() for g in grads)


@pytest.mark.parametrize(
    "function, shapes",
    [
        (lambda x, y: soft_dtw(x, y, 0.3), [(2, 4, 3), (2, 5, 3)]),
        (lambda x: soft_dtw(x, torch.randn(2, 5, 3, dtype=torch.float64), 0.3), [(2, 4, 3)]),
        (lambda D: soft_dtw_from_cost(D, 0.3), [(2, 4, 5)]),
    ],
)
def test_double_backward_raises_a_clear_error(function, shapes):
    inputs = [torch.rand(shape, dtype=torch.float64, requires_grad=True) for shape in shapes]
    with pytest.raises(RuntimeError, match="soft_dtw.*double backward is not supported"):
        _differentiate_twice(function, *inputs).backward()
    with pytest.raises(RuntimeError, match="soft_dtw.*double backward is not supported"):
        # mixed with a first-order term: not silently taken for a constant either
        (_differentiate_twice(function, *inputs) + inputs[0].sum()).backward()


def test_create_graph_alone_still_gives_the_first_derivative():
    x = torch.rand(2, 4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.rand(2, 5, 3, dtype=torch.float64)
    (plain,) = torch.autograd.grad(soft_dtw(x, y).sum(), x)
    (graphed,) = torch.autograd.grad(soft_dtw(x, y).sum(), x, create_graph=True)
    torch.testing.assert_close(graphed.detach(), plain, rtol=0, atol=0)


@given(
    lengths=st.lists(
        st.tuples(st.integers(1, 9), st.integers(1, 9)), min_size=1, max_size=4
    ),
    gamma=st.floats(0.05, 2.0),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=25, deadline=None)
def test_padded_batch_equals_each_pair_alone(lengths, gamma, seed):
    gen = torch.Generator().manual_seed(seed)
    n = max(a for a, _ in lengths)
    m = max(b for _, b in lengths)
    x = torch.randn(len(lengths), n, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(len(lengths), m, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    nx, ny = zip(*lengths)
    values = soft_dtw(x, y, gamma, x_lengths=nx, y_lengths=ny)
    values.sum().backward()
    for b, (a, c) in enumerate(lengths):
        value, grad_x, grad_y = softdtw_grad_reference(x[b, :a].detach(), y[b, :c].detach(), gamma)
        assert values[b].item() == pytest.approx(value, rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(x.grad[b, :a], grad_x, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(y.grad[b, :c], grad_y, rtol=1e-8, atol=1e-10)
        assert (x.grad[b, a:] == 0).all() and (y.grad[b, c:] == 0).all()


def test_batch_order_does_not_change_results():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(5, 7, 4, generator=gen)
    y = torch.randn(5, 6, 4, generator=gen)
    lengths_x, lengths_y = torch.tensor([7, 3, 5, 1, 6]), torch.tensor([6, 6, 2, 4, 1])
    perm = torch.tensor([3, 0, 4, 2, 1])
    values = soft_dtw(x, y, 0.1, lengths_x, lengths_y)
    permuted = soft_dtw(x[perm], y[perm], 0.1, lengths_x[perm], lengths_y[perm])
    torch.testing.assert_close(permuted, values[perm], rtol=0, atol=0)


def test_small_gamma_tends_to_classic_dtw():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(9, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(12, 3, generator=gen, dtype=torch.float64)
    cost, path = dtw_reference(sq_euclidean64(x, y))
    value = soft_dtw(x[None], y[None], gamma=1e-4)[0].item()
    assert value == pytest.approx(cost, abs=1e-2)
    assert value <= cost  # the soft-min is below the min
    E = soft_alignment(x, y, gamma=1e-4).numpy()
    np.testing.assert_allclose(E, path, atol=1e-6)


def test_expected_alignment_is_a_distribution_over_monotone_paths():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(3, 10, 4, generator=gen)
    y = torch.randn(3, 13, 4, generator=gen)
    E = soft_alignment(x, y, gamma=1.0).numpy()
    assert ((E >= -1e-12) & (E <= 1 + 1e-12)).all()
    np.testing.assert_allclose(E[:, 0, 0], 1.0, rtol=1e-12)
    np.testing.assert_allclose(E[:, -1, -1], 1.0, rtol=1e-12)
    # every monotone path crosses every row and column, and has between
    # max(n, m) and n + m - 1 cells
    assert (E.sum(2) >= 1 - 1e-9).all() and (E.sum(1) >= 1 - 1e-9).all()
    assert (E.sum((1, 2)) >= 13 - 1e-9).all() and (E.sum((1, 2)) <= 22 + 1e-9).all()


def test_soft_alignment_respects_lengths_and_single_pair_form():
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(2, 6, 3, generator=gen)
    y = torch.randn(2, 5, 3, generator=gen)
    E = soft_alignment(x, y, 0.1, x_lengths=[4, 6], y_lengths=[5, 2])
    assert E.shape == (2, 6, 5)
    assert (E[0, 4:] == 0).all() and (E[1, :, 2:] == 0).all()
    torch.testing.assert_close(E[0, :4], soft_alignment(x[0, :4], y[0], 0.1))


def test_module_matches_function():
    gen = torch.Generator().manual_seed(7)
    x, y = torch.randn(2, 4, 3, generator=gen), torch.randn(2, 6, 3, generator=gen)
    module = SoftDTW(gamma=0.3)
    torch.testing.assert_close(module(x, y), soft_dtw(x, y, 0.3))
    assert "gamma=0.3" in repr(module)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x, y: soft_dtw(x.numpy(), y), TypeError, "torch.Tensor"),
        (lambda x, y: soft_dtw(x, y[:1]), ValueError, "batch size"),
        (lambda x, y: soft_dtw(x, y[..., :2]), ValueError, "feature size"),
        (lambda x, y: soft_dtw(x[0], y), ValueError, "3 dimensions"),
        (lambda x, y: soft_dtw(x, y, gamma=0.0), ValueError, "gamma"),
        (lambda x, y: soft_dtw(x, y, gamma=-1), ValueError, "gamma"),
        (lambda x, y: soft_dtw(x, y, gamma="a"), TypeError, "gamma"),
        (lambda x, y: soft_dtw(x, y, x_lengths=[4, 5]), ValueError, r"x_lengths\[1\] = 5"),
        (lambda x, y: soft_dtw(x, y, y_lengths=[0, 2]), ValueError, r"y_lengths\[0\] = 0"),
        (lambda x, y: soft_dtw(x, y, x_lengths=[1, 2, 3]), ValueError, "3 entries"),
        (lambda x, y: soft_dtw(x, y, x_lengths=[1.5, 2.0]), TypeError, "integers"),
        (lambda x, y: soft_dtw(x.long(), y), TypeError, "floating-point"),
        (lambda x, y: soft_dtw(torch.where(x > 0, float("nan"), x), y), ValueError, "NaN or inf"),
        (lambda x, y: soft_dtw(x, y.index_fill(1, torch.tensor([0]), float("inf"))), ValueError, "NaN or inf"),
        (lambda x, y: soft_dtw_from_cost(x[..., 0]), ValueError, "3 dimensions"),
        (lambda x, y: soft_alignment(x[0], y), ValueError, "2-D"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, match):
    x, y = torch.randn(2, 4, 3), torch.randn(2, 5, 3)
    with pytest.raises(error, match=match):
        call(x, y)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    gen = torch.Generator().manual_seed(8)
    x = torch.randn(3, 40, 16, generator=gen)
    y = torch.randn(3, 33, 16, generator=gen)
    xc, yc = x.cuda().requires_grad_(), y.cuda().requires_grad_()
    x.requires_grad_()
    soft_dtw(x, y, 0.1, [40, 20, 9], [33, 33, 5]).sum().backward()
    soft_dtw(xc, yc, 0.1, [40, 20, 9], [33, 33, 5]).sum().backward()
    torch.testing.assert_close(xc.grad.cpu(), x.grad, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------
# the soft-DTW divergence (normalize=True)


def _divergence_reference(x, y, gamma):
    s = lambda a, b: softdtw_reference(sq_euclidean64(a, b), gamma)[0]
    return s(x, y) - 0.5 * (s(x, x) + s(y, y))


def test_divergence_matches_the_float64_reference_with_lengths():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(3, 7, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(3, 9, 4, generator=gen, dtype=torch.float64)
    nx, ny = [7, 5, 3], [9, 4, 8]
    values = soft_dtw(x, y, 0.5, nx, ny, normalize=True)
    for b in range(3):
        expected = _divergence_reference(x[b, : nx[b]], y[b, : ny[b]], 0.5)
        assert values[b].item() == pytest.approx(expected, rel=1e-10)


def test_divergence_is_zero_on_identical_inputs_and_its_gradient_too():
    x = torch.randn(2, 6, 3, dtype=torch.float64, requires_grad=True)
    value = soft_dtw(x, x.detach().clone(), 1.0, normalize=True)
    assert torch.equal(value, torch.zeros(2, dtype=torch.float64))
    value.sum().backward()  # a minimum: the gradient with respect to x vanishes
    assert x.grad.abs().max() < 1e-10
    assert torch.autograd.gradcheck(
        lambda a, b: soft_dtw(a, b, 0.7, normalize=True),
        (torch.randn(1, 4, 2, dtype=torch.float64, requires_grad=True),
         torch.randn(1, 5, 2, dtype=torch.float64, requires_grad=True)),
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), st.floats(0.05, 5.0), st.integers(0, 2**31 - 1))
def test_divergence_is_non_negative(n, m, d, gamma, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(1, n, d, generator=gen, dtype=torch.float64)
    y = torch.randn(1, m, d, generator=gen, dtype=torch.float64)
    assert soft_dtw(x, y, gamma, normalize=True).item() >= -1e-9
    assert SoftDTW(gamma, normalize=True)(x, y).item() == soft_dtw(x, y, gamma, normalize=True).item()


# --------------------------------------------------------------------------
# other frame costs


def _cost64(x, y, cost):
    from scipy.spatial.distance import cdist

    metric = {"euclidean": "euclidean", "l1": "cityblock", "cosine": "cosine", "sqeuclidean": "sqeuclidean"}[cost]
    return cdist(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), metric=metric)


@pytest.mark.parametrize("cost", ["sqeuclidean", "euclidean", "l1", "cosine"])
def test_costs_match_the_float64_reference(cost):
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 6, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(2, 5, 3, generator=gen, dtype=torch.float64)
    values = soft_dtw(x, y, 0.3, [6, 4], [5, 5], cost=cost)
    for b, (n, m) in enumerate([(6, 5), (4, 5)]):
        expected = softdtw_reference(_cost64(x[b, :n], y[b, :m], cost), 0.3)[0]
        assert values[b].item() == pytest.approx(expected, rel=1e-10)
    assert torch.autograd.gradcheck(
        lambda a, c: soft_dtw(a, c, 0.3, cost=cost),
        (x[:1, :4].clone().requires_grad_(), y[:1, :3].clone().requires_grad_()),
    )


def test_callable_and_bad_costs():
    x, y = torch.randn(1, 4, 2, dtype=torch.float64), torch.randn(1, 5, 2, dtype=torch.float64)
    squared = lambda a, b: torch.cdist(a, b) ** 2
    assert soft_dtw(x, y, 0.5, cost=squared).item() == pytest.approx(soft_dtw(x, y, 0.5).item(), rel=1e-10)
    with pytest.raises(ValueError, match="cost must be one of"):
        soft_dtw(x, y, cost="manhattan")
    with pytest.raises(ValueError, match="must return a tensor of shape"):
        soft_dtw(x, y, cost=lambda a, b: a.sum())


def test_huge_finite_inputs_give_a_clear_error():
    x = torch.full((1, 3, 2), 1e200, dtype=torch.float64)
    with pytest.raises(ValueError, match="overflowed"):
        soft_dtw(x, torch.zeros(1, 3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="overflowed"):
        soft_dtw(torch.full((1, 3, 2), 1e30), torch.zeros(1, 3, 2))
