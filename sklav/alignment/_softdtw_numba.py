"""CPU Soft-DTW kernels, compiled with numba.

The dynamic programme runs anti-diagonal by anti-diagonal (a wavefront): the
cells of one diagonal are independent, so each diagonal is one loop that LLVM
turns into SIMD code (AVX2: four float64 cells per instruction). That needs
the loop body free of library calls, so the soft-min uses its own branch-free
``exp`` and ``log`` (polynomials after range reduction, accurate to about one
ulp) instead of libm's. Pairs of a batch run in parallel threads when the
batch is large enough to pay for them. The DP state is float64 whatever the
input dtype.

Strips. A pair is swept in strips of ``STRIP`` rows, top to bottom, each
strip anti-diagonal by anti-diagonal; the last row of R of a strip (the
first row of E, backwards) is handed to the next one. Diagonals of a whole
large table would touch one cache line and one page per row, for the
strided cost gather and E scatter; a strip's diagonals touch ``STRIP``
lines, which software prefetches fetch ahead, and they are still long
enough for SIMD.

Band. Pair ``b`` computes only the cells with ``band[b, 0] <= j - i <=
band[b, 1]`` (a Sakoe-Chiba band; the full table by default); the others are
``R = +inf`` and ``E = 0``. A strip sweeps only the diagonals, and each
diagonal only the rows, that meet the band, so the time and the saved
weights scale with the band's cells. The next diagonals read one row past
either end of a diagonal: those slots of its buffer hold ``+inf`` (``R``)
or 0 (``E``), and so does ``bottom`` one column past the band.

Layout. The three last diagonals of ``R`` (and, backwards, of ``E``) of a
strip live in small buffers indexed by row, so the predecessors of the
cells of a diagonal are contiguous slices. The soft-min weights are saved
diagonal-major within each strip, strips one after the other: in pair
``b``, the strip of rows ``r0..r0+h-1`` starts after the band's cells of
rows ``0..r0-1`` (``r0 * ny[b]`` without a band), and within it the cells
of the strip's diagonal ``k`` (local rows ``lo_k..hi_k``) follow the cells
of its previous diagonals. ``weights[b, 0]`` is the weight of the diagonal
predecessor ``(i-1, j-1)`` in the soft-min of cell ``(i, j)``,
``weights[b, 1]`` that of the upper one ``(i-1, j)`` (the left weight is
one minus their sum, in float64). The weights may be stored in float32
(probabilities; 8 bytes a cell instead of 16), and those below
``_TINY_WEIGHT`` are stored as zero (no subnormal float32). One more slot after a
pair's cells is zero, so that the backward sweep reads finite weights one
cell past either end of a diagonal, where the matching ``E`` slot is zero.
This layout is private to this module: ``softdtw_backward*`` read what
``softdtw_forward`` wrote.

Underflow. Soft-min terms below ``exp(-345) ~ 1e-150`` are flushed to zero,
and so are entries of ``E`` below ``1e-150``, so no product in either sweep is
subnormal (subnormal arithmetic is ~100 times slower on x86); the values
dropped are 1e-134 times smaller than float64 resolution of the results.

Conventions:

- ``G``: cost, ``(B, n, m)``; pair ``b`` uses ``G[b, :nx[b], :ny[b]]``. The
  kernels take the cost of cell ``(i, j)`` as ``max(sx[i] + sy[j] + alpha *
  G[b, i, j], floor)``: the plain cost ``G`` (``sx = sy = 0``, ``alpha = 1``,
  ``floor = -inf``), or the squared Euclidean distance of two sequences from
  their Gram matrix and squared norms (``alpha = -2``, ``floor = 0``), which
  saves a pass over the table.
- ``E = d value / d cost``, zero outside the valid region.
"""

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

_FASTMATH = {"nsz", "arcp", "contract"}  # no 'reassoc': it would undo the rounding trick in _exp
_INF = np.inf

# --------------------------------------------------------------------------
# branch-free, vectorisable exp and log


@intrinsic
def _f64_to_bits(typingctx, x):
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_to_f64(typingctx, x):
    if x != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


