"""Benchmark of ``sklav.alignment.soft_dtw`` on the CPU against tslearn and pysdtw.

Forward + backward of a batch of float32 sequences ``x (B, n, d)``,
``y (B, m, d)``, gamma 0.1, through ``loss.sum().backward()``:

- ``sklav``: :func:`sklav.alignment.soft_dtw` (float64 cost and recursion).
- ``floor``: the distance-matrix-only floor: forward and backward through the
  float32 pairwise squared distances alone,
  ``(x*x).sum(-1)[:,:,None] + (y*y).sum(-1)[:,None,:] - 2*x@y.mT``, then
  ``.sum().backward()``. No Soft-DTW at all: a lower bound for any method
  that builds this matrix.
- ``pysdtw``: ``pysdtw.SoftDTW(gamma, use_cuda=False)`` (numba CPU kernels).
- ``tslearn``: ``tslearn.metrics.SoftDTWLossPyTorch(gamma)`` (numba kernels).

"Same cost": both peers take ``x`` and ``y`` and a distance function; they
get the same inputs and the same float32 squared distance (the floor's
expression, clamped at 0, which is pysdtw's default; tslearn's default
builds a (B, n, m, d) difference tensor instead).

Timings are medians over ``--repeats`` rounds after two warm-up calls; each
round runs every method once, so slow drifts of the machine hit them alike.
The script also prints each method's relative gradient error against an
independent float64 recursion (Cuturi & Blondel's algorithms 1 and 2 on the
exact float64 cost) at (4, 256, 256, 128), the peak extra memory and time of
one 4096 x 4096 pair (d = 128) in a fresh process, and the time of the first
call in a fresh process (numba's cache already warm).

Two more tables, equal lengths, same cost:

- band: a Sakoe-Chiba band of radius ``w = ceil(0.1 n)``, ``sklav``
  (``soft_dtw(..., bandwidth=w)``) against sklav's full table and
  ``pysdtw.SoftDTW(..., bandwidth=w)`` (for equal lengths both bands are
  ``|i - j| <= w``; pysdtw's CPU kernel skips the cells outside but still
  visits every cell);
- divergence: ``soft_dtw(..., normalize=True)`` against
  ``tslearn.metrics.SoftDTWLossPyTorch(gamma, normalize=True)``.

And the barycenter: :func:`sklav.alignment.soft_dtw_barycenter` against
``tslearn.barycenters.softdtw_barycenter`` (both L-BFGS from the same
init, gamma 1, ``max_iter=50``, ``tol=1e-3``), wall time and the objective
each reaches.

Usage: ``python benchmarks/bench_softdtw.py [--repeats 9] [--threads 2] [--quick] [--smoke]``
(``--smoke``: tiny sizes, to check that the script runs).
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

import numpy as np
import torch

SIZES = [(8, 32, 32, 128), (32, 64, 64, 128), (16, 128, 128, 128), (4, 256, 256, 128)]
ERROR_SIZE = (4, 256, 256, 128)
BAND_SIZES = [(4, 256, 256, 128), (1, 2048, 2048, 128)]
BAND_FRACTION = 0.1
GAMMA = 0.1
# barycenters: (videos, length, d); lengths vary by +-25% around ``length``
BARYCENTER_SIZES = [(10, 64, 16), (20, 128, 32)]
SMOKE_SIZES = dict(SIZES=[(2, 16, 16, 8)], ERROR_SIZE=(2, 16, 16, 8), BAND_SIZES=[(2, 40, 40, 8)],
                   BARYCENTER_SIZES=[(3, 10, 4)])


def sq_dist(x, y):
    """The float32 pairwise squared distances of the floor."""
    return (x * x).sum(-1)[:, :, None] + (y * y).sum(-1)[:, None, :] - 2 * x @ y.mT


def peer_dist(x, y):
    """The cost given to the peers: the floor's distances, clamped at 0."""
    return sq_dist(x, y).clamp_min(0.0)


def methods():
    """name -> loss(x, y) of shape (B,), or None when unavailable."""
    from sklav.alignment import soft_dtw

    out = {
        "sklav": lambda x, y: soft_dtw(x, y, GAMMA),
        "floor": sq_dist,  # then .sum().backward(), as every method
    }
    try:
        import pysdtw

        pysdtw_loss = pysdtw.SoftDTW(gamma=GAMMA, dist_func=peer_dist, use_cuda=False)
        out["pysdtw"] = pysdtw_loss
    except ImportError:
        out["pysdtw"] = None
    try:
        from tslearn.metrics import SoftDTWLossPyTorch

        out["tslearn"] = SoftDTWLossPyTorch(gamma=GAMMA, dist_func=peer_dist)
    except ImportError:
        out["tslearn"] = None
    return out


