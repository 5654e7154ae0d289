"""Benchmark: Kendall's tau and frame retrieval AP@K against naive loops.

Runs ``sklav.metrics.kendalls_tau`` and ``sklav.metrics.frame_retrieval_ap``
on 100 videos x 100 frames x 128-d random embeddings (4 phases) and, in the
same run, naive versions: TCC's loop for tau (``cdist`` per ordered pair and
``scipy.stats.kendalltau``) and, for AP, one query frame at a time
(distances to the support set, ``argpartition``). Prints the times (best of
``--repeat`` for sklav, one run for the loops), the speed-ups, and checks that
both give the same numbers.

Usage: ``python benchmarks/bench_metrics.py [--videos 100 --frames 100 --dim 128]``
"""

import argparse
import os
import time

import numpy as np
from scipy.spatial.distance import cdist
from scipy.stats import kendalltau

from sklav.metrics import frame_retrieval_ap, kendalls_tau

TARGET_SECONDS = 2.0


def naive_kendalls_tau(embeddings, stride=1):
    taus = []
    for i, query in enumerate(embeddings):
        for j, candidates in enumerate(embeddings):
            if i == j:
                continue
            nearest = cdist(query[::stride], candidates[::stride], "sqeuclidean").argmin(axis=1)
            taus.append(kendalltau(np.arange(len(nearest)), nearest).statistic)
    return float(np.nanmean(taus))


def naive_frame_retrieval_ap(embeddings, labels, ks):
    hits, n_frames = np.zeros(len(ks)), 0
    for i, (video, video_labels) in enumerate(zip(embeddings, labels)):
        support = np.concatenate([e for j, e in enumerate(embeddings) if j != i])
        support_labels = np.concatenate([lab for j, lab in enumerate(labels) if j != i])
        for frame, label in zip(video, video_labels):
            distances = ((support - frame) ** 2).sum(axis=1)
            top = np.argpartition(distances, max(ks) - 1)[: max(ks)]
            order = top[np.argsort(distances[top])]
            hits += [np.sum(support_labels[order[:k]] == label) / k for k in ks]
            n_frames += 1
    return hits / n_frames


def best_time(function, repeat):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=100)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    # Every video samples one smooth random path at its own sorted random times
    # (a time warp), plus frame noise: aligned in time, but not trivially.
    path = np.cumsum(rng.standard_normal((1000, args.dim)), axis=0) / np.sqrt(1000)
    embeddings = [
        path[np.sort(rng.integers(0, 1000, args.frames))]
        + 0.3 * rng.standard_normal((args.frames, args.dim))
        for _ in range(args.videos)
    ]
    labels = [
        np.repeat(np.arange(4), -(-args.frames // 4))[: args.frames] for _ in range(args.videos)
    ]
    ks = [5, 10, 15]
    print(
        f"{args.videos} videos x {args.frames} frames x {args.dim}-d float64, "
        f"{len(os.sched_getaffinity(0))} CPU(s) available, best of {args.repeat}"
    )

    rows = []
    fast_tau_s, tau = best_time(lambda: kendalls_tau(embeddings), args.repeat)
    slow_tau_s, slow_tau = best_time(lambda: naive_kendalls_tau(embeddings), 1)
    assert np.isclose(tau, slow_tau), (tau, slow_tau)
    rows.append(("kendalls_tau", f"{tau:.4f}", fast_tau_s, slow_tau_s))

    fast_ap1_s, ap5 = best_time(lambda: frame_retrieval_ap(embeddings, labels, k=5), args.repeat)
    fast_ap_s, aps = best_time(lambda: frame_retrieval_ap(embeddings, labels, k=ks), args.repeat)
    slow_ap_s, slow_aps = best_time(lambda: naive_frame_retrieval_ap(embeddings, labels, ks), 1)
    assert np.allclose(aps, slow_aps) and np.isclose(ap5, aps[0]), (aps, slow_aps)
    rows.append(("frame_retrieval_ap k=5", f"{ap5:.4f}", fast_ap1_s, None))
    rows.append(
        ("frame_retrieval_ap k=5,10,15", " ".join(f"{a:.4f}" for a in aps), fast_ap_s, slow_ap_s)
    )

    header = f"{'metric':<30} {'value':<22} {'sklav s':>8} {'naive s':>8} {'speed-up':>8}"
    print(f"{header}  < {TARGET_SECONDS:g} s")
    for name, value, fast, slow in rows:
        slow_text = f"{slow:8.2f}" if slow is not None else f"{'':>8}"
        ratio = f"{slow / fast:7.1f}x" if slow is not None else f"{'':>8}"
        verdict = "yes" if fast < TARGET_SECONDS else "NO"
        print(f"{name:<30} {value:<22} {fast:8.3f} {slow_text} {ratio}  {verdict}")


if __name__ == "__main__":
    main()
