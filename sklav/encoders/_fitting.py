"""How LAVEncoder fits: validation, a new network or a warm-started copy, checkpoints.

:class:`TrainingMixin` holds the steps of ``LAVEncoder.fit``. Training builds
every fitted attribute on the side (a warm start trains a copy of the fitted
net) and :meth:`TrainingMixin._fit_and_commit` sets them only once training
has ended, so a failed fit leaves the estimator as it was.
"""

import copy
import inspect
import os
import shutil
import warnings
import numpy as np
import torch
from skorch.callbacks import ProgressBar
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..datasets import KEYPOINT_LAYOUTS, open_video
from ..losses import LAVLoss
from ..losses.lav import LOSS_CONSTRAINTS
from ..utils.param_validation import Device, HasMethods, Integral, Interval, Real, StrOptions
from ..utils.validation import check_videos
from ._build import build_module, training_frames
from ._checkpoint import CheckpointCallback, CheckpointStore, checkpoint_root
from ._keypoint_input import fitted_layout, keypoint_poses
from ._feature_cache import FeatureCache, cache_folder
from ._distributed import RankSampler, broadcast_module, process_group, rank_device, rank_rng
from ._state import canonical, fingerprint, network_hash, rng_states, set_rng_states
from ._training import LAVNet, TrainingInterruptedWarning, resolve_device
from .augment import make_augmenter
from .data import VideoPairDataset, collate_video_pairs, seed_worker
from .networks import RESNET_LAYERS, TRUNKS

# The estimator's parameters that are LAVLoss's, under the same names.
LOSS_PARAMS = ("gamma", "alpha", "sigma", "time_unit", "margin", "regularizer", "alignment", "tcc_weight")
# Parameters fixed by the network a first fit builds; warm_start refuses to change them.
_ARCHITECTURE = (
    "backbone", "weights", "layer", "freeze_backbone", "image_size", "visibility_channel",
    "embedding_dim", "hidden_dim", "num_context", "context_stride", "optimizer",
)
# Parameters that do not change what a fit computes (left out of its fingerprint).
_NOT_FINGERPRINTED = ("max_epochs", "verbose", "checkpoint", "warm_start", "transform_batch_size", "device",
                      "feature_cache", "feature_cache_size",
                      "keypoint_layout")  # its effect: the converted videos, which the fingerprint hashes

