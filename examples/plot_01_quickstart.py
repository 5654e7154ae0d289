"""
==========
Quickstart
==========

Fit a :class:`~sklav.LAVEncoder` on unlabelled videos, then classify the
action phase of every frame with an SVM on the learned embeddings, all in one
scikit-learn :class:`~sklearn.pipeline.Pipeline`.

The videos are golf swings from Penn Action, as 13 2D body joints per frame
(bundled with sklav). Each frame is labelled with one of three phases
(address, backswing, downswing and follow-through); the encoder never sees
these labels, only the classifier does.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from sklav import LAVEncoder, PhaseClassifier
from sklav.datasets import load_penn_action

train = load_penn_action(actions="golf_swing", split="train")
val = load_penn_action(actions="golf_swing", split="val")
print(f"{len(train.videos)} train videos, {len(val.videos)} val videos")
print("one video:", train.videos[0].shape, "(frames, joints, (x, y, visibility))")

# %%
# The pipeline
# ------------
# ``LAVEncoder.fit`` ignores the labels: it learns by aligning pairs of videos
# in time. ``PhaseClassifier`` fits an SVM on the frames' embeddings. A sample
# is a whole video: ``X`` is a list of ``(T_i, 13, 3)`` arrays and ``y`` a
# list of ``(T_i,)`` phase arrays. Ten epochs keep this example short.

pipe = Pipeline([
    ("lav", LAVEncoder(num_frames=20, max_epochs=10, random_state=0)),
    ("svm", PhaseClassifier(SVC())),
])
pipe.fit(train.videos, train.phases)
print(f"LAV + SVM, val phase accuracy: {pipe.score(val.videos, val.phases):.3f}")

# %%
# The same SVM on the raw joints, flattened to 39 numbers per frame:

flat = [v.reshape(len(v), -1) for v in train.videos]
raw = PhaseClassifier(SVC()).fit(flat, train.phases)
raw_accuracy = raw.score([v.reshape(len(v), -1) for v in val.videos], val.phases)
print(f"raw joints + SVM, val phase accuracy: {raw_accuracy:.3f}")

# %%
# Predicted phases of one validation video
# ----------------------------------------

video, truth = val.videos[0], val.phases[0]
predicted = pipe.predict([video])[0]
fig, ax = plt.subplots(figsize=(7, 2.5), layout="constrained")
ax.step(np.arange(len(truth)), truth, where="mid", label="true phase", linewidth=3, alpha=0.5)
ax.step(np.arange(len(truth)), predicted, where="mid", label="predicted (LAV + SVM)")
ax.set_xlabel("frame")
ax.set_ylabel("phase")
ax.set_yticks([0, 1, 2])
ax.legend()
plt.show()
