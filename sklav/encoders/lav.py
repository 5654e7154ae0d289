"""LAVEncoder: the self-supervised frame encoder as a scikit-learn transformer.

Training composes a :class:`skorch.NeuralNet` (:class:`LAVNet`) whose
criterion is :class:`sklav.losses.LAVLoss` (or a replacement objective) on
pairs of videos drawn by :class:`sklav.encoders.data.VideoPairDataset`;
training steps in ``_fitting``, checkpoints in ``_checkpoint``, the network
built in ``_build``.
"""

import os

import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..losses.lav import ALPHA, GAMMA, TIME_UNIT
from ..losses.regularizers import MARGIN, SIGMA
from ._build import embed_video, frame_info
from ._fitting import PARAMETER_CONSTRAINTS, TrainingMixin
from ._state import canonical
from ._training import NamedCallbacksMixin, check_callbacks, check_optimizer, resolve_device

_FRAME_ATTRIBUTES = ("frame_shape_", "frame_kind_", "visibility_channel_", "num_context_", "n_features_in_",
                     "keypoint_layout_")


class LAVEncoder(TransformerMixin, TrainingMixin, NamedCallbacksMixin, BaseEstimator):
    """Learn a frame encoder by aligning videos in time (LAV, Haresh et al. 2021).

    Self-supervised: ``fit`` needs only videos. Each training step draws pairs
    of videos (of the same group when ``pair_groups`` is given), embeds
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
        as the official code). Poses: mirroring, aspect change, small
        rotation (:func:`~sklav.encoders.augment.augment_poses`). A callable
        ``f(frames, rng) -> frames`` replaces these. 'auto': as True, except
        for features and a frozen trunk (cached features cannot be
        augmented; True then warns).
    image_size : int, default=224
        Frames are resized to ``image_size x image_size``.
    visibility_channel : int, None or 'auto', default='auto'
        For poses ``(T, J, C)``: the channel holding joint visibility, if
        any. Invisible joints leave the per-frame centring and scaling and
        are zeroed. 'auto': the last channel when ``C == 3`` and it holds only
        0 and 1 in the training data, else None.
    keypoint_layout : {'penn13', 'coco17', 'blazepose33', 'openpose25'} or None, default=None
        Poses are a pose estimator's keypoints ``(T, J, 2 or 3)`` in this
        layout, in pixels or any units, the optional third channel a
        confidence (visible when >= 0.5): they are mapped to the layout of
        the first fit (``keypoint_layout_``, see
        :func:`sklav.datasets.convert_keypoints`) and centred and scaled per
        frame, as ``load_penn_action`` does. None: poses as they are.
    embedding_dim : int, default=128
        At least 2 (embeddings are L2-normalised).
    hidden_dim : int, default=None
        Width of the head (and of the MLP trunk); None gives 512 for images,
        256 for poses and features.
    num_frames : int, default=20
        Frames per video per step (the paper's ``p``). Videos shorter than
        this contribute all their frames.
    num_context : int, default=None
        Context frames per embedded frame (the paper's ``k``), the frame
        itself included. None: 2 for images (the paper's), 3 for poses and
        features (chosen on the dev val split).
    context_stride : int, default=15
        Frames between context frames; context before the first frame is
        clipped to it.
    gamma : float, default=0.1
        Soft-DTW smoothing.
    alpha : float, default=0.5
        Weight of the regularizer.
    sigma : float, default=0.1
        C-IDM window, in the units of ``time_unit`` (by default a tenth of
        the video).
    time_unit : {'fraction', 'position', 'frame'}, default='fraction'
        The regularizer's timestamps: each sampled frame's index divided by
        its video's length (as the official code), the positions ``0 ..
        num_frames - 1`` of the sampled frames (the paper's ``i, j``), or the
        frame indices. Chosen on the dev actions' val split (see the user
        guide's "Choosing the defaults").
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
    lr : float, default=1e-3
    weight_decay : float, default=1e-5
        The optimizer's learning rate and weight decay.
    optimizer : torch.optim.Optimizer class, default=torch.optim.Adam
    optimizer_params : dict or None, default=None
        Further keyword arguments of the optimizer, e.g. ``{'betas': (0.9,
        0.99)}`` (skorch's ``optimizer__*``); ``lr`` and ``weight_decay`` are
        set above. Checked on a dummy parameter before training.
    max_epochs : int, default=75
        An epoch pairs every training video once with a partner (75 tied
        100 on the dev val split). 0: an untrained network.
    batch_size : int, default=8
        Pairs per step.
    device : str, torch.device or None, default='auto'
        'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1', 'mps'...;
        None leaves the module where it is built, on the CPU, as in skorch.
        Under ``torchrun``, each process trains on its ``LOCAL_RANK`` GPU or
        the CPU, data-parallel (see the user guide's :ref:`gpu-distributed`).
    precision : {'32', 'bf16', '16'}, default='32'
        The network's forward in float32, or under autocast in bfloat16 or
        float16 (with a gradient scaler); the loss is always float32 or wider.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, pairing, frame sampling and shuffling. The
        random streams are saved with the fit and its checkpoints: on the
        CPU, 2 + 2 epochs (warm start or resume) give bit for bit 4.
    verbose : int, default=0
        0 silent, 1 one line per epoch, 2 a progress bar too.
    callbacks : list or None, default=None
        skorch callbacks added to the net, e.g. ``EarlyStopping(monitor=
        'train_loss')`` or ``LRScheduler``, or ``(name, callback)`` pairs
        whose parameters are then ``callbacks__<name>__<param>`` for
        ``set_params`` and searches (e.g. ``callbacks__stop__patience``).
        ``fit`` trains with clones of them. skorch's ``EarlyStopping`` ends
        training normally; any other ``KeyboardInterrupt``: an interruption.
    checkpoint : bool, str or path-like, default=False
        Save a checkpoint after every epoch, atomically, into the sub-folder
        ``fit-<key>`` of this folder, the key a fingerprint of the data, of
        the parameters that change the result and of the seed: only the same
        fit resumes from it (bit for bit as if never stopped); any other fit
        starts fresh in its own sub-folder. True: a temporary folder, kept
        only to resume an interrupted fit (:ref:`lav-checkpoints`).
    warm_start : bool, default=False
        Train the fitted network ``max_epochs`` more epochs, continuing its
        random streams. Changed optimizer, loss, batch and callback settings
        apply; changing a parameter that fixes the network (``backbone``,
        ``weights``, ``layer``, ``freeze_backbone``, ``image_size``,
        ``visibility_channel``, ``embedding_dim``, ``hidden_dim``,
        ``num_context``, ``context_stride``, ``optimizer``) or the device
        raises a ``ValueError``.
    transform_batch_size : int, default=256
        Frames embedded at once in ``transform`` (and run through a frozen
        trunk to cache its features).
    num_workers : int, default=0
        ``DataLoader`` processes that sample and decode training videos, each
        from its own stream (:func:`~sklav.encoders.data.seed_worker`): a fit
        is reproducible for a given ``num_workers``, not across values.
    feature_cache : str, path-like, 'auto' or None, default='auto'
        Folder caching a frozen trunk's features of videos given as paths
        (memory-mapped, keyed by path, size, modification time and trunk;
        reused across fits and processes). 'auto': ``$SKLAV_FEATURE_CACHE``
        or ``~/.cache/sklav/features``. None (and in-memory videos): RAM.
    feature_cache_size : int, default=20 * 2**30
        The folder's budget in bytes; least recently used files go first,
        never those of the fit under way.

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
    keypoint_layout_ : str or None
        The network's keypoint layout (``keypoint_layout`` at the first fit).
    num_context_ : int
        Context frames per embedded frame (``num_context`` resolved).
    checkpoint_dir_ : str or None
        This fit's checkpoint folder; None without checkpoints, or when a
        ``checkpoint=True`` fit left nothing to resume (its folder is deleted).
    interrupted_ : bool
        Whether training was interrupted (Ctrl-C); ``fit`` then warns
        (:class:`~sklav.encoders.TrainingInterruptedWarning`) and keeps the
        network as it was, steps of the unfinished epoch included.
    n_epochs_trained_ : int
        Epochs completed, over all warm-started or resumed fits.

    Raises
    ------
    sklav.encoders.NonFiniteTrainingError
        From ``fit``, at the first non-finite embedding, loss or gradient.

    Notes
    -----
    ``fit`` validates everything first and changes the estimator only once
    training has ended: a failed fit leaves a fitted estimator as it was.

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
        keypoint_layout=None,
        embedding_dim=128,
        hidden_dim=None,
        num_frames=20,
        num_context=None,
        context_stride=15,
        gamma=GAMMA,
        alpha=ALPHA,
        sigma=SIGMA,
        time_unit=TIME_UNIT,
        margin=MARGIN,
        regularizer="cidm",
        alignment="softdtw",
        tcc_weight=0.0,
        criterion=None,
        criterion_params=None,
        lr=1e-3,
        weight_decay=1e-5,
        optimizer=torch.optim.Adam,
        optimizer_params=None,
        max_epochs=75,
        batch_size=8,
        device="auto",
        precision="32",
        random_state=None,
        verbose=0,
        callbacks=None,
        checkpoint=False,
        warm_start=False,
        transform_batch_size=256,
        num_workers=0,
        feature_cache="auto",
        feature_cache_size=20 * 2**30,
    ):
        self.backbone = backbone
        self.weights = weights
        self.layer = layer
        self.freeze_backbone = freeze_backbone
        self.augment = augment
        self.image_size = image_size
        self.visibility_channel = visibility_channel
        self.keypoint_layout = keypoint_layout
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.num_frames = num_frames
        self.num_context = num_context
        self.context_stride = context_stride
        self.gamma = gamma
        self.alpha = alpha
        self.sigma = sigma
        self.time_unit = time_unit
        self.margin = margin
        self.regularizer = regularizer
        self.alignment = alignment
        self.tcc_weight = tcc_weight
        self.criterion = criterion
        self.criterion_params = criterion_params
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.checkpoint = checkpoint
        self.warm_start = warm_start
        self.transform_batch_size = transform_batch_size
        self.num_workers = num_workers
        self.feature_cache = feature_cache
        self.feature_cache_size = feature_cache_size

    _parameter_constraints = PARAMETER_CONSTRAINTS

    # ------------------------------------------------------------------
    # fit

    def fit(self, X, y=None, pair_groups=None):
        """Train the encoder on videos, without labels.

        Parameters
        ----------
        X : list, tuple or 1-D object array of arrays or paths
            Videos: RGB frames ``(T, H, W, 3)`` uint8, poses ``(T, J, C)`` or
            features ``(T, D)``; all share the per-frame shape, ``T`` varies.
            A single video is ``[video]``: an N-D array is refused. A path (a
            video file, a frame folder, a ``.npy`` array) is read on demand
            (:func:`sklav.datasets.open_video`): only the frames sampled, and
            their context, are decoded.
        y : None
            Ignored (self-supervised); accepted for pipelines.
        pair_groups : array-like of shape (n_videos,), optional
            Group of each video (e.g. its action); pairs are drawn within
            groups. Distinct from scikit-learn's cross-validation ``groups``,
            so that both can be routed in one search::

                with sklearn.config_context(enable_metadata_routing=True):
                    encoder = LAVEncoder().set_fit_request(pair_groups=True)
                    GridSearchCV(encoder, grid, cv=GroupKFold()).fit(
                        videos, groups=subjects, pair_groups=actions)

        Returns
        -------
        self : LAVEncoder
        """
        self._validate_params()
        criterion, criterion_params = self._criterion()
        criterion(**criterion_params)  # validates the loss settings before any work
        optimizer_params = check_optimizer(self.optimizer, self.optimizer_params, self.lr, self.weight_decay)
        callbacks = check_callbacks(self.callbacks)
        videos = self._check_videos(X, fitting=True)
        pair_groups = self._check_groups(pair_groups, len(videos))
        settings = canonical(self.get_params(deep=False))
        continuing = self.warm_start and hasattr(self, "net_")
        if continuing:
            self._check_warm_start(videos, settings)
            info = {name: getattr(self, name) for name in _FRAME_ATTRIBUTES if hasattr(self, name)}
            device = self.device_
        else:
            info = frame_info(videos, self.visibility_channel, self.num_context)
            info["keypoint_layout_"] = self.keypoint_layout
            device = resolve_device(self.device)
        # Everything is validated; the estimator changes only once training has ended.
        self._fit_and_commit(videos, pair_groups, info, device, continuing, settings,
                             (criterion, criterion_params), optimizer_params, callbacks)
        return self

    # ------------------------------------------------------------------
    # transform

    def transform(self, X):
        """Embed every frame of each video.

        Parameters
        ----------
        X : list, tuple or 1-D object array of arrays or paths
            Videos with the per-frame shape seen in ``fit``; paths are read
            one video at a time, ``transform_batch_size`` frames at a time.

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
            return [
                embed_video(module, video, self.num_context_, self.context_stride, self.device_,
                            self.transform_batch_size)
                for video in videos
            ]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False  # a list of videos, never one stacked array
        tags.target_tags.required = False
        tags.non_deterministic = False  # bit for bit under a random_state on the CPU
        tags.transformer_tags.preserves_dtype = ["float32"]  # embeddings are float32 whatever the input
        return tags
