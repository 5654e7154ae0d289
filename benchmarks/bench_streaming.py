"""Training from video files: memory bounded by the batch, and decoding speed.

Writes ``--n-videos`` synthetic videos (moving, bouncing shapes on a
gradient; ``--seconds`` long at ``--fps``, ``--size`` px square, mpeg4 in
mp4, with PyAV) into ``--folder`` (default: a temporary folder, deleted at
the end; existing files of the right name are reused), then, in a fresh
process so that its peak memory is the fit's alone:

1. ``decode``: one epoch of the training ``DataLoader`` (``num_workers``
   workers) over the paths, without the network: sampled frames (the
   ``num_frames`` sampled frames and their context, distinct) per second,
   and frames the decoder went through (from the keyframe before each
   sampled frame; ``--sequential`` decodes each video from its start, as
   before keyframe seeking); ``--decode-only`` stops here;
2. ``fit``: ``LAVEncoder(weights=None, max_epochs=--epochs,
   num_workers=--num-workers, ...).fit(paths)``. By default the ResNet-50
   trunk is frozen (``freeze_backbone=True``): a first fit runs it once over
   every frame of every video (``transform_batch_size=64`` at a time) and
   caches the features on disk, in ``--folder``'s ``features`` sub-folder
   (run again with the same ``--folder`` to time their reuse); training then
   reads a batch's features. ``--train-trunk`` trains the whole network on
   decoded frames instead: its memory is the batch's activations through
   ResNet-50 (2 x ``--batch-size`` videos x up to 2 x ``--num-frames``
   frames, tens of GB at the defaults), so lower ``--batch-size`` and
   ``--num-frames`` for it.

Peak memory: ``ru_maxrss`` of the fit process and of its largest worker
(``getrusage``), their bound ``main + num_workers x worker`` (it counts
shared pages, such as torch's libraries, once per process, so it
overestimates), and, when psutil is installed, the peak of the summed
proportional set size (PSS, shared pages split between processes) of the
process tree, sampled every 0.2 s. The verdict compares the PSS peak (else
the bound) with 2 GB.

Usage: ``python benchmarks/bench_streaming.py [--smoke] [--n-videos 500] [--train-trunk] [--device cpu]``
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

LIMIT_BYTES = 2 * 2**30


def write_video(path, n_frames, size, fps, seed):
    """Bouncing disc and square over a gradient; written to a temporary name, then renamed."""
    import av

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size].astype(np.float32)
    background = np.stack([x / size * 200, y / size * 200, np.full_like(x, 80)], -1)
    pos, vel = rng.uniform(0.2, 0.8, (2, 2)) * size, rng.uniform(-4, 4, (2, 2)) * size / 224
    colours = rng.integers(0, 256, (2, 3))
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt, stream.bit_rate = "yuv420p", 2_000_000
        for _ in range(n_frames):
            pos += vel
            vel[(pos < 0) | (pos > size)] *= -1
            frame = background.copy()
            frame[(x - pos[0, 0]) ** 2 + (y - pos[0, 1]) ** 2 < (size / 10) ** 2] = colours[0]
            frame[(abs(x - pos[1, 0]) < size / 12) & (abs(y - pos[1, 1]) < size / 12)] = colours[1]
            image = av.VideoFrame.from_ndarray(frame.astype(np.uint8), format="rgb24")
            out.mux(stream.encode(image))
        out.mux(stream.encode())
    os.replace(tmp, path)


def write_videos(folder, args):
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"video{i:04d}.mp4" for i in range(args.n_videos)]
    start = time.perf_counter()
    for i, path in enumerate(paths):
        if not path.exists():
            write_video(path, int(args.seconds * args.fps), args.size, args.fps, seed=i)
    print(f"videos: {len(paths)} x {args.seconds:g} s at {args.fps} fps, {args.size} px, in {folder} "
          f"({time.perf_counter() - start:.1f} s to write the missing ones)")
    return [str(p) for p in paths]


class _PeakPSS(threading.Thread):
    """The peak of the summed PSS of this process and its descendants, sampled."""

    def __init__(self):
        super().__init__(daemon=True)
        import psutil

        self.root, self.peak, self.running = psutil.Process(), 0, True

    def run(self):
        import psutil

        while self.running:
            total = 0
            for proc in [self.root, *self.root.children(recursive=True)]:
                try:
                    total += proc.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.2)


def decode_epoch(paths, args):
    """One epoch of the training DataLoader without the network: (sampled, decoded) frames/s."""
    import torch

    from sklav.datasets import VideoFile
    from sklav.encoders.data import VideoPairDataset, seed_worker

    class Counting(VideoPairDataset):
        def __getitem__(self, i):
            before = sum(v.frames_decoded for v in self.videos)
            pair = super().__getitem__(i)
            decoded = sum(v.frames_decoded for v in self.videos) - before
            return sum(len(s["frames"]) for s in pair), decoded

    if args.sequential:  # the decoding before keyframe seeking
        VideoFile._decode_seeking = lambda self, needed: None
    videos = [VideoFile(p) for p in paths]
    dataset = Counting(videos, np.zeros(len(videos)), args.num_frames, 2, 15, np.random.default_rng(0))
    dataset.worker_seed = 0
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.num_workers, worker_init_fn=seed_worker,
                                         collate_fn=lambda batch: np.sum(batch, axis=0))
    start = time.perf_counter()
    sampled, decoded = np.sum(list(loader), axis=0)
    seconds = time.perf_counter() - start
    return {"decode_s": seconds, "sampled_frames_per_s": sampled / seconds, "decoded_frames_per_s": decoded / seconds,
            "sampled_frames": int(sampled), "decoded_frames": int(decoded)}


def measure(paths, args):
    """Run in the fresh process: the decode epoch, then the fit; returns the measurements."""
    from sklav import LAVEncoder

    try:
        sampler = _PeakPSS()
        sampler.start()
    except ImportError:
        sampler = None
    result = decode_epoch(paths, args)
    if args.decode_only:
        return result
    encoder = LAVEncoder(weights=None, freeze_backbone=not args.train_trunk, image_size=args.image_size,
                         transform_batch_size=64,
                         num_frames=args.num_frames, batch_size=args.batch_size, max_epochs=args.epochs,
                         num_workers=args.num_workers, device=args.device, random_state=0, verbose=1,
                         feature_cache=str(Path(args.folder) / "features"))
    start = time.perf_counter()
    encoder.fit(paths)
    result["fit_s"] = time.perf_counter() - start
    result["videos_per_s"] = args.epochs * len(paths) * 2 / result["fit_s"]  # each item is a pair
    if sampler is not None:
        sampler.running = False
        sampler.join()
        result["peak_pss_bytes"] = sampler.peak
    result["maxrss_main_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["maxrss_worker_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return result


def report(result, args):
    gib = 2**30
    print(f"decode epoch: {result['sampled_frames']} sampled frames in {result['decode_s']:.1f} s: "
          f"{result['sampled_frames_per_s']:.0f} sampled frames/s; the decoder went through "
          f"{result['decoded_frames']} frames ({result['decoded_frames_per_s']:.0f} frames/s), "
          f"{result['decoded_frames'] / result['sampled_frames']:.2f} per sampled frame")
    if args.decode_only:
        return
    bound = result["maxrss_main_bytes"] + args.num_workers * result["maxrss_worker_bytes"]
    print(f"fit: {args.epochs} epoch(s) in {result['fit_s']:.1f} s ({result['videos_per_s']:.1f} videos/s)")
    print(f"peak RSS: main {result['maxrss_main_bytes'] / gib:.2f} GiB, largest worker "
          f"{result['maxrss_worker_bytes'] / gib:.2f} GiB, bound main + {args.num_workers} workers "
          f"{bound / gib:.2f} GiB")
    peak = result.get("peak_pss_bytes")
    if peak is not None:
        print(f"peak PSS of the process tree (sampled): {peak / gib:.2f} GiB")
    measured = peak if peak is not None else bound
    verdict = "under" if measured < LIMIT_BYTES else "NOT under"
    print(f"peak memory {measured / gib:.2f} GiB = {measured / 1e9:.2f} GB: {verdict} 2 GiB "
          f"({'PSS' if peak is not None else 'RSS bound'}).")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-videos", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--size", type=int, default=224, help="frame size of the written videos")
    parser.add_argument("--image-size", type=int, default=112, help="LAVEncoder's image_size")
    parser.add_argument("--num-frames", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--train-trunk", action="store_true",
                        help="train the whole network (default: frozen trunk, features cached on disk)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--decode-only", action="store_true", help="the decode epoch only, no fit")
    parser.add_argument("--sequential", action="store_true",
                        help="decode each video from its start (no keyframe seeking)")
    parser.add_argument("--folder", help="where the videos are written (default: a temporary folder)")
    parser.add_argument("--smoke", action="store_true", help="6 videos of 2 s at 64 px, 8 frames")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: the fresh process's JSON output
    args = parser.parse_args(argv)
    if args.smoke:
        args.n_videos, args.seconds, args.size, args.image_size = 6, 2.0, 64, 32
        args.num_frames, args.batch_size = 8, 2
    if args.measure:
        Path(args.measure).write_text(json.dumps(measure(json.loads(Path(args.folder, "paths.json").read_text()),
                                                         args)))
        return 0
    temporary = args.folder is None
    args.folder = args.folder or tempfile.mkdtemp(prefix="sklav-bench-streaming-")
    try:
        paths = write_videos(Path(args.folder), args)
        Path(args.folder, "paths.json").write_text(json.dumps(paths))
        out = Path(args.folder, "result.json")
        forwarded = list(argv if argv is not None else sys.argv[1:])
        subprocess.run([sys.executable, __file__, *forwarded, "--folder", args.folder, "--measure", str(out)],
                       check=True)
        result = json.loads(out.read_text())
        report(result, args)
    finally:
        if temporary:
            shutil.rmtree(args.folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
