"""Reproduce the LAV paper's Penn Action tables on real poses.

For each of the 5 Penn Action actions with phase labels, each feature type
(2D joints, SMPL poses) and each seed: train on the train split (no labels,
except the supervised baseline), evaluate on val (Penn's official test split)
with :func:`sklav.evaluation.evaluate`:

- Tab. 1 (ablation of the loss): Soft-DTW alone, IDM alone, SFA alone, C-IDM
  alone, Soft-DTW+IDM, Soft-DTW+SFA, Soft-DTW+C-IDM (= LAV).
- Tab. 2-4: raw features (no encoder), the clock (frame t of T embedded as
  t/T, :class:`sklav.encoders.ClockEncoder`), an untrained encoder, SAL,
  TCN, TCC, LAV, LAV+TCC, and a supervised baseline, with classification at
  label fractions 0.1/0.5/1.0, progress R^2, Kendall's tau (stride 5 and 2),
  phase agreement, AP@5/10/15.
- Tab. 5: one encoder trained on all 5 actions (pairs within an action, via
  ``pair_groups``), evaluated per action.

Every run is repeated under each re-timing protocol of ``--protocols``
(default ``none,crop,warp``, :mod:`sklav.evaluation.protocols`): ``none``
is the paper's; ``crop`` and ``warp`` re-time every train and val video at
random (seeded by the run's seed) before the encoder is trained, so that the
clock, which passes the paper's protocol on Penn Action's trimmed clips, no
longer does. Progression targets stay those of the original videos.

Protocol (``PROTOCOL`` below, printed above every table): phase
classification by an SVM (RBF, C=1; ``--classifier logreg`` for CARL/CASA's
logistic regression) on frozen embeddings, fitted on a random draw of 10% /
50% / 100% of the labelled train videos (3 episodes per fraction, mean);
progression as TCC defines it (linear regression of the per-key-event
progress, R^2 on val); Kendall's tau among the val videos at stride 5 (LAV's
and TCC's Penn Action setting) and stride 2 (CASA's); AP@K over the other
val videos. The supervised baseline follows the paper (after TCC): the
encoder with a linear phase classifier attached, trained with only the given
fraction of labelled videos (one draw per fraction) and scored by its own
classifier; its progress/tau/AP use the 100%-label network's embeddings.

Hyperparameters are the defaults of :class:`sklav.LAVEncoder` (epochs
included, unless ``--epochs``), the same for every method of Tab. 2-5; the
loss ablation keeps the earlier defaults (2 context frames, no augmentation,
100 epochs: ``ABLATION_SETTINGS``, ``ABLATION_EPOCHS``). They were chosen
on the dev actions' val split by ``benchmarks/tune_loss.py``, never on
anything else.
Writes ``benchmarks/results/paper_tables.csv`` (one row per run and metric,
appended and fsynced as each run finishes) and ``docs/_static/paper_tables.rst``
(means over seeds), prints them and the wall time. Runs are ordered 2D joints
first, seed by seed; ``--resume`` skips the runs already in the CSV, so an
interrupted reproduction loses nothing and continues where it stopped.

Usage: ``python benchmarks/reproduce_paper.py [--quick] [--jobs 2] [--resume]``
"""

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from skorch import NeuralNetClassifier
from sklearn.svm import SVC
from torch import nn

from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state

from sklav import ClockEncoder, LAVEncoder
from sklav.datasets import get_penn_action_root, load_penn_action
from sklav.encoders.data import context_indices
from sklav.evaluation import ScoreTable, evaluate
from sklav.evaluation.protocols import PROTOCOLS, retime
from sklav.losses import SALLoss, TCNLoss
from sklav.metrics import kendalls_tau, phase_accuracy
from sklav.utils import embed

