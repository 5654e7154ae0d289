"""Training machinery behind LAVEncoder: the skorch net, callbacks, optimizer, device.

- :class:`LAVNet`: the :class:`skorch.NeuralNet` that trains on batches of
  video pairs; it stops at the first non-finite loss or gradient
  (:class:`NonFiniteTrainingError`) and records a Ctrl-C (``interrupted_``),
  which skorch itself swallows.
- named callbacks: ``(name, callback)`` entries of ``callbacks`` and their
  ``callbacks__<name>__<param>`` parameters, as scikit-learn exposes the
  steps of a Pipeline.
"""

import inspect

import torch
from skorch import NeuralNet
from skorch.utils import to_tensor
from skorch.callbacks import Callback, EarlyStopping
from sklearn.base import clone

from ._distributed import average_over_ranks


class NonFiniteTrainingError(ValueError, FloatingPointError):
    """Training produced a NaN or infinite loss or gradient."""


class TrainingInterruptedWarning(UserWarning):
    """``fit`` was interrupted (Ctrl-C) and returned a partly trained estimator."""


#: ``precision`` option -> autocast dtype (None: float32, no autocast)
PRECISIONS = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}


class LAVNet(NeuralNet):
    """skorch net for self-supervised training on batches of video pairs.

    The batch (see :func:`~sklav.encoders.data.collate_video_pairs`) holds
    videos ``x0, y0, x1, y1, ...``; the module embeds them all and the
    criterion (by default :class:`~sklav.losses.LAVLoss`) receives the
    embeddings and the batch's lengths and timestamps, which stay where the
    collate function put them (the lengths on the CPU).

    Unlike a plain ``NeuralNet``, training stops with
    :class:`NonFiniteTrainingError` at the first non-finite embedding, loss
    or gradient (before the optimizer steps), and a ``KeyboardInterrupt`` that is not
    ``EarlyStopping``'s way of ending training sets ``interrupted_`` and drops
    the unfinished epoch's row from the history.

    ``precision`` ('32', 'bf16' or '16') runs the module's forward under
    ``torch.autocast`` in that dtype ('16' with a ``GradScaler``); the
    criterion always gets float32 embeddings. While ``data_parallel`` is set
    (see :mod:`sklav.encoders._distributed`), training steps go through it.
    """

    def __init__(self, *args, precision="32", **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.set_data_parallel(None)

    def set_data_parallel(self, wrapper):
        """Route training steps through a ``DistributedDataParallel`` wrapper (None: the module)."""
        # a transient wrapper of module_, not part of the net's state: set past skorch's
        # check, which refuses modules set outside initialize()
        object.__setattr__(self, "data_parallel", wrapper)

    def initialize(self):
        super().initialize()
        return self.set_precision(self.precision)

    def set_precision(self, precision):
        """Train from now on in ``precision`` ('32', 'bf16' or '16')."""
        self.precision = precision
        float16 = precision == "16"
        self.grad_scaler_ = torch.amp.GradScaler(torch.device(self.device).type) if float16 else None
        return self

    def infer(self, x, **fit_params):
        module = self.data_parallel if self.data_parallel is not None and self.module_.training else self.module_
        x = self._merge_x_and_fit_params(to_tensor(x, device=self.device), fit_params)
        dtype = PRECISIONS[self.precision]
        with torch.autocast(torch.device(self.device).type, dtype=dtype, enabled=dtype is not None):
            return module(**x)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if training and not torch.isfinite(y_pred.detach()).all():
            raise NonFiniteTrainingError(
                f"training stopped: the network's embeddings are not finite at {self._step()}; the "
                "weights have diverged. Lower lr and check the videos."
            )
        return self.criterion_(y_pred.float(), y_true)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if not (training and self.data_parallel is not None):
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        with self.data_parallel.join():  # a rank with one batch fewer shadows the others' all-reduces
            super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        # the epoch's loss over all ranks, so that every rank logs the same history
        batches = self.history[-1]["batches"]
        sizes = [b[f"{prefix}_batch_size"] for b in batches]
        local = sum(b[f"{prefix}_loss"] * n for b, n in zip(batches, sizes)) / max(sum(sizes), 1)
        mean = average_over_ranks(local, sum(sizes))
        for batch in batches:
            batch[f"{prefix}_loss"] = mean

    def train_step(self, batch, **fit_params):
        if self.grad_scaler_ is None:
            return super().train_step(batch, **fit_params)
        # float16: GradScaler steps the optimizer itself (no closure)
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        for name in self._optimizers:
            self.grad_scaler_.step(getattr(self, name + "_"))
        self.grad_scaler_.update()
        return step

    def _step(self):
        return f"epoch {len(self.history)}, batch {len(self.history[-1].get('batches', []))}"

    def fit_loop(self, X, y=None, epochs=None, **kwargs):
        self.interrupted_ = False
        try:
            return super().fit_loop(X, y, epochs, **kwargs)
        except KeyboardInterrupt:
            if not self._stopped_early():
                self.interrupted_ = True
                if len(self.history) and "train_loss" not in self.history[-1]:
                    del self.history[-1]
            raise

    def _stopped_early(self):
        """Whether an ``EarlyStopping`` callback ended training (it raises KeyboardInterrupt)."""
        return any(
            isinstance(cb, EarlyStopping) and getattr(cb, "misses_", 0) >= cb.patience
            for _, cb in getattr(self, "callbacks_", [])
        )

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        X, target = batch
        y_pred = self.infer(X, **fit_params)
        loss = self.get_loss(y_pred, target, X=X, training=True)
        where = self._step()
        if not torch.isfinite(loss.detach()).all():
            raise NonFiniteTrainingError(
                f"training stopped: the loss is {loss.item()} at {where}. Lower lr, check the "
                "videos and the criterion's settings."
            )
        step = {"loss": loss, "y_pred": y_pred}
        if self.grad_scaler_ is not None:
            # GradScaler skips the steps whose scaled float16 gradients overflow
            self.grad_scaler_.scale(loss).backward()
            return step
        loss.backward()
        grads = [(name, p.grad) for name, p in self.module_.named_parameters() if p.grad is not None]
        # the max-norm is finite exactly when every entry is (NaN propagates, nothing overflows)
        if grads and not torch.nn.utils.get_total_norm([g for _, g in grads], float("inf")).isfinite():
            name = next(name for name, g in grads if not g.isfinite().all())
            raise NonFiniteTrainingError(
                f"training stopped: the gradient of {name!r} is not finite at {where} (loss "
                f"{loss.item():.6g}). Lower lr, check the videos and the criterion's settings."
            )
        return step


def resolve_device(device):
    """The torch device string for a ``device`` parameter; raise if it is absent."""
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


def check_optimizer(optimizer, optimizer_params, lr, weight_decay):
    """Validate the optimizer settings on a dummy parameter; return its keyword arguments.

    ``lr`` is passed separately (skorch's ``lr``); ``weight_decay`` is left out
    for an optimizer without one when it is 0.
    """
    if not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer class, got {optimizer!r}.")
    params = dict(optimizer_params or {})
    clash = sorted({"lr", "weight_decay", "params"} & set(params))
    if clash:
        raise ValueError(f"optimizer_params sets {clash}; set lr and weight_decay as LAVEncoder parameters.")
    if "weight_decay" in inspect.signature(optimizer).parameters:
        params = {"weight_decay": weight_decay, **params}
    elif weight_decay:
        raise ValueError(f"optimizer={optimizer.__name__} has no weight_decay; set weight_decay=0.")
    try:
        optimizer([torch.nn.Parameter(torch.zeros(1))], lr=lr, **params)
    except (TypeError, ValueError) as err:
        raise ValueError(f"optimizer={optimizer.__name__} rejects its settings {params!r}: {err}") from None
    return params


# --------------------------------------------------------------------------
# callbacks

# skorch's default callbacks and the estimator's own
RESERVED_CALLBACK_NAMES = frozenset(
    {"epoch_timer", "train_loss", "valid_loss", "print_log", "sklav_progress_bar", "sklav_checkpoint"}
)


def _named(entry):
    return isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)


