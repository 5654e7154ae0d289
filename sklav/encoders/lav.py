"""LAVEncoder: the self-supervised frame encoder as a scikit-learn transformer.

Training composes a :class:`skorch.NeuralNet` (:class:`LAVNet`) whose
criterion is :class:`sklav.losses.LAVLoss` (or a replacement objective) on
pairs of videos drawn by :class:`sklav.encoders.data.VideoPairDataset`.
"""

import copy
import inspect
import os
import tempfile
import warnings

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Checkpoint, ProgressBar
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..losses import LAVLoss
from ..losses.lav import ALPHA, GAMMA, LOSS_CONSTRAINTS
from ..losses.regularizers import MARGIN, SIGMA
from ..utils.param_validation import Device, HasMethods, Integral, Interval, Real, StrOptions
from ..utils.validation import check_videos
from .augment import make_augmenter
from .data import VideoPairDataset, collate_video_pairs, context_indices
from .networks import (
    RESNET_LAYERS,
    TRUNKS,
    ContextHead,
    FeaturePreprocessor,
    FrameEncoder,
    ImagePreprocessor,
    PosePreprocessor,
    default_trunk,
)

FRAME_KINDS = {1: "features", 2: "poses", 3: "images"}


class LAVNet(NeuralNet):
    """skorch net for self-supervised training on batches of video pairs.

    The batch (see :func:`~sklav.encoders.data.collate_video_pairs`) holds
    videos ``x0, y0, x1, y1, ...``; the module embeds them all and the
    criterion (by default :class:`~sklav.losses.LAVLoss`) receives the
    embeddings and the batch's lengths and timestamps, which stay where the
    collate function put them (the lengths on the CPU).
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred, y_true)


def _resolve_device(device):
    if device is None:
        return "cpu"
    device = str(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r}, but no CUDA device is available; use 'cpu' or 'auto'.")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps', but no MPS device is available; use 'cpu' or 'auto'.")
    return device


# The estimator's parameters that are LAVLoss's, under the same names.
_LOSS_PARAMS = ("gamma", "alpha", "sigma", "margin", "regularizer", "alignment", "tcc_weight")


class LAVEncoder(TransformerMixin, BaseEstimator):
    """Learn a frame encoder by aligning videos in time (LAV, Haresh et al. 2021).

    Self-supervised: ``fit`` needs only videos. Each training step draws pairs
    of videos (of the same group when ``groups`` is given), embeds
    ``num_frames`` frames of each (one random frame in each of ``num_frames``
    equal chunks, with ``num_context`` context frames ``context_stride``
    apart), and minimises, per pair, ``(softdtw_gamma(f(X), f(Y)) + alpha *
    (I(X) + I(Y))) / N`` with ``I`` the C-IDM regularizer (see
    :func:`sklav.losses.lav_loss`). ``transform`` embeds every frame.

    Parameters
    ----------
    backbone : {'auto', 'resnet50', 'mlp'} or torch.nn.Module, default='auto'
        Per-frame trunk. 'resnet50' (RGB frames ``(T, H, W, 3)`` uint8):
        torchvision ResNet-50 cut at ``layer``, 3D-convolution context head.
        'mlp' (poses ``(T, J, C)`` or features ``(T, D)``): a two-layer MLP,
        1D-convolution context head. 'auto' picks by the frames' shape. A
        module maps preprocessed frames to ``(N, C)`` vectors or ``(N, C, h,
        w)`` maps; it is copied, never modified.
    weights : str, ResNet50_Weights or None, default='DEFAULT'
        ResNet-50 weights, for images: 'DEFAULT' (ImageNet, as the paper
        initialises), another torchvision name such as 'IMAGENET1K_V1' or
        'ResNet50_Weights.IMAGENET1K_V2', read from torchvision's cache
        (``torch.hub.get_dir()/checkpoints``) or downloaded into it; offline
        without the cached file, ``fit`` raises a ``RuntimeError`` naming
        it. None: random initialisation, nothing downloaded. Ignored for
        poses and features.
    layer : {'conv4c', 'conv5c'}, default='conv4c'
        Where the ResNet-50 is cut.
    freeze_backbone : bool or 'auto', default='auto'
        Keep the trunk fixed (eval mode, no gradient); its features are then
        computed once per training video and cached (float16 for images,
        about 400 KB per frame at 224 px and conv4c), so later epochs cost
        only the head. 'auto': trained, as the paper's code fine-tunes
        the whole network (see ``TRUNKS`` in
        :mod:`sklav.encoders.networks`).
    augment : bool, callable or 'auto', default='auto'
        Augment each sampled training video, one draw per video from the
        training generator (so ``random_state`` fixes it), never in
        ``transform``. Images: random horizontal flip, brightness +-32/255,
        contrast in [0.5, 1.5] (:func:`~sklav.encoders.augment.augment_frames`,
        as the official code). Poses, with True: random mirroring, aspect
        change and small rotation
        (:func:`~sklav.encoders.augment.augment_poses`). A callable
        ``f(frames, rng) -> frames`` replaces these. 'auto': images only. A
        frozen trunk trains on cached features, which cannot be augmented:
        augmentation is then off ('auto') or dropped with a warning.
    image_size : int, default=224
        Frames are resized to ``image_size x image_size``.
    visibility_channel : int, None or 'auto', default='auto'
        For poses ``(T, J, C)``: the channel holding joint visibility, if
        any. Invisible joints leave the per-frame centring and scaling and
        are zeroed. 'auto': the last channel when ``C == 3`` and it holds only
        0 and 1 in the training data, else None.
    embedding_dim : int, default=128
        At least 2 (embeddings are L2-normalised).
    hidden_dim : int, default=None
        Width of the head (and of the MLP trunk); None gives 512 for images,
        256 for poses and features.
    num_frames : int, default=20
        Frames per video per step (the paper's ``p``). Videos shorter than
        this contribute all their frames.
    num_context : int, default=2
        Context frames per embedded frame (the paper's ``k``), the frame
        itself included.
    context_stride : int, default=15
        Frames between context frames; context before the first frame is
        clipped to it.
    gamma : float, default=0.1
        Soft-DTW smoothing.
    alpha : float, default=0.5
        Weight of the regularizer.
    sigma : float, default=2.0
        C-IDM window, in sampled-frame positions (``0 .. num_frames - 1``).
    margin : float, default=2.0
        C-IDM margin on squared distances of unit embeddings (at most 4).
    regularizer : {'cidm', 'idm', 'sfa', None}, default='cidm'
    alignment : {'softdtw', None}, default='softdtw'
    tcc_weight : float, default=0.0
        Weight of an added TCC loss (LAV+TCC); with ``alignment=None`` and
        ``regularizer=None``, TCC alone.
    criterion : torch.nn.Module class or None, default=None
        The training objective. None: :class:`~sklav.losses.LAVLoss` built
        from ``gamma``, ``alpha``, ``sigma``, ``margin``, ``regularizer``,
        ``alignment``, ``tcc_weight`` and ``criterion_params``. A class is
        instantiated with ``criterion_params`` alone (and the encoder's
        ``embedding_dim`` if it takes one, e.g. :class:`~sklav.losses.SALLoss`)
        and called as ``criterion(embeddings, batch)`` (see
        :meth:`sklav.losses.LAVLoss.forward`); its parameters, if any, are
        trained with the network's.
    criterion_params : dict or None, default=None
        Further keyword arguments of the criterion, e.g.
        ``{'tcc_temperature': 0.5}`` for :class:`~sklav.losses.LAVLoss`.
    lr : float, default=1e-4
    weight_decay : float, default=1e-5
        Adam's.
    max_epochs : int, default=100
        An epoch pairs every training video once with a partner. 0 builds
        the network without training it (an untrained baseline).
    batch_size : int, default=8
        Pairs per step.
    device : str, torch.device or None, default='auto'
        'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1', 'mps'...;
        None leaves the module where it is built, on the CPU, as in skorch.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, pairing, frame sampling and shuffling.
    verbose : int, default=0
        0 silent, 1 one line per epoch, 2 a progress bar too.
    callbacks : list of skorch callbacks or None, default=None
        Added to the net, e.g. ``skorch.callbacks.EarlyStopping(monitor=
        'train_loss')`` or ``LRScheduler``.
    checkpoint : bool or str, default=False
        True: checkpoint every epoch into a per-fit temporary directory
        (``checkpoint_dir_``); a path: into that directory, and a fit that
        finds a checkpoint there resumes from it.
    warm_start : bool, default=False
        Continue training the fitted network instead of starting anew.
    transform_batch_size : int, default=256
        Frames embedded at once in ``transform``.

    Attributes
    ----------
    net_ : LAVNet
        The fitted skorch net.
    module_ : FrameEncoder
        The fitted network.
    history_ : skorch.History
        Per-epoch training log (``train_loss``, ``dur``).
    device_ : str
    frame_kind_ : {'images', 'poses', 'features'}
    frame_shape_ : tuple
        Per-frame shape seen in ``fit``.
    n_features_in_ : int
        Per-frame feature count, for features ``(T, D)`` only.
    visibility_channel_ : int or None
    checkpoint_dir_ : str or None

    Examples
    --------
    >>> import numpy as np
    >>> from sklav import LAVEncoder
    >>> rng = np.random.default_rng(0)
    >>> videos = [np.cumsum(rng.normal(size=(30 + i, 6)), 0) for i in range(4)]
    >>> encoder = LAVEncoder(num_frames=8, max_epochs=2, random_state=0).fit(videos)
    >>> [e.shape for e in encoder.transform(videos[:2])]
    [(30, 128), (31, 128)]
    """

    def __init__(
        self,
        backbone="auto",
        weights="DEFAULT",
        layer="conv4c",
        freeze_backbone="auto",
        augment="auto",
        image_size=224,
        visibility_channel="auto",
        embedding_dim=128,
        hidden_dim=None,
        num_frames=20,
        num_context=2,
        context_stride=15,
        gamma=GAMMA,
        alpha=ALPHA,
        sigma=SIGMA,
        margin=MARGIN,
        regularizer="cidm",
        alignment="softdtw",
        tcc_weight=0.0,
        criterion=None,
        criterion_params=None,
        lr=1e-4,
        weight_decay=1e-5,
        max_epochs=100,
        batch_size=8,
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        checkpoint=False,
        warm_start=False,
        transform_batch_size=256,
    ):
        self.backbone = backbone
        self.weights = weights
        self.layer = layer
        self.freeze_backbone = freeze_backbone
        self.augment = augment
        self.image_size = image_size
        self.visibility_channel = visibility_channel
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.num_frames = num_frames
        self.num_context = num_context
        self.context_stride = context_stride
        self.gamma = gamma
        self.alpha = alpha
        self.sigma = sigma
        self.margin = margin
        self.regularizer = regularizer
        self.alignment = alignment
        self.tcc_weight = tcc_weight
        self.criterion = criterion
        self.criterion_params = criterion_params
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.checkpoint = checkpoint
        self.warm_start = warm_start
        self.transform_batch_size = transform_batch_size

    _parameter_constraints = {
        "backbone": [StrOptions({"auto", *TRUNKS}), nn.Module],
        "weights": [None, str, HasMethods(["get_state_dict"])],
        "layer": [StrOptions(set(RESNET_LAYERS))],
        "freeze_backbone": ["boolean", StrOptions({"auto"})],
        "augment": ["boolean", StrOptions({"auto"}), callable],
        "image_size": [Interval(Integral, 1, None, closed="left")],
        "visibility_channel": [None, StrOptions({"auto"}), Interval(Integral, None, None, closed="neither")],
        "embedding_dim": [Interval(Integral, 2, None, closed="left")],
        "hidden_dim": [None, Interval(Integral, 1, None, closed="left")],
        "num_frames": [Interval(Integral, 1, None, closed="left")],
        "num_context": [Interval(Integral, 1, None, closed="left")],
        "context_stride": [Interval(Integral, 1, None, closed="left")],
        **{name: LOSS_CONSTRAINTS[name] for name in _LOSS_PARAMS},
        "criterion": [None, type],
        "criterion_params": [None, dict],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [Device()],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [None, list],
        "checkpoint": ["boolean", str, os.PathLike],
        "warm_start": ["boolean"],
        "transform_batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    # ------------------------------------------------------------------
    # validation

    def _criterion(self):
        """The criterion class and its keyword arguments."""
        params = dict(self.criterion_params or {})
        if self.criterion is None:
            loss_params = {name: getattr(self, name) for name in _LOSS_PARAMS}
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
        changed = [name for name in _LOSS_PARAMS if getattr(self, name) != defaults[name]]
        if changed:
            raise ValueError(
                f"{changed} configure the default LAVLoss, but criterion={self.criterion.__name__} "
                "replaces it; pass its settings in criterion_params."
            )
        if "embedding_dim" in inspect.signature(self.criterion).parameters:
            params.setdefault("embedding_dim", self.embedding_dim)
        return self.criterion, params

    def _check_videos(self, X, fitting):
        kwargs = dict(frame_ndim=(1, 2, 3))
        if fitting:
            kwargs["min_videos"] = 2
        else:
            kwargs["frame_shape"] = self.frame_shape_
        try:
            videos = check_videos(X, **kwargs)
        except ValueError as err:
            if fitting and "at least 2 are required" in str(err):
                raise ValueError(f"{err} LAV learns from pairs of videos.") from None
            raise
        if videos[0].ndim == 4:
            for i, video in enumerate(videos):
                if video.shape[-1] != 3:
                    raise ValueError(f"X[{i}] has frames of shape {video.shape[1:]}; images must be (H, W, 3) RGB.")
                if video.dtype != np.uint8:
                    raise TypeError(f"X[{i}] has dtype {video.dtype}; RGB frames must be uint8 (0-255).")
            return videos
        return [v.astype(np.float32, copy=False) for v in videos]

    def _check_groups(self, groups, n_videos):
        if groups is None:
            return np.zeros(n_videos, dtype=int)
        groups = np.asarray(groups)
        if groups.ndim != 1 or len(groups) != n_videos:
            raise ValueError(f"groups must have one entry per video ({n_videos}), got shape {groups.shape}.")
        values, counts = np.unique(groups, return_counts=True)
        if (counts < 2).any():
            lonely = values[counts < 2][0].item()
            raise ValueError(
                f"group {lonely!r} has a single video; pairs are drawn within groups, so each needs two."
            )
        return groups

    # ------------------------------------------------------------------
    # building the network

    def _resolve_visibility(self, videos):
        if self.frame_kind_ != "poses" or self.visibility_channel is None:
            return None
        if self.visibility_channel != "auto":
            return int(self.visibility_channel)
        if videos[0].shape[-1] != 3:
            return None
        binary = all(np.isin(v[..., -1], (0.0, 1.0)).all() for v in videos)
        return -1 if binary else None

    def _build_module(self, videos):
        kind = self.frame_kind_
        backbone = default_trunk(kind) if self.backbone == "auto" else self.backbone
        if isinstance(backbone, str) and kind not in TRUNKS[backbone].frame_kinds:
            takes = " or ".join(TRUNKS[backbone].frame_kinds)
            raise ValueError(
                f"backbone={backbone!r} takes {takes}; got {kind} of per-frame shape {self.frame_shape_}."
            )
        if kind == "images":
            preprocessor = ImagePreprocessor(self.image_size)
        elif kind == "poses":
            preprocessor = PosePreprocessor(self.visibility_channel_)
        else:
            preprocessor = FeaturePreprocessor(self.frame_shape_[0])
            preprocessor.set_statistics(np.concatenate(videos))
        hidden = self.hidden_dim or TRUNKS[default_trunk(kind)].hidden_dim
        if isinstance(backbone, str):
            in_features = preprocessor(torch.from_numpy(videos[0][:1])).flatten(1).shape[1]
            trunk = TRUNKS[backbone].build(in_features, hidden, self.weights, self.layer)
        else:
            trunk = copy.deepcopy(backbone)
        with torch.no_grad():
            probe = trunk.eval()(preprocessor(torch.from_numpy(videos[0][:1])))
        if probe.dim() not in (2, 4):
            raise ValueError(f"the backbone must return (N, C) or (N, C, h, w) features, got shape {tuple(probe.shape)}.")
        head = ContextHead(probe.shape[1], self.embedding_dim, hidden, spatial=probe.dim() == 4)
        freeze = self.freeze_backbone
        if freeze == "auto":
            freeze = isinstance(backbone, str) and TRUNKS[backbone].frozen_by_default
        return FrameEncoder(preprocessor, trunk, head, freeze_trunk=bool(freeze))

    def _callbacks(self):
        callbacks = list(self.callbacks or [])
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        if self.checkpoint_dir_ is not None:
            callbacks.append(("checkpoint", Checkpoint(monitor=None, dirname=self.checkpoint_dir_)))
        return callbacks

    def _build_net(self, module):
        criterion, criterion_params = self._criterion()
        return LAVNet(
            module=module,
            criterion=criterion,
            **{f"criterion__{name}": value for name, value in criterion_params.items()},
            optimizer=torch.optim.Adam,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train__shuffle=True,
            iterator_train__collate_fn=collate_video_pairs,
            train_split=None,
            callbacks=self._callbacks(),
            verbose=int(self.verbose >= 1),
            device=self.device_,
        )

    # ------------------------------------------------------------------
    # fit / transform

    def fit(self, X, y=None, groups=None):
        """Train the encoder on videos, without labels.

        Parameters
        ----------
        X : list, tuple or 1-D object array of arrays
            Videos: RGB frames ``(T, H, W, 3)`` uint8, poses ``(T, J, C)`` or
            features ``(T, D)``; all share the per-frame shape, ``T`` varies.
        y : None
            Ignored (self-supervised); accepted for pipelines.
        groups : array-like of shape (n_videos,), optional
            Group of each video (e.g. its action); pairs are drawn within
            groups. Routed by Pipeline and GridSearchCV after
            ``set_fit_request(groups=True)``.

        Returns
        -------
        self : LAVEncoder
        """
        self._validate_params()
        criterion, criterion_params = self._criterion()
        criterion(**criterion_params)  # validates the loss settings before any work
        videos = self._check_videos(X, fitting=True)
        groups = self._check_groups(groups, len(videos))
        continuing = self.warm_start and hasattr(self, "net_")
        if continuing and tuple(videos[0].shape[1:]) != self.frame_shape_:
            raise ValueError(
                f"warm_start: the videos' per-frame shape {videos[0].shape[1:]} differs from the "
                f"fitted {self.frame_shape_}."
            )
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if not continuing:
                self._initialize(videos, seed)
            self._train(videos, groups, seed)
        return self

    def _initialize(self, videos, seed):
        self.device_ = _resolve_device(self.device)
        self.frame_shape_ = tuple(videos[0].shape[1:])
        self.frame_kind_ = FRAME_KINDS[len(self.frame_shape_)]
        if self.frame_kind_ == "features":
            self.n_features_in_ = self.frame_shape_[0]
        self.visibility_channel_ = self._resolve_visibility(videos)
        self.checkpoint_dir_ = self._checkpoint_dir()
        self.net_ = self._build_net(self._build_module(videos)).initialize()
        if self.checkpoint_dir_ is not None and os.path.exists(os.path.join(self.checkpoint_dir_, "params.pt")):
            self.net_.load_params(checkpoint=Checkpoint(monitor=None, dirname=self.checkpoint_dir_))

    def _checkpoint_dir(self):
        if self.checkpoint is True:
            return tempfile.mkdtemp(prefix="sklav-checkpoint-")
        if self.checkpoint:
            os.makedirs(self.checkpoint, exist_ok=True)
            return str(self.checkpoint)
        return None

    def _training_frames(self, videos):
        """What the dataset samples from: raw frames, or cached trunk features."""
        module = self.net_.module_
        if not module.freeze_trunk:
            return videos
        dtype = np.float16 if self.frame_kind_ == "images" else np.float32
        return [self._trunk_features(video).cpu().numpy().astype(dtype) for video in videos]

    def _train(self, videos, groups, seed):
        module = self.net_.module_
        augment = make_augmenter(
            self.augment, self.frame_kind_, module.freeze_trunk, visibility_channel=self.visibility_channel_
        )
        dataset = VideoPairDataset(
            self._training_frames(videos), groups, self.num_frames, self.num_context,
            self.context_stride, np.random.default_rng(seed), augment=augment,
        )
        module.use_cached_trunk = module.freeze_trunk
        epochs_left = self.max_epochs - len(self.net_.history) if not self.warm_start else self.max_epochs
        try:
            if epochs_left > 0:
                self.net_.partial_fit(dataset, None, epochs=epochs_left)
        finally:
            module.use_cached_trunk = False

    @property
    def module_(self):
        check_is_fitted(self, "net_")
        return self.net_.module_

    @property
    def history_(self):
        check_is_fitted(self, "net_")
        return self.net_.history

    def _trunk_features(self, video):
        module = self.net_.module_
        module.eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(video), self.transform_batch_size):
                chunk = torch.from_numpy(video[start : start + self.transform_batch_size]).to(self.device_)
                out.append(module.trunk_features(chunk))
        return torch.cat(out)

    def _embed_video(self, video):
        module = self.net_.module_
        reach = (self.num_context - 1) * self.context_stride
        out = []
        for start in range(0, len(video), self.transform_batch_size):
            stop = min(start + self.transform_batch_size, len(video))
            first = max(0, start - reach)
            frames = torch.from_numpy(video[first:stop]).to(self.device_)
            features = module.trunk_features(frames)
            context = context_indices(np.arange(start, stop), self.num_context, self.context_stride) - first
            context = torch.from_numpy(context).to(self.device_)
            out.append(module.embed_context(features[None], context[None])[0])
        return torch.cat(out).cpu().numpy().astype(np.float32)

    def transform(self, X):
        """Embed every frame of each video.

        Parameters
        ----------
        X : list, tuple or 1-D object array of arrays
            Videos with the per-frame shape seen in ``fit``.

        Returns
        -------
        embeddings : list of ndarray of shape (T_i, embedding_dim), float32
            Unit-norm embedding of every frame, computed from the frame and
            its context frames (clipped at the video start).
        """
        check_is_fitted(self, "net_")
        videos = self._check_videos(X, fitting=False)
        module = self.net_.module_
        module.eval()
        with torch.no_grad():
            return [self._embed_video(video) for video in videos]

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in state:
            # skorch falls back to the CPU when a CUDA-fitted net is unpickled without a GPU
            self.device_ = str(self.net_.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.target_tags.required = False
        return tags
