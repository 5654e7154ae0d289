"""Exact nearest-neighbour search between the frames of ragged video lists.

One engine for the frame-level metrics. The frames of all videos are stacked
once; distances are computed in blocks (one matrix product per block for the
Euclidean metrics, :func:`scipy.spatial.distance.cdist` otherwise) and reduced
with vectorised ``argmin``/``argpartition``, so no Python loop runs per frame.
Query videos are processed on all CPUs by threads, BLAS limited to one thread
each.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from joblib import cpu_count
from scipy.spatial.distance import cdist
from threadpoolctl import threadpool_limits

# Largest distance block (query frames x candidate frames) built at once by one
# thread: 2**22 float64 values are 32 MiB.
_MAX_BLOCK = 2**22


def parallel_map(function, items):
    """``[function(item) for item in items]`` on all CPUs (threads, 1-thread BLAS)."""
    items = list(items)
    n_threads = min(cpu_count(), len(items))
    if n_threads <= 1:
        return [function(item) for item in items]
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(n_threads) as pool:
        return list(pool.map(function, items))


class StackedFrames:
    """The frames of a list of ``(T_i, D)`` videos, stacked for neighbour search.

    Parameters
    ----------
    videos : list of ndarray of shape (T_i, D)
        Validated, non-empty videos of one floating dtype.
    metric : str or callable
        A :func:`scipy.spatial.distance.cdist` metric. String metrics are
        taken as symmetric, which lets :meth:`nearest_in_each_video` compute
        each pair of videos once.

    Attributes
    ----------
    frames : ndarray of shape (N, D)
        All frames, video after video.
    lengths : ndarray of shape (n_videos,)
        Frames per video.
    offsets : ndarray of shape (n_videos + 1,)
        ``frames[offsets[i]:offsets[i + 1]]`` is video ``i``.
    """

    def __init__(self, videos, metric="sqeuclidean"):
        self.metric = metric
        self.frames = np.concatenate(videos, axis=0)
        self.lengths = np.array([len(v) for v in videos])
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)])
        self._sq_norms = np.einsum("ij,ij->i", self.frames, self.frames)
        self._minus_two_frames = -2.0 * self.frames

    @property
    def n_videos(self):
        return len(self.lengths)

    def _rows(self, i):
        return slice(self.offsets[i], self.offsets[i + 1])

    def distances(self, rows, columns, *, rows_only=False):
        """Distances between stacked frames ``rows`` and ``columns`` (two slices).

        For 'sqeuclidean' and 'euclidean', ``|q|^2 - 2 q.c + |c|^2`` (the squared
        Euclidean distance, same ordering as both, up to rounding); with
        ``rows_only`` the per-row constant ``|q|^2`` is left out, which keeps
        the order within each row only. Otherwise ``cdist``.
        """
        if self.metric not in ("sqeuclidean", "euclidean"):
            return cdist(self.frames[rows], self.frames[columns], metric=self.metric)
        d = self.frames[rows] @ self._minus_two_frames[columns].T
        d += self._sq_norms[columns][None, :]
        if not rows_only:
            d += self._sq_norms[rows][:, None]
        return d

    def _video_groups(self, first, stop, n_rows):
        """Split videos ``first:stop`` into runs whose block with ``n_rows`` rows fits."""
        budget = max(1, _MAX_BLOCK // max(1, n_rows))
        start = first
        while start < stop:
            end = start + 1
            while end < stop and self.offsets[end + 1] - self.offsets[start] <= budget:
                end += 1
            yield start, end
            start = end

    def nearest_in_each_video(self):
        """For each pair of videos, the nearest frame of one to each frame of the other.

        Returns
        -------
        nearest : list of ndarray of shape (n_videos, T_i)
            ``nearest[i][j, t]`` is the index in video ``j`` of the frame
            nearest to frame ``t`` of video ``i`` (the first one on ties, as
            :func:`numpy.argmin`). Row ``nearest[i][i]`` is all zeros.
        """
        n = self.n_videos
        nearest = [np.zeros((n, length), dtype=np.intp) for length in self.lengths]
        symmetric = isinstance(self.metric, str)

        def fill(i):
            runs = [(i + 1, n)] if symmetric else [(0, i), (i + 1, n)]
            for run in runs:
                for first, stop in self._video_groups(*run, self.lengths[i]):
                    start = self.offsets[first]
                    block = self.distances(self._rows(i), slice(start, self.offsets[stop]))
                    for j in range(first, stop):
                        pair = block[:, self.offsets[j] - start : self.offsets[j + 1] - start]
                        nearest[i][j] = pair.argmin(axis=1)
                        if symmetric:
                            nearest[j][i] = pair.argmin(axis=0)

        # Each slot nearest[a][b] is written by exactly one task.
        parallel_map(fill, range(n))
        return nearest

    def k_nearest_outside_video(self, k):
        """The ``k`` nearest frames of other videos to every frame.

        Returns
        -------
        neighbours : ndarray of shape (N, k)
            Row ``n`` lists indices into :attr:`frames` of the ``k`` frames
            nearest to frame ``n`` among the frames of all other videos,
            nearest first; ties at the ``k``-th distance are broken arbitrarily.
        """
        neighbours = np.empty((len(self.frames), k), dtype=np.intp)
        everything = slice(0, len(self.frames))
        rows_per_block = max(1, _MAX_BLOCK // len(self.frames))

        def fill(i):
            own = self._rows(i)
            for start in range(own.start, own.stop, rows_per_block):
                rows = slice(start, min(start + rows_per_block, own.stop))
                dist = self.distances(rows, everything, rows_only=True)
                dist[:, own] = np.inf
                top = np.argpartition(dist, k - 1, axis=1)[:, :k]
                order = np.argsort(np.take_along_axis(dist, top, axis=1), axis=1, kind="stable")
                neighbours[rows] = np.take_along_axis(top, order, axis=1)

        parallel_map(fill, range(self.n_videos))
        return neighbours