ROOT = Path(__file__).resolve().parents[1]
# the full data: $SKLAV_PENN_ACTION, else the shared folder beside the checkout
SHARED = get_penn_action_root() or ROOT.parent / "shared" / "data" / "penn_action"
ACTIONS = ["baseball_swing", "golf_swing", "jumping_jacks", "pushup", "tennis_forehand"]
FEATURES = ["joints2d", "smpl"]

# name -> LAVEncoder parameters (None: raw features, no encoder).
# The loss ablation compares objectives under one condition: the defaults before 3 context
# frames, pose augmentation and 75 epochs were chosen on the dev val split (k=2, no
# augmentation, 100 epochs; --epochs overrides the epochs); its LAV row is LAV so trained,
# the methods' LAV row is LAVEncoder's defaults.
ABLATION_SETTINGS = dict(num_context=2, augment=False)
ABLATION_EPOCHS = 100
ABLATION = {
    "Soft-DTW": dict(ABLATION_SETTINGS, regularizer=None),
    "IDM": dict(ABLATION_SETTINGS, alignment=None, regularizer="idm"),
    "SFA": dict(ABLATION_SETTINGS, alignment=None, regularizer="sfa"),
    "C-IDM": dict(ABLATION_SETTINGS, alignment=None, regularizer="cidm"),
    "Soft-DTW+IDM": dict(ABLATION_SETTINGS, regularizer="idm"),
    "Soft-DTW+SFA": dict(ABLATION_SETTINGS, regularizer="sfa"),
    "LAV (k=2, no augmentation)": dict(ABLATION_SETTINGS),
}
BASELINES = {
    "raw features": None,
    "clock": "clock",
    "untrained encoder": dict(max_epochs=0),
    "SAL": dict(criterion=SALLoss),
    "TCN": dict(criterion=TCNLoss),
    "TCC": dict(alignment=None, regularizer=None, tcc_weight=1.0),
    "LAV": dict(),
    # TCC's plain regression (on the fractions as they are): chosen on the dev val split
    # (tune_loss.py); the variance-aware form collapsed LAV+TCC on 3 of 5 actions
    "LAV+TCC": dict(tcc_weight=0.1, criterion_params={"tcc_loss_type": "regression_mse"}),
    "supervised": "supervised",
}
MAIN_METHODS = ["raw features", "clock", "untrained encoder", "SAL", "TCN", "TCC", "LAV", "LAV+TCC", "supervised"]
FRACTIONS = (0.1, 0.5, 1.0)
CLASSIFIERS = {"svm": ("an SVM (RBF, C=1)", SVC), "logreg": ("logistic regression", LogisticRegression)}
PROTOCOL = (
    "Protocol: phase classification by {classifier} on frozen embeddings, fitted on 10%/50%/100% of "
    "the labelled train videos (3 random episodes per fraction; the supervised baseline: its own "
    "linear classifier trained with that fraction only, one draw); progression: linear regression of "
    "TCC's per-key-event progress, R^2 on val; Kendall's tau among the val videos at stride 5 "
    "(tau@2: stride 2); phase agreement: the fraction of val frames whose nearest frame in another val "
    "video has their phase; AP@K over the other val videos; {epochs} epochs per encoder{ablation}. "
    "Protocols: none (the paper's), crop (each video cut to a random 60-100% window), warp (2-4 "
    "segments at random speeds in [0.5, 2]); train and val re-timed alike, progression targets "
    "those of the original videos."
)
ABLATION_METRICS = ["classification@1.0", "progress_r2", "kendalls_tau", "phase_agreement"]


# --------------------------------------------------------------------------
# data


def load(action, features, split, quick):
    root = None if quick else SHARED
    return load_penn_action(root=root, actions=[action], split=split, features=features)


def load_retimed(action, features, protocol, seed, quick):
    """Train and val after ``protocol``: one generator re-times train, then val (as evaluate)."""
    rng = check_random_state(seed)
    return tuple(retime(data.videos, data.phases, protocol, random_state=rng)
                 for data in (load(action, features, split, quick) for split in ("train", "val")))


