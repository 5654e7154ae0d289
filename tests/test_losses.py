"""The LAV regularizers and loss against hand-computed examples."""

import numpy as np
import pytest
import torch

from sklav.alignment import soft_dtw
from sklav.losses import contrastive_idm, idm, lav_loss, sfa

# Four frames on a line at 0, 1, 1, 3: squared distances
#   D = [[0, 1, 1, 9], [1, 0, 0, 4], [1, 0, 0, 4], [9, 4, 4, 0]]
EMB = torch.tensor([[[0.0], [1.0], [1.0], [3.0]]], dtype=torch.float64)
T = torch.arange(4.0, dtype=torch.float64)  # the paper's positions i, j


def _by_hand(near, far, sigma, t=(0, 1, 2, 3)):
    """Sum over ordered pairs of a near/far rule, written out."""
    pos = [0.0, 1.0, 1.0, 3.0]
    total = 0.0
    for i in range(4):
        for j in range(4):
            d = (pos[i] - pos[j]) ** 2
            gap = abs(t[i] - t[j])
            total += far(d, gap) if gap > sigma else near(d, gap)
    return total


def test_idm_by_hand():
    # Eq. 6 as written: -sum ((i-j)^2 + 1) D_ij; pairs (i<j):
    # (0,1) 2*1, (0,2) 5*1, (0,3) 10*9, (1,2) 0, (1,3) 5*4, (2,3) 2*4
    expected = -2 * (2 + 5 + 90 + 0 + 20 + 8)
    assert idm(EMB, T).item() == pytest.approx(expected)
    assert idm(EMB, T, reduction="mean").item() == pytest.approx(expected / 12)


def test_default_timestamps_are_fractions_of_each_video():
    emb = torch.randn(2, 5, 3, dtype=torch.float64)
    lengths = torch.tensor([5, 4])
    fractions = torch.arange(5.0, dtype=torch.float64) / lengths[:, None].to(torch.float64)
    for fn in (idm, sfa, contrastive_idm):
        assert torch.allclose(fn(emb, lengths=lengths), fn(emb, fractions, lengths=lengths))


def test_idm_pushes_frames_apart():
    emb = torch.nn.functional.normalize(torch.randn(1, 6, 4, dtype=torch.float64), dim=-1)
    emb.requires_grad_(True)
    idm(emb).sum().backward()
    step = torch.nn.functional.normalize(emb.detach() - 0.01 * emb.grad, dim=-1)
    spread = lambda e: torch.cdist(e[0], e[0]).pow(2).sum()
    assert spread(step) > spread(emb.detach())


@pytest.mark.parametrize("fn", [sfa, contrastive_idm])
def test_mean_reduction_divides_by_ordered_pairs(fn):
    lengths = torch.tensor([4, 3])
    emb = torch.randn(2, 4, 3, dtype=torch.float64)
    total = fn(emb, lengths=lengths)
    assert torch.allclose(fn(emb, lengths=lengths, reduction="mean"), total / torch.tensor([12.0, 6.0], dtype=torch.float64))


def test_contrastive_idm_by_hand():
    # sigma = 1, margin = 2: near pairs (0,1), (1,2), (2,3): 1/2 + 0 + 4/2
    # far pairs (0,2): 5 * max(0, 2-1) = 5, (0,3): 10 * 0, (1,3): 5 * 0
    assert contrastive_idm(EMB, T, sigma=1.0, margin=2.0).item() == pytest.approx(2 * (0.5 + 2 + 5))
    expected = _by_hand(
        near=lambda d, g: d / (g * g + 1), far=lambda d, g: (g * g + 1) * max(0.0, 2.0 - d), sigma=1
    )
    assert contrastive_idm(EMB, T, sigma=1.0, margin=2.0).item() == pytest.approx(expected)


def test_sfa_by_hand():
    # near (0,1): 1, (1,2): 0, (2,3): 4; far (0,2): max(0, 2-1) = 1, others 0
    assert sfa(EMB, T, sigma=1.0, margin=2.0).item() == pytest.approx(2 * (1 + 0 + 4 + 1))


def test_original_frame_indices_as_timestamps():
    t = torch.tensor([[0.0, 4.0, 5.0, 12.0]])
    expected = _by_hand(
        near=lambda d, g: d / (g * g + 1),
        far=lambda d, g: (g * g + 1) * max(0.0, 2.0 - d),
        sigma=4,
        t=(0, 4, 5, 12),
    )
    assert contrastive_idm(EMB, t, sigma=4.0, margin=2.0).item() == pytest.approx(expected)
    assert contrastive_idm(EMB, t[0], sigma=4.0).item() == pytest.approx(expected)


