"""Pretrained torchvision weights offline: a failed download names the file to put in the cache.

:func:`load_torchvision_weights` builds a torchvision model with pretrained
weights, read from torchvision's cache (``torch.hub.get_dir()/checkpoints``)
or downloaded into it. Without a network and without the cached file, it
raises a ``RuntimeError`` that names the file and the folder to copy it to,
and the offline alternative (random initialisation). Used by the ResNet-50
trunk (:mod:`sklav.encoders.networks`) and the Keypoint R-CNN pose backend
(:mod:`sklav.poses`). torch is imported only when it is called.
"""

import os
from urllib.parse import urlparse

__all__ = ["cached_weights_path", "load_torchvision_weights"]


def cached_weights_path(weights):
    """Where torchvision's cache keeps the file of ``weights`` (a torchvision ``Weights`` member).

    Examples
    --------
    >>> from torchvision.models import ResNet50_Weights
    >>> from sklav.utils.weights import cached_weights_path
    >>> cached_weights_path(ResNet50_Weights.IMAGENET1K_V2).endswith("checkpoints/resnet50-11ad3fa6.pth")
    True
    """
    import torch

    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(urlparse(weights.url).path))


def load_torchvision_weights(build, weights, *, what, offline_hint):
    """``build(weights)``; offline without the cached file, a RuntimeError naming that file.

    Parameters
    ----------
    build : callable
        Builds the model from ``weights`` (e.g. ``lambda w: resnet50(weights=w)``).
    weights : torchvision Weights member or None
        None builds without downloading anything.
    what : str
        The weights' name in the message, e.g. ``'ResNet-50 weights'``.
    offline_hint : str
        What to do offline instead, e.g. ``'pass weights=None (random initialisation)'``.

    Returns
    -------
    model
        What ``build`` returns.

    Raises
    ------
    RuntimeError
        When the download fails (no network) and the file is not cached;
        the message names the file and the cache folder to copy it to.

    Examples
    --------
    >>> from sklav.utils.weights import load_torchvision_weights
    >>> load_torchvision_weights(lambda w: "built", None, what="weights", offline_hint="")
    'built'
    """
    try:
        return build(weights)
    except OSError as err:  # URLError, socket errors: no network
        if weights is None:
            raise
        cached = cached_weights_path(weights)
        if os.path.exists(cached):
            raise
        raise RuntimeError(
            f"Could not download the {what} {weights} from {weights.url} ({err}). "
            f"Offline, either {offline_hint}, or fill torchvision's cache: copy "
            f"{os.path.basename(cached)} (from a machine with a network, where torchvision "
            f"downloads it on first use) to {cached!r}."
        ) from err
