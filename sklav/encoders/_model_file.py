"""Model files: a fitted LAVEncoder saved and loaded without running code from the file.

A model file is one :func:`torch.save` archive of a plain dict:

- ``format``: ``"sklav-model/1"``; ``sklav_version``: the version that wrote it;
- ``params``: the constructor parameters, as JSON (tuples, devices,
  non-finite floats and classes tagged, e.g. ``{"class": "torch.optim.Adam"}``);
- ``fitted``: the fitted attributes (``frame_shape_``, ``num_context_``,
  ``n_epochs_trained_``...) and what a warm start continues from
  (``_fit_settings``, ``_fit_training``, the pairs' random state), as JSON;
- ``history``: the skorch history, as JSON;
- ``module``, ``optimizer``, ``criterion``: their ``state_dict``;
  ``rng``: torch's random states (uint8 tensors).

:func:`load` reads it with ``torch.load(weights_only=True)`` only, whose
unpickler builds tensors and plain containers and refuses every other
object, so no code in a file runs. Classes are named in the file and
resolved only from an allowlist (the ``torch.optim`` optimizers, the
``sklav.losses`` criteria); the network is rebuilt from the parameters, as
``fit`` builds it, and its state loaded strictly.
"""

import json
import math
import os
import pickle
import warnings
import zipfile

import numpy as np
import torch
from skorch.history import History
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from .. import __version__
from .. import losses
from ..utils.files import write_atomically
from ._build import build_module
from ._checkpoint import _json_default
from ._training import check_optimizer
from .lav import LAVEncoder

FORMAT_NAME = "sklav-model"
FORMAT_VERSION = 1
FORMAT = f"{FORMAT_NAME}/{FORMAT_VERSION}"
# Fitted attributes stored as JSON; ``net_`` is rebuilt from the parameters and the state dicts.
_FITTED = ("frame_shape_", "frame_kind_", "visibility_channel_", "num_context_", "n_features_in_",
           "n_epochs_trained_", "interrupted_", "checkpoint_dir_", "device_", "_fit_settings", "_fit_training",
           "keypoint_layout_")
_UNSAFE_HINT = (
    "a model file holds plain values, torch.optim optimizers and sklav.losses criteria only. Set it to "
    "such a value before saving, or pickle the estimator with joblib.dump (whose files run code when "
    "loaded: load them only when you trust them)"
)
# The first bytes of files that hold a pickle: plain (protocol 2+) and joblib's compressed ones.
_PICKLE_MAGIC = (b"\x80", b"x\x01", b"x\x5e", b"x\x9c", b"x\xda", b"\x1f\x8b", b"BZh", b"\xfd7zXZ",
                 b"\x5d\x00\x00", b"\x04\x22\x4d\x18")


def _allowed_classes():
    """The classes a model file may name: {qualified name: class}; nothing else is ever resolved."""
    optimizers = {f"torch.optim.{name}": cls for name, cls in vars(torch.optim).items()
                  if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)
                  and cls is not torch.optim.Optimizer}
    criteria = {f"sklav.losses.{name}": getattr(losses, name) for name in losses.__all__
                if isinstance(getattr(losses, name), type) and issubclass(getattr(losses, name), torch.nn.Module)}
    return {**optimizers, **criteria}


# --------------------------------------------------------------------------
# values <-> JSON