def flatten(videos):
    return [v.reshape(len(v), -1) for v in videos]


# --------------------------------------------------------------------------
# the supervised baseline: the same network, trained to classify phases


class _PhaseLogits(nn.Module):
    """An encoder's network plus a linear phase classifier on its embedding."""

    def __init__(self, encoder_module, n_phases):
        super().__init__()
        self.encoder = encoder_module
        self.classifier = nn.Linear(encoder_module.head.projection.out_features, n_phases)

    def forward(self, windows):
        n, k = windows.shape[:2]
        features = self.encoder.trunk_features(windows.flatten(0, 1))
        embeddings = self.encoder.head(features.reshape(n, k, *features.shape[1:]))
        return self.classifier(embeddings)


def _windows(encoder, videos):
    return np.concatenate([
        v[context_indices(np.arange(len(v)), encoder.num_context_, encoder.context_stride)] for v in videos
    ]).astype(np.float32)


def fit_supervised(videos, phases, n_phases, epochs, seed):
    """LAVEncoder's network plus a linear phase classifier, trained with cross-entropy."""
    encoder = LAVEncoder(max_epochs=0, random_state=seed).fit(videos)
    torch.manual_seed(seed)
    net = NeuralNetClassifier(
        _PhaseLogits(encoder.module_, n_phases),
        criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=encoder.lr,
        max_epochs=epochs, batch_size=256, train_split=None,
        iterator_train__shuffle=True, verbose=0,
    )
    net.fit(_windows(encoder, videos), np.concatenate(phases).astype(np.int64))
    return encoder, net  # the encoder's module_ was trained in place


def supervised_scores(train, val, epochs, seed):
    """The paper's supervised baseline: per label fraction, train on that fraction only."""
    n_phases = int(max(p.max() for p in train.labels)) + 1
    rng = check_random_state(seed)
    scores = {}
    for fraction in FRACTIONS:
        n = max(1, round(fraction * len(train.videos)))
        chosen = np.sort(rng.choice(len(train.videos), n, replace=False))
        encoder, net = fit_supervised([train.videos[i] for i in chosen],
                                      [train.labels[i] for i in chosen], n_phases, epochs, seed)
        predicted = net.predict(_windows(encoder, val.videos))
        ends = np.cumsum([len(v) for v in val.videos])[:-1]
        scores[f"classification@{fraction}"] = phase_accuracy(val.labels, np.split(predicted, ends))
    return encoder, scores  # the last encoder saw 100% of the labels


# --------------------------------------------------------------------------
# one run


def _encoder_params(epochs, seed):
    return dict(random_state=seed) if epochs is None else dict(max_epochs=epochs, random_state=seed)


def _scores(encoder, train, val, fractions, classifier, seed, train_videos=None, val_videos=None):
    """The protocol's metrics of one encoder on one action (each video embedded once).

    ``train`` and ``val`` are re-timed (``RetimedVideos``); their embeddings go to
    evaluate as re-timed splits, so that progression keeps the original targets.
    """
    train_embedded = embed(encoder, train.videos if train_videos is None else train_videos)
    val_embedded = embed(encoder, val.videos if val_videos is None else val_videos)
    report = evaluate(
        None, train._replace(videos=train_embedded), val._replace(videos=val_embedded),
        label_fractions=fractions, n_episodes=3, classifier=CLASSIFIERS[classifier][1](),
        tau_stride=5, random_state=seed,
    )
    values = {row["metric"]: row["val"] for row in report}
    values["kendalls_tau@2"] = kendalls_tau(val_embedded, stride=2)
    return values


