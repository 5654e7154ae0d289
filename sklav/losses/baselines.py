"""Self-supervised baselines the LAV paper compares against, as criteria.

- :class:`TCNLoss`: single-view time-contrastive network (Sermanet et al.,
  2018): temporally adjacent sampled frames of a video are positives, the
  other frames of the same video negatives (the n-pairs form of the official
  LAV/TCC code).
- :class:`SALLoss`: Shuffle and Learn (Misra et al., 2016): a classifier on
  three frames' embeddings tells ordered triplets from shuffled ones.

Both follow :class:`~sklav.losses.LAVLoss`'s criterion protocol,
``forward(embeddings, batch)``, so ``LAVEncoder(criterion=TCNLoss)`` trains
with them; the pairing of videos is simply not used.
"""

from numbers import Integral, Real

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.param_validation import Interval, validate_params

__all__ = ["TCNLoss", "SALLoss"]


def _videos(embeddings, batch):
    """Each video's valid embedded frames ``(n_i, d)``."""
    return [e[: int(n)] for e, n in zip(embeddings, batch["lengths"])]


class TCNLoss(nn.Module):
    """Single-view TCN: n-pairs loss between adjacent sampled frames.

    For each video, sampled frames ``0, 2, 4, ...`` are anchors and frames
    ``1, 3, 5, ...`` their positives; every other positive is a negative.
    The loss is the cross-entropy of the anchors' similarities (dot products
    divided by ``temperature``) to the positives, averaged over videos.

    Parameters
    ----------
    temperature : float, default=0.1
        Divides the similarities (unit-norm embeddings have dot products in
        ``[-1, 1]``).

    Examples
    --------
    >>> import torch
    >>> from sklav.losses import TCNLoss
    >>> embeddings = torch.nn.functional.normalize(torch.randn(2, 8, 4), dim=-1)
    >>> TCNLoss()(embeddings, {"lengths": torch.tensor([8, 6])}).dim()
    0
    """

    def __init__(self, temperature=0.1):
        super().__init__()
        validate_params({"temperature": [Interval(Real, 0, None, closed="neither")]},
                        {"temperature": temperature}, type(self).__name__)
        self.temperature = temperature

    def forward(self, embeddings, batch):
        losses = []
        for frames in _videos(embeddings, batch):
            pairs = len(frames) // 2
            if pairs < 2:
                continue
            anchors, positives = frames[0 : 2 * pairs : 2], frames[1 : 2 * pairs : 2]
            logits = anchors @ positives.T / self.temperature
            losses.append(F.cross_entropy(logits, torch.arange(pairs, device=frames.device)))
        if not losses:
            raise ValueError("TCNLoss needs videos with at least 4 sampled frames.")
        return torch.stack(losses).mean()


class SALLoss(nn.Module):
    """Shuffle and Learn: order verification of frame triplets.

    From each video, ``n_triplets`` random triplets ``i < j < k`` of sampled
    frames are drawn; each gives an ordered example ``(i, j, k)`` and a
    shuffled one (``(j, i, k)`` or ``(i, k, j)``, at random). A classifier
    (one hidden ReLU layer) on the concatenated three embeddings, trained
    with this loss, tells them apart (binary cross-entropy). Draws use torch's generator, so
    they follow the estimator's ``random_state``.

    Parameters
    ----------
    embedding_dim : int, default=128
        Width of the embeddings (the classifier's input is three of them).
    n_triplets : int, default=8
        Triplets per video and step.

    Examples
    --------
    >>> import torch
    >>> from sklav.losses import SALLoss
    >>> criterion = SALLoss(embedding_dim=4)
    >>> embeddings = torch.nn.functional.normalize(torch.randn(2, 8, 4), dim=-1)
    >>> criterion(embeddings, {"lengths": torch.tensor([8, 5])}).dim()
    0
    """

    def __init__(self, embedding_dim=128, n_triplets=8):
        super().__init__()
        validate_params(
            {"embedding_dim": [Interval(Integral, 1, None, closed="left")],
             "n_triplets": [Interval(Integral, 1, None, closed="left")]},
            {"embedding_dim": embedding_dim, "n_triplets": n_triplets}, type(self).__name__,
        )
        self.n_triplets = n_triplets
        self.classifier = nn.Sequential(
            nn.Linear(3 * embedding_dim, embedding_dim), nn.ReLU(), nn.Linear(embedding_dim, 1)
        )

    def _triplets(self, n, device):
        """``(n_triplets, 3)`` sorted random frame triplets of a video of ``n`` frames."""
        draws = torch.rand(self.n_triplets, n).argsort(1)[:, :3]
        return draws.sort(1).values.to(device)

    def forward(self, embeddings, batch):
        inputs, labels = [], []
        for frames in _videos(embeddings, batch):
            if len(frames) < 3:
                continue
            ordered = self._triplets(len(frames), frames.device)
            swap_first = torch.rand(self.n_triplets) < 0.5
            shuffled = torch.where(
                swap_first[:, None].to(frames.device), ordered[:, [1, 0, 2]], ordered[:, [0, 2, 1]]
            )
            for triplets, label in ((ordered, 1.0), (shuffled, 0.0)):
                inputs.append(frames[triplets].flatten(1))
                labels.append(torch.full((self.n_triplets,), label, device=frames.device))
        if not inputs:
            raise ValueError("SALLoss needs videos with at least 3 sampled frames.")
        logits = self.classifier(torch.cat(inputs)).squeeze(1)
        return F.binary_cross_entropy_with_logits(logits, torch.cat(labels))
