"""Training data for LAV: frame sampling, the dataset of video pairs, collation.

- :func:`sample_frames`: the paper's sampling, ``p`` equal chunks of a video
  and one random frame in each.
- :func:`context_indices`: the ``k`` context frames of each sampled frame,
  ``stride`` frames apart, clipped at the video start.
- :class:`VideoPairDataset`: one item per video and epoch, paired with a
  random other video of the same group.
- :func:`collate_video_pairs`: pads a batch of pairs and masks the padding.
- :func:`seed_worker`: gives each ``DataLoader`` worker its own sampling stream.
"""

import numpy as np
import torch
from torch.utils.data import Dataset


def sample_frames(length, num_frames, rng):
    """Indices of ``num_frames`` frames, one drawn uniformly in each equal chunk.

    A video shorter than ``num_frames`` contributes all its frames (no frame
    is repeated, so every timestamp is a distinct moment).

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.encoders.data import sample_frames
    >>> idx = sample_frames(100, 4, np.random.default_rng(0))
    >>> [int(lo) <= int(i) < int(lo) + 25 for lo, i in zip([0, 25, 50, 75], idx)]
    [True, True, True, True]
    >>> sample_frames(3, 5, np.random.default_rng(0))
    array([0, 1, 2])
    """
    if length <= num_frames:
        return np.arange(length)
    bounds = np.linspace(0, length, num_frames + 1)
    starts = np.ceil(bounds[:-1]).astype(int)
    stops = np.maximum(np.ceil(bounds[1:]).astype(int), starts + 1)
    return rng.integers(starts, stops)


def context_indices(indices, num_context, stride):
    """Context frames ``(P, k)`` of each frame index: oldest first, clipped at 0.

    Examples
    --------
    >>> from sklav.encoders.data import context_indices
    >>> context_indices([0, 20], num_context=2, stride=15)
    array([[ 0,  0],
           [ 5, 20]])
    """
    offsets = stride * np.arange(num_context - 1, -1, -1)
    return np.maximum(np.asarray(indices)[:, None] - offsets[None, :], 0)


def _distinct_frames(video, indices, num_context, stride):
    """The distinct frames a set of sampled frames needs, and their context map."""
    windows = context_indices(indices, num_context, stride)
    needed, inverse = np.unique(windows, return_inverse=True)
    return video[needed], inverse.reshape(windows.shape)


class VideoPairDataset(Dataset):
    """Pairs of videos of the same group, with the paper's frame sampling.

    Item ``i`` pairs video ``i`` with a random other video of its group; each
    video contributes ``num_frames`` frames (one random frame in each of
    ``num_frames`` equal chunks) and their context frames. Sampling draws
    from ``rng`` in item order, so a seeded generator and a fixed item order
    give identical batches.

    Parameters
    ----------
    videos : list of ndarray
    groups : array-like of shape (n_videos,)
        Pairs never cross groups; every group needs two videos.
    num_frames, num_context, stride : int
    rng : numpy.random.Generator
    augment : callable or None, default=None
        ``augment(frames, rng) -> frames``, applied to the distinct frames of
        each sampled video (one draw per video, from ``rng``; see
        :mod:`sklav.encoders.augment`).

    Attributes
    ----------
    worker_seed : int or None
        Set for ``DataLoader`` workers: see :func:`seed_worker`.

    Examples
    --------
    Four feature videos of two actions; video 0 can only pair with video 1:

    >>> import numpy as np
    >>> from sklav.encoders.data import VideoPairDataset
    >>> videos = [np.zeros((30, 4)), np.ones((25, 4)), np.ones((40, 4)), np.ones((35, 4))]
    >>> dataset = VideoPairDataset(videos, groups=["golf", "golf", "bowl", "bowl"],
    ...                            num_frames=5, num_context=2, stride=3,
    ...                            rng=np.random.default_rng(0))
    >>> dataset.partner(0)
    np.int64(1)
    >>> x, y = dataset[0]
    >>> y["length"]
    25
    >>> x["indices"].shape, x["context"].shape  # 5 sampled frames, 2 context frames each
    ((5,), (5, 2))
    >>> bool((x["frames"][x["context"]] == 0).all())  # context rows index x's own frames
    True
    """

    worker_seed = None

    def __init__(self, videos, groups, num_frames, num_context, stride, rng, augment=None):
        self.videos = videos
        self.augment = augment
        self.num_frames = num_frames
        self.num_context = num_context
        self.stride = stride
        self.rng = rng
        self.groups = groups = np.asarray(groups)
        self.partners = [np.flatnonzero((groups == g) & (np.arange(len(groups)) != i)) for i, g in enumerate(groups)]

    def __len__(self):
        return len(self.videos)

    def _sample(self, v):
        indices = sample_frames(len(self.videos[v]), self.num_frames, self.rng)
        frames, context = _distinct_frames(self.videos[v], indices, self.num_context, self.stride)
        if self.augment is not None:
            frames = np.ascontiguousarray(self.augment(frames, self.rng))
        return {"frames": frames, "context": context, "indices": indices, "length": len(self.videos[v])}

    def partner(self, i):
        """Draw the video paired with video ``i``: another of its group."""
        return self.rng.choice(self.partners[i])

    def __getitem__(self, i):
        partner = self.partner(i)
        return self._sample(i), self._sample(partner)