def check_callbacks(callbacks):
    """Validate a ``callbacks`` list and return clones of its callbacks.

    Entries are skorch callbacks (instances or classes) or ``(name,
    callback)`` pairs with distinct names. The user's objects are never
    handed to skorch, which would set their fitted state.
    """
    out, names = [], set()
    for i, entry in enumerate(callbacks or []):
        name, callback = entry if _named(entry) else (None, entry)
        if isinstance(entry, tuple) and name is None:
            raise ValueError(f"callbacks[{i}] must be a skorch callback or a (name, callback) pair, got {entry!r}.")
        if name is not None and (not name or "__" in name or name in RESERVED_CALLBACK_NAMES or name in names):
            raise ValueError(
                f"callbacks[{i}] has the name {name!r}; names must be unique, non-empty, without '__' "
                f"and none of {sorted(RESERVED_CALLBACK_NAMES)}."
            )
        names.add(name)
        is_class = isinstance(callback, type)
        if not (issubclass(callback, Callback) if is_class else isinstance(callback, Callback)):
            raise TypeError(f"callbacks[{i}] is not a skorch callback: {callback!r}.")
        callback = callback if is_class else clone(callback, safe=False)
        out.append(callback if name is None else (name, callback))
    return out


def callback_params(callbacks):
    """``callbacks__<name>`` and ``callbacks__<name>__<param>`` of the named callbacks."""
    out = {}
    for entry in callbacks if isinstance(callbacks, list) else []:
        if _named(entry):
            name, callback = entry
            out[f"callbacks__{name}"] = callback
            if hasattr(callback, "get_params") and not isinstance(callback, type):
                out.update({f"callbacks__{name}__{k}": v for k, v in callback.get_params(deep=True).items()})
    return out


def set_callback_params(callbacks, params):
    """Apply ``callbacks__<name>[__<param>]`` settings; return the (new) callbacks list.

    ``callbacks__<name>`` replaces a callback (in a new list); a nested
    parameter is set on the callback itself, as Pipeline does with its steps.
    """
    callbacks = list(callbacks) if isinstance(callbacks, list) else []
    index = {entry[0]: i for i, entry in enumerate(callbacks) if _named(entry)}
    split = []
    for key, value in params.items():
        name, _, param = key.removeprefix("callbacks__").partition("__")
        if name not in index:
            raise ValueError(
                f"Invalid parameter {key!r} for LAVEncoder: no callback is named {name!r}; name callbacks "
                f"as (name, callback) pairs. Named callbacks: {sorted(index)}."
            )
        split.append((name, param, value))
    for name, param, value in split:
        if not param:
            callbacks[index[name]] = (name, value)
    for name, param, value in split:
        if param:
            callbacks[index[name]][1].set_params(**{param: value})
    return callbacks


class NamedCallbacksMixin:
    """``get_params``/``set_params`` that nest named callbacks' parameters
    (``callbacks__<name>__<param>``) as a Pipeline nests its steps'."""

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        if deep:
            params.update(callback_params(self.callbacks))
        return params

    def set_params(self, **params):
        if "callbacks" in params:
            self.callbacks = params.pop("callbacks")
        nested = {key: params.pop(key) for key in list(params) if key.startswith("callbacks__")}
        if nested:
            self.callbacks = set_callback_params(self.callbacks, nested)
        return super().set_params(**params)
