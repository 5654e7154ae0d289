"""Preprocessors: raw frames -> network input, one per kind of frame.

- :class:`ImagePreprocessor`: RGB uint8 frames to resized, ImageNet-normalised images;
- :class:`PosePreprocessor`: poses centred and scaled per frame, flattened;
- :class:`FeaturePreprocessor`: features standardised with the training frames' statistics.

All three are re-exported by :mod:`sklav.encoders.networks`.
"""

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImagePreprocessor(nn.Module):
    """uint8 RGB frames ``(N, H, W, 3)`` -> normalised ``(N, 3, S, S)`` floats.

    Frames are resized (bilinear) to ``image_size`` squared and standardised
    with ImageNet's channel means and standard deviations.

    Examples
    --------
    >>> import torch
    >>> from sklav.encoders.networks import ImagePreprocessor
    >>> frames = torch.full((2, 48, 64, 3), 255, dtype=torch.uint8)
    >>> images = ImagePreprocessor(image_size=32)(frames)
    >>> images.shape
    torch.Size([2, 3, 32, 32])
    >>> [round(v, 3) for v in images[0, :, 0, 0].tolist()]  # white: (1 - mean) / std
    [2.249, 2.429, 2.64]
    """

    def __init__(self, image_size=224):
        super().__init__()
        self.image_size = image_size
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, frames):
        images = frames.permute(0, 3, 1, 2).float() / 255.0
        if images.shape[-2:] != (self.image_size, self.image_size):
            images = F.interpolate(
                images, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False
            )
        return (images - self.mean) / self.std


class PosePreprocessor(nn.Module):
    """Poses ``(N, J, C)`` -> per-frame centred and scaled, flattened.

    Coordinates are centred on the mean of the visible joints and divided by
    their root-mean-square distance to that centre
    (:func:`sklav.utils.normalize_poses`, in float32, with the scale floored
    at 1e-6). With a visibility channel (``visibility_channel`` set),
    invisible joints are left out of the centre and scale, their coordinates
    are zeroed, and the visibility is kept as an input feature.

    Examples
    --------
    >>> import torch
    >>> from sklav.encoders.networks import PosePreprocessor
    >>> pose = torch.tensor([[[10.0, 10.0], [12.0, 10.0], [0.0, 0.0]]])
    >>> PosePreprocessor()(pose).shape  # 3 joints x (x, y), flattened
    torch.Size([1, 6])
    >>> visible = torch.tensor([[[10.0, 10.0, 1.0], [12.0, 10.0, 1.0], [0.0, 0.0, 0.0]]])
    >>> out = PosePreprocessor(visibility_channel=-1)(visible).view(3, 3)
    >>> out[:2]  # the visible joints: centred, scaled, visibility 1
    tensor([[-1.,  0.,  1.],
            [ 1.,  0.,  1.]])
    >>> bool((out[2] == 0).all())  # the invisible joint is zeroed
    True
    """

    def __init__(self, visibility_channel=None):
        super().__init__()
        self.visibility_channel = visibility_channel

    def forward(self, poses):
        from ..utils.poses import normalize_poses

        poses = poses.float()
        if self.visibility_channel is None:
            return normalize_poses(poses, min_scale=1e-6).flatten(1)
        channel = self.visibility_channel % poses.shape[-1]
        keep = [c for c in range(poses.shape[-1]) if c != channel]
        visible = poses[..., channel] > 0
        normalised = normalize_poses(poses[..., keep], visible, min_scale=1e-6)
        return torch.cat([normalised, visible[..., None].float()], dim=-1).flatten(1)


class FeaturePreprocessor(nn.Module):
    """Features ``(N, D)`` -> standardised with the training frames' mean and std;
    as in ``StandardScaler``, a constant feature is centred but not scaled.

    Examples
    --------
    >>> import torch
    >>> from sklav.encoders.networks import FeaturePreprocessor
    >>> frames = torch.tensor([[0.0, 5.0], [2.0, 5.0]])
    >>> scaler = FeaturePreprocessor(n_features=2)
    >>> scaler.set_statistics(frames)
    >>> scaler(frames)
    tensor([[-1.,  0.],
            [ 1.,  0.]])
    """

    def __init__(self, n_features):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))

    def set_statistics(self, frames):
        frames = torch.as_tensor(frames, dtype=torch.float64)
        n, eps = frames.shape[0], torch.finfo(torch.float64).eps
        mean, var = frames.mean(0), frames.var(0, unbiased=False)
        constant = var <= n * eps * var + (n * mean * eps) ** 2  # sklearn's _is_constant_feature
        scale = var.sqrt()
        scale[constant | (scale < 10 * eps)] = 1.0
        self.mean.copy_(mean)
        self.scale.copy_(scale)

    def forward(self, features):
        return (features.float() - self.mean) / self.scale
