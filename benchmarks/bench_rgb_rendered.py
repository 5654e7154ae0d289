"""The RGB path on real motion: LAV's ResNet-50 encoder on rendered Penn Action golf swings.

Penn Action's RGB frames are not available here; its 2D joints are. Each
golf_swing video (train and val splits) is drawn as RGB frames by
:func:`sklav.datasets.render_poses` (real joints, a random style per video:
limb colours, line width, background), then compared on val:

- ``raw pixels``: each frame downsampled to 16x16 grey, flattened (256
  features), no encoder;
- ``untrained trunk``: :class:`sklav.LAVEncoder` with ``max_epochs=0`` (a
  randomly initialised ResNet-50 and head);
- ``fine-tuned``: the whole network trained (``freeze_backbone=False``, the
  default), with the default image augmentation (flip, brightness, contrast);
- ``frozen trunk``: only the head trained, on the random trunk's cached
  features (``freeze_backbone=True``, no augmentation possible).

The ResNet-50 starts from random weights (``weights=None``): ImageNet
weights cannot be downloaded here. Metrics from :func:`sklav.evaluation.evaluate`:
phase classification (SVM, 100% of the train labels), Kendall's tau at
stride 5, progress R^2 and AP@5/10/15. To fit 2 CPU cores within about 20
minutes the videos are subsampled in time (``--frame-step 2``: 15 fps, the
context stride halved to match), the images are small (``--size 48``) and
the head is narrow (``hidden_dim=128`` instead of 512: at 48 px its 3D
convolutions over the trunk's 1024 channels would cost more than the trunk).

Writes ``benchmarks/results/rgb_rendered.csv`` (method, metric, value,
seconds) and ``docs/_static/rgb_rendered.rst`` (the table, included in the
user guide), and prints them and the total wall time.

Usage: ``python benchmarks/bench_rgb_rendered.py [--quick] [--epochs N] [--csv PATH]``
"""

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch

from sklav import LAVEncoder
from sklav.datasets import get_penn_action_root, load_penn_action, load_penn_action_annotations, render_poses
from sklav.evaluation import ScoreTable, evaluate

ROOT = Path(__file__).resolve().parents[1]
SHARED = get_penn_action_root() or ROOT.parent / "shared" / "data" / "penn_action"
ACTION = "golf_swing"


def rendered_split(split, size, frame_step, seed, limit=None):
    """Rendered videos and per-frame phases of one split (one style per video)."""
    raw = load_penn_action_annotations(root=SHARED, actions=ACTION, split=split)
    phases = load_penn_action(root=SHARED, actions=ACTION, split=split)
    assert list(raw.video_ids) == list(phases.video_ids)
    n = len(raw.video_ids) if limit is None else limit
    seeds = np.random.SeedSequence([seed, split == "val"]).spawn(n)
    videos = [
        render_poses(np.stack([x, y, v], -1)[::frame_step], size=size, rng=np.random.default_rng(s))
        for x, y, v, s in zip(raw.x, raw.y, raw.visibility, seeds)
    ]
    return videos, [p[::frame_step] for p in phases.phases[:n]]