@pytest.mark.parametrize("fn", [idm, sfa, contrastive_idm])
def test_lengths_mask_padding(fn):
    gen = torch.Generator().manual_seed(0)
    emb = torch.randn(2, 6, 3, generator=gen, dtype=torch.float64)
    padded = fn(emb, lengths=[4, 6])
    assert padded[0].item() == pytest.approx(fn(emb[:1, :4]).item())
    assert padded[1].item() == pytest.approx(fn(emb[1:]).item())


def test_lav_loss_combines_terms_per_frame():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 6, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(3, 8, 4, generator=gen, dtype=torch.float64)
    loss = lav_loss(x, y, gamma=0.2, alpha=0.7, sigma=1.5, margin=1.0)
    per_pair = (
        soft_dtw(x, y, 0.2)
        + 0.7 * (contrastive_idm(x, sigma=1.5, margin=1.0) + contrastive_idm(y, sigma=1.5, margin=1.0))
    ) / 7.0
    assert loss.item() == pytest.approx(per_pair.mean().item())
    align_only = lav_loss(x, y, gamma=0.2, regularizer=None)
    assert align_only.item() == pytest.approx((soft_dtw(x, y, 0.2) / 7.0).mean().item())
    reg_only = lav_loss(x, y, alignment=None, regularizer="idm", alpha=1.0)
    assert reg_only.item() == pytest.approx(((idm(x) + idm(y)) / 7.0).mean().item())
    assert reg_only.item() < 0  # Eq. 6 as written is a negative spread


def test_lav_loss_with_lengths_equals_unpadded():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 7, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(2, 5, 3, generator=gen, dtype=torch.float64)
    padded = lav_loss(x, y, x_lengths=[7, 4], y_lengths=[3, 5], sigma=2.0)
    separate = (lav_loss(x[:1], y[:1, :3], sigma=2.0) + lav_loss(x[1:, :4], y[1:], sigma=2.0)) / 2
    assert padded.item() == pytest.approx(separate.item())


def test_regularizers_have_gradients():
    emb = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda e: contrastive_idm(e, sigma=1.0, margin=50.0), (emb,))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"regularizer": "tcc"}, ValueError, "regularizer"),
        ({"alignment": "dtw"}, ValueError, "alignment"),
        ({"alignment": None, "regularizer": None}, ValueError, "Nothing to train"),
        ({"gamma": 0}, ValueError, "gamma"),
        ({"alpha": -1}, ValueError, "alpha"),
        ({"sigma": -1}, ValueError, "sigma"),
        ({"margin": 0}, ValueError, "margin"),
    ],
)
def test_lav_loss_bad_parameters(kwargs, error, match):
    x, y = torch.randn(2, 4, 3), torch.randn(2, 5, 3)
    with pytest.raises(error, match=match):
        lav_loss(x, y, **kwargs)


def test_regularizer_bad_timestamps():
    with pytest.raises(ValueError, match="t must have shape"):
        idm(torch.randn(2, 4, 3), t=torch.arange(5.0))
    with pytest.raises(TypeError, match="torch.Tensor"):
        idm(np.zeros((2, 4, 3)))


def _unit(*shape, seed=0):
    return torch.nn.functional.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


def test_tcn_loss_prefers_adjacent_frames_close():
    from sklav.losses import TCNLoss

    smooth = torch.nn.functional.normalize(torch.cumsum(torch.randn(1, 12, 16) * 0.1, 1) + torch.randn(1, 1, 16), dim=-1)
    # adjacent sampled frames identical, different pairs far apart: near-zero loss
    ordered = _unit(1, 6, 16).repeat_interleave(2, dim=1)
    batch = {"lengths": torch.tensor([12])}
    assert TCNLoss()(ordered, batch) < 0.01 < TCNLoss()(_unit(1, 12, 16), batch)
    assert torch.isfinite(TCNLoss()(smooth, batch))
    with pytest.raises(ValueError, match="at least 4"):
        TCNLoss()(ordered[:, :3], {"lengths": torch.tensor([3])})


def test_sal_loss_learns_order_verification():
    from sklav.losses import SALLoss

    torch.manual_seed(0)
    # embeddings that encode time: the classifier can learn to verify order
    times = torch.linspace(0, 1, 10)
    emb = torch.stack([times, 1 - times, torch.zeros(10), torch.zeros(10)], -1)[None].repeat(4, 1, 1)
    criterion = SALLoss(embedding_dim=4, n_triplets=16)
    optimizer = torch.optim.Adam(criterion.parameters(), lr=0.05)
    batch = {"lengths": torch.tensor([10, 10, 8, 6])}
    first = criterion(emb, batch).item()
    for _ in range(200):
        optimizer.zero_grad()
        loss = criterion(emb, batch)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first


