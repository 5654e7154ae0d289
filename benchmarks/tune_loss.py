"""Choose LAV's loss conventions and training defaults by measurement.

Tuning set: the 5 Penn Action actions with phase labels (the shared dev
actions), 2D joints; each configuration trains one :class:`sklav.LAVEncoder`
per action on the train split (no labels) and is scored on the val split
(Penn's official test split), which is this project's tuning set. Nothing
else is looked at.

Protocol (the paper's, as in ``reproduce_paper.py``): phase classification
with an RBF SVM (C=1) at label fractions 0.1 (3 random episodes) and 1.0;
progression R^2 of a linear regressor on TCC's progress targets; Kendall's
tau at stride 5; AP@5 over the other val videos.

Each finished run is appended to ``benchmarks/results/loss_tuning.csv`` at
once, so an interrupted run loses nothing and a rerun skips what is done.
``--summary`` prints the table of means over actions (and seeds) and
writes it to ``docs/_static/loss_tuning.rst``.

Usage::

    python benchmarks/tune_loss.py [--configs NAME ...] [--seeds 0 1 2] [--jobs 2] [--summary]
"""

import argparse
import csv
import os
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from skorch.callbacks import LRScheduler
from sklearn.svm import SVC

from sklav import LAVEncoder
from sklav.encoders.augment import PENN_ACTION_SWAP, augment_poses
from sklav.datasets import get_penn_action_root, load_penn_action
from sklav.evaluation import ScoreTable, evaluate

ROOT = Path(__file__).resolve().parents[1]
SHARED = get_penn_action_root() or ROOT.parent / "shared" / "data" / "penn_action"
ACTIONS = ["baseball_swing", "golf_swing", "jumping_jacks", "pushup", "tennis_forehand"]
RESULTS = ROOT / "benchmarks" / "results" / "loss_tuning.csv"
RST = ROOT / "docs" / "_static" / "loss_tuning.rst"
METRICS = ["classification@0.1", "classification@1.0", "progress_r2", "kendalls_tau", "ap@5"]
FIELDS = ["config", "action", "seed", "metric", "value", "seconds"]

# name -> LAVEncoder parameters, every convention spelled out so that a change
# of default does not change what a name means.
POSITION = dict(time_unit="position", sigma=2.0, max_epochs=100)
FRACTION = dict(time_unit="fraction", sigma=0.1, max_epochs=100)
CONFIGS = {
    "paper-sum lr1e-4": dict(lr=1e-4, **POSITION),
    "paper-sum lr1e-3": dict(lr=1e-3, **POSITION),
    "fraction s0.1 lr1e-3": dict(lr=1e-3, **FRACTION),
    "fraction s0.2 lr1e-3": dict(lr=1e-3, time_unit="fraction", sigma=0.2, max_epochs=100),
    "position-mean s2 lr1e-3": dict(lr=1e-3, criterion_params={"reduction": "mean"}, **POSITION),
    "frame s15 lr1e-3": dict(lr=1e-3, time_unit="frame", sigma=15.0, max_epochs=100),
    "fraction-mean s0.1 lr1e-3": dict(lr=1e-3, criterion_params={"reduction": "mean"}, **FRACTION),
    # the paper's Tab. 1 under the chosen conventions, and pose augmentation
    "fraction softdtw-only": dict(lr=1e-3, regularizer=None, **FRACTION),
    "fraction cidm-only": dict(lr=1e-3, alignment=None, **FRACTION),
    "fraction softdtw+sfa": dict(lr=1e-3, regularizer="sfa", **FRACTION),
    "fraction softdtw+idm": dict(lr=1e-3, regularizer="idm", **FRACTION),
    "fraction pose-augment": dict(lr=1e-3, augment=True, **FRACTION),
    "fraction sdtw-divergence": dict(lr=1e-3, criterion_params={"normalize": True}, **FRACTION),
    # fewer epochs: the default fit's time budget (<= 60 s on golf_swing, 2 cores)
    "fraction s0.1 lr1e-3 e50": dict(FRACTION, lr=1e-3, max_epochs=50),
    "fraction s0.1 lr1e-3 e30": dict(FRACTION, lr=1e-3, max_epochs=30),
    "fraction s0.1 lr2e-3 e50": dict(FRACTION, lr=2e-3, max_epochs=50),
    # LAV+TCC: the weight of the TCC term (all pairs of the batch, TCC's defaults)
    "fraction lav+tcc w0.1": dict(FRACTION, lr=1e-3, tcc_weight=0.1,
                                  criterion_params={"tcc_normalize_indices": True}),
    "fraction lav+tcc w0.01": dict(FRACTION, lr=1e-3, tcc_weight=0.01,
                                   criterion_params={"tcc_normalize_indices": True}),
    # ... and without the variance-aware form (whose 1 / variance explodes on sharp cycles)
    "fraction lav+tcc mse w0.1": dict(FRACTION, lr=1e-3, tcc_weight=0.1, criterion_params={
        "tcc_loss_type": "regression_mse", "tcc_normalize_indices": True}),
    # ... on the fractions as they are (TCC's own scale, [0, 1)), not divided again by the frame count
    "fraction lav+tcc mse raw-t w0.1": dict(FRACTION, lr=1e-3, tcc_weight=0.1, criterion_params={
        "tcc_loss_type": "regression_mse", "tcc_normalize_indices": False}),
    "fraction lav+tcc mse raw-t w1": dict(FRACTION, lr=1e-3, tcc_weight=1.0, criterion_params={
        "tcc_loss_type": "regression_mse", "tcc_normalize_indices": False}),
    # session 5: the defaults' Kendall's tau (0.782) against the paper's 0.805, at the same cost
    "fraction cosine-lr": dict(FRACTION, lr=1e-3, callbacks=[
        ("lr_schedule", LRScheduler(policy="CosineAnnealingLR", T_max=100))]),
    "fraction gamma1": dict(FRACTION, lr=1e-3, gamma=1.0),
    "fraction gamma0.01": dict(FRACTION, lr=1e-3, gamma=0.01),
    "fraction alpha1": dict(FRACTION, lr=1e-3, alpha=1.0),
    "fraction alpha0.25": dict(FRACTION, lr=1e-3, alpha=0.25),
    "fraction p32": dict(FRACTION, lr=1e-3, num_frames=32),
    # a narrower pose head (4x fewer multiply-adds in its convolutions), and the epochs that buys
    "fraction hidden128": dict(FRACTION, lr=1e-3, hidden_dim=128),
    "fraction hidden128 e200": dict(FRACTION, lr=1e-3, hidden_dim=128, max_epochs=200),
    # which part of the pose augmentation helps (Penn Action joints carry visibility in channel 2)
    "fraction augment mirror-only": dict(FRACTION, lr=1e-3, augment=partial(
        augment_poses, aspect=(1.0, 1.0), max_angle=0.0, visibility_channel=2)),
    "fraction augment no-mirror": dict(FRACTION, lr=1e-3, augment=partial(
        augment_poses, mirror=False, visibility_channel=2)),
    "fraction augment swap": dict(FRACTION, lr=1e-3, augment=partial(
        augment_poses, swap=PENN_ACTION_SWAP, visibility_channel=2)),
    "fraction hidden128 e200 augment": dict(FRACTION, lr=1e-3, hidden_dim=128, max_epochs=200, augment=True),
    "fraction gamma1 augment": dict(FRACTION, lr=1e-3, gamma=1.0, augment=True),
    "fraction augment k3": dict(FRACTION, lr=1e-3, augment=True, num_context=3),
    "fraction k3": dict(FRACTION, lr=1e-3, num_context=3),
    "fraction augment k3 e75": dict(FRACTION, lr=1e-3, augment=True, num_context=3, max_epochs=75),
    "fraction augment e150": dict(FRACTION, lr=1e-3, augment=True, max_epochs=150),
    "fraction augment b4": dict(FRACTION, lr=1e-3, augment=True, batch_size=4),
    "fraction augment p32": dict(FRACTION, lr=1e-3, augment=True, num_frames=32),
}