def banded_methods(w):
    """name -> loss(x, y) for the band table (radius ``w``), or None."""
    from sklav.alignment import soft_dtw

    out = {
        "sklav full": lambda x, y: soft_dtw(x, y, GAMMA),
        "sklav band": lambda x, y: soft_dtw(x, y, GAMMA, bandwidth=w),
    }
    try:
        import pysdtw

        out["pysdtw band"] = pysdtw.SoftDTW(gamma=GAMMA, dist_func=peer_dist, use_cuda=False, bandwidth=w)
    except ImportError:
        out["pysdtw band"] = None
    return out


def divergence_methods():
    """name -> soft-DTW divergence(x, y), or None."""
    from sklav.alignment import soft_dtw

    out = {"sklav": lambda x, y: soft_dtw(x, y, GAMMA, normalize=True)}
    try:
        from tslearn.metrics import SoftDTWLossPyTorch

        out["tslearn"] = SoftDTWLossPyTorch(gamma=GAMMA, normalize=True, dist_func=peer_dist)
    except ImportError:
        out["tslearn"] = None
    return out


def barycenter_table(repeats):
    """Median wall time of sklav's and tslearn's soft-DTW barycenters, and their objectives."""
    from tslearn.barycenters import softdtw_barycenter
    from tslearn.utils import to_time_series_dataset

    from sklav.alignment import soft_dtw, soft_dtw_barycenter

    print(f"\nsoft-DTW barycenter, gamma 1, max_iter 50, tol 1e-3: median of {repeats} rounds")
    print(f"{'(videos, T, d)':>16} {'sklav s':>9} {'tslearn s':>10} {'ratio':>6} {'sklav obj':>11} {'tslearn obj':>12}")
    for n_videos, length, d in BARYCENTER_SIZES:
        rng = np.random.default_rng(0)
        videos = [np.cumsum(rng.normal(size=(int(rng.integers(0.75 * length, 1.25 * length + 1)), d)), 0)
                  for _ in range(n_videos)]
        init = soft_dtw_barycenter(videos, 1.0, max_iter=0)  # the same start for both
        runs = {
            "sklav": lambda: soft_dtw_barycenter(videos, 1.0, init=init, max_iter=50, tol=1e-3),
            "tslearn": lambda: softdtw_barycenter(to_time_series_dataset(videos), gamma=1.0, init=init,
                                                  max_iter=50, tol=1e-3),
        }
        times, results = {name: [] for name in runs}, {}
        for _ in range(repeats):
            for name, run in runs.items():
                start = time.perf_counter()
                results[name] = run()
                times[name].append(time.perf_counter() - start)

        def objective(z):
            z = torch.as_tensor(np.asarray(z), dtype=torch.float64)[None].expand(n_videos, -1, -1)
            padded = torch.zeros(n_videos, max(map(len, videos)), d, dtype=torch.float64)
            for i, v in enumerate(videos):
                padded[i, : len(v)] = torch.from_numpy(v)
            lengths = [len(v) for v in videos]
            return float(soft_dtw(z, padded, 1.0, y_lengths=lengths).mean())

        ours, theirs = (float(np.median(times[name])) for name in runs)
        print(f"{str((n_videos, length, d)):>16} {ours:9.3f} {theirs:10.3f} {ours / theirs:5.2f}x "
              f"{objective(results['sklav']):11.4f} {objective(results['tslearn']):12.4f}", flush=True)


def print_table(title, sizes, make_methods, repeats):
    """Median forward + backward time of each method at each size, ms."""
    print(f"\n{title}: median of {repeats} rounds, ms")
    printed_header = False
    for size in sizes:
        available = {k: v for k, v in make_methods(size).items() if v is not None}
        if not printed_header:
            print(f"{'(B, n, m, d)':>20} " + " ".join(f"{name:>12}" for name in available))
            printed_header = True
        median, _ = time_size(size, available, repeats)
        print(f"{str(size):>20} " + " ".join(f"{median[name]:12.2f}" for name in available), flush=True)


