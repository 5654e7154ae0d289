"""The ``sklav`` command line: demo, fit, embed and align.

::

    sklav demo [--action golf_swing] [--epochs N] [--seed S] [--quick] [--output-dir DIR]
    sklav fit VIDEO... [-o model.sklav] [--force] [--epochs N] [--seed S] [-p NAME=VALUE]...
    sklav embed MODEL VIDEO... [-o embeddings.npz] [--force] [--trust-pickle] [--poses]
    sklav align MODEL A B [-o alignment.png] [--calibration VIDEO...] [--threshold 3] [--trust-pickle] [--poses]

A VIDEO is a ``.npy`` array (one video: ``(T, D)`` features, ``(T, J, C)``
poses or ``(T, H, W, 3)`` uint8 frames), a folder of ``.jpg``/``.png`` frames,
or a video file (PyAV). ``fit`` and ``embed`` also take a folder of videos (not
recursive) and read videos on demand (:func:`sklav.datasets.open_video`);
with ``--fps`` they are loaded whole (:func:`sklav.datasets.load_videos`). A MODEL is
a model file written by ``sklav fit`` or :func:`sklav.save`, which runs no code
when loaded; a pickle file (``joblib.dump`` of a fitted :class:`~sklav.LAVEncoder`
or a Pipeline holding one, an old ``model.joblib``) could run code, so it is
loaded only with ``--trust-pickle``, with a warning. The kind of file is told by
its bytes, never by unpickling it. With ``--poses``, RGB videos are read
through :class:`sklav.PoseExtractor` (MediaPipe) into the poses a model
fitted on poses takes.

Outputs are checked before any work and written atomically
(:mod:`sklav.cli._outputs`): never onto an input, an existing model or
embeddings file only with ``--force`` (figures are replaced); outputs and
checkpoint folders are never read as videos. Errors print one ``sklav:
error: ...`` line and exit with status 2. Ctrl-C, SIGTERM and SIGHUP print
one ``sklav: interrupted ...`` (``terminated (SIGTERM)``, ``hung up
(SIGHUP)``) line saying what is on disk and exit with status 130, 143 and
129, writing no partial output and keeping the last complete checkpoint
(:mod:`sklav.cli._stops`).

Layout: the parser and :func:`main` here (importing nothing heavy, so a
stop during start-up is reported like any other); the commands in
``_commands`` and ``_demo``; what they read in ``_inputs`` and write in
``_outputs``."""

import argparse
import ast
import importlib
import math
import os
import sys
import warnings

from ._stops import CLIError, Stopped, handle_stop_signals

__all__ = ["main", "run"]

EXIT_ERROR = 2
QUICK_DEMO_EPOCHS = 2


# --------------------------------------------------------------------------
# commands


def _parse_param(text):
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass  # a plain string, e.g. device=cpu
    return name.strip(), value


def _parse_size(text):
    try:
        if "x" in text:
            h, w = (int(s) for s in text.lower().split("x"))
            return (h, w)
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int (shorter side) or HxW, got {text!r}") from None


def _number(description, accept):
    """An argparse type: a finite float for which ``accept(value)`` holds."""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and accept(value)):
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}")
        return value

    return parse


_finite = _number("a finite number", lambda value: True)
_positive = _number("a positive number", lambda value: value > 0)


def format_alignment_table(result, threshold=None):
    """The correspondence table printed by ``sklav align``, one row per frame of B.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.alignment import align
    >>> from sklav.cli import format_alignment_table
    >>> result = align(None, np.array([[0.0], [1.0]]), np.array([[0.0], [1.0], [3.0]]))
    >>> print(format_alignment_table(result, threshold=1.0))
    frame_A  frame_B        cost  deviation
          0        0      0.0000       0.00
          1        1      0.0000       0.00
          1        2      4.0000       3.00  *
    """
    threshold = result.threshold if threshold is None else threshold
    lines = [f"{'frame_A':>7}  {'frame_B':>7}  {'cost':>10}  {'deviation':>9}"]
    for j, (i, cost, dev) in enumerate(zip(result.index_map, result.cost, result.deviation)):
        flag = "  *" if dev > threshold else ""
        lines.append(f"{i:>7}  {j:>7}  {cost:>10.4f}  {dev:>9.2f}{flag}")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# parser


