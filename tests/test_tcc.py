"""Tests of the temporal cycle-consistency loss."""

import math

import numpy as np
import pytest
import torch

from sklav.losses import tcc_loss


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def reference_direction(u, v, t, temperature, similarity, variance_lambda, loss_type, scale_by_dim):
    """Mean over the frames of u of the U -> V -> U loss, frame by frame in numpy."""
    d = u.shape[1]

    def softmax_scores(a, frames):
        if similarity == "l2":
            scores = np.array([-np.sum((a - f) ** 2) for f in frames])
        else:
            scores = np.array([a @ f for f in frames])
        scores = scores / ((d if scale_by_dim else 1) * temperature)
        e = np.exp(scores - scores.max())
        return e / e.sum()

    losses = []
    for i in range(len(u)):
        nearest = softmax_scores(u[i], v) @ v
        beta = softmax_scores(nearest, u)
        mu = beta @ t
        loss = (t[i] - mu) ** 2
        if loss_type == "regression_mse_var":
            variance = beta @ (t - mu) ** 2
            loss = loss / variance + variance_lambda * np.log(variance)
        losses.append(loss)
    return np.mean(losses)


def reference_tcc(x, y, temperature=0.1, variance_lambda=0.001, similarity="l2",
                  loss_type="regression_mse_var", scale_by_dim=False):
    """Loss of unpadded pairs with normalised default timestamps."""
    total = 0.0
    for u, v in zip(x, y):
        t_u = np.arange(len(u)) / len(u)
        t_v = np.arange(len(v)) / len(v)
        args = (temperature, similarity, variance_lambda, loss_type, scale_by_dim)
        forward = reference_direction(u, v, t_u, *args)
        backward = reference_direction(v, u, t_v, *args)
        total += 0.5 * (forward + backward)
    return total / len(x)


# --------------------------------------------------------------------------
# values


def test_two_frame_closed_form():
    # x = y = frames at 0 and 1 (d = 1), temperature 1: the soft neighbour of
    # frame 0 is s = sigmoid(-1), it points back to frame 1 with weight
    # b = sigmoid(2 s - 1); with timestamps (0, 1/2) the error is b / 2.
    x = torch.tensor([[[0.0], [1.0]]], dtype=torch.float64)
    s = sigmoid(-1.0)
    b = sigmoid(2 * s - 1)
    mse = tcc_loss(x, x, temperature=1.0, loss_type="regression_mse")
    assert mse.item() == pytest.approx((0.5 * b) ** 2, rel=1e-12)
    lam = 0.3
    var = tcc_loss(x, x, temperature=1.0, variance_lambda=lam)
    # variance = b (1 - b) / 4, so the variance-aware loss is b / (1 - b) + lam log(variance).
    assert var.item() == pytest.approx(b / (1 - b) + lam * math.log(b * (1 - b) / 4), rel=1e-12)


@pytest.mark.parametrize("scale_by_dim", [False, True])
@pytest.mark.parametrize("similarity", ["l2", "cosine"])
@pytest.mark.parametrize("loss_type", ["regression_mse", "regression_mse_var"])
def test_matches_frame_by_frame_reference(similarity, loss_type, scale_by_dim):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 4))
    y = rng.normal(size=(3, 8, 4))
    expected = reference_tcc(x, y, temperature=0.5, variance_lambda=0.1,
                             similarity=similarity, loss_type=loss_type, scale_by_dim=scale_by_dim)
    loss = tcc_loss(torch.from_numpy(x), torch.from_numpy(y), temperature=0.5,
                    variance_lambda=0.1, similarity=similarity, loss_type=loss_type,
                    scale_by_dim=scale_by_dim)
    assert loss.dtype == torch.float64 and loss.shape == ()
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_identical_separated_embeddings_give_near_zero_loss():
    x = 3.0 * torch.eye(6).unsqueeze(0)
    assert tcc_loss(x, x, loss_type="regression_mse").item() < 1e-8


def test_collapsed_sequence_gives_the_timestamp_variance():
    x = 3.0 * torch.eye(6, dtype=torch.float64).unsqueeze(0)
    collapsed = torch.zeros_like(x)  # every frame the same: no way back
    loss = tcc_loss(x, collapsed, loss_type="regression_mse")
    # Both cycles land on the mean timestamp of {0, 1/6, ..., 5/6}.
    t = np.arange(6) / 6
    assert loss.item() == pytest.approx(np.var(t), rel=1e-10)
    assert loss.item() > 1000 * tcc_loss(x, x, loss_type="regression_mse").item()


def test_invariant_to_frame_order_of_y():
    # Cycle-consistency only asks frames to come back to themselves: the
    # order of y's frames does not matter (a limitation LAV's DTW term fixes).
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 3, generator=generator, dtype=torch.float64)
    y = torch.randn(2, 7, 3, generator=generator, dtype=torch.float64)
    permutation = torch.randperm(7, generator=generator)
    y_t = torch.arange(7, dtype=torch.float64).expand(2, 7)
    shuffled = tcc_loss(x, y[:, permutation], y_t=y_t[:, permutation], temperature=0.5)
    torch.testing.assert_close(shuffled, tcc_loss(x, y, temperature=0.5))


