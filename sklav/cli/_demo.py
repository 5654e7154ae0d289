"""``sklav demo``: fit the default encoder on bundled Penn Action joints, score it, draw one alignment."""

import time
import warnings
from pathlib import Path

from . import QUICK_DEMO_EPOCHS
from ._outputs import figure_output, save_figure
from ._stops import CLIError


def _flatten(videos):
    return [v.reshape(len(v), -1) for v in videos]


def cmd_demo(args):
    from sklearn.exceptions import UndefinedMetricWarning

    from ..datasets import load_penn_action
    from ..encoders import LAVEncoder
    from ..evaluation import evaluate

    epochs = args.epochs if args.epochs is not None else (QUICK_DEMO_EPOCHS if args.quick else None)
    if epochs is not None and epochs < 1:
        raise CLIError(f"--epochs must be a positive integer, got {epochs}.")
    figure = figure_output(Path(args.output_dir) / "sklav_demo_alignment.png")
    train = load_penn_action(actions=args.action, split="train")
    val = load_penn_action(actions=args.action, split="val")
    train_videos, train_phases = train.videos, train.phases
    val_videos, val_phases, val_views = val.videos, val.phases, val.views
    if args.quick:
        train_videos, train_phases = train_videos[:24], train_phases[:24]
        val_videos, val_phases, val_views = val_videos[:16], val_phases[:16], val_views[:16]
    print(f"Penn Action {args.action} (bundled 2D joints): {len(train_videos)} train videos, "
          f"{len(val_videos)} val videos.")
    settings = {} if epochs is None else {"max_epochs": epochs}  # else the estimator's defaults
    encoder = LAVEncoder(**settings, random_state=args.seed, verbose=0 if args.quiet else 2)
    print(f"Fitting {encoder!r} on the train videos (no labels)...")
    start = time.perf_counter()
    encoder.fit(train_videos)
    print(f"Fitted in {time.perf_counter() - start:.1f} s. Evaluating on the val videos...")
    common = dict(label_fractions=(1.0,), ap_k=(5,), n_episodes=1, random_state=args.seed)
    with warnings.catch_warnings():  # a few undefined Kendall's tau pairs are expected
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        raw = evaluate(None, (_flatten(train_videos), train_phases),
                       (_flatten(val_videos), val_phases), **common)
        lav = evaluate(encoder, (train_videos, train_phases), (val_videos, val_phases), **common)
    rows = [("phase classification accuracy", "classification@1.0"),
            ("phase progression R^2", "progress_r2"),
            ("Kendall's tau", "kendalls_tau"),
            ("frame retrieval AP@5", "ap@5")]
    print()
    print(f"{'metric (val split)':<32}{'raw joints':>12}{'LAV':>10}")
    for title, name in rows:
        print(f"{title:<32}{raw[name]['val']:>12.4f}{lav[name]['val']:>10.4f}")
    print()
    if figure is not None:
        import matplotlib.pyplot as plt

        same_view = [k for k in range(1, len(val_videos)) if val_views[k] == val_views[0]]
        other = same_view[0] if same_view else 1
        fig = _demo_figure(plt, encoder, val_videos[0], val_videos[other], other)
        print(f"Alignment of two val videos saved to {save_figure(fig, figure)}")
        plt.close(fig)
    return 0


def _demo_figure(plt, encoder, video_a, video_b, index_b):
    from ..alignment import align
    from ..plotting import plot_alignment_path, plot_distance_matrix

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    for ax, (name, result) in zip(axes, [
        ("raw joints", align(None, *_flatten([video_a, video_b]))),
        ("LAV embeddings", align(encoder, video_a, video_b)),
    ]):
        plot_distance_matrix(result, ax=ax, labels=("val video 0", f"val video {index_b}"))
        plot_alignment_path(result, ax=ax)
        ax.set_title(f"{name}: distances and DTW path")
    return fig
