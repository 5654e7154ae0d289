"""Training-time augmentation of sampled videos: RGB frames and poses.

One draw per sampled video: every frame of a video gets the same flip,
brightness and contrast (or the same mirroring, scaling and rotation), so
the video stays a coherent clip and its alignment to its partner is
unchanged. Frames are numpy arrays as the pair dataset samples them
(:class:`~sklav.encoders.data.VideoPairDataset`, its ``augment`` argument);
:func:`make_augmenter` gives :class:`~sklav.LAVEncoder` the callable for its
``augment`` parameter.

- images (uint8 ``(N, H, W, 3)``): :func:`adjust_brightness`,
  :func:`adjust_contrast`, :func:`flip_horizontal`, drawn together by
  :func:`augment_frames` (the augmentation of the official LAV and TCC code:
  brightness +-32/255, contrast in [0.5, 1.5], horizontal flip);
- poses (``(N, J, C)``, coordinates and optionally a visibility channel):
  :func:`mirror_poses`, :func:`scale_poses`, :func:`rotate_poses`, drawn
  together by :func:`augment_poses`.
"""

import warnings
from functools import partial

import numpy as np

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "flip_horizontal",
    "augment_frames",
    "mirror_poses",
    "scale_poses",
    "rotate_poses",
    "augment_poses",
    "make_augmenter",
    "PENN_ACTION_SWAP",
]

#: Left/right swap of Penn Action's 13 joints (``load_penn_action`` order:
#: head, then left/right pairs of shoulders, elbows, wrists, hips, knees, ankles).
PENN_ACTION_SWAP = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11)


# --------------------------------------------------------------------------
# RGB frames


def _to_uint8(images):
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def adjust_brightness(frames, delta):
    """Add ``delta * 255`` to every pixel of uint8 frames, clipped to 0-255.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.encoders.augment import adjust_brightness
    >>> adjust_brightness(np.array([[[[0, 100, 250]]]], np.uint8), 32 / 255)
    array([[[[ 32, 132, 255]]]], dtype=uint8)
    """
    return _to_uint8(np.asarray(frames, dtype=np.float32) + np.float32(255 * delta))


def adjust_contrast(frames, factor):
    """Scale each frame's channels about their mean by ``factor`` (uint8 in and out).

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.encoders.augment import adjust_contrast
    >>> frame = np.array([[[[100, 0, 0]], [[200, 0, 0]]]], np.uint8)  # (1, 2, 1, 3)
    >>> adjust_contrast(frame, 1.5)[0, :, 0, 0]
    array([ 75, 225], dtype=uint8)
    """
    images = np.asarray(frames, dtype=np.float32)
    mean = images.mean(axis=(1, 2), keepdims=True)
    return _to_uint8((images - mean) * np.float32(factor) + mean)


def flip_horizontal(frames):
    """Mirror frames ``(N, H, W, C)`` left to right.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.encoders.augment import flip_horizontal
    >>> flip_horizontal(np.arange(3).reshape(1, 1, 3, 1))[0, 0, :, 0]
    array([2, 1, 0])
    """
    return np.asarray(frames)[:, :, ::-1]


def augment_frames(frames, rng, *, max_delta=32 / 255, contrast=(0.5, 1.5), flip=True):
    """One random flip, brightness and contrast, applied to all frames alike.

    Parameters
    ----------
    frames : ndarray of shape (N, H, W, 3), dtype uint8
        The frames of one sampled video.
    rng : numpy.random.Generator
        Draws, in this order, the flip (probability 1/2, when ``flip``), the
        brightness shift (uniform in ``[-max_delta, max_delta]``, in units of
        the 0-255 range) and the contrast factor (uniform in ``contrast``).
    max_delta : float, default=32/255
    contrast : (float, float), default=(0.5, 1.5)
    flip : bool, default=True

    Returns
    -------
    frames : ndarray of shape (N, H, W, 3), dtype uint8

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.encoders.augment import augment_frames
    >>> frames = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    >>> out = augment_frames(frames, np.random.default_rng(1))
    >>> out.shape, out.dtype
    ((4, 8, 8, 3), dtype('uint8'))
    >>> bool((augment_frames(frames, np.random.default_rng(1)) == out).all())
    True
    """
    flipped = flip and rng.random() < 0.5
    delta = rng.uniform(-max_delta, max_delta)
    factor = rng.uniform(*contrast)
    if flipped:
        frames = flip_horizontal(frames)
    return adjust_contrast(adjust_brightness(frames, delta), factor)


