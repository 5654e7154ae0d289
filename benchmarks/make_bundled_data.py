"""Regenerate the Penn Action subset bundled in ``sklav/datasets/data/``.

The bundled file holds the *raw* annotations (x, y as float64, visibility as
uint8, exactly as read from ``labels/NNNN.mat``) of every golf_swing and
tennis_forehand video, plus their rows of ``phases.csv``; the loader applies
the same normalisation to them as to the full data, so
``load_penn_action()`` equals ``load_penn_action(root=<shared folder>,
actions=["golf_swing", "tennis_forehand"])`` bit for bit (tests check it).

SMPL poses are not bundled: they are float32 noise to a compressor (about
3.7 MB for these two actions even byte-shuffled, against ~0.6 MB for the
joints), over the ~3 MB budget, and float16 would break the exact equality.

Usage (from the repository root)::

    python benchmarks/make_bundled_data.py [--root ../shared/data/penn_action]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sklav.datasets import load_penn_action_annotations  # noqa: E402

ACTIONS = ("golf_swing", "tennis_forehand")
BUNDLED_FILE = "penn_action_subset.npz"  # the name sklav/datasets/_penn_sources.py reads


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = REPO.parent / "shared" / "data" / "penn_action"
    parser.add_argument("--root", type=Path, default=shared)
    parser.add_argument(
        "--out", type=Path, default=REPO / "sklav" / "datasets" / "data" / BUNDLED_FILE
    )
    args = parser.parse_args(argv)

    # every video of ACTIONS, and those with phase labels (with their phase starts)
    raw = load_penn_action_annotations(args.root, actions=ACTIONS, split="all", with_phases=False)
    phased = load_penn_action_annotations(args.root, actions=ACTIONS, split="all")
    starts = phased.phase_starts

    arrays = dict(
        video_ids=raw.video_ids,
        actions=raw.actions,
        views=raw.views,
        train=np.where(raw.splits == "train", 1, -1).astype(np.int8),
        lengths=np.array([len(x) for x in raw.x], dtype=np.int32),
        x=np.concatenate(raw.x),
        y=np.concatenate(raw.y),
        visibility=np.concatenate(raw.visibility),
        phase_video_ids=phased.video_ids,
        phase_actions=phased.actions,
        phase_splits=phased.splits,
        phase_num_frames=np.array([len(x) for x in phased.x], dtype=np.int32),
        phase_starts_counts=np.array([len(s) for s in starts], dtype=np.int32),
        phase_starts=np.array([i for s in starts for i in s], dtype=np.int32),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): {len(raw.video_ids)} videos, "
        f"{arrays['x'].shape[0]} frames, {len(phased.video_ids)} with phases"
    )
    for action in ACTIONS:
        for split in ("train", "val"):
            n_all = np.sum((raw.actions == action) & (raw.splits == split))
            n_ph = np.sum((phased.actions == action) & (phased.splits == split))
            print(f"  {action:16s} {split:5s}: {n_all:3d} videos, {n_ph:3d} with phases")


if __name__ == "__main__":
    main()
