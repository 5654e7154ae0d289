"""Pose extraction speed on a CPU: frames per second at 640x480 on real clips.

Each clip of ``../shared/data/real_footage/videos`` (a football clip and two
people in a room) is decoded once, resized to 640x480 (``VideoFile(size=(480,
640))``) and held in memory, then run through ``PoseExtractor()`` (MediaPipe's
legacy pose solution, ``model_complexity=1``) ``--repeats`` times; the best
time gives the frames per second of the extraction alone (decoding excluded;
one backend per video, so its start-up, about 0.2 s, is included). Prints the
machine's cores, MediaPipe's version, and per clip the frames, the frames
with a person, and the fps.

Usage: ``python benchmarks/bench_pose_extraction.py [--repeats 3]``; the committed
output (benchmarks/results/pose_extraction.txt) was run alone, under ``nice``.
"""

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from sklav import PoseExtractor
from sklav.datasets import VideoFile
from sklav.poses import PoseWarning, missing_frames

VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_footage" / "videos"
CLIPS = ("football_posetrack.mp4", "two_people_room.mp4")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import mediapipe

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"mediapipe {mediapipe.__version__}, PoseExtractor(backend='mediapipe'), frames 640x480")
    extractor = PoseExtractor()
    total_frames = total_time = 0
    for name in CLIPS:
        frames = np.asarray(VideoFile(VIDEOS / name, size=(480, 640)))
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PoseWarning)
                poses, = extractor.transform([frames])
            times.append(time.perf_counter() - start)
        found = len(frames) - missing_frames([poses])[0]
        best = min(times)
        total_frames += len(frames)
        total_time += best
        print(f"{name:26s} {len(frames):4d} frames, person in {found:4d}: {len(frames) / best:6.1f} fps "
              f"({1000 * best / len(frames):.1f} ms/frame; best of {args.repeats})")
    print(f"{'all':26s} {total_frames:4d} frames: {total_frames / total_time:6.1f} fps")


if __name__ == "__main__":
    main()