# --------------------------------------------------------------------------
# poses


def _split_poses(poses, visibility_channel):
    """Float coordinates ``(N, J, D)``, visibility mask ``(N, J)``, and how to rejoin them."""
    poses = np.asarray(poses)
    C = poses.shape[-1]
    if visibility_channel is None:
        return poses.astype(np.float64), np.ones(poses.shape[:-1], bool), lambda xy: xy.astype(poses.dtype)
    channel = visibility_channel % C
    keep = [c for c in range(C) if c != channel]

    def rejoin(coords):
        out = poses.copy()
        out[..., keep] = coords
        return out

    return poses[..., keep].astype(np.float64), poses[..., channel] > 0, rejoin


def _about_centre(poses, visibility_channel, transform):
    """Apply ``transform`` to the coordinates centred on the video's visible joints."""
    coords, visible, rejoin = _split_poses(poses, visibility_channel)
    centre = coords[visible].mean(0) if visible.any() else np.zeros(coords.shape[-1])
    return rejoin(transform(coords - centre) + centre)


def mirror_poses(poses, *, swap=None, visibility_channel=None):
    """Mirror poses left to right about the video's centre.

    Parameters
    ----------
    poses : ndarray of shape (N, J, C)
        Coordinates ``x, y, ...`` (and a visibility channel if
        ``visibility_channel`` is set); ``x`` is negated about the mean of
        the visible joints over the video.
    swap : sequence of int or None, default=None
        Joint permutation that exchanges left and right joints (e.g.
        :data:`PENN_ACTION_SWAP`), so that the mirrored figure is labelled as
        a pose estimator would label it; None keeps the joint order.
    visibility_channel : int or None, default=None

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.encoders.augment import mirror_poses
    >>> poses = np.array([[[0.0, 0.0], [4.0, 1.0]]])  # two joints
    >>> mirror_poses(poses)[0]
    array([[4., 0.],
           [0., 1.]])
    >>> mirror_poses(poses, swap=[1, 0])[0]
    array([[0., 1.],
           [4., 0.]])
    """
    out = _about_centre(poses, visibility_channel, lambda c: c * np.r_[-1.0, np.ones(c.shape[-1] - 1)])
    return out if swap is None else out[:, list(swap)]


def scale_poses(poses, scale_x, scale_y=None, *, visibility_channel=None):
    """Scale ``x`` and ``y`` about the video's centre (``scale_y`` defaults to ``scale_x``).

    A uniform scale is undone by the per-frame scaling of
    :class:`~sklav.encoders.networks.PosePreprocessor`; only the aspect ratio
    ``scale_x / scale_y`` reaches the encoder.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.encoders.augment import scale_poses
    >>> scale_poses(np.array([[[0.0, 0.0], [2.0, 2.0]]]), 2.0, 0.5)[0]
    array([[-1. ,  0.5],
           [ 3. ,  1.5]])
    """
    factors = np.ones(np.asarray(poses).shape[-1] - (visibility_channel is not None))
    factors[:2] = scale_x, scale_x if scale_y is None else scale_y
    return _about_centre(poses, visibility_channel, lambda c: c * factors)


def rotate_poses(poses, angle, *, visibility_channel=None):
    """Rotate the ``x, y`` plane by ``angle`` radians about the video's centre.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.encoders.augment import rotate_poses
    >>> rotate_poses(np.array([[[-1.0, 0.0], [1.0, 0.0]]]), np.pi / 2).round(6)[0] + 0.0
    array([[ 0., -1.],
           [ 0.,  1.]])
    """
    c, s = np.cos(angle), np.sin(angle)
    rotation = np.array([[c, -s], [s, c]])
    return _about_centre(poses, visibility_channel, lambda coords: _map_plane(coords, rotation))


