"""The compiled DFA kernel: mean residual sum of squares of every signal at every window length.

One pass per signal builds anchored running sums inside blocks of ``block`` samples (the profile
``y = cumsum(x - mean)`` is stored as ``z = y - c_k`` with ``c_k`` its value at block ``k``'s first
sample, so every stored sum is at the size of the local variation, never of the whole record).
A window inside one block is a difference of two running sums; a window across blocks adds the
blocks it covers, each shifted to the anchor of its first block (a few terms per window: the
window length over the block). The residual of the least-squares line then follows in closed
form, ``S_yy - S_y**2 / n - S_ty**2 / S_tt`` with ``t`` centred.

Where the closed form could lose digits (windows whose sum of squares is over
``ROUNDOFF_RATIO`` times their residual, e.g. a steep profile), the residuals of that window
length are recomputed window by window from centred values.

Compiled with numba (``cache=True``: compiled once per installation; ``nogil=True``: threads run
signals in parallel). :func:`adhesive_dots.fingerprint.dfa.compute_dfa_array` is the interface;
tests compare it with a direct window-by-window least-squares fit and with nolds.
"""

from __future__ import annotations

import numba
import numpy as np

ROUNDOFF_RATIO = 1e-6 / (8 * np.finfo(float).eps)
"""Above this ``sum(S_yy) / sum(rss)`` a window length is recomputed directly: the round-off of the closed
form (about 8 eps x S_yy per window) could then exceed 1e-6 of the residual."""


@numba.njit(cache=True, nogil=True)
def _direct_mean_rss(z, c, b, n_times, length, step):  # pragma: no cover - compiled
    """Mean residual over windows, each fitted from centred values (exact; O(n_times) per window length)."""
    total = 0.0
    count = 0
    a = 0
    tc_sq = length * (length * length - 1) / 12.0
    while a + length <= n_times:
        ka = a // b
        mean_y = 0.0
        for t in range(a, a + length):
            mean_y += (c[t // b] - c[ka]) + z[t // b, t % b]
        mean_y /= length
        syy = 0.0
        sty = 0.0
        for t in range(a, a + length):
            v = (c[t // b] - c[ka]) + z[t // b, t % b] - mean_y
            syy += v * v
            sty += (t - a - (length - 1) / 2.0) * v
        rss = syy - sty * sty / tc_sq
        total += rss if rss > 0.0 else 0.0
        count += 1
        a += step
    return total / count


@numba.njit(cache=True, nogil=True)
def dfa_mean_rss(x, lengths, steps, block):  # pragma: no cover - compiled
    """Mean residual sum of squares of the profile around a line, over windows, per signal and length.

    Parameters
    ----------
    x : ndarray, shape (m, n_times), float64
        Signals (C-contiguous).
    lengths, steps : ndarray of int64, shape (n_lengths,)
        Window lengths and the step between window starts, in samples.
    block : int
        Samples per block of the anchored running sums.

    Returns
    -------
    ndarray, shape (m, n_lengths)
        ``mean_windows(rss)`` in the signal's units**2 x samples.
    """
    m, n_times = x.shape
    b = block
    nb = n_times // b + 1
    n_lengths = lengths.size
    out = np.empty((m, n_lengths))
    c = np.empty(nb)
    z = np.zeros((nb, b))
    L1 = np.zeros((nb, b + 1))
    Lt = np.zeros((nb, b + 1))
    L2 = np.zeros((nb, b + 1))
    for r in range(m):
        mean = 0.0
        for t in range(n_times):
            mean += x[r, t]
        mean /= n_times
        before = 0.0  # the profile at the sample before the block
        for k in range(nb):
            base = k * b
            first = x[r, base] - mean if base < n_times else 0.0
            c[k] = before + first
            zj = 0.0
            for j in range(b):
                if j > 0:
                    t = base + j
                    zj += x[r, t] - mean if t < n_times else 0.0
                z[k, j] = zj
                L1[k, j + 1] = L1[k, j] + zj
                Lt[k, j + 1] = Lt[k, j] + j * zj
                L2[k, j + 1] = L2[k, j] + zj * zj
            before = c[k] + zj
        for s in range(n_lengths):
            length = lengths[s]
            step = steps[s]
            tc_sq = length * (length * length - 1) / 12.0
            total = 0.0
            size = 0.0
            count = 0
            a = 0
            while a + length <= n_times:
                ka = a // b
                ja = a - ka * b
                kb = (a + length) // b
                jb = a + length - kb * b
                if kb == ka:
                    s1 = L1[ka, jb] - L1[ka, ja]
                    st = Lt[ka, jb] - Lt[ka, ja]
                    s2 = L2[ka, jb] - L2[ka, ja]
                else:
                    s1 = L1[ka, b] - L1[ka, ja]
                    st = Lt[ka, b] - Lt[ka, ja]
                    s2 = L2[ka, b] - L2[ka, ja]
                    for k in range(ka + 1, kb + 1):
                        jj = b if k < kb else jb
                        if jj == 0:
                            continue
                        d = c[k] - c[ka]  # values of block k in the frame of block ka: d + z
                        p1 = L1[k, jj]
                        offset = (k - ka) * b  # t counted from block ka's first sample
                        s1 += jj * d + p1
                        s2 += jj * d * d + 2.0 * d * p1 + L2[k, jj]
                        st += offset * (jj * d + p1) + d * (jj * (jj - 1) / 2.0) + Lt[k, jj]
                sty = st - (ja + (length - 1) / 2.0) * s1
                rss = s2 - s1 * s1 / length - sty * sty / tc_sq
                total += rss if rss > 0.0 else 0.0
                size += s2
                count += 1
                a += step
            if size > ROUNDOFF_RATIO * total:
                out[r, s] = _direct_mean_rss(z, c, b, n_times, length, step)
            else:
                out[r, s] = total / count
    return out
