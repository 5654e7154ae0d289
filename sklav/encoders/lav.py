"""LAVEncoder: the self-supervised frame encoder as a scikit-learn transformer.

Training composes a :class:`skorch.NeuralNet` (:class:`LAVNet`), whose loss
is :func:`sklav.losses.lav_loss` (plus, optionally, TCC) on pairs of
videos drawn by :class:`sklav.encoders.data.VideoPairDataset`.
"""

import copy
import numbers
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

from ..losses import lav_loss, tcc_loss
from ..utils.validation import check_videos
from .data import VideoPairDataset, collate_video_pairs, context_indices
from .networks import (
    ContextHead,
    FeaturePreprocessor,
    FrameEncoder,
    ImagePreprocessor,
    PosePreprocessor,
    build_mlp_trunk,
    build_resnet_trunk,
)

FRAME_KINDS = {1: "features", 2: "poses", 3: "images"}


class LAVNet(NeuralNet):
    """skorch net whose loss is LAV's on a batch of interleaved video pairs.

    The batch (see :func:`~sklav.encoders.data.collate_video_pairs`) holds
    videos ``x0, y0, x1, y1, ...``; the module embeds them all and the loss
    compares even rows with odd rows.
    """

    def __init__(self, *args, loss_params=None, tcc_weight=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_params = loss_params
        self.tcc_weight = tcc_weight

    def get_loss(self, y_pred, y_true, X=None, training=False):
        lengths, times = X["lengths"], X["timestamps"]
        x, y = y_pred[0::2], y_pred[1::2]
        pair = dict(
            x_t=times[0::2], y_t=times[1::2], x_lengths=lengths[0::2], y_lengths=lengths[1::2]
        )
        params = self.loss_params or {}
        loss = y_pred.new_zeros(())
        if params.get("alignment") is not None or params.get("regularizer") is not None:
            loss = loss + lav_loss(x, y, **pair, **params)
        if self.tcc_weight:
            loss = loss + self.tcc_weight * tcc_loss(x, y, **pair)
        return loss


def _resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r}, but no CUDA device is available; use 'cpu' or 'auto'.")
    return str(device)


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
    weights : str or None, default=None
        ResNet-50 weights: None for random initialisation (nothing is
        downloaded); a torchvision name such as 'IMAGENET1K_V2' makes
        torchvision download (or read its cache of) the weights.
    layer : {'conv4c', 'conv5c'}, default='conv4c'
        Where the ResNet-50 is cut.
    freeze_backbone : bool or 'auto', default='auto'
        Keep the trunk fixed (eval mode, no gradient); its features are then
        computed once per training video and cached (float16 for images,
        about 400 KB per frame at 224 px and conv4c), so later epochs cost
        only the head. 'auto': frozen for ResNet-50, trained for the MLP.
    image_size : int, default=224
        Frames are resized to ``image_size x image_size``.
    visibility_channel : int, None or 'auto', default='auto'
        For poses ``(T, J, C)``: the channel holding joint visibility, if
        any. Invisible joints leave the per-frame centring and scaling and
        are zeroed. 'auto': the last channel when ``C == 3`` and it holds only
        0 and 1 in the training data, else None.
    embedding_dim : int, default=128
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
    lr : float, default=1e-4
    weight_decay : float, default=1e-5
        Adam's.
    max_epochs : int, default=100
        An epoch pairs every training video once with a partner. 0 builds
        the network without training it (an untrained baseline).
    batch_size : int, default=8
        Pairs per step.
    device : str, default='auto'
        'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1'...
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
        weights=None,
        layer="conv4c",
        freeze_backbone="auto",
        image_size=224,
        visibility_channel="auto",
        embedding_dim=128,
        hidden_dim=None,
        num_frames=20,
        num_context=2,
        context_stride=15,
        gamma=0.1,
        alpha=0.5,
        sigma=2.0,
        margin=2.0,
        regularizer="cidm",
        alignment="softdtw",
        tcc_weight=0.0,
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

    # ------------------------------------------------------------------
    # validation

    def _check_params(self):
        if not isinstance(self.max_epochs, numbers.Integral) or self.max_epochs < 0:
            raise ValueError(f"max_epochs must be a non-negative integer, got {self.max_epochs!r}.")
        for name in ("embedding_dim", "num_frames", "num_context", "context_stride",
                     "batch_size", "image_size", "transform_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if self.hidden_dim is not None and (not isinstance(self.hidden_dim, numbers.Integral) or self.hidden_dim < 1):
            raise ValueError(f"hidden_dim must be a positive integer or None, got {self.hidden_dim!r}.")
        if not (self.backbone in ("auto", "resnet50", "mlp") or isinstance(self.backbone, nn.Module)):
            raise ValueError(f"backbone must be 'auto', 'resnet50', 'mlp' or an nn.Module, got {self.backbone!r}.")
        if self.freeze_backbone not in ("auto", True, False):
            raise ValueError(f"freeze_backbone must be True, False or 'auto', got {self.freeze_backbone!r}.")
        if self.regularizer not in ("cidm", "idm", "sfa", None):
            raise ValueError(f"regularizer must be 'cidm', 'idm', 'sfa' or None, got {self.regularizer!r}.")
        if self.alignment not in ("softdtw", None):
            raise ValueError(f"alignment must be 'softdtw' or None, got {self.alignment!r}.")
        if self.tcc_weight < 0:
            raise ValueError(f"tcc_weight must be >= 0, got {self.tcc_weight}.")
        if self.alignment is None and self.regularizer is None and not self.tcc_weight:
            raise ValueError("Nothing to train: alignment and regularizer are None and tcc_weight is 0.")
        for name in ("gamma", "lr", "margin"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}.")
        for name in ("alpha", "sigma", "weight_decay"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}.")

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
        backbone = self.backbone
        if backbone == "auto":
            backbone = "resnet50" if kind == "images" else "mlp"
        if backbone == "resnet50" and kind != "images":
            raise ValueError(f"backbone='resnet50' needs RGB frames (T, H, W, 3); got {kind} of shape {self.frame_shape_}.")
        if backbone == "mlp" and kind == "images":
            raise ValueError("backbone='mlp' takes poses or features; use 'resnet50' for RGB frames.")
        if kind == "images":
            preprocessor = ImagePreprocessor(self.image_size)
        elif kind == "poses":
            preprocessor = PosePreprocessor(self.visibility_channel_)
        else:
            preprocessor = FeaturePreprocessor(self.frame_shape_[0])
            preprocessor.set_statistics(np.concatenate(videos))
        hidden = self.hidden_dim or (512 if kind == "images" else 256)
        if backbone == "resnet50":
            trunk, _ = build_resnet_trunk(self.weights, self.layer)
        elif backbone == "mlp":
            in_features = preprocessor(torch.from_numpy(videos[0][:1])).shape[1]
            trunk = build_mlp_trunk(in_features, hidden)
        else:
            trunk = copy.deepcopy(backbone)
        with torch.no_grad():
            probe = trunk.eval()(preprocessor(torch.from_numpy(videos[0][:1])))
        if probe.dim() not in (2, 4):
            raise ValueError(f"the backbone must return (N, C) or (N, C, h, w) features, got shape {tuple(probe.shape)}.")
        head = ContextHead(probe.shape[1], self.embedding_dim, hidden, spatial=probe.dim() == 4)
        freeze = self.freeze_backbone
        if freeze == "auto":
            freeze = backbone == "resnet50"
        return FrameEncoder(preprocessor, trunk, head, freeze_trunk=bool(freeze))

    def _callbacks(self):
        callbacks = list(self.callbacks or [])
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        if self.checkpoint_dir_ is not None:
            callbacks.append(("checkpoint", Checkpoint(monitor=None, dirname=self.checkpoint_dir_)))
        return callbacks

    def _build_net(self, module):
        return LAVNet(
            module=module,
            criterion=nn.Identity,  # unused: LAVNet.get_loss computes the LAV loss
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
            loss_params=dict(
                gamma=self.gamma, alpha=self.alpha, sigma=self.sigma, margin=self.margin,
                regularizer=self.regularizer, alignment=self.alignment,
            ),
            tcc_weight=self.tcc_weight,
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
        self._check_params()
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
        dataset = VideoPairDataset(
            self._training_frames(videos), groups, self.num_frames, self.num_context,
            self.context_stride, np.random.default_rng(seed),
        )
        module = self.net_.module_
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
