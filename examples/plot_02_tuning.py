"""
====================================
Label-free tuning of gamma and alpha
====================================

LAV needs no labels to train, and Kendall's tau (how consistently the frames
of one video find their nearest neighbours in another video in the same
temporal order) needs none to score. :class:`~sklav.KendallTauScorer` turns it
into a scorer, so :class:`~sklearn.model_selection.GridSearchCV` can tune the
Soft-DTW smoothing ``gamma`` and the C-IDM weight ``alpha`` on unlabelled
videos.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

from sklav import KendallTauScorer, LAVEncoder
from sklav.datasets import load_penn_action
from sklav.metrics import kendalls_tau

train = load_penn_action(actions="golf_swing", split="train")
val = load_penn_action(actions="golf_swing", split="val")

# %%
# The search
# ----------
# Each candidate is fitted on half of the training videos and scored by
# Kendall's tau on the other half, and the other way round; a sample is a
# video, so ``KFold`` splits the videos. Few epochs keep the eight fits short.

search = GridSearchCV(
    LAVEncoder(num_frames=12, max_epochs=4, random_state=0),
    param_grid={"gamma": [0.1, 1.0], "alpha": [0.1, 1.0]},
    scoring=KendallTauScorer(),
    cv=KFold(n_splits=2, shuffle=True, random_state=0),
)
search.fit(train.videos)
print("best parameters:", search.best_params_)
print(f"best cross-validated Kendall's tau: {search.best_score_:.3f}")

# %%
# Every candidate's score:

scores = search.cv_results_["mean_test_score"].reshape(2, 2)  # (alpha, gamma), grid order
fig, ax = plt.subplots(figsize=(4, 3.2), layout="constrained")
image = ax.imshow(scores, cmap="viridis")
ax.set_xticks([0, 1], labels=["0.1", "1.0"])
ax.set_yticks([0, 1], labels=["0.1", "1.0"])
ax.set_xlabel("gamma")
ax.set_ylabel("alpha")
for (i, j), value in np.ndenumerate(scores):
    ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="w")
fig.colorbar(image, ax=ax, label="Kendall's tau (CV)")
plt.show()

# %%
# ``search`` refitted the best candidate on all training videos; score it on
# the held-out validation videos:

print(f"val Kendall's tau: {kendalls_tau(search.best_estimator_.transform(val.videos)):.3f}")

# %%
# .. note::
#    scikit-learn's string scorers (``scoring="accuracy"``, ``"r2"``) expect
#    one target per sample and cannot read per-frame label lists. With labels,
#    tune a Pipeline ending in :class:`~sklav.PhaseClassifier` with
#    ``scoring=None`` (its own ``score``) or use
#    :class:`~sklav.FrameRetrievalAP`.