def run(method, spec, action, features, seed, epochs, quick, classifier="svm", protocol="none"):
    """Train ``method`` on one action's (re-timed) train split, evaluate on (re-timed) val."""
    start = time.perf_counter()
    train, val = load_retimed(action, features, protocol, seed, quick)
    fractions = (1.0,) if method in ABLATION else FRACTIONS
    if spec is None:
        values = _scores(None, train, val, fractions, classifier, seed, flatten(train.videos), flatten(val.videos))
    elif spec == "clock":
        values = _scores(ClockEncoder().fit(train.videos), train, val, fractions, classifier, seed)
    elif spec == "supervised":
        encoder, supervised = supervised_scores(train, val, epochs or 30, seed)
        values = {**_scores(encoder, train, val, fractions, classifier, seed), **supervised}
    else:
        if method in ABLATION and epochs is None:
            epochs = ABLATION_EPOCHS
        encoder = LAVEncoder(**{**_encoder_params(epochs, seed), **spec}).fit(train.videos)
        values = _scores(encoder, train, val, fractions, classifier, seed)
    return _rows(method, action, features, seed, values, start, protocol)


def _rows(method, action, features, seed, values, start, protocol):
    return [
        dict(method=method, action=action, features=features, protocol=protocol, seed=seed, metric=metric,
             value=values[metric], seconds=time.perf_counter() - start)
        for metric in _METRICS if metric in values
    ]


def run_joint(features, seed, epochs, quick, actions, classifier="svm", protocol="none"):
    """Tab. 5: one LAV encoder on all actions (pairs within an action)."""
    start = time.perf_counter()
    splits = {a: load_retimed(a, features, protocol, seed, quick) for a in actions}
    videos = [v for a in actions for v in splits[a][0].videos]
    actions_of_videos = [a for a in actions for _ in splits[a][0].videos]
    encoder = LAVEncoder(**_encoder_params(epochs, seed)).fit(videos, pair_groups=actions_of_videos)
    rows = []
    for action in actions:
        train, val = splits[action]
        values = _scores(encoder, train, val, FRACTIONS, classifier, seed)
        rows += _rows("LAV (joint, all actions)", action, features, seed, values, start, protocol)
    return rows


_METRICS = ["classification@0.1", "classification@0.5", "classification@1.0", "progress_r2",
            "kendalls_tau", "kendalls_tau@2", "phase_agreement", "ap@5", "ap@10", "ap@15"]


# --------------------------------------------------------------------------
# tables


def summarise(rows):
    """Mean over seeds, then over actions: {(method, features, protocol, metric): (mean, per_action)}."""
    table = {}
    for key in sorted({(r["method"], r["features"], r["protocol"], r["metric"]) for r in rows}):
        per_action = {}
        for action in ACTIONS:
            values = [r["value"] for r in rows if (r["method"], r["features"], r["protocol"], r["metric"]) == key
                      and r["action"] == action and r["value"] is not None]
            if values:
                per_action[action] = float(np.mean(values))
        table[key] = (float(np.mean(list(per_action.values()))), per_action)
    return table


def _rst_table(header, body):
    return ScoreTable([dict(zip(header, row)) for row in body], header).to_rst()


def _runs(rows, method, features, protocol):
    """'actions x seeds' behind a row, e.g. '5x3' (a partial reproduction shows fewer)."""
    done = [(r["action"], r["seed"]) for r in rows
            if (r["method"], r["features"], r["protocol"]) == (method, features, protocol)]
    actions, seeds = len({a for a, _ in done}), len({s for _, s in done})
    return f"{actions}x{seeds}" if len(set(done)) == actions * seeds else f"{len(set(done))} runs"


def _cell(table, method, features, protocol, metric, scale=1.0):
    value = table.get((method, features, protocol, metric))
    return "n/a" if value is None else f"{scale * value[0]:.2f}" if scale != 1.0 else f"{value[0]:.4f}"


def _protocols(rows):
    present = {r["protocol"] for r in rows}
    return [p for p in PROTOCOLS if p in present]