def grey_pixels(videos, side=16):
    """Each frame as ``side x side`` grey pixels in [0, 1], flattened (block means)."""
    out = []
    for video in videos:
        grey = video.astype(np.float32).mean(-1) / 255
        T, H, W = grey.shape
        rows, cols = np.arange(side + 1) * H // side, np.arange(side + 1) * W // side
        blocks = np.add.reduceat(np.add.reduceat(grey, rows[:-1], axis=1), cols[:-1], axis=2)
        out.append((blocks / np.outer(np.diff(rows), np.diff(cols))).reshape(T, -1))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a handful of tiny videos, 1 epoch (< 60 s)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 2, quick 1)")
    parser.add_argument("--size", type=int, default=None, help="frame size in px (default 48, quick 16)")
    parser.add_argument("--frame-step", type=int, default=None, help="keep every n-th frame (default 2)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default=None,
                        help="comma-separated (default all four; quick: all but 'frozen trunk')")
    parser.add_argument("--csv", default=str(ROOT / "benchmarks" / "results" / "rgb_rendered.csv"))
    parser.add_argument("--rst", default=str(ROOT / "docs" / "_static" / "rgb_rendered.rst"))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    quick = args.quick
    size = args.size or (16 if quick else 48)
    step = args.frame_step or (3 if quick else 2)
    epochs = args.epochs if args.epochs is not None else (1 if quick else 2)
    limit = (6, 4) if quick else (None, None)

    train = rendered_split("train", size, step, args.seed, limit[0])
    val = rendered_split("val", size, step, args.seed, limit[1])
    n_frames = sum(map(len, train[0])) + sum(map(len, val[0]))
    print(f"rendered {len(train[0])} train and {len(val[0])} val {ACTION} videos ({n_frames} frames, "
          f"{size} px, every {step} frame(s)) in {time.perf_counter() - start:.0f} s; "
          f"torch threads: {torch.get_num_threads()}")

    common = dict(weights=None, image_size=size, num_frames=4 if quick else 8, context_stride=max(1, 15 // step),
                  batch_size=4, lr=args.lr, random_state=args.seed, hidden_dim=32 if quick else 128)
    encoders = {
        "raw pixels": None,
        "untrained trunk": dict(max_epochs=0),
        "fine-tuned": dict(max_epochs=epochs, freeze_backbone=False),
        "frozen trunk": dict(max_epochs=epochs, freeze_backbone=True),
    }
    print(f"LAVEncoder settings: {common}, epochs {epochs}")
    rows, tables = [], {}
    methods = args.methods or ",".join(m for m in encoders if not (quick and m == "frozen trunk"))
    for method in [m.strip() for m in methods.split(",")]:
        tic = time.perf_counter()
        if encoders[method] is None:
            encoder, data = None, ((grey_pixels(train[0]), train[1]), (grey_pixels(val[0]), val[1]))
        else:
            encoder, data = LAVEncoder(**common, **encoders[method]).fit(train[0]), (train, val)
        fitted = time.perf_counter() - tic
        report = evaluate(encoder, *data, label_fractions=(1.0,), n_episodes=1, tau_stride=5,
                          random_state=args.seed)
        seconds = time.perf_counter() - tic
        tables[method] = report
        for name in report.names():
            rows.append(dict(method=method, metric=name, value=report[name]["val"],
                             fit_seconds=round(fitted, 1), seconds=round(seconds, 1)))
        print(f"{method}: fit {fitted:.0f} s, fit + evaluation {seconds:.0f} s", flush=True)

    header = (f"{ACTION}, val split ({len(val[0])} videos), rendered RGB at {size} px, every {step} "
              f"frame(s); ResNet-50 from random weights (no ImageNet offline); {epochs} epoch(s), "
              f"lr {args.lr}; SVM on 100% of the train labels; tau at stride 5.")
    write_results(rows, args.csv, args.rst, header, time.perf_counter() - start)


def results_table(rows):
    """One column per method, one row per metric, from the CSV rows."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    values = {(r["method"], r["metric"]): float(r["value"]) for r in rows}
    return ScoreTable([{"metric": m, **{k: values.get((k, m)) for k in methods}} for m in metrics],
                      ["metric", *methods])


def write_results(rows, csv_path, rst_path, header, wall):
    """Print the table; write the CSV and the reStructuredText table (with timings)."""
    seconds = {r["method"]: r["seconds"] for r in rows}
    timing = "; ".join(f"{m} {s:.0f} s" for m, s in seconds.items())
    text = (f"{header}\n\n{results_table(rows).to_rst()}\n\nFit + evaluation: {timing}; "
            f"total wall time {wall / 60:.1f} min on 2 CPU cores.\n")
    print("\n" + text)
    for path in (Path(csv_path), Path(rst_path)):
        path.parent.mkdir(parents=True, exist_ok=True)
    with Path(csv_path).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["method", "metric", "value", "fit_seconds", "seconds"])
        writer.writeheader()
        writer.writerows(rows)
    Path(rst_path).write_text(text)
    print(f"wrote {csv_path} and {rst_path}; total wall time {wall:.0f} s")

if __name__ == "__main__":
    main()
