"""LAVEncoder's network: built from its parameters and the training videos; run on videos."""

import copy

import numpy as np
import torch

from .data import context_indices
from .networks import (
    TRUNKS,
    ContextHead,
    FeaturePreprocessor,
    FrameEncoder,
    ImagePreprocessor,
    PosePreprocessor,
    default_trunk,
)

FRAME_KINDS = {1: "features", 2: "poses", 3: "images"}


def _tensor(frames, device=None):
    """A tensor of the frames (copied if read-only, e.g. memory-mapped)."""
    tensor = torch.from_numpy(np.require(frames, requirements=["C", "W"]))
    return tensor if device is None else tensor.to(device)


def _visibility(videos, kind, channel):
    if channel is None:
        return None
    if kind != "poses":
        if channel == "auto":
            return None
        raise ValueError(
            f"visibility_channel={channel} applies to poses (T, J, C); X holds {kind} of per-frame "
            f"shape {videos[0].shape[1:]}. Use visibility_channel=None or 'auto'."
        )
    n_channels = videos[0].shape[-1]
    if channel == "auto":
        if n_channels != 3:
            return None
        binary = all(np.isin(v[..., -1], (0.0, 1.0)).all() for v in videos)
        return -1 if binary else None
    if n_channels < 2 or not -n_channels <= channel < n_channels:
        raise ValueError(
            f"visibility_channel={channel} is out of range for poses with C={n_channels} channels: "
            f"use one of {-n_channels}..{n_channels - 1}, leaving at least one coordinate channel, or None."
        )
    return int(channel)


def frame_info(videos, visibility_channel, num_context):
    """The fitted attributes that follow from the frames: shape, kind, visibility channel, context."""
    shape = tuple(videos[0].shape[1:])
    kind = FRAME_KINDS[len(shape)]
    info = {
        "frame_shape_": shape,
        "frame_kind_": kind,
        "visibility_channel_": _visibility(videos, kind, visibility_channel),
        "num_context_": num_context or TRUNKS[default_trunk(kind)].num_context,
    }
    if kind == "features":
        info["n_features_in_"] = shape[0]
    return info


def build_module(estimator, videos, info):
    """The :class:`FrameEncoder` for ``estimator``'s parameters and the frames in ``info``."""
    kind, frame_shape = info["frame_kind_"], info["frame_shape_"]
    backbone = default_trunk(kind) if estimator.backbone == "auto" else estimator.backbone
    if isinstance(backbone, str) and kind not in TRUNKS[backbone].frame_kinds:
        takes = " or ".join(TRUNKS[backbone].frame_kinds)
        raise ValueError(f"backbone={backbone!r} takes {takes}; got {kind} of per-frame shape {frame_shape}.")
    if kind == "images":
        preprocessor = ImagePreprocessor(estimator.image_size)
    elif kind == "poses":
        preprocessor = PosePreprocessor(info["visibility_channel_"])
    else:
        preprocessor = FeaturePreprocessor(frame_shape[0])
        preprocessor.set_statistics(np.concatenate(videos))
    hidden = estimator.hidden_dim or TRUNKS[default_trunk(kind)].hidden_dim
    first_frame = _tensor(videos[0][:1])
    if isinstance(backbone, str):
        in_features = preprocessor(first_frame).flatten(1).shape[1]
        trunk = TRUNKS[backbone].build(in_features, hidden, estimator.weights, estimator.layer)
    else:
        trunk = copy.deepcopy(backbone)
    with torch.no_grad():
        probe = trunk.eval()(preprocessor(first_frame))
    if probe.dim() not in (2, 4):
        raise ValueError(f"the backbone must return (N, C) or (N, C, h, w) features, got shape {tuple(probe.shape)}.")
    head = ContextHead(probe.shape[1], estimator.embedding_dim, hidden, spatial=probe.dim() == 4)
    freeze = estimator.freeze_backbone
    if freeze == "auto":
        freeze = isinstance(backbone, str) and TRUNKS[backbone].frozen_by_default
    return FrameEncoder(preprocessor, trunk, head, freeze_trunk=bool(freeze))


def iter_chunks(video, size):
    """The frames of ``video`` in order, ``size`` at a time; a video read on demand is decoded once."""
    if hasattr(video, "iter_chunks"):
        yield from video.iter_chunks(size)
        return
    for start in range(0, len(video), size):
        yield video[start : start + size]


def iter_trunk_features(module, video, device, batch_size, dtype):
    """A trunk's features of every frame of ``video`` (numpy, ``dtype``), chunk by chunk, in eval mode."""
    module.eval()
    with torch.no_grad():
        for chunk in iter_chunks(video, batch_size):
            features = module.trunk_features(_tensor(chunk, device))
            yield features.cpu().numpy().astype(dtype)


def training_frames(module, videos, kind, device, batch_size, cache=None):
    """What the pair dataset samples from: raw frames, or a frozen trunk's cached features.

    With a :class:`~sklav.encoders._feature_cache.FeatureCache`, the features
    of videos read from disk are kept there (memory-mapped); all others in RAM.
    """
    if not module.freeze_trunk:
        return videos
    dtype = np.float16 if kind == "images" else np.float32

    def compute(video):
        return iter_trunk_features(module, video, device, batch_size, dtype)

    if cache is not None:
        return cache.features(videos, module, dtype, compute)
    return [np.concatenate(list(compute(video))) for video in videos]


def embed_video(module, video, num_context, stride, device, batch_size):
    """Embeddings ``(T, D)`` float32 of every frame of ``video``, each with its context frames.

    The video is read once, in chunks of ``batch_size`` frames, each with the
    ``(num_context - 1) * stride`` frames before it as context.
    """
    reach = (num_context - 1) * stride
    out = []
    tail = np.asarray(video[:0])  # the frames just before the chunk, its context
    start = 0
    for chunk in iter_chunks(video, batch_size):
        stop = start + len(chunk)
        frames = np.concatenate([tail, chunk]) if len(tail) else chunk
        first = start - len(tail)
        features = module.trunk_features(_tensor(frames, device))
        context = context_indices(np.arange(start, stop), num_context, stride) - first
        context = torch.from_numpy(context).to(device)
        out.append(module.embed_context(features[None], context[None])[0])
        tail = frames[len(frames) - min(reach, stop):] if reach else frames[:0]
        start = stop
    return torch.cat(out).cpu().numpy().astype(np.float32)
