"""Render 2D skeletons into RGB frames: stick figures of real motion.

Penn Action's RGB frames are not always at hand, its 2D joints are; drawing
the joints as thick limbs on a varied background gives RGB videos whose
motion is real, for training and testing the image path of an encoder.
Everything is vectorised numpy (no OpenCV): each limb is a capsule whose
anti-aliased coverage is computed from every pixel centre's distance to the
limb's segment, and limbs are alpha-blended in order.
"""

import numpy as np

from ._penn_sources import PENN_ACTION_EDGES

__all__ = ["render_poses"]

# colour group of each of PENN_ACTION_EDGES: 0 head and torso, 1 left arm,
# 2 right arm, 3 left leg, 4 right leg
_PENN_GROUPS = (0, 0, 0, 1, 1, 2, 2, 0, 0, 0, 3, 3, 4, 4)

_BACKGROUNDS = ("plain", "gradient", "noise")


def _check_joints(joints):
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[-1] not in (2, 3) or not len(joints):
        raise ValueError(
            f"joints must be (T, J, 2) or (T, J, 3) with T >= 1 (x, y and optionally "
            f"visibility), got shape {joints.shape}."
        )
    xy = joints[..., :2]
    visible = np.isfinite(xy).all(-1)
    if joints.shape[-1] == 3:
        visible &= joints[..., 2] > 0
    return np.where(visible[..., None], xy, 0.0), visible


def _fit_to_frame(xy, visible, size, margin):
    """Pixel coordinates: the video's visible joints scaled to fit, centred."""
    if not visible.any():
        return xy
    points = xy[visible]
    lo, hi = points.min(0), points.max(0)
    extent = max(float((hi - lo).max()), 1e-9)
    scale = size * (1 - 2 * margin) / extent
    return (xy - (lo + hi) / 2) * scale + size / 2


def _distinct_colour(rng, reference, n_candidates=64, min_distance=120.0):
    """A random RGB colour at least ``min_distance`` from ``reference`` (else the farthest)."""
    candidates = rng.uniform(0, 255, size=(n_candidates, 3))
    distance = np.linalg.norm(candidates - reference, axis=1)
    far = np.flatnonzero(distance >= min_distance)
    return candidates[far[0] if len(far) else distance.argmax()]


def _background(kind, size, rng):
    """A ``(size, size, 3)`` float background of the given kind."""
    base = rng.uniform(0, 255, size=3)
    if kind == "plain":
        return np.broadcast_to(base, (size, size, 3)).copy()
    if kind == "gradient":
        other = rng.uniform(0, 255, size=3)
        angle = rng.uniform(0, 2 * np.pi)
        grid = np.arange(size) / max(size - 1, 1)
        ramp = np.cos(angle) * grid[None, :] + np.sin(angle) * grid[:, None]
        ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-9)
        return base + ramp[..., None] * (other - base)
    # noise: smooth blobs (coarse noise, bilinearly upsampled) around the base colour
    cells = int(rng.integers(3, 9))
    coarse = rng.normal(0, 40, size=(cells, cells, 3))
    pos = np.linspace(0, cells - 1, size)
    i0 = np.minimum(pos.astype(int), cells - 2) if cells > 1 else np.zeros(size, int)
    f = (pos - i0)[:, None]
    rows = coarse[i0] * (1 - f[..., None]) + coarse[i0 + 1] * f[..., None]  # (size, cells, 3)
    f = (pos - i0)[None, :, None]
    blobs = rows[:, i0] * (1 - f) + rows[:, i0 + 1] * f
    return np.clip(base + blobs, 0, 255)


def _limb_coverage(px, py, a, b, half_width):
    """Anti-aliased coverage ``(T, n, n)`` of a capsule from ``a`` to ``b`` (``(T, 2)``).

    ``px`` ``(1, 1, n)`` and ``py`` ``(1, n, 1)`` are the pixel centres' x and y.
    """
    ax, ay = a[:, 0, None, None], a[:, 1, None, None]
    dx, dy = b[:, 0, None, None] - ax, b[:, 1, None, None] - ay
    apx, apy = px - ax, py - ay  # (T, 1, n), (T, n, 1)
    t = np.clip((apx * dx + apy * dy) / np.maximum(dx * dx + dy * dy, 1e-12), 0, 1)
    distance = np.sqrt((apx - t * dx) ** 2 + (apy - t * dy) ** 2)
    return np.clip(half_width + 0.5 - distance, 0, 1)


