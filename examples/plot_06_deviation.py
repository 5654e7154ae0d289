"""
===============================================
Aligning a new video and flagging deviations
===============================================

LAV's motivation includes spotting anomalies in repeated work (an assembly
line, a sports drill): align each new execution to a reference and flag the
frames that no normal execution matches. :class:`~sklav.alignment.Aligner`
does this on top of any encoder: it aligns a video to the reference by DTW on
the embeddings, and scores every frame by its alignment cost against the
nearest normal execution, as a robust z-score calibrated on the normal
executions themselves (exact definition in :class:`~sklav.alignment.Aligner`).
"""

import matplotlib.pyplot as plt

from sklav import LAVEncoder
from sklav.alignment import Aligner
from sklav.datasets import load_penn_action
from sklav.plotting import plot_alignment

train = load_penn_action(actions="golf_swing", split="train")
val = load_penn_action(actions="golf_swing", split="val")

encoder = LAVEncoder(num_frames=20, max_epochs=10, random_state=0)
encoder.fit(train.videos)

# %%
# The normal executions: the training swings filmed from behind (Penn Action
# mixes four camera views, and a pose seen from the side is not a deviation).
# The first one is the reference.

normal = [v for v, view in zip(train.videos, train.views) if view == "back"]
aligner = Aligner(encoder, contamination=0.01).fit(normal)
print(f"{len(normal)} normal executions; flag threshold {aligner.threshold_:.1f}")

# %%
# A new swing with a deviation: we copy its last ten frames (the end of the
# follow-through) into the backswing, a step done at the wrong time.

new = [v for v, view in zip(val.videos, val.views) if view == "back"][24].copy()
start, length = len(new) // 3, 10
new[start : start + length] = new[-length:]

result = aligner.align(new)
print(f"inserted frames: {start} to {start + length - 1}")
print("flagged frames:", result.flagged().tolist())

# %%
# Left: the distance matrix of the reference and the new video, with the DTW
# path; right: the deviation of each frame, the inserted span shaded in grey.

fig = plot_alignment(result, labels=("reference", "new swing"))
fig.axes[1].axvspan(start - 0.5, start + length - 0.5, color="grey", alpha=0.2)
plt.show()

# %%
# The same video without the insertion, for comparison:

clean = [v for v, view in zip(val.videos, val.views) if view == "back"][24]
print("flagged frames of the unaltered video:", aligner.align(clean).flagged().tolist())
