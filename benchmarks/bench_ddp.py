"""Data-parallel training against one process: the loss curves of the same fit.

Trains ``LAVEncoder`` on Penn Action golf_swing train (real 2D joints, the
shared folder or the bundled copy) for ``--epochs`` epochs, once in one
process and once data-parallel in ``--nproc`` CPU processes launched by
``torchrun`` (gloo), same settings and seed, and prints both per-epoch loss
curves, their mean relative difference, and the spread of the single-process
curve over seeds (the noise the difference is compared with).

Usage: ``python benchmarks/bench_ddp.py [--epochs 20] [--nproc 2]``
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

FIT = r"""
import json, sys, torch
from pathlib import Path
torch.set_num_threads(1)
from sklav import LAVEncoder
from sklav.datasets import get_penn_action_root, load_penn_action
shared = get_penn_action_root() or Path({root!r}).parent / "shared" / "data" / "penn_action"
root = shared if (shared / "labels").is_dir() else None
videos = load_penn_action(root=root, actions=["golf_swing"], split="train").videos
encoder = LAVEncoder(max_epochs={epochs}, random_state={seed}, device="cpu").fit(videos)
rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
if rank == 0:
    Path({out!r}).write_text(json.dumps(list(encoder.history_[:, "train_loss"])))
"""


def curve(epochs, seed, nproc, folder):
    out = Path(folder) / f"curve-{nproc}-{seed}.json"
    script = Path(folder) / "fit.py"
    script.write_text(FIT.format(root=str(ROOT), epochs=epochs, seed=seed, out=str(out)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if nproc == 1:
        command = [sys.executable, str(script)]
    else:
        torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
        command = [torchrun, "--nproc_per_node", str(nproc), "--rdzv_backend", "c10d",
                   "--rdzv_endpoint", "localhost:0", str(script)]
    subprocess.run(command, check=True, env=env, capture_output=True)
    return np.array(json.loads(out.read_text()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--nproc", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        single = [curve(args.epochs, seed, 1, folder) for seed in (0, 1)]
        parallel = curve(args.epochs, 0, args.nproc, folder)
    print(f"epoch  1 process (seed 0)  1 process (seed 1)  {args.nproc} processes (seed 0)")
    for epoch, values in enumerate(zip(single[0], single[1], parallel), 1):
        print(f"{epoch:5d}  " + "  ".join(f"{v:18.4f}" for v in values))
    relative = lambda a, b: float(np.mean(np.abs(a - b) / np.abs(b)))
    print(f"mean relative difference, {args.nproc} processes vs 1 (seed 0): {relative(parallel, single[0]):.3f}")
    print(f"mean relative difference, 1 process seed 1 vs seed 0 (the noise): {relative(single[1], single[0]):.3f}")


if __name__ == "__main__":
    main()
