"""What identifies a fit and what makes it reproducible: fingerprints and random states.

- :func:`canonical` and :func:`fingerprint`: a fit's settings and data as
  JSON, and a key naming its checkpoint folder;
- :func:`rng_states` and :func:`set_rng_states`: every random stream
  training draws from, saved with a fit and in its checkpoints so that a
  warm start or a resumed fit continues them.
"""

import enum
import hashlib
import json

import numpy as np
import torch

FORMAT = "sklav-checkpoint/1"


def _qualname(obj):
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"


def _hash_arrays(arrays):
    digest = hashlib.sha256()
    for array in arrays:
        identity = getattr(array, "identity", None)
        if identity is not None:  # a video read on demand: its path, size and time, not its frames
            digest.update(f"video:{identity}".encode())
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def canonical(value):
    """A JSON-serialisable description of ``value`` that is equal for equal settings.

    Plain values are kept; arrays, tensors and modules are hashed; classes and
    functions are named; objects with ``get_params`` (skorch callbacks,
    scikit-learn estimators) are described by their class and parameters;
    any other object only by its class.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else repr(value)
    if isinstance(value, np.generic):
        return canonical(value.item())
    if isinstance(value, enum.Enum):
        return f"{_qualname(type(value))}.{value.name}"
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return {"array": _hash_arrays([value])}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, type) or callable(value) and not hasattr(value, "get_params") and not isinstance(
        value, torch.nn.Module
    ):
        return _qualname(value)
    if isinstance(value, torch.nn.Module):
        state = [t.detach().cpu().numpy() for t in value.state_dict().values()]
        return {"module": _qualname(type(value)), "repr": repr(value), "state": _hash_arrays(state)}
    if hasattr(value, "get_params"):
        return {"class": _qualname(type(value)), "params": canonical(value.get_params(deep=False))}
    return {"class": _qualname(type(value))}


def fingerprint(estimator, settings, videos, pair_groups, continues=None):
    """The fingerprint of one fit and its key (16 hex digits).

    Parameters
    ----------
    estimator : object
        The estimator; its class is part of the fingerprint.
    settings : dict
        Canonical parameters (see :func:`canonical`) that determine the result.
    videos : list of ndarray
    pair_groups : ndarray
    continues : str or None
        For a warm start, a hash of the network it continues.
    """
    fields = {
        "format": FORMAT,
        "estimator": _qualname(type(estimator)),
        "settings": settings,
        "data": {"n_videos": len(videos), "sha256": _hash_arrays(videos)},
        "pair_groups": _hash_arrays([np.asarray(pair_groups).astype(str)]),
        "continues": continues,
    }
    text = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16], fields


def network_hash(net):
    """A hash of a fitted net's weights and epoch count (the start of a warm start)."""
    state = [t.detach().cpu().numpy() for t in net.module_.state_dict().values()]
    return f"{_hash_arrays(state)}:{len(net.history)}"


# --------------------------------------------------------------------------
# random number generators


def rng_states(pair_rng, device):
    """Every random stream training draws from: torch's (CPU, CUDA) and the pairs'."""
    states = {"torch": torch.get_rng_state(), "pairs": pair_rng.bit_generator.state}
    if str(device).startswith("cuda"):
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def set_rng_states(states, pair_rng, device):
    """Restore what :func:`rng_states` returned."""
    torch.set_rng_state(states["torch"])
    if str(device).startswith("cuda") and states.get("cuda") is not None:
        torch.cuda.set_rng_state(states["cuda"], device)
    pair_rng.bit_generator.state = states["pairs"]