def test_lav_loss_tcc_cycles_over_the_whole_batch():
    from sklav.losses import LAVLoss, tcc_loss

    emb = _unit(4, 5, 8)
    batch = {"lengths": torch.tensor([5, 5, 4, 5]), "frame_indices": torch.arange(5.0).expand(4, 5),
             "video_lengths": torch.tensor([5, 5, 5, 5])}
    tcc_only = dict(alignment=None, regularizer=None, tcc_weight=1.0, time_unit="position")
    times = torch.arange(5.0).expand(4, 5)
    lengths = batch["lengths"]
    pairs = LAVLoss(**tcc_only, tcc_cycles="pairs")(emb, batch)
    assert pairs.item() == pytest.approx(tcc_loss(emb[0::2], emb[1::2], times[0::2], times[1::2], lengths[0::2], lengths[1::2]).item())
    i, j = zip(*[(a, b) for a in range(4) for b in range(a + 1, 4)])
    i, j = list(i), list(j)
    expected = tcc_loss(emb[i], emb[j], times[i], times[j], lengths[i], lengths[j])
    assert LAVLoss(**tcc_only)(emb, batch).item() == pytest.approx(expected.item())


@pytest.mark.parametrize("unit, normalized", [("fraction", False), ("position", True), ("frame", True)])
def test_lav_loss_tcc_normalizes_timestamps_unless_they_are_fractions(unit, normalized):
    from sklav.losses import LAVLoss, tcc_loss

    emb = _unit(2, 5, 8)
    indices = torch.tensor([0.0, 3.0, 6.0, 9.0, 12.0]).expand(2, 5)
    batch = {"lengths": torch.tensor([5, 5]), "frame_indices": indices, "video_lengths": torch.tensor([15, 15])}
    times = {"fraction": indices / 15, "position": torch.arange(5.0).expand(2, 5), "frame": indices}[unit]
    settings = dict(alignment=None, regularizer=None, tcc_weight=1.0, time_unit=unit, tcc_loss_type="regression_mse")
    expected = tcc_loss(emb[:1], emb[1:], times[:1], times[1:], normalize_indices=normalized, loss_type="regression_mse")
    assert LAVLoss(**settings)(emb, batch).item() == pytest.approx(expected.item())
    other = tcc_loss(emb[:1], emb[1:], times[:1], times[1:], normalize_indices=not normalized, loss_type="regression_mse")
    assert other.item() != pytest.approx(expected.item())  # the two conventions differ here
    explicit = LAVLoss(**settings, tcc_normalize_indices=not normalized)(emb, batch)
    assert explicit.item() == pytest.approx(other.item())


@pytest.mark.parametrize("unit, expected", [("position", [0.0, 1.0, 2.0]), ("frame", [0.0, 4.0, 8.0]), ("fraction", [0.0, 0.4, 0.8])])
def test_lav_loss_time_units(unit, expected):
    from sklav.losses import LAVLoss

    batch = {"frame_indices": torch.tensor([[0.0, 4.0, 8.0]]), "video_lengths": torch.tensor([10])}
    times = LAVLoss(time_unit=unit)._timestamps(batch, "cpu")
    assert torch.allclose(times, torch.tensor([expected]))


@pytest.mark.parametrize("criterion", ["TCNLoss", "SALLoss"])
def test_baselines_train_an_encoder(criterion):
    import sklav.losses
    from sklav import LAVEncoder

    rng = np.random.default_rng(0)
    videos = [np.cumsum(rng.normal(size=(20 + i, 4)), 0).astype(np.float32) for i in range(4)]
    encoder = LAVEncoder(criterion=getattr(sklav.losses, criterion), num_frames=8, max_epochs=6, batch_size=2,
                         hidden_dim=16, embedding_dim=8, context_stride=2, lr=1e-3, random_state=0).fit(videos)
    losses = encoder.history_[:, "train_loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    if criterion == "SALLoss":  # the encoder's width reached the criterion, whose classifier trained too
        assert encoder.net_.criterion_.classifier[0].in_features == 3 * 8


def test_lav_loss_with_the_soft_dtw_divergence():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 5, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(2, 6, 3, generator=gen, dtype=torch.float64)
    loss = lav_loss(x, y, gamma=0.3, regularizer=None, normalize=True)
    expected = (soft_dtw(x, y, 0.3, normalize=True) / 5.5).mean()
    assert loss.item() == pytest.approx(expected.item())
    assert lav_loss(x, x, regularizer=None, normalize=True).item() == 0.0
