"""Data-parallel training of LAVEncoder with ``torch.distributed`` (DDP).

sklav adds no launcher of its own: ``torchrun`` (or any launcher that sets
its environment variables) starts one process per device or CPU slot, each
calls ``LAVEncoder.fit`` on the same videos, and :func:`process_group`
joins them. In a fit:

- every epoch still pairs every video once: one shuffled order, the same on
  every rank, dealt out round-robin (:class:`RankSampler`), so no video is
  drawn twice and ranks differ by at most one video;
- ``batch_size`` stays the number of pairs per optimizer step over all
  ranks (each rank takes ``batch_size // world_size``), so the loss curve
  matches a single process;
- gradients are averaged by DDP; ranks with one batch fewer join
  (:meth:`DistributedDataParallel.join`);
- only rank 0 writes checkpoints; at the end every rank holds rank 0's
  weights and buffers, so ``fit`` returns the same estimator everywhere.
"""

import os

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Sampler


def process_group(device):
    """``(rank, world_size)``, joining the launcher's process group if there is one.

    A group initialised by the user is used as it is; otherwise, under
    ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) the group is
    initialised here, with NCCL for CUDA devices and gloo for the CPU.
    Returns ``(0, 1)`` for a single process.
    """
    if not dist.is_available():
        return 0, 1
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return 0, 1
        dist.init_process_group("nccl" if str(device).startswith("cuda") else "gloo")
    return dist.get_rank(), dist.get_world_size()


def rank_device(device, rank):
    """Under DDP on CUDA, each process trains on its local GPU (``LOCAL_RANK``)."""
    if device == "cuda":
        return f"cuda:{int(os.environ.get('LOCAL_RANK', rank))}"
    return device


class RankSampler(Sampler):
    """This rank's share of one shuffled order of all items, new every epoch.

    Every rank draws the same permutation from its own copy of ``rng`` and
    keeps items ``rank, rank + world_size, ...``: each item goes to exactly
    one rank.
    """

    def __init__(self, n_items, rank, world_size, rng):
        self.n_items, self.rank, self.world_size, self.rng = n_items, rank, world_size, rng

    def __len__(self):
        return len(range(self.rank, self.n_items, self.world_size))

    def __iter__(self):
        order = self.rng.permutation(self.n_items)
        return iter(order[self.rank :: self.world_size].tolist())


def rank_rng(rng, rank):
    """A frame-sampling stream for ``rank``, derived from the shared ``rng``."""
    return np.random.default_rng([int(rng.integers(2**63)), rank])


def average_over_ranks(value, count):
    """The count-weighted mean of ``value`` over ranks (a Python float)."""
    totals = torch.tensor([value * count, count], dtype=torch.float64)
    dist.all_reduce(totals)
    return float(totals[0] / totals[1])


def broadcast_module(module, src=0):
    """Copy rank ``src``'s parameters and buffers (e.g. BatchNorm statistics) to every rank."""
    for tensor in module.state_dict().values():
        dist.broadcast(tensor, src)