def test_timestamps_and_normalization():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 3, generator=generator, dtype=torch.float64)
    y = torch.randn(2, 4, 3, generator=generator, dtype=torch.float64)
    positions_x = torch.arange(5.0, dtype=torch.float64).expand(2, 5)
    positions_y = torch.arange(4.0, dtype=torch.float64).expand(2, 4)
    default = tcc_loss(x, y, loss_type="regression_mse")
    explicit = tcc_loss(x, y, x_t=positions_x, y_t=positions_y, loss_type="regression_mse")
    torch.testing.assert_close(default, explicit)
    # Without normalisation, timestamps scaled by c scale the squared error by c^2.
    raw = tcc_loss(x, y, x_t=positions_x / 5, y_t=positions_y / 4,
                   normalize_indices=False, loss_type="regression_mse")
    torch.testing.assert_close(raw, default)
    doubled = tcc_loss(x, y, x_t=2 * positions_x, y_t=2 * positions_y,
                       normalize_indices=False, loss_type="regression_mse")
    unnormalized = tcc_loss(x, y, normalize_indices=False, loss_type="regression_mse")
    torch.testing.assert_close(doubled, 4 * unnormalized)


def test_float32_input_gives_float32_loss():
    x = torch.randn(2, 5, 3)
    loss = tcc_loss(x, x.flip(1))
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


# --------------------------------------------------------------------------
# padding


@pytest.mark.parametrize("loss_type", ["regression_mse", "regression_mse_var"])
def test_padded_batch_equals_mean_of_unpadded_pairs(loss_type):
    generator = torch.Generator().manual_seed(2)
    x_lengths, y_lengths = [5, 3, 6], [4, 7, 2]
    pairs = [
        (torch.randn(lx, 3, generator=generator, dtype=torch.float64),
         torch.randn(ly, 3, generator=generator, dtype=torch.float64))
        for lx, ly in zip(x_lengths, y_lengths)
    ]
    x = torch.full((3, 6, 3), float("nan"), dtype=torch.float64)
    y = torch.full((3, 7, 3), float("nan"), dtype=torch.float64)
    for b, (u, v) in enumerate(pairs):
        x[b, : len(u)], y[b, : len(v)] = u, v
    x.requires_grad_(True)
    y.requires_grad_(True)
    padded = tcc_loss(x, y, x_lengths=x_lengths, y_lengths=y_lengths,
                      temperature=0.5, loss_type=loss_type)
    separate = torch.stack([
        tcc_loss(u[None], v[None], temperature=0.5, loss_type=loss_type) for u, v in pairs
    ]).mean()
    torch.testing.assert_close(padded, separate)
    padded.backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all()
    for b, (lx, ly) in enumerate(zip(x_lengths, y_lengths)):
        assert torch.all(x.grad[b, lx:] == 0) and torch.all(y.grad[b, ly:] == 0)


def test_padded_timestamps_are_ignored():
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(1, 6, 2, generator=generator, dtype=torch.float64)
    y = torch.randn(1, 5, 2, generator=generator, dtype=torch.float64)
    x_t = torch.arange(6, dtype=torch.float64)[None].clone()
    reference = tcc_loss(x, y, x_t=x_t, x_lengths=[4])
    x_t[0, 4:] = float("nan")
    torch.testing.assert_close(tcc_loss(x, y, x_t=x_t, x_lengths=[4]), reference)


# --------------------------------------------------------------------------
# gradients


@pytest.mark.parametrize("similarity", ["l2", "cosine"])
@pytest.mark.parametrize("loss_type", ["regression_mse", "regression_mse_var"])
def test_gradcheck(similarity, loss_type):
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(2, 4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 5, 3, generator=generator, dtype=torch.float64, requires_grad=True)

    def loss(x, y):
        return tcc_loss(x, y, x_lengths=[4, 3], y_lengths=[2, 5], temperature=0.7,
                        variance_lambda=0.05, similarity=similarity, loss_type=loss_type)

    assert torch.autograd.gradcheck(loss, (x, y))


def test_one_hot_cycle_has_finite_variance_loss():
    # A perfectly sharp cycle has zero variance; the loss stays finite.
    x = 100.0 * torch.eye(4).unsqueeze(0)
    x.requires_grad_(True)
    loss = tcc_loss(x, x.detach().clone(), temperature=0.01)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()


# --------------------------------------------------------------------------
# errors


def _xy():
    return torch.zeros(2, 4, 3), torch.zeros(2, 5, 3)


