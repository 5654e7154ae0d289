"""The LAV networks: per-frame trunks, the temporal context head, the encoder.

A frame encoder maps every frame of a video, with ``k`` context frames before
it, to an L2-normalised embedding:

1. a *preprocessor* turns raw frames into network input (RGB uint8 to
   resized, ImageNet-normalised images; poses centred and scaled per frame;
   features standardised);
2. a *trunk* embeds each distinct frame once: ResNet-50 cut at conv4c (or
   conv5c) for images, a small MLP for poses and features;
3. the :class:`ContextHead` stacks the ``k`` context frames' trunk features
   in time, applies two convolutions (3D on feature maps, 1D on vectors),
   global max pooling, two fully connected layers and a linear projection to
   ``embedding_dim``, then L2-normalises.

Context windows are gathered *after* the trunk, so a frame shared by several
windows (or several sampled frames) goes through the trunk once.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..utils.weights import load_torchvision_weights
from ._heads import ContextHead, TemporalConv1d  # noqa: F401  (re-exported)
from ._preprocessors import (  # noqa: F401  (re-exported)
    IMAGENET_MEAN, IMAGENET_STD, FeaturePreprocessor, ImagePreprocessor, PosePreprocessor)

# ResNet-50 stages, torchvision naming: conv4c is the third bottleneck of
# layer3 (1024 channels, stride 16), conv5c the last of layer4 (2048, stride 32).
RESNET_LAYERS = {"conv4c": ("layer3", 3, 1024), "conv5c": ("layer4", 3, 2048)}


# --------------------------------------------------------------------------
# trunks: network input -> per-frame features


def resnet50_weights(weights):
    """The torchvision ``ResNet50_Weights`` member that ``weights`` names.

    Parameters
    ----------
    weights : None, str or ResNet50_Weights
        None (random initialisation), ``'DEFAULT'``, a member name such as
        ``'IMAGENET1K_V2'``, a qualified name such as
        ``'ResNet50_Weights.IMAGENET1K_V2'``, or a member.

    Returns
    -------
    weights : ResNet50_Weights or None

    Examples
    --------
    >>> from sklav.encoders.networks import resnet50_weights
    >>> resnet50_weights("ResNet50_Weights.IMAGENET1K_V1")
    ResNet50_Weights.IMAGENET1K_V1
    >>> resnet50_weights("IMAGENET")
    Traceback (most recent call last):
    ...
    ValueError: weights='IMAGENET' names no ResNet-50 weights; use None (random initialisation), 'DEFAULT', 'IMAGENET1K_V1', 'IMAGENET1K_V2', or 'ResNet50_Weights.<name>'.
    """
    from torchvision.models import ResNet50_Weights

    if weights is None or isinstance(weights, ResNet50_Weights):
        return weights
    if isinstance(weights, str):
        name = weights.removeprefix("ResNet50_Weights.")
        if name in ResNet50_Weights.__members__:
            return ResNet50_Weights[name]
        names = ["DEFAULT", *sorted(n for n in ResNet50_Weights.__members__ if n != "DEFAULT")]
        valid = ", ".join(repr(n) for n in names)  # an order that does not depend on torchvision's
        raise ValueError(
            f"weights={weights!r} names no ResNet-50 weights; use None (random "
            f"initialisation), {valid}, or 'ResNet50_Weights.<name>'."
        )
    raise TypeError(f"weights must be None, a str or a ResNet50_Weights member, got {weights!r}.")


def _resnet50(weights):
    """torchvision's ResNet-50; a failed download names the cache file to fill."""
    from torchvision.models import resnet50

    return load_torchvision_weights(
        lambda w: resnet50(weights=w), weights, what="ResNet-50 weights",
        offline_hint="pass weights=None (random initialisation, e.g. LAVEncoder(weights=None))")