def augment_poses(
    poses, rng, *, mirror=True, aspect=(0.9, 1.1), max_angle=np.pi / 18, swap=None, visibility_channel=None
):
    """One random mirroring, aspect change and rotation, applied to all frames alike.

    Parameters
    ----------
    poses : ndarray of shape (N, J, C)
        The frames of one sampled video.
    rng : numpy.random.Generator
        Draws, in this order, the mirroring (probability 1/2, when
        ``mirror``), the ``x`` and ``y`` scales (each uniform in ``aspect``)
        and the angle (uniform in ``[-max_angle, max_angle]``).
    mirror : bool, default=True
    aspect : (float, float), default=(0.9, 1.1)
    max_angle : float, default=pi/18
        10 degrees.
    swap : sequence of int or None, default=None
        Left/right joint permutation used when mirroring (see
        :func:`mirror_poses`).
    visibility_channel : int or None, default=None

    Returns
    -------
    poses : ndarray of shape (N, J, C), the input's dtype

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.encoders.augment import augment_poses
    >>> poses = np.random.default_rng(0).normal(size=(5, 13, 2)).astype(np.float32)
    >>> out = augment_poses(poses, np.random.default_rng(0))
    >>> out.shape, out.dtype
    ((5, 13, 2), dtype('float32'))
    """
    mirrored = mirror and rng.random() < 0.5
    scales = rng.uniform(*aspect, size=2)
    angle = rng.uniform(-max_angle, max_angle)
    c, s = np.cos(angle), np.sin(angle)
    # mirror, scale, rotate: each linear about the same centre, so one product
    plane = np.array([[c, -s], [s, c]]) @ np.diag(scales) @ np.diag([-1.0 if mirrored else 1.0, 1.0])
    out = _about_centre(poses, visibility_channel, lambda coords: _map_plane(coords, plane))
    return out[:, list(swap)] if mirrored and swap is not None else out


def _map_plane(coords, plane):
    """``coords`` ``(..., D)`` with the ``x, y`` plane mapped by the 2x2 ``plane``."""
    out = coords.copy()
    out[..., :2] = coords[..., :2] @ plane.T
    return out


# --------------------------------------------------------------------------
# the estimator's switch


def make_augmenter(augment, frame_kind, frozen, *, visibility_channel=None):
    """The callable ``f(frames, rng)`` that training applies to each sampled video, or None.

    Parameters
    ----------
    augment : 'auto', bool or callable
        True: :func:`augment_frames` for images, :func:`augment_poses` (no
        left/right swap) for poses; features have nothing to augment.
        'auto': the same, except for features and a frozen trunk (nothing).
        A callable ``f(frames, rng) -> frames`` is used as given.
    frame_kind : {'images', 'poses', 'features'}
    frozen : bool
        Whether the trunk is frozen: training then samples cached trunk
        features, which cannot be augmented, and a requested augmentation
        (True or a callable) is dropped with a warning.
    visibility_channel : int or None, default=None
        For poses.

    Returns
    -------
    augmenter : callable or None

    Examples
    --------
    >>> from sklav.encoders.augment import make_augmenter
    >>> make_augmenter("auto", "images", frozen=False).__name__
    'augment_frames'
    >>> make_augmenter("auto", "poses", frozen=False).func.__name__
    'augment_poses'
    >>> make_augmenter("auto", "features", frozen=False) is None
    True
    """
    if not callable(augment) and not isinstance(augment, str):
        augment = bool(augment)  # numpy booleans too
    if augment is False or (augment == "auto" and (frame_kind == "features" or frozen)):
        return None
    if augment is True and frame_kind == "features":
        raise ValueError("augment=True: features (T, D) have nothing to augment; use augment=False.")
    if frozen:
        warnings.warn(
            "augment has no effect with a frozen trunk: training samples its cached features, "
            "computed once from the unaugmented frames; set freeze_backbone=False to augment.",
            UserWarning,
            stacklevel=4,  # the caller of LAVEncoder.fit
        )
        return None
    if callable(augment):
        return augment
    if frame_kind == "images":
        return augment_frames
    return partial(augment_poses, visibility_channel=visibility_channel)
