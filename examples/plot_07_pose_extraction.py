"""
==============================================
Real videos in: poses extracted on a CPU
==============================================

An encoder on poses needs per-frame joints; :class:`sklav.PoseExtractor`
gets them from an ordinary RGB video, on a CPU and offline (MediaPipe's
pose model, bundled in its wheel: ``pip install 'sklav[pose]'``). Put in
front of the pretrained pose encoder, it makes a pipeline from video files to
embeddings. Here we extract the poses of a real clip, then align the clip
with a re-timed copy of itself and check that the alignment finds the
re-timing.

The clip comes from the test data beside sklav's source
(``../shared/data/real_footage``); where it or MediaPipe is missing (as when
the documentation is built elsewhere), the example says so and aligns a
bundled Penn Action golf swing instead, whose joints are already known.
"""

import importlib.util
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sklav.datasets import PENN_ACTION_EDGES

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # run interactively
    HERE = Path.cwd()
CLIP = Path(os.environ.get("SKLAV_REAL_FOOTAGE", HERE.parent.parent / "shared" / "data" / "real_footage"))
CLIP = CLIP / "videos" / "two_people_room.mp4"
REAL = CLIP.is_file() and importlib.util.find_spec("mediapipe") is not None
print("real clip and MediaPipe available:", REAL)

# %%
# Extracting poses
# ----------------
# ``transform`` takes a list of videos (paths, frame folders or ``(T, H, W,
# 3)`` arrays) and returns, per video, ``(T, 13, 3)`` keypoints: pixel x, y
# and a confidence for Penn Action's 13 joints. Frames where nobody is found
# are kept with confidence 0 (and a warning counting them). We decode the
# clip at 640x360.

if REAL:
    from sklav import PoseExtractor
    from sklav.datasets import VideoFile
    from sklav.poses import missing_frames

    frames = np.asarray(VideoFile(CLIP, size=(360, 640)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        poses, = PoseExtractor().transform([frames])
    print(f"{len(frames)} frames -> poses {poses.shape}; no person in {missing_frames([poses])[0]}")

    fig, axes = plt.subplots(1, 3, figsize=(12, 3))
    for ax, t in zip(axes, (0, len(frames) // 2, len(frames) - 1)):
        ax.imshow(frames[t])
        for i, j in PENN_ACTION_EDGES:
            ax.plot(poses[t, [i, j], 0], poses[t, [i, j], 1], "-", color="lime", lw=2)
        ax.set_title(f"frame {t}")
        ax.axis("off")
    fig.tight_layout()
else:
    from sklav.datasets import load_penn_action

    print("Skipping the extraction: it needs MediaPipe (pip install 'sklav[pose]') and the clip "
          f"{CLIP}. Using a bundled Penn Action golf swing's joints instead.")
    poses = load_penn_action(actions="golf_swing", split="val").videos[0]

# %%
# Aligning the clip with a re-timed copy
# --------------------------------------
# The copy plays the first third twice as slowly (frames repeated) and the
# last third twice as fast (frames skipped). Through the pretrained pose
# encoder, DTW on the embeddings should match every frame of the copy with
# the frame it was taken from.

from sklearn.pipeline import make_pipeline  # noqa: E402

from sklav.alignment import align  # noqa: E402
from sklav.pretrained import load_encoder  # noqa: E402

n = len(poses)
warp = np.concatenate([np.repeat(np.arange(n // 3), 2), np.arange(n // 3, 2 * n // 3),
                       np.arange(2 * n // 3, n, 2)])
if REAL:
    model = make_pipeline(PoseExtractor(), load_encoder("penn_joints2d"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = model.transform([frames, frames[warp]])
else:
    a, b = load_encoder("penn_joints2d").transform([poses, poses[warp]])
found = align(None, a, b).index_map
print(f"mean frame error: {np.abs(found - warp).mean():.2f}")

fig, ax = plt.subplots(figsize=(5, 4))
ax.plot(warp, label="true re-timing")
ax.plot(found, "--", label="recovered by alignment")
ax.set_xlabel("frame of the re-timed copy")
ax.set_ylabel("frame of the original")
ax.legend()
plt.show()