def done_runs():
    if not RESULTS.exists():
        return set()
    with RESULTS.open() as f:
        return {(r["config"], r["action"], int(r["seed"])) for r in csv.DictReader(f)}


def append(rows):
    new = not RESULTS.exists()
    with RESULTS.open("a", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        if new:
            writer.writeheader()
        writer.writerows(rows)
        f.flush()
        os.fsync(f.fileno())


def run(config, action, seed, threads=None):
    if threads:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    train = load_penn_action(root=SHARED, actions=[action], split="train")
    val = load_penn_action(root=SHARED, actions=[action], split="val")
    encoder = LAVEncoder(**CONFIGS[config], random_state=seed).fit(train.videos)
    report = evaluate(
        encoder, (train.videos, train.phases), (val.videos, val.phases),
        label_fractions=(0.1, 1.0), n_episodes=3, ap_k=(5,), tau_stride=5,
        classifier=SVC(), random_state=seed,
    )
    seconds = time.perf_counter() - start
    return [
        dict(config=config, action=action, seed=seed, metric=row["metric"], value=row["val"], seconds=seconds)
        for row in report if row["metric"] in METRICS
    ]


def summary():
    """Mean over seeds then actions of each configuration; prints it and writes the RST table."""
    with RESULTS.open() as f:
        rows = list(csv.DictReader(f))
    table = []
    for config in dict.fromkeys(r["config"] for r in rows):
        record = {"configuration": config}
        for metric in METRICS:
            per_action = [
                np.mean([float(r["value"]) for r in rows
                         if (r["config"], r["action"], r["metric"]) == (config, a, metric)])
                for a in ACTIONS
                if any((r["config"], r["action"], r["metric"]) == (config, a, metric) for r in rows)
            ]
            record[metric] = f"{np.mean(per_action):.4f}" if per_action else "n/a"
        record["actions"] = f"{len(per_action)}/5"
        record["seeds"] = len({r["seed"] for r in rows if r["config"] == config})
        table.append(record)
    rst = ScoreTable(table, ["configuration", *METRICS, "actions", "seeds"]).to_rst()
    RST.write_text(".. Generated by benchmarks/tune_loss.py --summary; do not edit by hand.\n\n" + rst + "\n")
    print(rst)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (one torch thread each)")
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args()
    if args.summary:
        summary()
        return
    done = done_runs()
    todo = [(config, action, seed) for seed in args.seeds for config in args.configs for action in ACTIONS
            if (config, action, seed) not in done]
    threads = 1 if args.jobs > 1 else None
    runs = Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
        delayed(run)(*key, threads) for key in todo)
    for rows in runs:  # appended as each run ends: an interrupted tuning loses only the runs under way
        append(rows)
        print(f"{rows[0]['config']} / {rows[0]['action']} / seed {rows[0]['seed']}: "
              + ", ".join(f"{r['metric']}={r['value']:.4f}" for r in rows)
              + f" ({rows[0]['seconds']:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
