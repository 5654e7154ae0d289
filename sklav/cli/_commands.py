"""The ``sklav fit``, ``embed`` and ``align`` commands; the parser lives in :mod:`sklav.cli`."""

import re
import signal
import time
import warnings
from pathlib import Path

import numpy as np

from ._inputs import (
    embed_videos,
    expand_folders,
    load_model,
    open_videos,
    read_videos,
    videos_for_model,
)
from ._outputs import OutputFile, figure_output, save_figure, unique_keys, video_key, write_npz
from . import format_alignment_table
from ._stops import CLIError, Stopped, watch_stops

__all__ = ["cmd_fit", "cmd_embed", "cmd_align"]


def _encoder_from_args(args):
    """An unfitted LAVEncoder with the command line's parameters, checked."""
    from ..encoders import LAVEncoder

    params = dict(random_state=args.seed, verbose=0 if args.quiet else 2)
    for name, value in (("max_epochs", args.epochs), ("num_frames", args.num_frames),
                        ("batch_size", args.batch_size), ("lr", args.lr), ("gamma", args.gamma),
                        ("alpha", args.alpha), ("embedding_dim", args.embedding_dim),
                        ("device", args.device), ("checkpoint", args.checkpoint)):
        if value is not None:
            params[name] = value
    params.update(dict(args.param or []))
    encoder = LAVEncoder()
    unknown = sorted(set(params) - set(encoder.get_params()))
    if unknown:
        raise CLIError(f"unknown LAVEncoder parameter(s) {unknown}; see 'help(sklav.LAVEncoder)'.")
    encoder.set_params(**params)
    try:
        encoder._validate_params()  # before reading videos, not after
    except (ValueError, TypeError) as exc:  # sklearn's InvalidParameterError
        raise CLIError(str(exc)) from None
    return encoder


def _checkpoint_folder(checkpoint, model_file):
    """``--checkpoint`` as a Path (or None), refused now if empty or clashing with the model file."""
    if checkpoint is None:
        return None
    if not checkpoint.strip():
        raise CLIError("--checkpoint is an empty path (an unset shell variable?); give a folder, or "
                       "leave the option out.")
    folder = Path(checkpoint)
    if folder.exists() and not folder.is_dir():
        raise CLIError(f"--checkpoint {str(folder)!r} is a file; give a folder (created if missing).")
    out, ck = model_file.resolve(), folder.resolve()
    if out == ck or ck in out.parents or out in ck.parents:
        raise CLIError(f"the model file {str(model_file)!r} and the checkpoint folder {str(folder)!r} "
                       "overlap; give -o and --checkpoint different paths.")
    return folder


def _saved_epoch(encoder):
    """The epoch of the newest complete checkpoint of this fit on disk, or None."""
    from ..encoders import checkpoint_epoch

    folder = getattr(encoder, "checkpoint_dir_", None)
    try:
        return checkpoint_epoch(folder) if folder else None
    except (OSError, ValueError):  # a damaged pointer promises nothing
        return None


def _stopped(signum, encoder, output, checkpoint):
    """The one-line account of a stopped fit: epochs done, what is on disk, how to go on."""
    epochs = getattr(encoder, "n_epochs_trained_", None)
    done = "" if epochs is None else f" after {epochs} of {encoder.max_epochs} epochs"
    saved = _saved_epoch(encoder) if checkpoint is not None else None
    if checkpoint is None:
        hint = "--checkpoint DIR makes a fit resumable"
    elif saved is None:
        hint = (f"no checkpoint was complete yet in {str(checkpoint)!r} (one is written after each "
                "epoch); the same command starts again from the beginning")
    else:
        hint = (f"the checkpoint in {str(checkpoint)!r} holds epoch {saved}: run the same command "
                "again to resume from it")
    return Stopped(signum, f"{done}; {str(output.path)!r} not written; {hint}.")


def _fit_error(exc, paths):
    """A fit's error as one line naming the files: ``X[3]`` becomes the fourth file's path."""
    text = re.sub(r"\bX\[(\d+)\]", lambda m: repr(str(paths[int(m.group(1))]))
                  if int(m.group(1)) < len(paths) else m.group(0), str(exc))
    return CLIError(f"could not fit: {text}")