def build_parser():
    """The ``sklav`` argument parser and its subcommands."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="sklav",
        description="LAV (Learning by Aligning Videos in Time) from the shell.",
        epilog="VIDEO: a .npy array (one video), a folder of frames, or a video file.",
    )
    parser.add_argument("--version", action="version", version=f"sklav {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo", help="fit LAV on the bundled Penn Action poses and compare it with raw features",
        description="Fit a LAVEncoder on the bundled Penn Action joints (train split), print "
        "phase accuracy, progression R^2, Kendall's tau and AP@5 on the val split for LAV and "
        "for the raw joints, and save an alignment figure.",
    )
    demo.add_argument("--action", default="golf_swing", choices=["golf_swing", "tennis_forehand"])
    demo.add_argument("--epochs", type=int, default=None,
                      help=f"training epochs (default: LAVEncoder's, {QUICK_DEMO_EPOCHS} with --quick)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quick", action="store_true", help="a smoke test: few videos and epochs")
    demo.add_argument("--output-dir", default=".",
                      help="where to save the figure, created if missing (default: .); "
                      "an existing sklav_demo_alignment.png there is replaced")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(handler="_demo:cmd_demo")

    fps = dict(type=_positive, help="resample video files to this frame rate")
    force = dict(action="store_true", help="replace OUTPUT if it exists (never an input)")
    model = dict(metavar="MODEL", help="a model file written by sklav fit or sklav.save")
    poses = dict(action="store_true", help="RGB videos in, poses extracted with sklav.PoseExtractor "
                 "(MediaPipe: pip install 'sklav[pose]') for a model fitted on poses")
    trust = dict(action="store_true", help="also load a pickle (joblib) MODEL, e.g. a Pipeline; it can "
                 "run code: only for files you trust")
    fit = commands.add_parser(
        "fit", help="fit a LAVEncoder on videos and save it",
        description="Fit a LAVEncoder (no labels) and save it with sklav.save (a file that runs no "
        "code when loaded). The model file is "
        "written once training ends (a temporary file renamed onto it): a failed or interrupted "
        "fit (Ctrl-C: exit status 130) leaves no file and an existing one as it was. An "
        "existing model file is replaced only with --force; an input never.")
    fit.add_argument("videos", nargs="+", metavar="VIDEO", help="a video, or a folder of videos")
    fit.add_argument("-o", "--output", default="model.sklav", metavar="OUTPUT",
                     help="model file, any extension (default model.sklav); missing folders are created")
    fit.add_argument("--force", **force)
    fit.add_argument("--epochs", type=int, help="max_epochs")
    fit.add_argument("--seed", type=int, help="random_state")
    fit.add_argument("--num-frames", type=int, help="frames sampled per video per step")
    fit.add_argument("--batch-size", type=int, help="video pairs per step")
    fit.add_argument("--lr", type=_positive, help="learning rate")
    fit.add_argument("--gamma", type=_positive, help="Soft-DTW smoothing")
    fit.add_argument("--alpha", type=_finite, help="weight of the C-IDM regularizer")
    fit.add_argument("--embedding-dim", type=int)
    fit.add_argument("--device", help="'auto', 'cpu', 'cuda'...")
    fit.add_argument("--checkpoint", metavar="DIR",
                     help="checkpoint every epoch into DIR; the same command run again resumes")
    fit.add_argument("-p", "--param", action="append", type=_parse_param, metavar="NAME=VALUE",
                     help="any other LAVEncoder parameter, e.g. -p regularizer=idm (repeatable)")
    fit.add_argument("--fps", **fps)
    fit.add_argument("--size", type=_parse_size, help="resize RGB frames: shorter side or HxW")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.set_defaults(handler="_commands:cmd_fit")

    embed = commands.add_parser(
        "embed", help="embed every frame of videos with a fitted model",
        description="Write one (T, D) array per video to an .npz file, keyed by file stem "
        "(folder name for frame folders), made unique with _2, _3...; each key is printed "
        "with its video. An existing file is replaced only with --force.")
    embed.add_argument("model", **model)
    embed.add_argument("videos", nargs="+", metavar="VIDEO", help="a video, or a folder of videos")
    embed.add_argument("-o", "--output", default="embeddings.npz", metavar="OUTPUT",
                       help="an .npz file (default embeddings.npz); missing folders are created")
    embed.add_argument("--force", **force)
    embed.add_argument("--fps", **fps)
    embed.add_argument("--trust-pickle", **trust)
    embed.add_argument("--poses", **poses)
    embed.set_defaults(handler="_commands:cmd_embed")

    al = commands.add_parser("align", help="align video B to video A; print the frame correspondence",
                             description="Align B to the reference A through the model's "
                             "embeddings: print, for every frame of B, its matched frame of A, "
                             "the alignment cost and a deviation score, and save a figure.")
    al.add_argument("model", **model)
    al.add_argument("video_a", metavar="A", help="the reference video")
    al.add_argument("video_b", metavar="B", help="the video aligned to it")
    al.add_argument("-o", "--output", default="alignment.png",
                    help="figure, format from the extension (default alignment.png); replaced "
                    "if it exists")
    al.add_argument("--calibration", nargs="+", metavar="VIDEO",
                    help="normal executions that calibrate the deviation score")
    al.add_argument("--gamma", type=_positive, default=0.1, help="Soft-DTW smoothing (default 0.1)")
    al.add_argument("--threshold", type=_finite, default=None,
                    help="deviation flagged above (default: calibrated with --calibration, else 3)")
    al.add_argument("--fps", **fps)
    al.add_argument("--trust-pickle", **trust)
    al.add_argument("--poses", **poses)
    al.set_defaults(handler="_commands:cmd_align")
    return parser


def main(argv=None):
    """Run the ``sklav`` command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 2 on a user error (one ``sklav: error: ...`` line on
        stderr).

    Examples
    --------
    >>> from sklav.cli import main
    >>> main(["embed", "no-such-model.sklav", "video.npy"])
    2
    """
    with handle_stop_signals():
        try:
            return _run_command(argv)
        except CLIError as exc:
            message = " ".join(str(exc).split())  # one line
            print(f"sklav: error: {message}", file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt as exc:  # Stopped, or Ctrl-C where our handler was not installed
            stop = exc if isinstance(exc, Stopped) else Stopped()
            print(stop.message(), file=sys.stderr)
            return stop.exit_status
        except BrokenPipeError:  # e.g. `sklav align ... | head`: stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1


def _run_command(argv):
    args = build_parser().parse_args(argv)
    module, function = args.handler.split(":")
    # imported only now, under the stop handlers: numpy, torch and scikit-learn take seconds
    command = getattr(importlib.import_module(f"{__name__}.{module}"), function)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return command(args)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one ``sklav: warning: ...`` line, without Python's source path and line."""
    text = " ".join(str(message).split())
    print(f"sklav: warning: {text}", file=sys.stderr if file is None else file)


def run():
    """Run the command line, exit with its status (130 after Ctrl-C, 143 after SIGTERM,
    129 after SIGHUP, however Python was stopped).

    The ``sklav`` command, ``python -m sklav`` and ``python -m sklav.cli``.
    CPython kills itself with SIGINT at exit whenever a KeyboardInterrupt
    once escaped code run through ``exec`` (as in a lazily created
    dataclass), even one handled later; that would turn the documented
    status into a death by signal, so a stopped run leaves through
    ``os._exit`` once its output streams are flushed.
    """
    status = main()
    if status > 128:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":  # pragma: no cover
    run()
