"""Pretrained encoders shipped inside sklav: fitted, offline, ready to transform.

- :func:`list_encoders`: the pretrained encoders, each with its description,
  keypoint layout, file and SHA-256.
- :func:`load_encoder`: one of them as a fitted :class:`~sklav.LAVEncoder`,
  its file's SHA-256 checked first and read by :func:`sklav.load` only (no
  code in the file runs). Use it in a Pipeline, or as a warm start for
  ``fit`` on your own videos.

The weights live in ``sklav/pretrained/weights/`` (installed with the
package, nothing is downloaded); the registry, in ``_registry.py``, names
them. ``benchmarks/train_pretrained.py`` retrains them; the model card is
``docs/pretrained.rst``.
"""

from ._registry import list_encoders, load_encoder

__all__ = ["list_encoders", "load_encoder"]