def seed_worker(worker_id):
    """A ``DataLoader`` ``worker_init_fn``: each worker samples from a stream of its own.

    The stream is seeded by the dataset's ``worker_seed`` (drawn from the
    fit's generator) and the worker's torch seed, which torch derives anew
    each epoch from its seeded generator and the worker id: workers never
    repeat one another's draws or an earlier epoch's, and the same
    ``random_state`` and ``num_workers`` give the same draws.
    """
    info = torch.utils.data.get_worker_info()
    info.dataset.rng = np.random.default_rng([info.dataset.worker_seed, info.seed])


def _pad(arrays, length, fill=0):
    out = np.full((len(arrays), length) + arrays[0].shape[1:], fill, dtype=arrays[0].dtype)
    for row, array in zip(out, arrays):
        row[: len(array)] = array
    return torch.from_numpy(out)


def collate_video_pairs(batch):
    """Pad a list of ``(x, y)`` samples; videos interleave x0, y0, x1, y1, ...

    Returns ``(X, target)`` as skorch expects: ``X`` is what the module
    embeds, ``target`` what the criterion needs besides the embeddings.

    - ``X['frames']`` ``(2B, F, *frame_shape)`` distinct frames,
      ``X['frame_mask']`` ``(2B, F)``, ``X['context_index']`` ``(2B, P, k)``;
    - ``target['lengths']`` ``(2B,)`` sampled frames per video (stays on the
      CPU), ``target['frame_indices']`` ``(2B, P)`` the sampled frames'
      indices in their videos, ``target['video_lengths']`` ``(2B,)`` the
      videos' frame counts.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.encoders.data import VideoPairDataset, collate_video_pairs
    >>> videos = [np.zeros((30, 4)), np.ones((25, 4)), np.ones((3, 4))]
    >>> dataset = VideoPairDataset(videos, groups=[0, 0, 0], num_frames=5, num_context=2,
    ...                            stride=3, rng=np.random.default_rng(0))
    >>> X, target = collate_video_pairs([dataset[0], dataset[2]])
    >>> X["context_index"].shape  # 2 pairs -> 4 videos, up to 5 sampled frames, k = 2
    torch.Size([4, 5, 2])
    >>> target["lengths"][2].item(), target["video_lengths"][2].item()  # video 2 has 3 frames
    (3, 3)
    """
    samples = [sample for pair in batch for sample in pair]
    n_frames = [len(s["frames"]) for s in samples]
    lengths = [len(s["context"]) for s in samples]
    X = {
        "frames": _pad([s["frames"] for s in samples], max(n_frames)),
        "frame_mask": torch.arange(max(n_frames))[None, :] < torch.tensor(n_frames)[:, None],
        "context_index": _pad([s["context"] for s in samples], max(lengths)),
    }
    target = {
        "lengths": torch.tensor(lengths),
        "frame_indices": _pad([s["indices"].astype(np.float32) for s in samples], max(lengths)),
        "video_lengths": torch.tensor([s["length"] for s in samples]),
    }
    return X, target