# llvm.prefetch is overloaded on the pointer type: "p0i8" for llvmlite's
# typed-pointer IR (LLVM with opaque pointers remangles it), "p0" should
# llvmlite print opaque pointers.
_PREFETCH = "llvm.prefetch.p0" if str(ir.IntType(8).as_pointer()) == "ptr" else "llvm.prefetch.p0i8"


def _prefetch_codegen(context, builder, aryty, ary_value, indices, write):
    ary = context.make_array(aryty)(context, builder, ary_value)
    ptr = cgutils.get_item_pointer(context, builder, aryty, ary, indices, wraparound=False)
    i8p = ir.IntType(8).as_pointer()
    i32 = ir.IntType(32)
    fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
    fn = cgutils.get_or_insert_function(builder.module, fnty, _PREFETCH)
    # rw, locality 3 (keep in all levels), data cache
    flags = [ir.Constant(i32, write), ir.Constant(i32, 3), ir.Constant(i32, 1)]
    args = [builder.bitcast(ptr, i8p)] + flags
    builder.call(fn, args)
    return context.get_dummy_value()


@intrinsic
def _prefetch(typingctx, arr, i):
    """Prefetch the cache line of ``arr[i]`` for reading (a hint: never faults)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        return _prefetch_codegen(context, builder, signature.args[0], args[0], [args[1]], 0)

    return types.void(arr, i), codegen


@intrinsic
def _prefetch2(typingctx, arr, i, j, write):
    """Prefetch the cache line of ``arr[i, j]``; ``write`` a literal bool."""
    if not (isinstance(arr, types.Array) and arr.ndim == 2):
        return None
    if not isinstance(write, types.BooleanLiteral):
        return None
    rw = int(write.literal_value)

    def codegen(context, builder, signature, args):
        indices = [args[1], args[2]]
        return _prefetch_codegen(context, builder, signature.args[0], args[0], indices, rw)

    return types.void(arr, i, j, write), codegen


# The constants of exp and log are passed to the kernels at run time, as a
# tuple (``CONSTANTS``): as compile-time constants LLVM rematerialises each of
# them in the SIMD loop with two instructions (numba's large code model),
# which costs more than the arithmetic; as arguments they stay in registers
# or are one load from the stack.
_LOG2E = 0
_SHIFT = 1  # 1.5 * 2**52: x + _SHIFT rounds x to an integer in the low bits
_LN2_HI = 2  # k * _LN2_HI is exact for |k| < 2**11
_LN2_LO = 3  # ln 2 - _LN2_HI
_EXP_CUTOFF = 4  # exp(x) is flushed to 0 below: exp(-345) ~ 1.4e-150
_E = 5  # 12 coefficients: minimax polynomial of exp on [-ln2/2, ln2/2] (error 3e-18)
_LOG_SPLIT = 17
_LOG_C1 = 18
_LOG_C2 = 19
_LOG_LNC1 = 20
_LOG_LNC2 = 21
_L = 22  # 7 coefficients (below)
_SHIFT_BITS = 0x4338000000000000  # bit pattern of 1.5 * 2**52

# log(s), s in [1, 3]: s / c lies in [3**-0.25, 3**0.25] for c = 3**0.25
# (s < sqrt 3) or c = 3**0.75, and log(s / c) = 2 atanh(u), u = (s - c) / (s + c),
# |u| < 0.137; 2 atanh(u) = u * P(u**2), P minimax of degree 6 (error 2e-18).
CONSTANTS = tuple(
    [
        1.4426950408889634,  # log2(e)
        6755399441055744.0,
        0.6931471803691238,  # 0x1.62e42fee00000p-1
        1.9082149292705877e-10,
        -345.0,
        # exp polynomial, degree 0 to 11
        1.0,
        1.0,
        0.5000000000000019,
        0.1666666666666668,
        0.04166666666648795,
        0.008333333333319589,
        0.0013888888952352863,
        0.00019841269890076403,
        2.4801485441561313e-05,
        2.755724088722987e-06,
        2.763265472252779e-07,
        2.5110049204818658e-08,
        # log
        1.7320508075688772,  # sqrt(3)
        1.3160740129524924,  # 3**0.25
        2.2795070569547775,  # 3**0.75
        0.27465307216702733,  # log(3**0.25)
        0.8239592165010822,  # log(3**0.75)
        2.0,
        0.6666666666665957,
        0.400000000060835,
        0.28571426616850676,
        0.2222252087566251,
        0.18158450202665663,
        0.16285886165185479,
    ]
)


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _exp_nonpositive(x, C):
    """exp(x) for x <= 0 (or -inf), flushed to 0 below ``C[_EXP_CUTOFF]``."""
    cutoff = C[_EXP_CUTOFF]
    xc = max(x, cutoff)
    t = xc * C[_LOG2E] + C[_SHIFT]
    k = t - C[_SHIFT]  # round(x / ln 2), exactly
    r = (xc - k * C[_LN2_HI]) - k * C[_LN2_LO]  # |r| <= ln2 / 2
    # Estrin's scheme: a shorter dependency chain than Horner's, which is
    # what bounds the SIMD loop (each iteration is one long chain)
    r2 = r * r
    r4 = r2 * r2
    q0 = (C[_E] + C[_E + 1] * r) + (C[_E + 2] + C[_E + 3] * r) * r2
    q1 = (C[_E + 4] + C[_E + 5] * r) + (C[_E + 6] + C[_E + 7] * r) * r2
    q2 = (C[_E + 8] + C[_E + 9] * r) + (C[_E + 10] + C[_E + 11] * r) * r2
    p = q0 + (q1 + q2 * r4) * r4
    scale = _bits_to_f64((_f64_to_bits(t) - _SHIFT_BITS + 1023) << 52)  # 2**k
    return p * scale if x >= cutoff else 0.0


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _log_and_inverse(s, C):
    """``(log(s), 1 / s)`` for s in [1, 3], with one division.

    Absolute error of the log under 4e-16, 0 at s = 1.
    """
    low = s < C[_LOG_SPLIT]
    c = C[_LOG_C1] if low else C[_LOG_C2]
    lnc = C[_LOG_LNC1] if low else C[_LOG_LNC2]
    sc = s + c
    q = 1.0 / (s * sc)
    u = (s - c) * (q * s)  # (s - c) / (s + c)
    v = u * u
    v2 = v * v
    p = (C[_L] + C[_L + 1] * v) + (C[_L + 2] + C[_L + 3] * v) * v2
    p = p + ((C[_L + 4] + C[_L + 5] * v) + C[_L + 6] * v2) * (v2 * v2)
    # log(1) exactly 0 (the common case: both other terms flushed to zero)
    return (lnc + u * p) if s != 1.0 else 0.0, q * sc


# --------------------------------------------------------------------------
# one pair, in strips of rows

# Rows per strip. The DP sweeps a strip of STRIP rows anti-diagonal by
# anti-diagonal, then the next strip. Diagonals of up to STRIP cells are long
# enough for SIMD, and the strided accesses of a diagonal (cost gather, E
# scatter) touch only STRIP cache lines, which software prefetches cover.
STRIP = 64
_AHEAD = 16  # prefetch distance along a row of the cost / E, in columns
_AHEAD_W = 512  # prefetch distance along the weights, in cells
_TINY_WEIGHT = 1e-30  # saved weights below are zero: no subnormal float32

# Unsigned indices: numba then emits no negative-index wraparound code.
_u = np.uint64


@numba.njit(cache=True, nogil=True, inline="always")
def _row_span(i, m, lower, upper):
    """First and last column of row ``i`` in the band ``lower <= j - i <= upper``."""
    return max(0, i + lower), min(m - 1, i + upper)


@numba.njit(cache=True, nogil=True)
def _band_cells(r0, h, m, lower, upper):
    """Cells of rows ``r0 .. r0 + h - 1`` in the band."""
    total = 0
    for i in range(r0, r0 + h):
        first, last = _row_span(i, m, lower, upper)
        total += max(0, last - first + 1)
    return total


@numba.njit(cache=True, nogil=True, inline="always")
def _diagonal_rows(k, r0, h, m, lower, upper):
    """Local rows ``lo .. hi`` of the strip's cells ``(i, k - i)`` in the table
    and the band (``lower <= k - i - r0 <= upper``); ``lo = hi + 1`` when the
    diagonal misses a band of zero width."""
    lo = max(max(0, k - m + 1), -((r0 + upper - k) // 2))  # ceil((k - r0 - upper) / 2)
    hi = min(min(h - 1, k), (k - r0 - lower) // 2)
    return lo, hi


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _forward_strip(
    G, sx, sy, alpha, floor, r0, h, m, lower, upper, gamma, wd, wu, base, top, bottom,
    r_a, r_b, r_c, cost, C,
):
    """Rows ``r0 .. r0 + h - 1`` of the DP, cells of the band ``lower <= j - i <= upper``.

    ``top[j + 1]`` is ``R[r0 - 1, j]`` for ``j = -1 .. m - 1``; ``bottom``
    gets the same for row ``r0 + h - 1`` (its band's columns and one more).
    The weights of the strip go to ``wd``, ``wu`` from ``base`` on,
    diagonal-major within the strip; returns where they end. ``r_*``
    (length >= h + 1) hold one anti-diagonal of R each, indexed by local
    row + 1 (slot 0 is row r0 - 1); ``cost`` (length >= h) holds the costs
    of the current diagonal.
    """
    inv_gamma = 1.0 / gamma
    r_prev2, r_prev, r_cur = r_a, r_b, r_c
    for s in range(h + 1):
        r_prev2[s] = _INF
        r_prev[s] = _INF
        r_cur[s] = _INF
    bottom[0] = _INF
    off = base
    n_weights = wd.shape[0]
    first = max(0, r0 + lower)  # the band's first column in row r0
    last = min(m - 1, r0 + h - 1 + upper)  # and its last in row r0 + h - 1
    for k in range(first, h + last):
        lo, hi = _diagonal_rows(k, r0, h, m, lower, upper)
        length = hi - lo + 1
        if length > 0:
            if lo == 0:  # cell (r0, k) reads row r0 - 1
                r_prev2[0] = top[k]
                r_prev[0] = top[k + 1]
            # costs of the diagonal, gathered (strided) into a contiguous buffer
            urow, ucol = _u(r0 + lo), _u(k - lo)
            for t in range(length):
                ut = _u(t)
                i = urow + ut
                j = ucol - ut
                if j + _u(_AHEAD) < _u(m):
                    _prefetch2(G, i, j + _u(_AHEAD), False)
                cost[ut] = max(sx[i] + sy[j] + alpha * G[i, j], floor)
            ahead = off + _AHEAD_W
            if ahead + length < n_weights:
                for q in range(0, length + 8, 8):
                    _prefetch(wd, ahead + q)
                    _prefetch(wu, ahead + q)
            # the diagonal itself: SIMD (slices keep indices provably >= 0, so
            # numba's negative-index wraparound folds away)
            wd_k = wd[off : off + length]
            wu_k = wu[off : off + length]
            for t in range(length):
                i = lo + t
                diag = r_prev2[i]
                up = r_prev[i]
                left = r_prev[i + 1]
                a = min(diag, up)
                b = max(diag, up)
                smallest = min(a, left)
                largest = max(b, left)
                middle = max(a, min(b, left))
                e_mid = _exp_nonpositive((smallest - middle) * inv_gamma, C)
                e_big = _exp_nonpositive((smallest - largest) * inv_gamma, C)
                log_total, inv_total = _log_and_inverse(1.0 + e_mid + e_big, C)
                e_diag = 1.0 if diag == smallest else (e_big if diag == largest else e_mid)
                e_up = 1.0 if up == smallest else (e_big if up == largest else e_mid)
                r_cur[i + 1] = cost[t] + (smallest - gamma * log_total)
                w_diag = e_diag * inv_total
                w_up = e_up * inv_total
                wd_k[t] = w_diag if w_diag >= _TINY_WEIGHT else 0.0
                wu_k[t] = w_up if w_up >= _TINY_WEIGHT else 0.0
            if hi == h - 1:
                bottom[k - hi + 1] = r_cur[h]
            off += length
        # row lo - 1 lies outside the band or the table, and may hold a value
        # of an earlier diagonal (lo only grows); rows past hi never held one
        r_cur[lo] = _INF
        r_prev2, r_prev, r_cur = r_prev, r_cur, r_prev2
    if last + 1 < m:  # the next strip's first row reaches one column further
        bottom[last + 2] = _INF
    return off


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _forward_pair(
    G, sx, sy, alpha, floor, n, m, lower, upper, gamma, wd, wu, rows, r_a, r_b, r_c, cost, C
):
    """Soft-DTW value of one pair; fills its weights ``wd``, ``wu``.

    ``rows`` is (2, >= m + 1) scratch for the strip boundaries; ``r_*``
    (length >= min(n, STRIP) + 1) and ``cost`` (>= min(n, STRIP)) scratch
    for the diagonals.
    """
    top = rows[0]
    bottom = rows[1]
    top[0] = 0.0  # R[-1, -1]
    for s in range(1, m + 1):
        top[s] = _INF
    base = 0
    for r0 in range(0, n, STRIP):
        h = min(STRIP, n - r0)
        base = _forward_strip(
            G, sx, sy, alpha, floor, r0, h, m, lower, upper, gamma, wd, wu, base, top, bottom,
            r_a, r_b, r_c, cost, C,
        )
        top, bottom = bottom, top
    wd[base] = 0.0
    wu[base] = 0.0
    return top[m]


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _backward_strip(
    wd, wu, r0, h, m, lower, upper, base, cells, scale, E, row_sum, col_sum, below, above,
    e_a, e_b, e_c,
):
    """Expected alignment of rows ``r0 .. r0 + h - 1``, times ``scale``.

    The strip's ``cells`` weights start at ``base``. ``below[j]`` is what
    row ``r0 + h`` passes to cell ``(r0 + h - 1, j)``:
    ``E[r0 + h, j + 1] * wd[r0 + h, j + 1] + E[r0 + h, j] * wu[r0 + h, j]``
    (for the last strip, 1 at ``j = m - 1``, else 0); ``above`` gets the
    same for row ``r0 - 1`` (over the columns that row's band reads).
    ``e_*`` (length >= h + 1) hold one anti-diagonal of E each (unscaled),
    indexed by local row; the slots just outside a diagonal's rows are
    zero, so the successors outside the strip or the band contribute
    nothing through them. (The SIMD loop touches few arrays: with more,
    LLVM gives up the run-time overlap checks it needs to vectorise.)
    """
    for s in range(h + 1):
        e_a[s] = 0.0
        e_b[s] = 0.0
        e_c[s] = 0.0
    first = max(0, r0 + lower)
    for j in range(max(0, first - 1), min(m - 1, r0 + upper) + 1):
        above[j] = 0.0
    e_next2, e_next, e_cur = e_a, e_b, e_c
    # offsets and first rows of diagonals k + 1 and k + 2; past the strip:
    # offset cells, first row h
    off1, lo1 = cells, h
    off2, lo2 = cells, h
    for k in range(h - 1 + min(m - 1, r0 + h - 1 + upper), first - 1, -1):
        lo, hi = _diagonal_rows(k, r0, h, m, lower, upper)
        length = hi - lo + 1
        off = off1 - length  # length >= 0: lo <= hi + 1
        base2 = base + off2 + 1 + lo - lo2  # weights index of (i + 1, j + 1) for t = 0
        base1 = base + off1 + lo - lo1  # weights index of (i, j + 1) for t = 0
        ahead = base1 - _AHEAD_W
        if ahead >= 0:
            for q in range(0, length + 8, 8):
                _prefetch(wd, ahead + q)
                _prefetch(wu, ahead + q)
        wd_diag = wd[base2 : base2 + length]
        wu_down = wu[base1 + 1 : base1 + 1 + length]
        wd_right = wd[base1 : base1 + length]
        wu_right = wu[base1 : base1 + length]
        e_out = e_cur[lo : lo + length]
        for t in range(length):  # SIMD
            i = lo + t
            value = (
                e_next2[i + 1] * wd_diag[t]
                + e_next[i + 1] * wu_down[t]
                + e_next[i] * (1.0 - wd_right[t] - wu_right[t])
            )
            e_out[t] = value if value >= 1e-150 else 0.0  # no subnormals downstream
        if hi == h - 1:  # the last row's successors below the strip (an empty
            # diagonal's slot hi is zeroed just below)
            value = e_cur[hi] + below[k - hi]
            e_cur[hi] = value if value >= 1e-150 else 0.0
        e_cur[hi + 1] = 0.0
        if lo > 0:
            e_cur[lo - 1] = 0.0
        for t in range(length):  # scatter into E (strided) and its sums
            i = lo + t
            j = k - i
            if j >= _AHEAD:
                _prefetch2(E, r0 + i, j - _AHEAD, True)
            scaled = e_cur[i] * scale
            E[r0 + i, j] = scaled
            row_sum[r0 + i] += scaled
            col_sum[j] += scaled
        if lo == 0:  # cell (r0, k) passes E to row r0 - 1
            value = e_cur[0]
            above[k] += value * wu[base + off]
            if k > 0:
                above[k - 1] += value * wd[base + off]
        off2, lo2 = off1, lo1
        off1, lo1 = off, lo
        e_next2, e_next, e_cur = e_next, e_cur, e_next2


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _backward_pair(wd, wu, n, m, lower, upper, scale, E, row_sum, col_sum, rows, e_a, e_b, e_c):
    """Expected alignment of one pair, times ``scale``, into ``E``.

    Writes ``E[:n, :m]`` (zero outside the band) and zeros the rest of
    ``E``; ``row_sum`` / ``col_sum`` (float64) get the sums of the scaled
    ``E`` over its rows / columns (zero past ``n`` / ``m``). ``rows`` is
    (2, >= m) scratch; ``e_*`` (length >= min(n, STRIP) + 1) scratch.
    """
    n_full, m_full = E.shape
    for i in range(row_sum.shape[0]):
        row_sum[i] = 0.0
    for j in range(col_sum.shape[0]):
        col_sum[j] = 0.0
    below = rows[0]
    above = rows[1]
    for j in range(m):
        below[j] = 0.0
    below[m - 1] = 1.0  # d value / d R[n - 1, m - 1]
    base = _band_cells(0, n, m, lower, upper)
    last = ((n - 1) // STRIP) * STRIP
    for r0 in range(last, -1, -STRIP):
        h = min(STRIP, n - r0)
        cells = _band_cells(r0, h, m, lower, upper)
        base -= cells
        _backward_strip(
            wd, wu, r0, h, m, lower, upper, base, cells, scale, E, row_sum, col_sum, below, above,
            e_a, e_b, e_c,
        )
        below, above = above, below
    # outside the band, and padding
    for i in range(n):
        first, last_col = _row_span(i, m, lower, upper)
        for j in range(first):
            E[i, j] = 0.0
        for j in range(last_col + 1, m_full):
            E[i, j] = 0.0
    for i in range(n, n_full):
        for j in range(m_full):
            E[i, j] = 0.0


# --------------------------------------------------------------------------
# batches

# Below this many cells a batch runs on one thread: waking the pool costs
# more than it saves.
PARALLEL_MIN_CELLS = 1 << 15


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH | {"reassoc"})
def _squared_norms(X, out):
    """``out[i] = sum_k X[i, k] ** 2`` (zero for an empty feature axis)."""
    for i in range(X.shape[0]):
        total = 0.0
        for k in range(X.shape[1]):
            total += X[i, k] * X[i, k]
        out[i] = total


@numba.njit(cache=True, nogil=True)
def _forward_range(G, X, Y, alpha, floor, nx, ny, band, gamma, values, weights, C, start, stop):
    B, n, m = G.shape
    h = min(n, STRIP)
    r = np.empty((3, h + 1))
    cost = np.empty(h)
    rows = np.empty((2, m + 1))
    sx = np.empty(n)
    sy = np.empty(m)
    for b in range(start, stop):
        _squared_norms(X[b], sx)
        _squared_norms(Y[b], sy)
        values[b] = _forward_pair(
            G[b], sx, sy, alpha, floor, nx[b], ny[b], band[b, 0], band[b, 1], gamma,
            weights[b, 0], weights[b, 1], rows, r[0], r[1], r[2], cost, C,
        )


@numba.njit(cache=True, nogil=True, parallel=True)
def _forward_parallel(G, X, Y, alpha, floor, nx, ny, band, gamma, values, weights, C, chunks):
    B = G.shape[0]
    for c in numba.prange(chunks):
        _forward_range(
            G, X, Y, alpha, floor, nx, ny, band, gamma, values, weights, C,
            c * B // chunks, (c + 1) * B // chunks,
        )


@numba.njit(cache=True, nogil=True)
def _scale_rows(X, s, out):
    """``out[i, k] = X[i, k] * s[i]``."""
    for i in range(X.shape[0]):
        for k in range(X.shape[1]):
            out[i, k] = X[i, k] * s[i]


@numba.njit(cache=True, nogil=True)
def _backward_range(weights, nx, ny, band, scale, E, row_sum, col_sum, X, Y, SX, SY, start, stop):
    B, n, m = E.shape
    h = min(n, STRIP)
    e = np.empty((3, h + 1))
    rows = np.empty((2, m))
    for b in range(start, stop):
        _backward_pair(
            weights[b, 0], weights[b, 1], nx[b], ny[b], band[b, 0], band[b, 1], scale[b],
            E[b], row_sum[b], col_sum[b], rows, e[0], e[1], e[2],
        )
        _scale_rows(X[b], row_sum[b], SX[b])
        _scale_rows(Y[b], col_sum[b], SY[b])


@numba.njit(cache=True, nogil=True, parallel=True)
def _backward_parallel(
    weights, nx, ny, band, scale, E, row_sum, col_sum, X, Y, SX, SY, chunks
):
    B = E.shape[0]
    for c in numba.prange(chunks):
        _backward_range(
            weights, nx, ny, band, scale, E, row_sum, col_sum, X, Y, SX, SY,
            c * B // chunks, (c + 1) * B // chunks,
        )


@numba.njit(cache=True, nogil=True)
def _pair_cells(nx, ny, band, out):
    for b in range(nx.shape[0]):
        out[b] = _band_cells(0, nx[b], ny[b], band[b, 0], band[b, 1])


def band_cells(nx, ny, band=None):
    """Cells each pair computes, ``(B,)`` int64: ``nx * ny`` without a band."""
    if band is None:
        return nx * ny
    cells = np.empty(nx.shape[0], dtype=np.int64)
    _pair_cells(nx, ny, band, cells)
    return cells


def _full_band(nx, ny):
    """The band that holds every cell: ``-(nx - 1) <= j - i <= ny - 1``."""
    return np.stack([1 - nx, ny - 1], axis=1).astype(np.int64)


def _chunks(cells, threads):
    """Parts to split a batch whose pairs have these many cells into: 1 (no
    threads), or up to 8 per thread, handed out one at a time
    (``_run_parallel``), so that a thread that the OS pauses (other
    processes on the cores) holds up one part, not half of the batch."""
    B = cells.shape[0]
    threads = min(threads, numba.get_num_threads())
    if B < 2 or threads < 2 or int(cells.sum()) < PARALLEL_MIN_CELLS:
        return 1
    return min(B, 8 * threads)


def _run_parallel(kernel, *args):
    old = numba.set_parallel_chunksize(1)  # dynamic schedule, one part at a time
    try:
        kernel(*args)
    finally:
        numba.set_parallel_chunksize(old)


def softdtw_forward(
    G, nx, ny, gamma, X=None, Y=None, threads=None, band=None, weights_dtype=np.float64
):
    """Soft-DTW values ``(B,)`` and the weights for :func:`softdtw_backward`.

    Parameters
    ----------
    G : ndarray of shape (B, n, m), float64, C-contiguous
        The cost; or, with ``X`` and ``Y``, their Gram matrices
        ``G[b] = X[b] @ Y[b].T``, and the cost is the squared Euclidean
        distance ``max(|x_i|^2 + |y_j|^2 - 2 G[b, i, j], 0)``.
    nx, ny : ndarray of shape (B,), int64
        Valid lengths, in ``[1, n]`` and ``[1, m]``.
    gamma : float
    X, Y : ndarray of shape (B, n, d) and (B, m, d), float64, optional
    threads : int, optional
        At most this many threads (pairs split between them); numba's
        setting when None.
    band : ndarray of shape (B, 2), int64, optional
        Pair ``b`` computes the cells with ``band[b, 0] <= j - i <=
        band[b, 1]`` only, the others are unreachable (``+inf``); the band
        must hold ``(0, 0)`` and ``(nx[b] - 1, ny[b] - 1)``. Every cell when
        None.
    weights_dtype : {np.float64, np.float32}, default=np.float64
        Of the saved weights: float32 halves their memory and costs about
        1e-8 relative in the backward (below float32 rounding).

    Returns
    -------
    values : ndarray of shape (B,), float64
    weights : ndarray of shape (B, 2, max(cells) + 1), ``weights_dtype``
        ``cells = band_cells(nx, ny, band)``. Private layout (see the
        module docstring); give the backward the same ``band``.
    """
    B, n, m = G.shape
    if X is None:
        X, Y, alpha, floor = np.empty((B, n, 0)), np.empty((B, m, 0)), 1.0, -np.inf
    else:
        alpha, floor = -2.0, 0.0
    cells = band_cells(nx, ny, band)
    band = _full_band(nx, ny) if band is None else band
    values = np.empty(B)
    weights = np.empty((B, 2, int(cells.max(initial=0)) + 1), dtype=weights_dtype)
    chunks = _chunks(cells, numba.get_num_threads() if threads is None else threads)
    args = (G, X, Y, alpha, floor, nx, ny, band, float(gamma), values, weights, CONSTANTS)
    if chunks == 1:
        _forward_range(*args, 0, B)
    else:
        _run_parallel(_forward_parallel, *args, chunks)
    return values, weights


def softdtw_backward_into(
    weights, nx, ny, scale, E, row_sum, col_sum, X=None, Y=None, SX=None, SY=None,
    threads=None, band=None,
):
    """Fill ``E`` (B, n, m) with the expected alignment times ``scale[b]``.

    ``E`` may be float32 or float64 (C-contiguous); it is zero outside the
    valid region and the band. ``row_sum`` (B, n) and ``col_sum`` (B, m),
    float64, get its sums over the last and the middle axis. With ``X``
    (B, n, d) and ``Y`` (B, m, d), of ``E``'s dtype, ``SX`` and ``SY``
    (same shapes) get ``X * row_sum[..., None]`` and ``Y * col_sum[...,
    None]``: the row-scaling terms of the gradients of a squared Euclidean
    cost. ``threads`` and ``band`` as in :func:`softdtw_forward`.
    """
    if X is None:
        B, n, m = E.shape
        X = SX = np.empty((B, n, 0), E.dtype)
        Y = SY = np.empty((B, m, 0), E.dtype)
    cells = band_cells(nx, ny, band)
    band = _full_band(nx, ny) if band is None else band
    args = (weights, nx, ny, band, scale, E, row_sum, col_sum, X, Y, SX, SY)
    chunks = _chunks(cells, numba.get_num_threads() if threads is None else threads)
    if chunks == 1:
        _backward_range(*args, 0, E.shape[0])
    else:
        _run_parallel(_backward_parallel, *args, chunks)


def softdtw_backward(weights, nx, ny, n, m, band=None):
    """Expected alignment ``E = d value / d cost``, ``(B, n, m)`` float64."""
    B = weights.shape[0]
    E = np.empty((B, n, m))
    softdtw_backward_into(
        weights, nx, ny, np.ones(B), E, np.empty((B, n)), np.empty((B, m)), band=band
    )
    return E