def build_resnet_trunk(weights=None, layer="conv4c"):
    """ResNet-50 from torchvision, cut after ``layer``.

    Parameters
    ----------
    weights : None, str or ResNet50_Weights
        None for random initialisation (nothing downloaded); see
        :func:`resnet50_weights` for the names. Pretrained weights are read
        from torchvision's cache (``torch.hub.get_dir()/checkpoints``), or
        downloaded into it.
    layer : {'conv4c', 'conv5c'}

    Returns
    -------
    trunk : nn.Sequential
        Maps ``(N, 3, S, S)`` images to ``(N, C, S/16, S/16)`` (conv4c,
        C = 1024) or ``(N, 2048, S/32, S/32)`` (conv5c).
    channels : int

    Raises
    ------
    RuntimeError
        When the weights are neither cached nor downloadable; the message
        names the cache file to fill.

    Examples
    --------
    >>> import torch
    >>> from sklav.encoders.networks import build_resnet_trunk
    >>> trunk, channels = build_resnet_trunk(weights=None, layer="conv4c")
    >>> with torch.no_grad():
    ...     trunk.eval()(torch.zeros(1, 3, 64, 64)).shape
    torch.Size([1, 1024, 4, 4])
    """
    if layer not in RESNET_LAYERS:
        raise ValueError(f"layer must be 'conv4c' or 'conv5c', got {layer!r}.")
    net = _resnet50(resnet50_weights(weights))
    stage, blocks, channels = RESNET_LAYERS[layer]
    modules = [net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2]
    if stage == "layer3":
        modules.append(net.layer3[:blocks])
    else:
        modules += [net.layer3, net.layer4[:blocks]]
    return nn.Sequential(*modules), channels


def build_mlp_trunk(in_features, hidden_dim=256):
    """Per-frame MLP for poses and features: two ReLU layers.

    Examples
    --------
    >>> import torch
    >>> from sklav.encoders.networks import build_mlp_trunk
    >>> build_mlp_trunk(in_features=26, hidden_dim=64)(torch.zeros(5, 26)).shape
    torch.Size([5, 64])
    """
    return nn.Sequential(
        nn.Linear(in_features, hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, hidden_dim),
        nn.ReLU(),
    )


@dataclass(frozen=True)
class TrunkSpec:
    """A named trunk: its builder, the frames it takes, its default freezing.

    ``build(in_features, hidden_dim, weights, layer)`` returns the module;
    ``in_features`` is the width of one preprocessed frame (for vectors).
    ``hidden_dim`` and ``num_context`` are :class:`~sklav.LAVEncoder`'s
    defaults for the frames the trunk takes.

    Examples
    --------
    >>> from sklav.encoders.networks import TRUNKS
    >>> spec = TRUNKS["mlp"]
    >>> spec.frame_kinds, spec.hidden_dim, spec.num_context
    (('poses', 'features'), 256, 3)
    >>> spec.build(in_features=26, hidden_dim=32, weights=None, layer=None)[0]
    Linear(in_features=26, out_features=32, bias=True)
    """

    build: Callable
    frame_kinds: tuple
    frozen_by_default: bool
    hidden_dim: int
    num_context: int


#: The named trunks, by ``LAVEncoder(backbone=...)`` name. A new backbone is
#: one entry here.
TRUNKS = {
    "resnet50": TrunkSpec(
        build=lambda in_features, hidden_dim, weights, layer: build_resnet_trunk(weights, layer)[0],
        frame_kinds=("images",),
        frozen_by_default=False,  # fine-tuned, as the paper's code; see benchmarks/bench_rgb_rendered.py
        hidden_dim=512,
        num_context=2,  # the paper's k
    ),
    "mlp": TrunkSpec(
        build=lambda in_features, hidden_dim, weights, layer: build_mlp_trunk(in_features, hidden_dim),
        frame_kinds=("poses", "features"),
        frozen_by_default=False,
        hidden_dim=256,
        num_context=3,  # chosen on the dev val split (benchmarks/tune_loss.py)
    ),
}


def default_trunk(frame_kind):
    """The first registered trunk that takes ``frame_kind`` frames.

    Examples
    --------
    >>> from sklav.encoders.networks import default_trunk
    >>> default_trunk("images"), default_trunk("poses"), default_trunk("features")
    ('resnet50', 'mlp', 'mlp')
    """
    return next(name for name, spec in TRUNKS.items() if frame_kind in spec.frame_kinds)