def cmd_fit(args):
    """``sklav fit``: train an encoder on video files or folders and save it (:func:`sklav.save`)."""
    from ..encoders import TrainingInterruptedWarning, save

    checkpoint = _checkpoint_folder(args.checkpoint, Path(args.output))
    exclude = [Path(args.output)] + ([checkpoint] if checkpoint is not None else [])
    paths = expand_folders(args.videos, exclude=exclude)
    if len(paths) < 2:
        raise CLIError("fit needs at least 2 videos: LAV learns by aligning pairs of videos.")
    output = OutputFile(args.output, "model file", inputs=paths, force=args.force)
    encoder = _encoder_from_args(args)
    if args.fps is None:
        videos = open_videos(paths, size=args.size)
    else:  # resampling needs every frame's time
        videos = read_videos(paths, fps=args.fps, size=args.size)
    lengths = [len(v) for v in videos]
    print(f"Fitting LAVEncoder on {len(videos)} videos ({sum(lengths)} frames, per-frame shape "
          f"{videos[0].shape[1:]}).", flush=True)
    start = time.perf_counter()
    with watch_stops() as watch, warnings.catch_warnings():
        # the command reports a stop itself ("sklav: interrupted ...")
        warnings.filterwarnings("ignore", category=TrainingInterruptedWarning)
        try:
            encoder.fit(videos)
        except (ValueError, TypeError, ArithmeticError, OSError) as exc:
            raise _fit_error(exc, paths) from None
        except KeyboardInterrupt as exc:
            raise _stopped(getattr(exc, "signum", signal.SIGINT), encoder, output, checkpoint) from None
    if watch.signum is not None or getattr(encoder, "interrupted_", False):
        # skorch caught the KeyboardInterrupt and returned a partly trained encoder
        raise _stopped(watch.signum or signal.SIGINT, encoder, output, checkpoint)
    output.write(lambda file: save(encoder, file))
    print(f"Fitted in {time.perf_counter() - start:.1f} s; model written to {output.path}")
    return 0


def cmd_embed(args):
    """``sklav embed``: embed videos with a saved model into one ``.npz``."""
    paths = expand_folders(args.videos)
    output = OutputFile(args.output, "embeddings file", inputs=[args.model, *paths],
                        force=args.force, suffixes={".npz"})
    embedder, encoder = load_model(args.model, trust_pickle=args.trust_pickle)
    videos = videos_for_model(paths, encoder, fps=args.fps, lazy=embedder is encoder, poses=args.poses)
    arrays = dict(zip(unique_keys(paths), map(np.asarray, embed_videos(embedder, videos, paths))))
    output.write(lambda file: write_npz(file, arrays))
    for (key, e), path in zip(arrays.items(), paths):
        print(f"{key}: {path} -> {e.shape}")
    print(f"Wrote {len(arrays)} embedding array(s) to {output.path}")
    return 0


def cmd_align(args):
    """``sklav align``: print (and optionally plot) the alignment of two videos."""
    from ..alignment import align

    paths = [args.video_a, args.video_b] + list(args.calibration or [])
    figure = figure_output(args.output, inputs=[args.model, *paths])
    embedder, encoder = load_model(args.model, trust_pickle=args.trust_pickle)
    videos = videos_for_model(paths, encoder, fps=args.fps, poses=args.poses)
    embeddings = embed_videos(embedder, videos, paths)
    result = align(None, embeddings[0], embeddings[1], gamma=args.gamma, calibration=embeddings[2:])
    threshold = result.threshold if args.threshold is None else args.threshold
    print(f"A = {args.video_a} ({len(videos[0])} frames), B = {args.video_b} "
          f"({len(videos[1])} frames); DTW cost {result.total_cost:.4f}")
    print("For each frame of B: its matched frame of A, their squared embedding distance, and")
    against = (f"A and {len(paths) - 2} calibration video(s)" if len(paths) > 2
               else "B's other frames; --calibration gives an absolute scale")
    print(f"its deviation (robust z-score against {against}); '*' marks deviation > "
          f"{threshold:.3g}.")
    print(format_alignment_table(result, threshold))
    flagged = result.flagged(threshold)
    print(f"{len(flagged)} of {len(result.index_map)} frames of B flagged.")
    if figure is not None:
        import matplotlib.pyplot as plt

        from ..plotting import plot_alignment

        fig = plot_alignment(result, threshold=threshold,
                             labels=(video_key(args.video_a), video_key(args.video_b)))
        print(f"Figure saved to {save_figure(fig, figure)}")
        plt.close(fig)
    return 0
