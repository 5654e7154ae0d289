"""Data-parallel training: two CPU processes on the gloo backend, launched by torchrun."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sklav.encoders._distributed import RankSampler

HERE = Path(__file__).resolve().parent


def test_rank_sampler_deals_each_item_to_exactly_one_rank():
    shares = [list(RankSampler(11, rank, 3, np.random.default_rng(0))) for rank in range(3)]
    assert sorted(sum(shares, [])) == list(range(11))
    assert [len(s) for s in shares] == [len(RankSampler(11, r, 3, None)) for r in range(3)] == [4, 4, 3]
    sampler = RankSampler(11, 0, 3, np.random.default_rng(0))
    assert list(sampler) != list(sampler)  # a new order every epoch


def _launch(out, checkpoint):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parent)}
    result = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "--master_port", "0", "--rdzv_backend", "c10d",
         "--rdzv_endpoint", "localhost:0", str(HERE / "_ddp_fit.py"), str(out), str(checkpoint)],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return [dict(np.load(out / f"rank{r}.npz")) for r in range(2)]


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")
def test_two_process_fit_learns_writes_one_checkpoint_and_agrees_across_ranks(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    ranks = _launch(tmp_path / "a", tmp_path / "ckpt_a")
    assert all(int(r["world_size"]) == 2 for r in ranks)
    # batch_size=4 pairs per step over both ranks (2 each): 24 videos give 6 steps per epoch, as in one process
    assert all((r["batches"] == 6).all() for r in ranks)
    losses = ranks[0]["losses"]
    assert losses[-1] < losses[0]
    np.testing.assert_array_equal(ranks[0]["losses"], ranks[1]["losses"])  # logged over both ranks
    np.testing.assert_array_equal(ranks[0]["embeddings"], ranks[1]["embeddings"])
    assert [int(r["checkpoint_saves"]) for r in ranks] == [4, 0]  # rank 0 alone writes
    (fit_folder,) = (tmp_path / "ckpt_a").glob("fit-*")
    assert len(list(fit_folder.glob("epoch-*"))) >= 1
    # same seed, same world size: the same result
    again = _launch(tmp_path / "b", tmp_path / "ckpt_b")
    np.testing.assert_array_equal(again[0]["embeddings"], ranks[0]["embeddings"])


@pytest.mark.slow
def test_grid_search_over_a_pipeline_runs_on_a_dask_cluster():
    """scikit-learn's path across machines: joblib's Dask backend under GridSearchCV."""
    distributed = pytest.importorskip("dask.distributed")
    import joblib
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    from sklav import KendallTauScorer, LAVEncoder
    from sklav.datasets import load_penn_action

    videos = load_penn_action(actions=["golf_swing"], split="train").videos[:12]
    pipeline = Pipeline([("encoder", LAVEncoder(num_frames=8, max_epochs=1, random_state=0, device="cpu"))])
    grid = {"encoder__gamma": [0.1, 1.0]}
    search = GridSearchCV(pipeline, grid, scoring=KendallTauScorer(), cv=2, refit=False, n_jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        with joblib.parallel_backend("dask"), distributed.get_task_stream(client) as tasks:
            search.fit(videos)
    assert len(tasks.data) >= 4  # 2 candidates x 2 folds ran as tasks on the cluster's workers
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # the same search in this process gives the same scores, with the workers' one thread each
    # (Dask starts them with OMP_NUM_THREADS=1; another thread count sums products in another order)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        local = GridSearchCV(pipeline, grid, scoring=KendallTauScorer(), cv=2, refit=False).fit(videos)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