# --------------------------------------------------------------------------
# the full encoder


class FrameEncoder(nn.Module):
    """Preprocessor, trunk and context head: frames -> per-frame embeddings.

    ``forward`` takes the distinct frames of a batch of videos and, for each
    embedded frame, the indices of its context frames among them.

    Parameters
    ----------
    preprocessor, trunk : nn.Module
    head : ContextHead
    freeze_trunk : bool, default=False
        Run the trunk in eval mode without gradients.

    Examples
    --------
    Two videos of 4 distinct pose frames (13 joints, x and y), each embedding
    3 frames from 2 context frames:

    >>> import torch
    >>> from sklav.encoders.networks import (
    ...     ContextHead, FrameEncoder, PosePreprocessor, build_mlp_trunk)
    >>> encoder = FrameEncoder(PosePreprocessor(), build_mlp_trunk(26, 32),
    ...                        ContextHead(32, embedding_dim=8, hidden_dim=16, spatial=False))
    >>> frames = torch.randn(2, 4, 13, 2)
    >>> context_index = torch.tensor([[[0, 1], [1, 2], [2, 3]]] * 2)
    >>> embeddings = encoder.eval()(frames, context_index)
    >>> embeddings.shape
    torch.Size([2, 3, 8])
    >>> torch.allclose(embeddings.norm(dim=-1), torch.ones(2, 3))  # L2-normalised
    True
    """

    def __init__(self, preprocessor, trunk, head, freeze_trunk=False):
        super().__init__()
        self.preprocessor = preprocessor
        self.trunk = trunk
        self.head = head
        self.freeze_trunk = freeze_trunk
        self.use_cached_trunk = False  # set while training on cached trunk features
        if freeze_trunk:
            self.trunk.requires_grad_(False)

    def train(self, mode=True):
        super().train(mode)
        if self.freeze_trunk:
            self.trunk.eval()
        return self

    def trunk_features(self, frames):
        """Trunk features of flat frames ``(N, *frame_shape)``."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_trunk):
            return self.trunk(self.preprocessor(frames))

    def embed_context(self, features, context_index):
        """Embeddings from per-frame trunk features.

        Parameters
        ----------
        features : torch.Tensor of shape ``(V, F, *feature_shape)``
            Trunk features of the distinct frames of ``V`` videos.
        context_index : torch.LongTensor of shape (V, P, k)
            For each of ``P`` embedded frames, its ``k`` context frames (rows
            of ``features[v]``), oldest first.

        Returns
        -------
        embeddings : torch.Tensor of shape (V, P, embedding_dim)
        """
        V, P, k = context_index.shape
        flat = features.reshape(V * features.shape[1], *features.shape[2:])
        offsets = (torch.arange(V, device=features.device) * features.shape[1]).view(V, 1, 1)
        context = flat[(context_index + offsets).reshape(-1)]
        context = context.reshape(V * P, k, *features.shape[2:])
        return self.head(context).reshape(V, P, -1)

    def forward(self, frames, context_index, frame_mask=None, **unused):
        """Embed the frames of a padded batch of videos.

        Parameters
        ----------
        frames : torch.Tensor of shape ``(V, F, *frame_shape)``
            Distinct frames of ``V`` videos, padded to ``F``.
        context_index : torch.LongTensor of shape (V, P, k)
        frame_mask : torch.BoolTensor of shape (V, F), optional
            True for real frames; padding skips the trunk.
        **unused
            Other batch entries, ignored.

        Returns
        -------
        embeddings : torch.Tensor of shape (V, P, embedding_dim)

        Notes
        -----
        While ``use_cached_trunk`` is set, ``frames`` already holds trunk
        features (a frozen trunk's, computed once per video).
        """
        if self.use_cached_trunk:
            return self.embed_context(frames.float(), context_index)
        V, F_ = frames.shape[:2]
        if frame_mask is None:
            frame_mask = torch.ones(V, F_, dtype=torch.bool, device=frames.device)
        real = self.trunk_features(frames[frame_mask])
        features = real.new_zeros(V, F_, *real.shape[1:])
        features[frame_mask] = real
        return self.embed_context(features, context_index)