#: LAVEncoder's parameter constraints (scikit-learn's ``_parameter_constraints``)
PARAMETER_CONSTRAINTS = {
    "backbone": [StrOptions({"auto", *TRUNKS}), nn.Module],
    "weights": [None, str, HasMethods(["get_state_dict"])],
    "layer": [StrOptions(set(RESNET_LAYERS))],
    "freeze_backbone": ["boolean", StrOptions({"auto"})],
    "augment": ["boolean", StrOptions({"auto"}), callable],
    "image_size": [Interval(Integral, 1, None, closed="left")],
    "visibility_channel": [None, StrOptions({"auto"}), Interval(Integral, None, None, closed="neither")],
    "keypoint_layout": [None, StrOptions(set(KEYPOINT_LAYOUTS))],
    "embedding_dim": [Interval(Integral, 2, None, closed="left")],
    "hidden_dim": [None, Interval(Integral, 1, None, closed="left")],
    "num_frames": [Interval(Integral, 1, None, closed="left")],
    "num_context": [None, Interval(Integral, 1, None, closed="left")],
    "context_stride": [Interval(Integral, 1, None, closed="left")],
    **{name: LOSS_CONSTRAINTS[name] for name in LOSS_PARAMS},
    "criterion": [None, type],
    "criterion_params": [None, dict],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "optimizer": [type],
    "optimizer_params": [None, dict],
    "max_epochs": [Interval(Integral, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "device": [Device()],
    "precision": [StrOptions({"32", "bf16", "16"})],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "callbacks": [None, list],
    "checkpoint": ["boolean", str, os.PathLike],
    "warm_start": ["boolean"],
    "transform_batch_size": [Interval(Integral, 1, None, closed="left")],
    "num_workers": [Interval(Integral, 0, None, closed="left")],
    "feature_cache": [None, StrOptions({"auto"}), str, os.PathLike],
    "feature_cache_size": [Interval(Integral, 0, None, closed="left")],
}


class TrainingMixin:
    """The validation and training steps of :class:`~sklav.encoders.LAVEncoder`."""

    @property
    def module_(self):
        check_is_fitted(self, "net_")
        return self.net_.module_

    @property
    def history_(self):
        check_is_fitted(self, "net_")
        return self.net_.history

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in state:
            # skorch falls back to the CPU when a CUDA-fitted net is unpickled without a GPU
            self.device_ = str(self.net_.device)
            self.__dict__.setdefault("num_context_", self.num_context)  # saved before it existed
            self.__dict__.setdefault("keypoint_layout_", None)

    def _criterion(self):
        """The criterion class and its keyword arguments."""
        params = dict(self.criterion_params or {})
        if self.criterion is None:
            loss_params = {name: getattr(self, name) for name in LOSS_PARAMS}
            clash = sorted(set(loss_params) & set(params))
            if clash:
                raise ValueError(
                    f"criterion_params sets {clash}, which are LAVEncoder parameters; set them there."
                )
            return LAVLoss, {**loss_params, **params}
        if not issubclass(self.criterion, nn.Module):
            raise TypeError(f"criterion must be a torch.nn.Module class, got {self.criterion!r}.")
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = [name for name in LOSS_PARAMS if getattr(self, name) != defaults[name]]
        if changed:
            raise ValueError(
                f"{changed} configure the default LAVLoss, but criterion={self.criterion.__name__} "
                "replaces it; pass its settings in criterion_params."
            )
        if "embedding_dim" in inspect.signature(self.criterion).parameters:
            params.setdefault("embedding_dim", self.embedding_dim)
        return self.criterion, params

    def _check_videos(self, X, fitting):
        layout = self.keypoint_layout
        kwargs = dict(frame_ndim=(1, 2, 3), split_arrays=False, open_path=open_video)
        if layout is not None:  # keypoints: missing joints may be NaN; converted below
            kwargs.update(frame_ndim=2, allow_nan=True)
        if fitting:
            kwargs["min_videos"] = 2
        elif layout is None:
            kwargs["frame_shape"] = self.frame_shape_
        try:
            videos = check_videos(X, **kwargs)
        except ValueError as err:
            if fitting and "at least 2 are required" in str(err):
                raise ValueError(f"{err} LAV learns from pairs of videos.") from None
            raise
        if layout is not None:
            return keypoint_poses(videos, layout, fitted_layout(self, fitting))
        if videos[0].ndim == 4:
            for i, video in enumerate(videos):
                if video.shape[-1] != 3:
                    raise ValueError(f"X[{i}] has frames of shape {video.shape[1:]}; images must be (H, W, 3) RGB.")
                if video.dtype != np.uint8:
                    raise TypeError(f"X[{i}] has dtype {video.dtype}; RGB frames must be uint8 (0-255).")
            return videos
        return [v.astype(np.float32, copy=False) for v in videos]

    def _check_groups(self, pair_groups, n_videos):
        if pair_groups is None:
            return np.zeros(n_videos, dtype=int)
        groups = np.asarray(pair_groups)
        if groups.ndim != 1 or len(groups) != n_videos:
            raise ValueError(f"pair_groups must have one entry per video ({n_videos}), got shape {groups.shape}.")
        if any(g != g for g in groups.tolist()):  # NaN is no group: it equals nothing, not even itself
            raise ValueError("pair_groups contains NaN; give every video a group.")
        try:
            values, counts = np.unique(groups, return_counts=True)
        except TypeError:
            raise ValueError("pair_groups mixes types that cannot be compared (e.g. None and str).") from None
        if (counts < 2).any():
            lonely = values[counts < 2][0].item()
            raise ValueError(
                f"group {lonely!r} has a single video; pairs are drawn within pair_groups, so each needs two."
            )
        return groups

    def _check_warm_start(self, videos, settings):
        shape = tuple(videos[0].shape[1:])
        if shape != self.frame_shape_:
            raise ValueError(
                f"warm_start: the videos' per-frame shape {shape} differs from the fitted {self.frame_shape_}."
            )
        previous = getattr(self, "_fit_settings", None) or settings
        changed = [name for name in _ARCHITECTURE if previous[name] != settings[name]]
        if resolve_device(self.device) != self.device_:
            changed.append("device")
        if changed:
            raise ValueError(
                f"warm_start=True continues the fitted network, but {changed} changed since it was "
                "built; they fix the network. Restore them, or set warm_start=False to train anew."
            )

    def _fit_and_commit(self, videos, pair_groups, info, device, continuing, settings, criterion,
                        optimizer_params, callbacks):
        """Train, then set the fitted attributes (only now); warn if interrupted."""
        rank, world_size = process_group(device)
        if world_size > 1:
            device = rank_device(device, rank)
            if any(p.requires_grad for p in criterion[0](**criterion[1]).parameters()):
                raise ValueError(
                    f"criterion={criterion[0].__name__} has learnable parameters, which data-parallel "
                    "training (torchrun) does not synchronise yet; train it in one process."
                )
        self._world = (rank, world_size)
        root, temporary = checkpoint_root(self.checkpoint)
        try:
            fitted = self._fit(
                videos, pair_groups, info, device, continuing, settings, criterion, optimizer_params,
                callbacks, root,
            )
        except BaseException:
            if temporary:
                shutil.rmtree(root, ignore_errors=True)
            raise
        resumable = fitted.pop("checkpoint_epoch") is not None  # a checkpoint a new fit can resume from
        if temporary and not (fitted["interrupted_"] and resumable):
            shutil.rmtree(root, ignore_errors=True)
            fitted["checkpoint_dir_"] = None
        if not continuing and "n_features_in_" not in info and hasattr(self, "n_features_in_"):
            del self.n_features_in_
        for name, value in {**info, **fitted}.items():
            setattr(self, name, value)
        if self.interrupted_:
            resume = f" Fit again with checkpoint={root!r} to resume." if resumable else ""
            warnings.warn(
                f"LAVEncoder.fit was interrupted; the estimator holds the network as it was after "
                f"{self.n_epochs_trained_} complete epoch(s) (interrupted_=True).{resume}",
                TrainingInterruptedWarning, stacklevel=3,
            )

    def _fingerprint_settings(self, settings, seed):
        kept = {k: v for k, v in settings.items() if k not in _NOT_FINGERPRINTED}
        if self._world[1] > 1:  # the same seed gives the same result for the same world size only
            kept["world_size"] = self._world[1]
        if seed is None or isinstance(self.random_state, (type(None), Integral)):
            return kept
        return {**kept, "random_state": seed}  # a RandomState instance: the seed it gave

    def _fit(self, videos, pair_groups, info, device, continuing, settings, criterion, optimizer_params,
             callbacks, root):
        """Train a new network, or a copy of the fitted one; return the fitted attributes."""
        previous_rng = getattr(self, "_rng_states", None) if continuing else None
        seed = None
        if previous_rng is None:
            seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        store = None
        if root is not None:
            key, fields = fingerprint(
                self, self._fingerprint_settings(settings, seed), videos, pair_groups,
                continues=network_hash(self.net_) if continuing else None,
            )
            store = CheckpointStore(root, key, fields)
        cuda = []
        if device.startswith("cuda"):
            index = torch.device(device).index
            cuda = [torch.cuda.current_device() if index is None else index]
        with torch.random.fork_rng(devices=cuda):
            pair_rng = np.random.default_rng(seed)
            if seed is not None:
                torch.manual_seed(seed)
            if continuing:
                net = copy.deepcopy(self.net_)
                self._reconfigure(net, criterion, optimizer_params, self._net_callbacks(callbacks, store))
                if previous_rng is not None:
                    set_rng_states(previous_rng, pair_rng, device)
            else:
                module = build_module(self, videos, info)
                net = self._build_net(module, device, criterion, optimizer_params,
                                      self._net_callbacks(callbacks, store)).initialize()
            start = len(net.history)
            if store is not None:
                saved_rng = store.load(net, start + self.max_epochs)
                if saved_rng is not None:
                    set_rng_states(saved_rng, pair_rng, device)
            self._train(net, videos, pair_groups, info, device, pair_rng, start + self.max_epochs)
            states = rng_states(pair_rng, device)
        net.callbacks_ = [(n, cb) for n, cb in net.callbacks_ if n != "sklav_checkpoint"]
        net.callbacks = [cb for cb in net.callbacks if not (isinstance(cb, tuple) and cb[0] == "sklav_checkpoint")]
        return {
            "net_": net, "device_": device, "checkpoint_dir_": store.folder if store is not None else None,
            "interrupted_": bool(net.interrupted_), "n_epochs_trained_": len(net.history),
            "checkpoint_epoch": store.last_epoch if store is not None else None,
            "_rng_states": states, "_fit_settings": settings,
            "_fit_training": canonical([{"lr": self.lr, **optimizer_params}, list(criterion)]),
        }

    def _train(self, net, videos, pair_groups, info, device, pair_rng, target_epochs):
        module = net.module_
        frames = training_frames(module, videos, info["frame_kind_"], device, self.transform_batch_size,
                                 cache=self._feature_store(module, videos))
        augment = make_augmenter(self.augment, info["frame_kind_"], module.freeze_trunk,
                                 visibility_channel=info["visibility_channel_"])
        rank, world_size = self._world
        dataset = VideoPairDataset(
            frames, pair_groups, self.num_frames, info["num_context_"], self.context_stride,
            pair_rng if world_size == 1 else rank_rng(pair_rng, rank), augment=augment,
        )
        if self.num_workers:
            dataset.worker_seed = int(dataset.rng.integers(2**63))
        net.interrupted_ = False
        module.use_cached_trunk = module.freeze_trunk
        if world_size > 1:
            self._distribute(net, len(dataset), pair_rng)
        try:
            if target_epochs > len(net.history):
                net.partial_fit(dataset, None, epochs=target_epochs - len(net.history))
        finally:
            module.use_cached_trunk = False
            if world_size > 1:
                self._undistribute(net)

    def _feature_store(self, module, videos):
        """The disk cache of a frozen trunk's features, for videos read from disk; else None."""
        if not module.freeze_trunk or self.feature_cache is None:
            return None
        if not any(getattr(video, "identity", None) is not None for video in videos):
            return None  # in-memory data: features stay in RAM
        return FeatureCache(cache_folder(self.feature_cache), self.feature_cache_size)

    def _distribute(self, net, n_videos, pair_rng):
        """Train ``net`` data-parallel: DDP module, this rank's share of each epoch's videos."""
        rank, world_size = self._world
        cuda = torch.device(net.device).type == "cuda"
        net.set_data_parallel(torch.nn.parallel.DistributedDataParallel(
            net.module_, device_ids=[torch.device(net.device).index] if cuda else None,
        ))
        net.iterator_train__sampler = RankSampler(n_videos, rank, world_size, pair_rng)
        net.iterator_train__shuffle = False
        net.batch_size = max(1, self.batch_size // world_size)

    def _undistribute(self, net):
        """Back to a plain net holding rank 0's weights and buffers on every rank."""
        net.set_data_parallel(None)
        del net.iterator_train__sampler
        net.iterator_train__shuffle = True
        net.batch_size = self.batch_size
        broadcast_module(net.module_)

    def _net_callbacks(self, callbacks, store):
        callbacks = list(callbacks)
        if self.verbose >= 2:
            callbacks.append(("sklav_progress_bar", ProgressBar()))
        if store is not None and self._world[0] == 0:  # under DDP, rank 0 alone writes
            callbacks.append(("sklav_checkpoint", CheckpointCallback(store)))
        return callbacks

    def _build_net(self, module, device, criterion, optimizer_params, callbacks):
        criterion, criterion_params = criterion
        return LAVNet(
            module=module,
            criterion=criterion,
            **{f"criterion__{name}": value for name, value in criterion_params.items()},
            optimizer=self.optimizer,
            **{f"optimizer__{name}": value for name, value in optimizer_params.items()},
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train__shuffle=True,
            iterator_train__collate_fn=collate_video_pairs,
            iterator_train__num_workers=self.num_workers,
            iterator_train__worker_init_fn=seed_worker,
            train_split=None,
            callbacks=callbacks,
            verbose=int(self.verbose >= 1),
            device=device,
            precision=self.precision,
        )

    def _reconfigure(self, net, criterion, optimizer_params, callbacks):
        """Apply to a continued net the settings a warm start may change."""
        (criterion, criterion_params), previous = criterion, getattr(self, "_fit_training", None)
        optimizer = {"lr": self.lr, **optimizer_params}
        defaults = {k: p.default for k, p in inspect.signature(self.optimizer).parameters.items()}
        old_optimizer = previous[0] if previous else {}
        for name in set(optimizer) | set(old_optimizer):
            value = optimizer.get(name, defaults.get(name))
            if canonical(value) != old_optimizer.get(name):
                for group in net.optimizer_.param_groups:
                    group[name] = value
        for prefix, params in (("optimizer", optimizer_params), ("criterion", criterion_params)):
            for name in [k for k in vars(net) if k.startswith(f"{prefix}__")]:
                delattr(net, name)
            for name, value in params.items():
                setattr(net, f"{prefix}__{name}", value)
        if previous is None or canonical([criterion, criterion_params]) != previous[1]:
            net.criterion = criterion
            net.criterion_ = criterion(**criterion_params).to(net.device)
            if any(p.requires_grad for p in net.criterion_.parameters()):
                raise ValueError("warm_start cannot change a criterion that has learnable parameters.")
        # plain attributes: skorch's set_params(lr=...) would also reset the param groups' lr
        net.lr, net.max_epochs, net.batch_size = self.lr, self.max_epochs, self.batch_size
        net.iterator_train__num_workers, net.iterator_train__worker_init_fn = self.num_workers, seed_worker
        net.verbose = int(self.verbose >= 1)
        net.set_precision(self.precision)
        net.callbacks = callbacks
        net.initialize_callbacks()