def make_inputs(B, n, m, d, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(B, n, d, generator=gen).requires_grad_()
    y = torch.randn(B, m, d, generator=gen).requires_grad_()
    return x, y


def step(loss, x, y):
    x.grad = y.grad = None
    loss(x, y).sum().backward()


def time_size(size, available, repeats):
    x, y = make_inputs(*size)
    for loss in available.values():
        step(loss, x, y)
        step(loss, x, y)
    times = {name: [] for name in available}
    for _ in range(repeats):
        for name, loss in available.items():
            x.grad = y.grad = None
            start = time.perf_counter()
            loss(x, y).sum().backward()
            times[name].append(time.perf_counter() - start)
    median = {name: 1e3 * float(np.median(t)) for name, t in times.items()}
    best = {name: 1e3 * float(np.min(t)) for name, t in times.items()}
    return median, best


# --------------------------------------------------------------------------
# float64 reference (independent of every implementation benchmarked)


def reference_softdtw_grads(x, y, gamma):
    """Value and gradients of Soft-DTW with squared Euclidean cost, float64.

    Cuturi & Blondel (2017), algorithms 1 and 2, vectorised over the
    anti-diagonals of the table (whose cells are independent).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, m = len(x), len(y)
    D = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    R = np.full((n + 2, m + 2), np.inf)
    R[0, 0] = 0.0
    for k in range(n + m - 1):
        i = np.arange(max(0, k - m + 1), min(n - 1, k) + 1)
        j = k - i
        r = np.stack((R[i, j], R[i, j + 1], R[i + 1, j]))
        rmin = r.min(0)
        R[i + 1, j + 1] = D[i, j] + rmin - gamma * np.log(np.exp(-(r - rmin) / gamma).sum(0))
    value = R[n, m]
    Dp = np.zeros((n + 2, m + 2))
    Dp[1 : n + 1, 1 : m + 1] = D
    E = np.zeros((n + 2, m + 2))
    E[n + 1, m + 1] = 1.0
    R[:, m + 1] = -np.inf
    R[n + 1, :] = -np.inf
    R[n + 1, m + 1] = R[n, m]
    for k in range(n + m, 1, -1):  # 1-based cells (i, j), i + j = k
        i = np.arange(max(1, k - m), min(n, k - 1) + 1)
        j = k - i
        a = np.exp((R[i + 1, j] - R[i, j] - Dp[i + 1, j]) / gamma)
        b = np.exp((R[i, j + 1] - R[i, j] - Dp[i, j + 1]) / gamma)
        c = np.exp((R[i + 1, j + 1] - R[i, j] - Dp[i + 1, j + 1]) / gamma)
        E[i, j] = E[i + 1, j] * a + E[i, j + 1] * b + E[i + 1, j + 1] * c
    E = E[1 : n + 1, 1 : m + 1]
    grad_x = 2.0 * (x * E.sum(1)[:, None] - E @ y)
    grad_y = 2.0 * (y * E.sum(0)[:, None] - E.T @ x)
    return value, grad_x, grad_y


def gradient_errors(available):
    """Relative value and gradient errors of each method at ERROR_SIZE."""
    x, y = make_inputs(*ERROR_SIZE, seed=1)
    refs = [reference_softdtw_grads(x[b].detach(), y[b].detach(), GAMMA) for b in range(len(x))]
    ref_values = np.array([r[0] for r in refs])
    ref_gx = np.stack([r[1] for r in refs])
    ref_gy = np.stack([r[2] for r in refs])
    errors = {}
    for name, loss in available.items():
        if name == "floor":
            continue
        x.grad = y.grad = None
        values = loss(x, y)
        values.sum().backward()
        value_error = np.abs(values.detach().double().numpy() - ref_values).max()
        value_error /= np.abs(ref_values).max()
        grad_error = max(
            np.abs(x.grad.double().numpy() - ref_gx).max() / np.abs(ref_gx).max(),
            np.abs(y.grad.double().numpy() - ref_gy).max() / np.abs(ref_gy).max(),
        )
        errors[name] = (value_error, grad_error)
    return errors


# --------------------------------------------------------------------------
# fresh-process measurements

_MEMORY_CHILD = r"""
import gc, json, sys, time
import torch
torch.set_num_threads({threads})
from sklav.alignment import soft_dtw

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)

# warm-up: load the compiled kernels, touch the code paths of one pair
x, y = torch.randn(1, 64, 128, requires_grad=True), torch.randn(1, 64, 128, requires_grad=True)
soft_dtw(x, y, 0.1).sum().backward()
gen = torch.Generator().manual_seed(0)
x = torch.randn(1, {n}, 128, generator=gen).requires_grad_()
y = torch.randn(1, {n}, 128, generator=gen).requires_grad_()
gc.collect()
reset = True
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak RSS (VmHWM) to the current RSS
except OSError:
    reset = False
