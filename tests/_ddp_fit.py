"""Run by tests/test_distributed.py under ``torchrun --nproc_per_node 2``:
one data-parallel LAVEncoder fit on the bundled golf_swing joints; each rank
writes what the test compares to ``<out>/rank<r>.npz``."""

import sys

import numpy as np
import torch

from sklav import LAVEncoder
from sklav.datasets import load_penn_action
from sklav.encoders import _checkpoint


def main(out, checkpoint):
    torch.set_num_threads(1)
    saves = []
    original_save = _checkpoint.CheckpointStore.save
    _checkpoint.CheckpointStore.save = lambda self, *a, **k: (saves.append(1), original_save(self, *a, **k))[1]

    videos = load_penn_action(actions=["golf_swing"], split="train").videos[:24]
    encoder = LAVEncoder(num_frames=10, max_epochs=4, batch_size=4, lr=1e-3, random_state=0, device="cpu",
                         checkpoint=checkpoint).fit(videos)
    rank = torch.distributed.get_rank()
    np.savez(
        f"{out}/rank{rank}.npz",
        losses=np.array(encoder.history_[:, "train_loss"]),
        embeddings=np.concatenate(encoder.transform(videos[:3])),
        world_size=torch.distributed.get_world_size(),
        checkpoint_saves=len(saves),
        batches=np.array([len(epoch["batches"]) for epoch in encoder.history_]),
    )
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