def _tables_of(table, rows, features, protocol):
    """The RST tables of one feature type under one protocol."""
    out, where = [], f"{features}, protocol {protocol}"

    def cells(m, metrics):
        return [_cell(table, m, features, protocol, metric, 100 if metric.startswith(("classification", "ap"))
                      else 1.0) for metric in metrics]

    body = [[m, _runs(rows, m, features, protocol)] + cells(m, ["classification@1.0", "progress_r2", "kendalls_tau",
                                                              "kendalls_tau@2", "phase_agreement"])
            for m in ABLATION if (m, features, protocol, "kendalls_tau") in table]
    if body:  # a partial reproduction may have none yet
        out += [f"**{where}: loss ablation (paper Tab. 1)**", "",
                _rst_table(["method", "actions x seeds", "classification", "progress", "tau", "tau@2", "agreement"],
                           body), ""]
    out += [f"**{where}: methods (paper Tab. 2-4)**", ""]
    methods = [m for m in MAIN_METHODS + ["LAV (joint, all actions)"] if (m, features, protocol, "kendalls_tau") in table]
    body = [[m, _runs(rows, m, features, protocol)]
            + cells(m, [f"classification@{f}" for f in ("0.1", "0.5", "1.0")]
                    + ["progress_r2", "kendalls_tau", "kendalls_tau@2", "phase_agreement"]
                    + [f"ap@{k}" for k in (5, 10, 15)]) for m in methods]
    out += [_rst_table(["method", "actions x seeds", "cls 0.1", "cls 0.5", "cls 1.0", "progress", "tau", "tau@2",
                        "agreement", "AP@5", "AP@10", "AP@15"], body), ""]
    lav = lambda metric: table.get(("LAV", features, protocol, metric), (0, {}))[1]
    per_action = ("classification@1.0", "progress_r2", "kendalls_tau", "phase_agreement", "ap@5")
    body = [[a] + [f"{100 * lav(m)[a]:.2f}" if m.startswith(("classification", "ap")) else f"{lav(m)[a]:.4f}"
                   if a in lav(m) else "n/a" for m in per_action]
            for a in ACTIONS if a in lav("kendalls_tau")]
    if body:
        out += [f"**{where}: LAV per action**", "",
                _rst_table(["action", "classification", "progress", "tau", "agreement", "AP@5"], body), ""]
    return out


def to_rst(table, rows, args, wall):
    out = [
        ".. Generated by benchmarks/reproduce_paper.py; do not edit by hand.",
        "",
        f"Penn Action, {len(set(r['action'] for r in rows))} actions, val split (Penn's test split), "
        f"mean over seeds then over actions; seeds: {_coverage(rows)}. "
        + (f"Wall time {wall / 60:.0f} min of the invocations that made the CSV (given to --from-csv). "
           if args.from_csv is not None else
           f"Wall time {wall / 60:.1f} min (last invocation, {args.jobs} runs at a time on 2 cores); ")
        + f"{_run_hours(rows):.2f} single-thread hours over all runs.",
        "",
        PROTOCOL.format(classifier=CLASSIFIERS[args.classifier][0], epochs=_epochs_text(args.epochs),
                        ablation="" if args.epochs else f" ({ABLATION_EPOCHS} for the loss ablation, with "
                        f"{ABLATION_SETTINGS['num_context']} context frames and no augmentation)"),
        "Classification in %, progress as R^2, Kendall's tau, phase agreement as a fraction, AP@K in %. "
        "The clock (frame t of T as t/T) knows only the time: a method that does not beat it under "
        "crop and warp has not shown that it aligns what the frames show.",
        "",
    ]
    for features in sorted({r["features"] for r in rows}):
        for protocol in _protocols(rows):
            out += _tables_of(table, rows, features, protocol)
    out += [
        "Paper (Penn Action, RGB, ResNet-50): LAV classification 84.25 (all labels), 83.56 (10%), "
        "progress 0.6613, tau 0.8047, AP@5 79.13; TCC 81.35, 0.6638, 0.7012, AP@5 76.74.",
        "",
    ]
    return "\n".join(out)