def render_poses(
    joints,
    *,
    size=64,
    rng=None,
    edges=PENN_ACTION_EDGES,
    groups=None,
    head=0,
    line_width=(0.04, 0.08),
    background="random",
    margin=0.08,
    noise=4.0,
):
    """Draw a video of 2D skeletons as RGB frames.

    Each limb (edge) is a thick anti-aliased line between two joints; the
    head joint gets a disc. The style is drawn once per
    call from ``rng``: one colour per limb group (each kept well apart from
    the background's mean colour), one line width and one background (a
    plain colour, a linear gradient between two colours, or smooth colour
    noise); the frames then differ only by the pose and a little per-pixel
    noise. The video's visible joints, over all its frames, are scaled
    (aspect ratio kept) and centred to fit the frame, so the figure's
    motion in the image is preserved.

    Parameters
    ----------
    joints : array-like of shape (T, J, 2) or (T, J, 3)
        Joint image coordinates ``x, y`` (``y`` pointing down; pixels or any
        unit) per frame, optionally with a third channel of visibility
        (joints with visibility <= 0, or non-finite coordinates, are not
        drawn, nor are the limbs that touch them). Penn Action's raw joints
        are ``np.stack([x, y, visibility], -1)`` of
        :func:`~sklav.datasets.load_penn_action_annotations`.
    size : int, default=64
        Frames are ``size x size``; 64-112 px look like small video frames.
    rng : None, int or numpy.random.Generator, default=None
        Draws the style and the noise (``numpy.random.default_rng(rng)``):
        an int or a Generator makes the frames reproducible.
    edges : sequence of (int, int), default=PENN_ACTION_EDGES
        The limbs as pairs of joint indices, drawn in order; the default is
        Penn Action's 13-joint skeleton (:data:`sklav.datasets.PENN_ACTION_EDGES`).
    groups : sequence of int or None, default=None
        Colour group of each edge (edges of a group share a colour). None:
        head and torso, each arm and each leg for the Penn Action edges, one
        colour per edge otherwise.
    head : int or None, default=0
        Joint drawn as a disc (Penn Action's head), in the colour of the
        first edge that touches it; None for none.
    line_width : float or (float, float), default=(0.04, 0.08)
        Limb width as a fraction of ``size``, or the range it is drawn from.
    background : {'random', 'plain', 'gradient', 'noise'}, default='random'
        'random' draws one of the three kinds per call.
    margin : float, default=0.08
        Free border around the figure, as a fraction of ``size``.
    noise : float, default=4.0
        Standard deviation of the per-pixel, per-frame Gaussian noise (in
        0-255 units); 0 for none.

    Returns
    -------
    frames : ndarray of shape (T, size, size, 3), dtype uint8

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.datasets import render_poses
    >>> joints = np.random.default_rng(0).uniform(0, 100, size=(5, 13, 2))
    >>> frames = render_poses(joints, size=32, rng=0)
    >>> frames.shape, frames.dtype
    ((5, 32, 32, 3), dtype('uint8'))
    >>> bool((render_poses(joints, size=32, rng=0) == frames).all())  # same rng, same frames
    True
    """
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 4:
        raise ValueError(f"size must be an int >= 4, got {size!r}.")
    if background != "random" and background not in _BACKGROUNDS:
        raise ValueError(f"background must be 'random' or one of {list(_BACKGROUNDS)}, got {background!r}.")
    xy, visible = _check_joints(joints)
    edges = np.asarray(edges, dtype=int).reshape(-1, 2)
    if groups is None:
        groups = _PENN_GROUPS if np.array_equal(edges, PENN_ACTION_EDGES) else np.arange(len(edges))
    groups = np.asarray(groups, dtype=int)
    if groups.shape != (len(edges),) or (groups < 0).any():
        raise ValueError(f"groups must hold one non-negative int per edge ({len(edges)}), got {groups.tolist()}.")
    used = edges.ravel().tolist() + ([] if head is None else [head])
    if used and max(used) >= xy.shape[1]:
        raise ValueError(f"edges or head refer to joint {max(used)}, but joints has {xy.shape[1]} joints.")
    rng = np.random.default_rng(rng)

    kind = rng.choice(_BACKGROUNDS) if background == "random" else background
    canvas = _background(kind, size, rng)
    n_colours = groups.max() + 1 if len(groups) else 1
    colours = np.array([_distinct_colour(rng, canvas.mean((0, 1))) for _ in range(n_colours)], np.float32)
    low, high = np.broadcast_to(np.asarray(line_width, dtype=float), (2,))
    half_width = np.float32(size * rng.uniform(low, high) / 2)

    xy = _fit_to_frame(xy, visible, size, margin).astype(np.float32)
    centres = np.arange(size, dtype=np.float32) + 0.5
    px, py = centres[None, None, :], centres[None, :, None]
    frames = np.broadcast_to(canvas.astype(np.float32), (len(xy), size, size, 3)).copy()
    touching = [g for (a, b), g in zip(edges, groups) if head in (a, b)]
    discs = [] if head is None else [(head, head, touching[0] if touching else 0, 2.2)]
    for a, b, group, width in [(a, b, g, 1.0) for (a, b), g in zip(edges, groups)] + discs:
        cover = _limb_coverage(px, py, xy[:, a], xy[:, b], width * half_width)
        cover *= (visible[:, a] & visible[:, b])[:, None, None]
        frames += cover[..., None] * (colours[group] - frames)
    if noise:
        frames += rng.normal(0, noise, size=frames.shape).astype(np.float32)
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)
