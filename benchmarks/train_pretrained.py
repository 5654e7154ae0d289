"""Retrain the pretrained pose encoder shipped in ``sklav/pretrained/weights``.

Data: the 2D joints of the official *train* split (Penn Action's ``train``
flag in the ``.mat`` files) of all 15 Penn Action actions, as
:func:`sklav.datasets.load_penn_action` returns them (``features='joints2d'``:
per frame centred and scaled on the visible joints, visibility 0/1 as the
third channel). No phase labels are used (``with_phases=False``): LAV is
self-supervised. Pairs are drawn *within an action* (``pair_groups`` = each
video's action), as the paper trains per action, so that Soft-DTW aligns
two golf swings, never a golf swing and a push-up.

Settings: ``SETTINGS`` below, one dict: :class:`sklav.LAVEncoder`'s defaults
(75 epochs included) plus ``keypoint_layout='penn13'`` (so that the shipped
encoder takes a pose estimator's raw keypoints) and ``random_state=0``, on
one CPU thread (about 12 minutes on a shared 2-core machine, so the full
defaults are kept). Another
developer may change the best setting later; change it here, rerun, and
update the registry (``sklav/pretrained/_registry.py``: the printed SHA-256)
and ``docs/pretrained.rst``.

Writes ``sklav/pretrained/weights/penn_joints2d.sklav`` (``sklav.save``) and
prints its size, SHA-256 and the wall time.

Usage: ``nice -n 10 python benchmarks/train_pretrained.py [--root PATH] [--out PATH]``
"""

import argparse
import hashlib
import os
import time
from pathlib import Path

import numpy as np
import torch

import sklav
from sklav import LAVEncoder
from sklav.datasets import get_penn_action_root, load_penn_action

ROOT = Path(__file__).resolve().parents[1]
# the full data: $SKLAV_PENN_ACTION, else the shared folder beside the checkout
SHARED = get_penn_action_root() or ROOT.parent / "shared" / "data" / "penn_action"
OUT = ROOT / "sklav" / "pretrained" / "weights" / "penn_joints2d.sklav"

# LAVEncoder's defaults, seeded; on the CPU so the fit is reproducible bit for bit.
# keypoint_layout='penn13': the shipped encoder takes raw pixel keypoints (and other layouts) too;
# on the loader's arrays, already normalised, it changes nothing but float rounding.
SETTINGS = dict(keypoint_layout="penn13", random_state=0, device="cpu", verbose=1)
TORCH_THREADS = 1  # the fit is small (an MLP on 39 numbers a frame); one core is enough


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=SHARED, help="Penn Action folder")
    parser.add_argument("--out", type=Path, default=OUT, help="model file to write")
    args = parser.parse_args()
    torch.set_num_threads(TORCH_THREADS)
    start = time.perf_counter()
    data = load_penn_action(root=args.root, split="train", with_phases=False)
    actions, counts = np.unique(data.actions, return_counts=True)
    print(f"{len(data.videos)} train videos of {len(actions)} actions, "
          f"{sum(len(v) for v in data.videos)} frames: "
          + ", ".join(f"{a} {n}" for a, n in zip(actions, counts)))
    print(f"settings: {SETTINGS}")
    encoder = LAVEncoder(**SETTINGS).fit(data.videos, pair_groups=data.actions)
    encoder.set_params(verbose=0)  # the shipped encoder transforms silently
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sklav.save(encoder, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes), "
          f"{encoder.n_epochs_trained_} epochs, final train loss "
          f"{encoder.history_[-1, 'train_loss']:.4f}")
    print(f"sha256 {digest}")
    print(f"wall time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
