"""Score the shipped pretrained encoder on the 5 dev actions' val split.

For each Penn Action action with phase labels (baseball_swing, golf_swing,
jumping_jacks, pushup, tennis_forehand): embed its train and val videos
(2D joints) with ``sklav.pretrained.load_encoder('penn_joints2d')``, as it
ships (no fine-tuning), and score the embeddings with
:func:`sklav.evaluation.evaluate` under ``benchmarks/reproduce_paper.py``'s
protocol: phase classification by ``PhaseClassifier(SVC())`` (RBF, C=1) on
10% / 50% / 100% of the labelled train videos (3 episodes, mean), progression
R^2, Kendall's tau at stride 5, AP@5/10/15 among the val videos. The
encoder saw the train split of these actions (without labels) and never
their val split (Penn's official test split).

Rows: the pretrained encoder; the raw keypoints (the normalised joints,
flattened, no encoder); and, for reference, LAV trained on that action
alone (means over the seeds in ``benchmarks/results/paper_tables.csv``,
LAVEncoder's defaults, as ``reproduce_paper.py`` ran it).

Writes ``benchmarks/results/pretrained_scores.csv`` and prints a table and
the wall time.

Usage: ``nice -n 10 python benchmarks/score_pretrained.py``
"""

import csv
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from sklearn.svm import SVC

from sklav.datasets import get_penn_action_root, load_penn_action
from sklav.evaluation import evaluate
from sklav.pretrained import load_encoder
from sklav.utils import embed

ROOT = Path(__file__).resolve().parents[1]
SHARED = get_penn_action_root() or ROOT.parent / "shared" / "data" / "penn_action"
RESULTS = ROOT / "benchmarks" / "results"
ACTIONS = ["baseball_swing", "golf_swing", "jumping_jacks", "pushup", "tennis_forehand"]
METRICS = ["classification@0.1", "classification@0.5", "classification@1.0", "progress_r2",
           "kendalls_tau", "ap@5", "ap@10", "ap@15"]
NAME = "penn_joints2d"
SEED = 0


def scores(train_embedded, val_embedded, train, val):
    report = evaluate(None, (train_embedded, train.phases), (val_embedded, val.phases),
                      label_fractions=(0.1, 0.5, 1.0), n_episodes=3, classifier=SVC(), tau_stride=5,
                      random_state=SEED)
    return {row["metric"]: row["val"] for row in report}


def per_action_lav():
    """LAV trained per action, means over seeds, from reproduce_paper.py's CSV."""
    values = defaultdict(list)
    path = RESULTS / "paper_tables.csv"
    if path.is_file():
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row["method"] == "LAV" and row["features"] == "joints2d":
                    values[(row["action"], row["metric"])].append(float(row["value"]))
    return {key: float(np.mean(v)) for key, v in values.items()}


def main():
    torch.set_num_threads(1)
    start = time.perf_counter()
    encoder = load_encoder(NAME)
    rows = []
    for action in ACTIONS:
        train = load_penn_action(root=SHARED, actions=[action], split="train")
        val = load_penn_action(root=SHARED, actions=[action], split="val")
        for method, (tr, va) in {
            f"pretrained ({NAME})": (embed(encoder, train.videos), embed(encoder, val.videos)),
            "raw keypoints": ([v.reshape(len(v), -1) for v in train.videos],
                              [v.reshape(len(v), -1) for v in val.videos]),
        }.items():
            values = scores(tr, va, train, val)
            rows += [dict(method=method, action=action, metric=m, value=values[m]) for m in METRICS]
            print(f"{action:16s} {method:28s} " + " ".join(f"{values[m]:.3f}" for m in METRICS), flush=True)
    reference = per_action_lav()
    rows += [dict(method="LAV per action (paper_tables.csv)", action=a, metric=m, value=reference[(a, m)])
             for a in ACTIONS for m in METRICS if (a, m) in reference]
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "pretrained_scores.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["method", "action", "metric", "value"])
        writer.writeheader()
        writer.writerows(rows)
    table = defaultdict(dict)
    for row in rows:
        table[row["method"]].setdefault(row["metric"], []).append(row["value"])
    print(f"\nmean over the {len(ACTIONS)} dev actions (val split):")
    print(f"{'method':36s} " + " ".join(f"{m:>18s}" for m in METRICS))
    for method, values in table.items():
        print(f"{method:36s} " + " ".join(f"{np.mean(values[m]):18.3f}" if m in values else f"{'':18s}"
                                          for m in METRICS))
    print(f"wall time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