@pytest.mark.parametrize(
    "change, error, match",
    [
        (dict(x=np.zeros((2, 4, 3))), TypeError, "x must be a torch.Tensor"),
        (dict(y=torch.zeros(2, 5, 3, dtype=torch.int64)), TypeError, "y must be a floating-point"),
        (dict(x=torch.zeros(4, 3)), ValueError, "x must have 3 dimensions"),
        (dict(y=torch.zeros(3, 5, 3)), ValueError, "x and y must have the same batch size, got 2 and 3"),
        (dict(y=torch.zeros(2, 5, 4)), ValueError, "x and y must have the same feature size, got 3 and 4"),
        (dict(x=torch.zeros(2, 0, 3)), ValueError, "x is empty"),
        (dict(temperature=0.0), ValueError, "'temperature' parameter of tcc_loss must be a float in the range"),
        (dict(temperature=float("inf")), ValueError, "'temperature' parameter of tcc_loss"),
        (dict(temperature="0.1"), TypeError, "'temperature' parameter of tcc_loss"),
        (dict(variance_lambda=-0.1), ValueError, "'variance_lambda' parameter of tcc_loss"),
        (dict(similarity="dot"), ValueError, "'similarity' parameter of tcc_loss"),
        (dict(loss_type="classification"), ValueError, "'loss_type' parameter of tcc_loss"),
        (dict(normalize_indices="yes"), TypeError, "'normalize_indices' parameter of tcc_loss"),
        (dict(x_lengths=[4]), ValueError, "x_lengths has 1 entries for a batch of 2"),
        (dict(y_lengths=[5, 6]), ValueError, r"y_lengths\[1\] = 6 is out of range: lengths must lie in \[1, 5\]"),
        (dict(x_lengths=[0, 4]), ValueError, r"x_lengths\[0\] = 0 is out of range: lengths must lie in \[1, 4\]"),
        (dict(x_lengths=[2.0, 4.0]), TypeError, "x_lengths must hold integers"),
        (dict(x_t=torch.zeros(2, 5)), ValueError, r"x_t must have shape \(2, 4\)"),
        (dict(y_t=torch.zeros(2, 5, dtype=torch.bool)), TypeError, "y_t must hold real numbers"),
    ],
)
def test_input_errors(change, error, match):
    x, y = _xy()
    args = dict(x=x, y=y)
    args.update(change)
    with pytest.raises(error, match=match):
        tcc_loss(**args)


def test_tcc_separates_distinct_from_collapsed_unit_embeddings():
    # On LAV's unit-norm embeddings the loss must reward frames that can be
    # told apart over a near-collapse (with the /d scaling it barely did).
    rng = np.random.default_rng(0)
    unit = lambda a: torch.nn.functional.normalize(torch.from_numpy(a), dim=-1)
    distinct = unit(rng.normal(size=(1, 20, 128)))
    collapsed = unit(rng.normal(size=(1, 1, 128)) + 0.05 * rng.normal(size=(1, 20, 128)))
    loss = lambda e, **kw: tcc_loss(e, e, loss_type="regression_mse", **kw).item()
    assert loss(distinct) < 1e-3 and loss(collapsed) > 0.05
    assert abs(loss(distinct, scale_by_dim=True) - loss(collapsed, scale_by_dim=True)) < 0.02


@pytest.mark.parametrize("similarity", ["l2", "cosine"])
@pytest.mark.parametrize("loss_type", ["regression_mse_var", "regression_mse"])
@pytest.mark.parametrize("normalize_indices, scale_by_dim", [(True, False), (False, True)])
def test_all_pairs_equals_the_mean_over_pairs(similarity, loss_type, normalize_indices, scale_by_dim):
    from sklav.losses import tcc_loss_all_pairs

    gen = torch.Generator().manual_seed(0)
    videos = torch.nn.functional.normalize(torch.randn(4, 6, 5, generator=gen, dtype=torch.float64), dim=-1)
    lengths = torch.tensor([6, 4, 5, 6])
    videos[1, 4:] = float("nan")  # padding may hold anything
    times = torch.sort(torch.rand(4, 6, generator=gen, dtype=torch.float64) * 30, dim=1).values
    settings = dict(similarity=similarity, loss_type=loss_type, normalize_indices=normalize_indices,
                    scale_by_dim=scale_by_dim, temperature=0.3)
    first, second = zip(*[(a, b) for a in range(4) for b in range(a + 1, 4)])
    first, second = list(first), list(second)

    leaf_pairs = videos.clone().requires_grad_(True)
    expected = tcc_loss(leaf_pairs[first], leaf_pairs[second], times[first], times[second],
                        lengths[first], lengths[second], **settings)
    expected.backward()
    leaf = videos.clone().requires_grad_(True)
    loss = tcc_loss_all_pairs(leaf, times, lengths, **settings)
    loss.backward()
    assert torch.isclose(loss, expected, rtol=1e-12, atol=0)
    valid = torch.arange(6) < lengths.unsqueeze(1)
    torch.testing.assert_close(leaf.grad[valid], leaf_pairs.grad[valid], rtol=1e-10, atol=1e-12)
    assert torch.all(leaf.grad[~valid] == 0)


def test_all_pairs_rejects_a_single_video():
    from sklav.losses import tcc_loss_all_pairs

    with pytest.raises(ValueError, match="at least 2 videos"):
        tcc_loss_all_pairs(torch.randn(1, 4, 3))
