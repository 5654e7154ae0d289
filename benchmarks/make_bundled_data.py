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

from sklav.datasets._penn_action import BUNDLED_FILE, _FolderSource  # noqa: E402

ACTIONS = ("golf_swing", "tennis_forehand")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = REPO.parent / "shared" / "data" / "penn_action"
    parser.add_argument("--root", type=Path, default=shared)
    parser.add_argument(
        "--out", type=Path, default=REPO / "sklav" / "datasets" / "data" / BUNDLED_FILE
    )
    args = parser.parse_args(argv)

    source = _FolderSource(args.root)
    annotations = [
        ann
        for ann in (source.annotation(v) for v in source.video_ids())
        if ann.action in ACTIONS
    ]
    table = source.phase_table()
    phase_ids = sorted(v for v, row in table.items() if row[0] in ACTIONS)
    starts = [table[v][3] for v in phase_ids]

    arrays = dict(
        video_ids=np.array([a.video_id for a in annotations], dtype=str),
        actions=np.array([a.action for a in annotations], dtype=str),
        views=np.array([a.view for a in annotations], dtype=str),
        train=np.array([1 if a.split == "train" else -1 for a in annotations], dtype=np.int8),
        lengths=np.array([len(a) for a in annotations], dtype=np.int32),
        x=np.concatenate([a.x for a in annotations]),
        y=np.concatenate([a.y for a in annotations]),
        visibility=np.concatenate([a.visibility for a in annotations]),
        phase_video_ids=np.array(phase_ids, dtype=str),
        phase_actions=np.array([table[v][0] for v in phase_ids], dtype=str),
        phase_splits=np.array([table[v][1] for v in phase_ids], dtype=str),
        phase_num_frames=np.array([table[v][2] for v in phase_ids], dtype=np.int32),
        phase_starts_counts=np.array([len(s) for s in starts], dtype=np.int32),
        phase_starts=np.array([i for s in starts for i in s], dtype=np.int32),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): {len(annotations)} videos, "
        f"{arrays['x'].shape[0]} frames, {len(phase_ids)} with phases"
    )
    for action in ACTIONS:
        for split in ("train", "val"):
            n_all = sum(a.action == action and a.split == split for a in annotations)
            n_ph = sum(table[v][0] == action and table[v][1] == split for v in phase_ids)
            print(f"  {action:16s} {split:5s}: {n_all:3d} videos, {n_ph:3d} with phases")


if __name__ == "__main__":
    main()