def _coverage(rows):
    seeds = lambda f, ablation: len({r["seed"] for r in rows if r["features"] == f
                                     and (r["method"] == "Soft-DTW") == ablation})
    return "; ".join(f"{f} {seeds(f, False)} (loss ablation {seeds(f, True)})"
                     for f in sorted({r["features"] for r in rows}))


def _run_hours(rows):
    """Each run's own seconds, once per run (the joint model once, not once per action)."""
    runs = {(r["method"], r["features"], r["protocol"], r["seed"], "" if "joint" in r["method"] else r["action"]):
            float(r["seconds"]) for r in rows}
    return sum(runs.values()) / 3600


def _run_key(row):
    return row["method"], row["action"], row["features"], row["protocol"], int(row["seed"])


def _read_rows(path):
    """The CSV's rows; a CSV from before the protocols holds protocol 'none' only."""
    with open(path) as f:
        return [{"protocol": "none", **row, "seed": int(row["seed"]),
                 "value": float(row["value"]) if row["value"] else None}
                for row in csv.DictReader(f)]


def _append(path, rows):
    new = not Path(path).exists() or Path(path).stat().st_size == 0
    if not new:
        with open(path, newline="") as f:
            header = next(csv.reader(f))
        if header != list(rows[0]):
            raise SystemExit(f"{path} has the columns {header}, these runs {list(rows[0])}: --resume a CSV of "
                             "this version of the script (or rebuild its tables with --from-csv).")
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        if new:
            writer.writeheader()
        writer.writerows(rows)
        f.flush()
        os.fsync(f.fileno())


# The order runs are done in, so that a partial reproduction answers the main
# questions first: per feature type, LAV at every seed, then the first seed of
# the baselines and the ablation, then the other seeds.
PRIORITY = ["LAV", "raw features", "clock", "untrained encoder", "TCC", "LAV+TCC", "LAV (k=2, no augmentation)", "Soft-DTW",
            "C-IDM", "Soft-DTW+SFA", "Soft-DTW+IDM", "IDM", "SFA", "SAL", "TCN", "supervised",
            "LAV (joint, all actions)"]


# Untrained rows whose seed, under protocol 'none', changes only the few-shot draws: one seed.
UNTRAINED = (None, "clock")


def _jobs(methods, actions, features, seeds, ablation_seeds, args, done):
    """Every run not in ``done``, in the order of ``PRIORITY`` (see there), protocol after protocol."""
    keyed = []
    for fi, f in enumerate(features):
        for pi, protocol in enumerate(args.protocols):
            for seed in seeds:
                later = 1 if seed == seeds[0] else 2
                for m, spec in methods.items():
                    once = spec in UNTRAINED and protocol == "none"
                    if (seed == seeds[0] or not once) and (m not in ABLATION or seed in ablation_seeds):
                        keyed += [((fi, pi, 0 if m == "LAV" else later, seed, PRIORITY.index(m), a),
                                   delayed(_in_worker)(run, m, spec, a, f, seed, args.epochs, args.quick,
                                                       args.classifier, protocol))
                                  for a in actions if (m, a, f, protocol, seed) not in done]
                joint = "LAV (joint, all actions)"
                wanted = not args.methods or joint in args.methods
                if wanted and not args.quick and (joint, actions[-1], f, protocol, seed) not in done:
                    keyed.append(((fi, pi, later, seed, PRIORITY.index(joint), ""),
                                  delayed(_in_worker)(run_joint, f, seed, args.epochs, args.quick, actions,
                                                      args.classifier, protocol)))
    return [job for _, job in sorted(keyed, key=lambda item: item[0])]


