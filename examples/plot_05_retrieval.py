"""
======================
Fine-grained retrieval
======================

Frame retrieval asks, for a frame of one video, which frames of *other*
videos are nearest in the embedding. AP@K, the paper's retrieval score, is
the fraction of the K retrieved frames that share the query's phase,
averaged over all frames (:func:`~sklav.metrics.frame_retrieval_ap`).
Here we compute it and look at what is retrieved, drawn as poses.
"""

import matplotlib.pyplot as plt

from sklav import LAVEncoder
from sklav.datasets import load_penn_action
from sklav.metrics import frame_retrieval_ap
from sklav.plotting import plot_retrieval

train = load_penn_action(actions="golf_swing", split="train")
val = load_penn_action(actions="golf_swing", split="val")

encoder = LAVEncoder(num_frames=20, max_epochs=10, random_state=0)
encoder.fit(train.videos)
lav = encoder.transform(val.videos)
raw = [v.reshape(len(v), -1) for v in val.videos]

# %%
# AP@5, AP@10 and AP@15 among the validation videos:

for name, embeddings in (("raw joints", raw), ("LAV", lav)):
    ap = frame_retrieval_ap(embeddings, val.phases, k=[5, 10, 15])
    print(f"{name:<12}" + "  ".join(f"AP@{k}={v:.3f}" for k, v in zip((5, 10, 15), ap)))

# %%
# A query frame in the downswing (blue) and its five nearest frames in other
# videos: green when they are in the query's phase, red otherwise.

query_video, query_frame = 3, int(0.6 * len(val.videos[3]))
for name, embeddings in (("raw joints", raw), ("LAV", lav)):
    fig = plot_retrieval(embeddings, val.videos, query_video, query_frame, k=5,
                         labels=val.phases)
    fig.suptitle(f"retrieved with {name}")
plt.show()
