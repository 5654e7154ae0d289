"""The registry of pretrained encoders and their loading, hash checked first."""

import copy
import hashlib
from pathlib import Path

from ..encoders import load

#: Where the weights files are: installed with the package (``package-data``).
WEIGHTS_FOLDER = Path(__file__).resolve().parent / "weights"

#: name -> entry; ``file`` lies in ``WEIGHTS_FOLDER``; ``sha256`` as printed by
#: ``benchmarks/train_pretrained.py`` (update both when retraining).
REGISTRY = {
    "penn_joints2d": {
        "file": "penn_joints2d.sklav",
        "sha256": "f66fd554f012889be6ab64b10cea4412edd6720450e6c0b69dc5aa104ade25c5",
        "layout": "penn13",
        "description": (
            "LAV on the 2D joints of Penn Action's official train split, all 15 actions "
            "(1258 videos, pairs within an action, no labels), LAVEncoder's defaults, 75 epochs. "
            "Takes (T, J, 2 or 3) keypoints, raw pixels or normalised, any layout via "
            "set_params(keypoint_layout=...); 128-d unit embeddings."
        ),
    },
}


def list_encoders():
    """The pretrained encoders shipped with sklav.

    Returns
    -------
    encoders : list of dict
        One entry per encoder, sorted by name: ``name``, ``description``,
        ``layout`` (the keypoint layout of its network, see
        :data:`sklav.datasets.KEYPOINT_LAYOUTS`), ``file`` (in the package)
        and ``sha256`` (checked by :func:`load_encoder`).

    Examples
    --------
    >>> from sklav.pretrained import list_encoders
    >>> [(e["name"], e["layout"]) for e in list_encoders()]
    [('penn_joints2d', 'penn13')]
    """
    return [{"name": name, **copy.deepcopy(entry)} for name, entry in sorted(REGISTRY.items())]


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_encoder(name):
    """A pretrained encoder, fitted and ready for ``transform``; offline.

    The weights file's SHA-256 is checked against the registry before
    anything in it is read, then the file is loaded by :func:`sklav.load`
    (``torch.load(weights_only=True)``: no code in the file runs).

    Parameters
    ----------
    name : str
        One of the names of :func:`list_encoders`.

    Returns
    -------
    encoder : LAVEncoder
        Fitted, on the CPU. It takes keypoints in its ``keypoint_layout``
        (``'penn13'``: ``(T, 13, 2 or 3)``, pixels or normalised, third
        channel a visibility or confidence, visible when >= 0.5); another
        layout with ``encoder.set_params(keypoint_layout='coco17')`` (or
        ``'blazepose33'``, ``'openpose25'``). Fine-tune it on your videos
        with ``encoder.set_params(warm_start=True, max_epochs=...).fit(videos)``.

    Raises
    ------
    ValueError
        For an unknown name, or a weights file whose SHA-256 differs from
        the registry's (the message names the file).
    FileNotFoundError
        If the weights file is missing from the installation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.datasets import load_penn_action
    >>> from sklav.pretrained import load_encoder
    >>> encoder = load_encoder("penn_joints2d")
    >>> golf = load_penn_action(actions="golf_swing", split="val")  # bundled, normalised joints
    >>> embeddings = encoder.transform(golf.videos[:2])
    >>> [e.shape for e in embeddings]
    [(80, 128), (56, 128)]
    >>> pixels = np.array([[[200.0, 50], [180, 90], [220, 90]] + [[0, 0]] * 10])  # (1, 13, 2)
    >>> encoder.transform([pixels])[0].shape
    (1, 128)
    """
    if name not in REGISTRY:
        raise ValueError(f"No pretrained encoder {name!r}; available: {sorted(REGISTRY)}.")
    entry = REGISTRY[name]
    path = WEIGHTS_FOLDER / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(f"The weights file {str(path)!r} of the pretrained encoder {name!r} is "
                                "missing: reinstall sklav.")
    digest = _sha256(path)
    if digest != entry["sha256"]:
        raise ValueError(f"The weights file {str(path)!r} of the pretrained encoder {name!r} has SHA-256 "
                         f"{digest}, not the registry's {entry['sha256']}: it is damaged or was replaced; "
                         "it was not loaded. Reinstall sklav.")
    return load(path)