def _epochs_text(epochs):
    return f"{LAVEncoder().max_epochs} (the default)" if epochs is None else str(epochs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="bundled golf_swing only, joints2d, one seed, few epochs (< 5 min)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--classifier", choices=sorted(CLASSIFIERS), default="svm",
                        help="few-shot phase classifier: the paper's SVM, or CARL/CASA's logistic regression")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--ablation-seeds", type=int, default=None,
                        help="seeds for the loss ablation (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel (one torch thread each)")
    parser.add_argument("--from-csv", type=float, metavar="WALL_SECONDS", default=None,
                        help="only rebuild the RST from --csv, quoting this total wall time")
    parser.add_argument("--resume", action="store_true",
                        help="keep the CSV's runs and do only the missing ones (same settings assumed)")
    parser.add_argument("--methods", nargs="*", help="only these rows (default: all)")
    parser.add_argument("--features", default=",".join(FEATURES),
                        help=f"comma-separated feature types (default: {','.join(FEATURES)})")
    parser.add_argument("--protocols", default=",".join(PROTOCOLS),
                        help="comma-separated re-timing protocols, each a set of tables (default: none,crop,warp)")
    parser.add_argument("--csv", help="default: benchmarks/results/paper_tables[_quick].csv")
    parser.add_argument("--rst", help="default: docs/_static/paper_tables.rst (--quick: benchmarks/results/)")
    args = parser.parse_args()
    args.protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    if not args.protocols or set(args.protocols) - set(PROTOCOLS):
        parser.error(f"--protocols: choose among {','.join(PROTOCOLS)}, got {args.protocols}")
    suffix = "_quick" if args.quick else ""
    args.csv = args.csv or str(ROOT / "benchmarks" / "results" / f"paper_tables{suffix}.csv")
    args.rst = args.rst or str(
        ROOT / "benchmarks" / "results" / "paper_tables_quick.rst" if args.quick
        else ROOT / "docs" / "_static" / "paper_tables.rst"
    )
    if args.from_csv is not None:
        return tables_from_csv(args)
    if args.quick:
        actions, features, seeds = ["golf_swing"], ["joints2d"], [0]
        args.epochs = args.epochs or 3
        methods = {m: s for m, s in {**BASELINES, **ABLATION}.items()
                   if m in ("raw features", "clock", "untrained encoder", "LAV", "Soft-DTW", "TCC", "TCN")}
    else:
        features = [f.strip() for f in args.features.split(",") if f.strip()]
        if not features or set(features) - set(FEATURES):
            parser.error(f"--features: choose among {','.join(FEATURES)}, got {features}")
        actions, seeds = ACTIONS, list(range(args.seeds))
        methods = {**BASELINES, **ABLATION}
    if args.methods:
        unknown = set(args.methods) - set(methods) - {"LAV (joint, all actions)"}
        if unknown:
            parser.error(f"unknown methods {sorted(unknown)}; choose among {list(methods)}")
        methods = {m: s for m, s in methods.items() if m in args.methods}
    start = time.perf_counter()
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        Path(args.csv).unlink(missing_ok=True)
    rows = _read_rows(args.csv) if Path(args.csv).exists() else []
    ablation_seeds = seeds[: args.ablation_seeds] if args.ablation_seeds else seeds
    jobs = _jobs(methods, actions, features, seeds, ablation_seeds, args, {_run_key(r) for r in rows})
    for result in Parallel(n_jobs=args.jobs, verbose=5, return_as="generator_unordered")(jobs):
        _append(args.csv, result)
        rows += result
    wall = time.perf_counter() - start
    write_tables(rows, args, wall)
    print(f"total wall time: {wall:.0f} s ({len(jobs)} runs); wrote {args.csv} and {args.rst}")


def write_tables(rows, args, wall):
    rst = to_rst(summarise(rows), rows, args, wall)
    Path(args.rst).parent.mkdir(parents=True, exist_ok=True)
    Path(args.rst).write_text(rst)
    print(rst)


def tables_from_csv(args):
    """Rebuild the RST tables from a (possibly partial) CSV of runs."""
    write_tables(_read_rows(args.csv), args, wall=args.from_csv)


def _in_worker(function, *args):
    torch.set_num_threads(1)
    return function(*args)


if __name__ == "__main__":
    main()
