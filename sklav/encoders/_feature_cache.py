"""A frozen trunk's features of videos on disk, cached on disk: :class:`FeatureCache`.

One ``.npy`` file per video and trunk in a cache folder, named by a hash of
the video's identity (path, byte size and modification time, see
:attr:`sklav.datasets.VideoFile.identity`) and of the trunk (its weights,
its preprocessing and the features' dtype). Files are written atomically (a
temporary file, then a rename), so fits in other processes reuse them, and
read memory-mapped (:class:`CachedFeatures`), one item at a time, so memory
stays bounded by a batch. The folder is kept under a byte budget by
deleting the least recently used files (each use touches its file), never
those of the fit under way.
"""

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ._state import canonical

FORMAT = "sklav-features/1"
#: The default cache folder for ``feature_cache='auto'``; ``SKLAV_FEATURE_CACHE`` overrides it.
DEFAULT_FOLDER = Path("~/.cache/sklav/features")


def cache_folder(feature_cache):
    """The folder of a ``feature_cache`` parameter ('auto' or a path), created."""
    if feature_cache == "auto":
        folder = Path(os.environ.get("SKLAV_FEATURE_CACHE") or DEFAULT_FOLDER)
    else:
        folder = Path(feature_cache)
    folder = folder.expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"feature_cache={str(folder)!r} cannot be used as a folder: {err}") from None
    return folder


def trunk_key(module, dtype):
    """A hash of what a frozen trunk's features depend on: weights, preprocessing, dtype."""
    preprocessor = module.preprocessor
    description = [canonical(module.trunk), canonical(preprocessor),
                   getattr(preprocessor, "image_size", None), np.dtype(dtype).str]
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()


class CachedFeatures:
    """One video's cached features, read memory-mapped item by item (pickles as its path)."""

    def __init__(self, path):
        self.path = Path(path)
        features = np.load(self.path, mmap_mode="r")
        self.shape, self.dtype = features.shape, features.dtype
        self.ndim = len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        # map, copy out, unmap: the pages read do not stay in this process's memory
        features = np.load(self.path, mmap_mode="r")
        try:
            return np.array(features[key])
        finally:
            del features


class FeatureCache:
    """A folder of cached trunk features, at most ``max_bytes`` (least recently used go first).

    Parameters
    ----------
    folder : path-like
    max_bytes : int
        The folder's budget. The fit under way keeps its own files even
        beyond it.
    """

    def __init__(self, folder, max_bytes):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.hits = self.misses = 0

    def path(self, video, trunk):
        key = hashlib.sha256(f"{FORMAT}|{video.identity}|{trunk}".encode()).hexdigest()[:32]
        return self.folder / f"{key}.npy"

    def features(self, videos, module, dtype, compute):
        """Per video: its cached features if it has an ``identity``, else ``compute(video)`` in RAM.

        ``compute(video)`` yields the features (of ``dtype``) chunk by chunk.
        """
        trunk = None
        out, in_use = [], set()
        for video in videos:
            if getattr(video, "identity", None) is None:
                out.append(np.concatenate(list(compute(video))))
                continue
            trunk = trunk or trunk_key(module, dtype)
            path = self.path(video, trunk)
            if path.exists():
                os.utime(path)  # most recently used
                self.hits += 1
            else:
                self._write(path, len(video), compute(video))
                self.misses += 1
                in_use.add(path)
                self.evict(keep=in_use)
            in_use.add(path)
            out.append(CachedFeatures(path))
        return out

    def _write(self, path, n_frames, chunks):
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{path.stem}.", suffix=".tmp.npy")
        os.close(fd)
        try:
            store, start = None, 0
            for chunk in chunks:
                if store is None:
                    store = np.lib.format.open_memmap(tmp, mode="w+", dtype=chunk.dtype,
                                                      shape=(n_frames,) + chunk.shape[1:])
                store[start : start + len(chunk)] = chunk
                start += len(chunk)
            if start != n_frames:
                raise ValueError(f"a video of {n_frames} frames gave {start} frames of features.")
            store.flush()
            del store
            os.replace(tmp, path)
            tmp = None
        finally:
            if tmp is not None:
                os.unlink(tmp)

    def evict(self, keep=()):
        """Delete the least recently used files (not those in ``keep``) until within budget."""
        entries = []
        for path in self.folder.glob("*.npy"):
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed meanwhile by another process
                continue
            entries.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            if path in keep:
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            total -= size
