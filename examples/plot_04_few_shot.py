"""
================
Few-shot curves
================

How much do the embeddings help when only a few videos carry phase labels?
:func:`~sklav.evaluation.few_shot_scores` draws a few labelled training
videos at random, fits a phase classifier on their frames alone, and scores
it on all validation frames; averaging over draws gives one point of the
curve.
"""

import matplotlib.pyplot as plt

from sklav import LAVEncoder
from sklav.datasets import load_penn_action
from sklav.evaluation import few_shot_scores
from sklav.plotting import plot_few_shot_curves

train = load_penn_action(actions="golf_swing", split="train")
val = load_penn_action(actions="golf_swing", split="val")

encoder = LAVEncoder(num_frames=20, max_epochs=10, random_state=0)
encoder.fit(train.videos)  # no labels


def flat(videos):
    return [v.reshape(len(v), -1) for v in videos]


# %%
# Scores with 1, 2, 5, 10 and all 87 labelled videos, five draws each:

settings = (1, 2, 5, 10, 1.0)
tables = {
    "LAV": few_shot_scores(
        (encoder.transform(train.videos), train.phases),
        (encoder.transform(val.videos), val.phases),
        settings=settings, n_episodes=5, random_state=0,
    ),
    "raw joints": few_shot_scores(
        (flat(train.videos), train.phases), (flat(val.videos), val.phases),
        settings=settings, n_episodes=5, random_state=0,
    ),
}
print(tables["LAV"])

# %%

fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
plot_few_shot_curves(tables, ax=ax)
ax.set_xscale("log")
plt.show()