def _encode(value, where):
    """``value`` as JSON, tagging what JSON lacks; TypeError naming ``where`` otherwise."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, np.generic) and isinstance(value.item(), (bool, int, float, str)):
        return _encode(value.item(), where)
    if isinstance(value, list):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}}
    if isinstance(value, torch.device):
        return {"device": str(value)}
    if isinstance(value, os.PathLike):
        return os.fspath(value)  # loaded back as a str
    if isinstance(value, type):
        name = next((name for name, cls in _allowed_classes().items() if cls is value), None)
        if name is not None:
            return {"class": name}
    text = " ".join(repr(value).split())  # one line, also for a module
    text = text if len(text) <= 60 else text[:57] + "..."
    raise TypeError(f"sklav.save cannot store {where}={text} safely: {_UNSAFE_HINT}.")


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise ValueError(f"an untagged JSON object {sorted(value)}")
    (tag, inner), = value.items()
    if tag == "dict" and isinstance(inner, dict):
        return {k: _decode(v) for k, v in inner.items()}
    if tag == "tuple" and isinstance(inner, list):
        return tuple(_decode(v) for v in inner)
    if tag == "float" and inner in ("inf", "-inf", "nan"):
        return float(inner)
    if tag == "device" and isinstance(inner, str):
        return torch.device(inner)
    if tag == "class":
        classes = _allowed_classes()
        if inner not in classes:
            raise ValueError(f"it names the class {inner!r}, which sklav does not load from model files "
                             "(only torch.optim optimizers and sklav.losses criteria)")
        return classes[inner]
    raise ValueError(f"an unknown JSON tag {tag!r}")


# --------------------------------------------------------------------------
# save


def _payload(encoder):
    if not isinstance(encoder, LAVEncoder):
        raise TypeError(f"sklav.save saves a fitted LAVEncoder, got {type(encoder).__name__}; "
                        "pickle other objects (a Pipeline...) with joblib.dump.")
    check_is_fitted(encoder, "net_")
    params = {name: _encode(value, name) for name, value in encoder.get_params(deep=False).items()}
    fitted = {name: _encode(getattr(encoder, name), name) for name in _FITTED if hasattr(encoder, name)}
    rng = getattr(encoder, "_rng_states", None)
    if rng is not None:
        fitted["_rng_pairs"] = _encode(rng["pairs"], "_rng_states")
    net = encoder.net_
    return {
        "format": FORMAT,
        "sklav_version": __version__,
        "params": json.dumps(params),
        "fitted": json.dumps(fitted),
        "history": json.dumps(net.history.to_list(), default=_json_default),
        "module": net.module_.state_dict(),
        "optimizer": net.optimizer_.state_dict(),
        "criterion": net.criterion_.state_dict(),
        "rng": None if rng is None else {"torch": rng["torch"], "cuda": rng.get("cuda")},
    }


def save(encoder, file):
    """Save a fitted :class:`~sklav.LAVEncoder` to a model file that runs no code when loaded.

    The file holds the parameters and fitted attributes as JSON and the
    network's, optimizer's and criterion's tensors (a :func:`torch.save`
    archive, ``sklav-model/1``); :func:`load` reads it back without
    unpickling any object. A path is written atomically: into a temporary
    file in the same folder, flushed to disk, renamed onto the path, so a
    failure leaves no file and an existing one as it was; the file gets the
    mode the umask gives new files.

    Parameters
    ----------
    encoder : LAVEncoder
        A fitted encoder whose parameters are plain values (numbers,
        strings, None, lists, tuples, dicts of them, paths, devices), a
        ``torch.optim`` optimizer class and a :mod:`sklav.losses` criterion
        class. Path-like parameters are loaded back as ``str``.
    file : str, os.PathLike or binary file object
        Where to write; any extension (``sklav fit`` uses ``.sklav``).

    Raises
    ------
    TypeError
        If a parameter cannot be stored safely (a custom ``backbone``
        module, a callable ``augment``, ``callbacks`` objects, a
        ``RandomState`` instance, an unknown class...): the message names
        it. Such an encoder can be pickled with ``joblib.dump``, whose files
        run code when loaded. Nothing is written.
    sklearn.exceptions.NotFittedError
        If the encoder is not fitted.

    See Also
    --------
    load : Read a model file back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import sklav
    >>> rng = np.random.default_rng(0)
    >>> videos = [np.cumsum(rng.normal(size=(20, 4)), 0) for _ in range(3)]
    >>> encoder = sklav.LAVEncoder(num_frames=6, max_epochs=1, embedding_dim=8, hidden_dim=16,
    ...                            random_state=0).fit(videos)
    >>> folder = tempfile.TemporaryDirectory()
    >>> sklav.save(encoder, os.path.join(folder.name, "model.sklav"))
    >>> os.listdir(folder.name)
    ['model.sklav']
    >>> folder.cleanup()
    """
    payload = _payload(encoder)  # everything is checked before a file is touched
    if hasattr(file, "write"):
        torch.save(payload, file)
    else:
        write_atomically(file, lambda f: torch.save(payload, f))


# --------------------------------------------------------------------------
# load


def _tagged_pickle(path):
    """The bytes of the torch zip archive's ``data.pkl`` record (b"" for another zip archive),
    or None when ``path`` is no readable zip archive; nothing is unpickled."""
    try:
        with zipfile.ZipFile(path) as archive:
            records = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/data.pkl")]
            return archive.read(records[0]) if len(records) == 1 else b""
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, RuntimeError):
        return None


def is_model_file(path):
    """Whether ``path`` is a model file written by :func:`save`, judged from its bytes.

    True for a torch zip archive whose pickle names the sklav model format;
    nothing in the file is unpickled. Any other file (a pickle or joblib
    file, a plain ``torch.save`` archive...) and a missing one give False.
    A True file may still be damaged: :func:`load` checks the rest.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    bool

    Examples
    --------
    >>> import os, pickle, tempfile
    >>> from sklav.encoders import is_model_file
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "model.pkl")
    >>> with open(path, "wb") as f:
    ...     pickle.dump({"a": 1}, f)
    >>> is_model_file(path)
    False
    >>> folder.cleanup()
    """
    data = _tagged_pickle(path)
    return data is not None and f"{FORMAT_NAME}/".encode() in data


def _not_a_model(name, head):
    if not head:
        return f"{name!r} is not an sklav model file: it is empty."
    if head.startswith(_PICKLE_MAGIC):
        return (f"{name!r} is not an sklav model file but a pickle (e.g. joblib) file, which could run "
                "code when loaded; load it with joblib.load only if you trust its source.")
    return f"{name!r} is not an sklav model file (sklav.save writes those): it is not a torch archive."


def _read(path):
    """The file's dict, checked; ValueError naming the file and its problem otherwise."""
    name = os.fspath(path)
    with open(name, "rb") as f:  # a missing file or a folder: the OSError, as open gives it
        head = f.read(8)
    if not head.startswith(b"PK\x03\x04"):
        raise ValueError(_not_a_model(name, head))
    data = _tagged_pickle(name)
    if data is None:
        raise ValueError(f"{name!r} is not a readable sklav model file: it is a truncated or damaged "
                         "zip archive.")
    if f"{FORMAT_NAME}/".encode() not in data:
        raise ValueError(f"{name!r} is not an sklav model file: it is a zip or torch archive without "
                         f"the {FORMAT_NAME!r} format tag.")
    try:
        payload = torch.load(name, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(f"{name!r} is refused: it holds pickled objects other than tensors and plain "
                         "values, which could run code; sklav model files never do.") from None
    except Exception as err:  # torch reports damage with many types
        raise ValueError(f"{name!r} is a damaged sklav model file ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''}).") from None
    tag = payload.get("format") if isinstance(payload, dict) else None
    prefix, _, version = tag.partition("/") if isinstance(tag, str) else ("", "", "")
    if prefix != FORMAT_NAME or not version.isdigit():
        raise ValueError(f"{name!r} is not an sklav model file: its format tag is {tag!r}.")
    if int(version) > FORMAT_VERSION:
        raise ValueError(f"{name!r} has the model format version {version}, newer than this sklav "
                         f"({__version__}) reads ({FORMAT_VERSION}); upgrade sklav to load it.")
    return name, payload


def _usable_device(device):
    kind = torch.device(device).type
    if kind == "cuda":
        index = torch.device(device).index or 0
        return torch.cuda.is_available() and index < torch.cuda.device_count()
    if kind == "mps":
        return torch.backends.mps.is_available()
    return True


def _rebuild(encoder, payload, fitted, device):
    """The fitted net, built as ``fit`` builds it and filled with the file's states."""
    info = {n: fitted[n] for n in ("frame_shape_", "frame_kind_", "visibility_channel_", "num_context_",
                                   "n_features_in_") if n in fitted}
    dtype = np.uint8 if info["frame_kind_"] == "images" else np.float32
    probe = [np.zeros((1, *info["frame_shape_"]), dtype=dtype)]  # the shapes; statistics come from the file
    # weights=None: nothing downloaded or read from torchvision's cache, the weights are the file's
    module = build_module(clone(encoder).set_params(weights=None), probe, info)
    criterion = encoder._criterion()
    optimizer_params = check_optimizer(encoder.optimizer, encoder.optimizer_params, encoder.lr,
                                       encoder.weight_decay)
    encoder._world = (0, 1)
    net = encoder._build_net(module, device, criterion, optimizer_params,
                             encoder._net_callbacks([], None)).initialize()
    net.module_.load_state_dict(payload["module"])  # strict: every tensor, no other
    net.optimizer_.load_state_dict(payload["optimizer"])
    net.criterion_.load_state_dict(payload["criterion"])
    net.history_ = History(json.loads(payload["history"]))
    net.interrupted_ = fitted.get("interrupted_", False)
    return net


def load(path):
    """Load a model file written by :func:`save`; no code in the file runs.

    The file is read with ``torch.load(weights_only=True)`` only; the
    network is rebuilt from the stored parameters and its state loaded
    strictly. The loaded encoder transforms bit for bit as the saved one,
    and a ``warm_start=True`` fit continues it as it would have continued
    the saved one: optimizer state, history and random streams included.
    It is placed on the device it was fitted on if that is available here,
    else on the CPU (``device_`` says which, and a warning tells).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    encoder : LAVEncoder
        Fitted; ``get_params()`` as saved (path-like values as ``str``).

    Raises
    ------
    ValueError
        If the file is not a readable sklav model file: a pickle or joblib
        file, another torch file, a truncated or damaged file, a file
        holding pickled objects, a newer format version. The one-line
        message names the file and the problem.
    OSError
        If the file cannot be opened (e.g. ``FileNotFoundError``).

    See Also
    --------
    save : Write a model file.
    is_model_file : Whether a file is one, judged from its bytes.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import sklav
    >>> rng = np.random.default_rng(0)
    >>> videos = [np.cumsum(rng.normal(size=(20, 4)), 0) for _ in range(3)]
    >>> encoder = sklav.LAVEncoder(num_frames=6, max_epochs=1, embedding_dim=8, hidden_dim=16,
    ...                            random_state=0).fit(videos)
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "model.sklav")
    >>> sklav.save(encoder, path)
    >>> loaded = sklav.load(path)
    >>> all(np.array_equal(a, b) for a, b in zip(loaded.transform(videos), encoder.transform(videos)))
    True
    >>> folder.cleanup()
    """
    name, payload = _read(path)
    try:
        params = {k: _decode(v) for k, v in json.loads(payload["params"]).items()}
        fitted = {k: _decode(v) for k, v in json.loads(payload["fitted"]).items()}
        encoder = LAVEncoder(**params)
        encoder._validate_params()
        fitted["frame_shape_"] = tuple(fitted["frame_shape_"])
        device = fitted["device_"]
        if not _usable_device(device):
            warnings.warn(f"{name!r} was fitted on {device!r}, which is not available here; it is loaded "
                          "on the CPU.", UserWarning, stacklevel=2)
            device = "cpu"
        net = _rebuild(encoder, payload, fitted, device)
        rng = payload["rng"]
        if rng is not None:
            states = [rng["torch"]] + ([] if rng.get("cuda") is None else [rng["cuda"]])
            if not all(isinstance(t, torch.Tensor) and t.dtype == torch.uint8 for t in states):
                raise TypeError("its random states are not uint8 tensors")
            encoder._rng_states = {"torch": rng["torch"], "pairs": fitted.pop("_rng_pairs")}
            if rng.get("cuda") is not None:
                encoder._rng_states["cuda"] = rng["cuda"]
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:
        message = " ".join(str(err).split())  # one line
        raise ValueError(f"{name!r} is a damaged or inconsistent sklav model file "
                         f"({type(err).__name__}: {message}).") from None
    for attribute, value in {**fitted, "device_": device, "net_": net}.items():
        setattr(encoder, attribute, value)
    return encoder