base = status("VmRSS")
start = time.perf_counter()
soft_dtw(x, y, 0.1).sum().backward()
seconds = time.perf_counter() - start
peak = status("VmHWM")
print(json.dumps(dict(extra=peak - base, seconds=seconds, reset=reset, base=base)))
"""

_FIRST_CALL_CHILD = r"""
import time
start = time.perf_counter()
import torch
torch.set_num_threads({threads})
import sklav.alignment as alignment
from sklav.alignment import _softdtw_numba as kernels
imported = time.perf_counter()
x, y = torch.randn(2, 10, 16, requires_grad=True), torch.randn(2, 12, 16, requires_grad=True)
alignment.soft_dtw(x, y, 0.1).sum().backward()
done = time.perf_counter()
misses = sum(
    sum(f.stats.cache_misses.values())
    for f in (kernels._forward_range, kernels._backward_range)
)
print(imported - start, done - imported, misses)
"""


def fresh_process(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds (>= 5)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="5 rounds only")
    parser.add_argument("--big", type=int, default=4096, help="length of the large pair")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: check that it runs")
    args = parser.parse_args()
    if args.smoke:
        globals().update(SMOKE_SIZES)
        args.big = 256
    repeats = max(5, 5 if args.quick else args.repeats)

    torch.set_num_threads(args.threads)
    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    import pysdtw  # noqa: F401  (versions below)
    import tslearn

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"threads: torch {torch.get_num_threads()}, numba {numba.get_num_threads()}; "
        f"torch {torch.__version__}, numba {numba.__version__}, tslearn {tslearn.__version__}, "
        f"pysdtw {getattr(pysdtw, '__version__', '?')}"
    )
    print(f"# load average at start: {os.getloadavg()[0]:.2f} (other processes share these cores)")
    available = {name: loss for name, loss in methods().items() if loss is not None}
    peers = [name for name in ("pysdtw", "tslearn") if name in available]

    header = f"{'(B, n, m, d)':>20} " + " ".join(f"{name:>9}" for name in available)
    header += f" {'/fastest peer':>14} {'/floor':>7}"

    def row(size, ms):
        fastest = min(ms[p] for p in peers) if peers else float("nan")
        line = f"{str(size):>20} " + " ".join(f"{ms[name]:9.2f}" for name in available)
        return line + f" {ms['sklav'] / fastest:13.2f}x {ms['sklav'] / ms['floor']:6.2f}x"

    print(f"\nforward + backward, float32, gamma {GAMMA}: median of {repeats} rounds, ms")
    print(header)
    best = {}
    for size in SIZES:
        median, best[size] = time_size(size, available, repeats)
        print(row(size, median), flush=True)
    print(f"\nthe same, fastest of the {repeats} rounds (less sensitive to other processes), ms")
    print(header)
    for size in SIZES:
        print(row(size, best[size]))

    print(
        f"\nrelative error against a float64 reference at {ERROR_SIZE} "
        "(max |error| / max |reference|)"
    )
    for name, (value_error, grad_error) in gradient_errors(available).items():
        print(f"{name:>9}: value {value_error:.1e}, gradient {grad_error:.1e}")

    n = args.big
    result = json.loads(fresh_process(_MEMORY_CHILD.format(threads=args.threads, n=n)))
    how = "VmHWM after resetting it"
    if not result["reset"]:
        how = "VmHWM (not resettable: includes the warm-up)"
    print(
        f"\none {n} x {n} pair (d = 128), fresh process: {result['seconds']:.2f} s, "
        f"peak extra memory {result['extra'] / 2**20:.0f} MiB ({how}, minus RSS before the call)"
    )

    print_table(
        f"Sakoe-Chiba band w = ceil({BAND_FRACTION} n), forward + backward, float32",
        BAND_SIZES, lambda size: banded_methods(math.ceil(BAND_FRACTION * size[1])), repeats,
    )
    print_table(
        "soft-DTW divergence (normalize=True), forward + backward, float32",
        SIZES, lambda size: divergence_methods(), repeats,
    )

    barycenter_table(max(3, repeats // 3))

    runs = [fresh_process(_FIRST_CALL_CHILD.format(threads=args.threads)).split() for _ in range(2)]
    for imported, first, misses in runs:
        print(
            f"fresh process, numba cache warm: import sklav.alignment {float(imported):.2f} s "
            f"(torch included), first soft_dtw forward + backward {float(first):.3f} s, "
            f"kernels compiled: {int(misses)}"
        )
    print(f"# load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
