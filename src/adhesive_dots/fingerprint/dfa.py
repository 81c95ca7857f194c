"""Long-range temporal correlations: detrended fluctuation analysis (DFA), vectorised.

:func:`compute_dfa_array` computes DFA-1 (linear detrending; Peng et al. 1994) of every signal of an
array ``(..., n_times)`` at once. The fluctuation at window length ``n`` is, as in nolds and
neurodsp, the root of the mean squared residual of the profile ``cumsum(x - mean(x))`` around a
least-squares line in each window, over all windows::

    F(n) = sqrt( mean_windows( sum_window (y - a - b t)**2 / n ) )

and the DFA exponent is the slope of ``log F`` on ``log n`` over the fit range. The residual sum
of squares of every window is computed in closed form (``S_yy - S_y**2 / n - S_ty_c**2 / S_tt``)
from prefix sums of ``y``, ``t y`` and ``y**2`` taken once, so each extra scale or window position
costs only a gather. The prefix sums are two-level (within blocks of ``PREFIX_BLOCK`` samples,
then across blocks) and windows within one block use only the local sums, which keeps the
cancellation error of small windows at the size of the local data rather than of the whole record.

:func:`compute_envelope_array` gives band-limited amplitude envelopes from one real FFT per signal:
the analytic signal of the band (one-sided spectrum restricted to the band, doubled) is evaluated
at a reduced rate by an inverse FFT of only the band's bins (shifted to base band), which samples
the exact envelope of the band-limited signal at ``envelope_fs`` without filtering at full rate.

Defaults follow Hardstone et al. (2012): 20 scales log-spaced up to a tenth of the record (about
60 s of ten minutes) with 50% window overlap, from 0.1 s (at least 10 samples) for broadband
signals; the fingerprint starts envelope scales at ``max(1 s, ENVELOPE_MIN_CYCLES / f_low)`` and
fits them from 5 s (``adhesive_dots.fingerprint._compute.SLOW_FIT_MIN_S``). Fit range and R^2 are
reported with every exponent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_data, _check_fs, _check_positive, _check_range

PREFIX_BLOCK = 256
"""Samples per block of the two-level prefix sums (see the module docstring)."""

BLOCK_SAMPLES = 2_400_000
"""At most this many samples (signals x times) processed together: the prefix sums take about 6 x this many float64."""
BLOCK_ROWS = 16
"""At most this many signals processed together (the per-window temporaries of short signals stay in cache)."""
ROUNDOFF_TOLERANCE = 1e-6
"""Relative round-off bound above which a scale of a signal is recomputed window by window."""

DEFAULT_N_SCALES = 20
DEFAULT_MIN_SCALE_S = 0.1
"""Default shortest broadband scale in s (never under 10 samples)."""
DEFAULT_MAX_FRACTION = 0.1
"""Default longest scale as a fraction of the record (about 60 s of 10 minutes)."""
ENVELOPE_MIN_CYCLES = 3.0
"""Default shortest envelope scale in cycles of the band's lower edge (never under 1 s)."""


@dataclass(frozen=True)
class DfaResult:
    """DFA of signals.

    Attributes
    ----------
    exponent : ndarray, shape (...)
        DFA exponent alpha (unitless): 0.5 uncorrelated, (0.5, 1) long-range correlated.
    intercept : ndarray, shape (...)
        Intercept of the log10 F vs log10 scale(s) fit.
    r_squared : ndarray, shape (...)
        Goodness of the straight-line fit over the fit range.
    fluctuation : ndarray, shape (..., n_scales)
        F at each scale, in the signal's units x sqrt(samples).
    scales : ndarray, shape (n_scales,)
        Window lengths in s.
    window_lengths : ndarray of int, shape (n_scales,)
        Window lengths in samples.
    fit_range : tuple of float
        Scales (s, inclusive) used in the fit.
    overlap : float
        Fraction of overlap between consecutive windows.
    """

    exponent: np.ndarray
    intercept: np.ndarray
    r_squared: np.ndarray
    fluctuation: np.ndarray
    scales: np.ndarray
    window_lengths: np.ndarray
    fit_range: tuple[float, float]
    overlap: float


def default_scales(
    fs: float, n_times: int, *, min_scale: float | None = None, n_scales: int = DEFAULT_N_SCALES
) -> np.ndarray:
    """Log-spaced scales in s from ``min_scale`` (default 0.1 s, at least 10 samples) to a tenth of the record."""
    fs = _check_fs(fs)
    low = max(DEFAULT_MIN_SCALE_S if min_scale is None else float(min_scale), 10.0 / fs)
    high = DEFAULT_MAX_FRACTION * n_times / fs
    if not high > low:
        raise DataError(
            f"the record ({n_times / fs:.3g} s at {fs:g} Hz) is too short for DFA scales from {low:.3g} s to a tenth "
            f"of its length; need at least {10 * low:.3g} s"
        )
    lengths = np.unique(np.round(np.geomspace(low * fs, high * fs, n_scales)).astype(int))
    return lengths / fs


class _PrefixSums:
    """Anchored two-level prefix sums of a profile ``y`` shaped ``(m, n_times)``.

    The profile is cut into blocks of ``block`` samples; inside block ``k`` it is stored as
    ``z = y - c_k`` with ``c_k`` the value at the block's first sample, so local sums stay at the
    size of the local variation. Windows inside one or two blocks are computed from local sums
    only (in a frame shifted by the first block's anchor, which leaves the detrended residual
    unchanged); longer windows add whole blocks through block-level prefix sums.
    """

    def __init__(self, max_rows: int, n_times: int, block: int = PREFIX_BLOCK) -> None:
        # work buffers, allocated once and reused for every block of rows (fresh pages are slow)
        self.block = b = block
        self.n_blocks = nb = n_times // b + 1
        self.n_times = n_times
        self._v = np.empty((3, max_rows, b, nb))  # z, t z, z**2
        self._s = np.empty((3, max_rows, b + 1, nb))  # their running sums inside each block

    def load(self, rows: np.ndarray) -> None:
        """Build the sums for signals ``rows`` ``(m, n_times)``.

        Samples are laid out block-transposed, ``x[:, j, k] = rows[:, k * b + j] - mean``, so every
        running sum inside the blocks is ``b`` vectorised additions over all blocks at once (many
        times faster than ``np.cumsum`` along a short axis).
        """
        m = rows.shape[0]
        b, nb = self.block, self.n_blocks
        v, s = self._v[:, :m], self._s[:, :m]
        x = v[1]  # scratch: the centred samples, block-transposed
        _block_transpose(rows, rows.mean(axis=-1), out=x)
        first = x[:, 0].copy()  # (m, nb)
        # z[:, j, k] = y[k b + j] - y[k b]: the profile y = cumsum(x) anchored at each block's first sample
        z = v[0]
        z[:, 0] = 0.0
        for j in range(1, b):
            np.add(z[:, j - 1], x[:, j], out=z[:, j])
        self.c = c = _exclusive_cumsum(z[:, b - 1] + first) + first  # (m, nb) anchors y[k b]
        np.multiply(z, np.arange(b, dtype=float)[None, :, None], out=v[1])
        np.multiply(z, z, out=v[2])
        s[:, :, 0] = 0.0
        for j in range(b):
            np.add(s[:, :, j], v[:, :, j], out=s[:, :, j + 1])
        self.z = z
        self.L1, self.Lt, self.L2 = s[0], s[1], s[2]
        z1, zt, z2 = self.L1[:, b], self.Lt[:, b], self.L2[:, b]
        # block-level sums span the whole record: extended precision keeps their differences exact
        # enough (the arrays are B times smaller than the data, so this costs little)
        k = np.arange(nb, dtype=np.longdouble)
        c_ld, z1_ld = c.astype(np.longdouble), z1.astype(np.longdouble)
        values = {
            "c": c_ld,
            "cc": c_ld * c_ld,
            "cz": c_ld * z1_ld,
            "z1": z1_ld,
            "z2": z2.astype(np.longdouble),
            "zt": zt.astype(np.longdouble),
            "kc": k * c_ld,
            "kz": k * z1_ld,
        }
        self.P = _exclusive_cumsum(np.stack([values[name] for name in PREFIX_NAMES]))  # (8, m, nb)
        self.c_ld = c_ld
        # size of the block-level sums, for the round-off bound of windows spanning blocks
        self.global_size = b * (c * c).sum(-1) + z2.sum(-1) + 2 * np.abs(c * z1).sum(-1)

    def profile(self, row: int) -> np.ndarray:
        """The profile ``cumsum(x - mean(x))`` of signal ``row`` of the last :meth:`load`, ``(1, n_times)``."""
        y = self.z[row] + self.c[row][None, :]  # (b, nb)
        return np.ascontiguousarray(y.T).reshape(1, -1)[:, : self.n_times]

    def plan(self, starts: np.ndarray, n: int) -> _WindowPlan:
        """Where windows ``[start, start + n)`` fall in the block layout (the same for every :meth:`load`)."""
        return _WindowPlan(np.asarray(starts), int(n), self.block, self.n_blocks)

    def rss(self, plan: _WindowPlan) -> np.ndarray:
        """Residual sums of squares around each window's least-squares line, ``(m, n_windows)``."""
        b, n = self.block, plan.n
        m = self.c.shape[0]
        sums = self._s[:, :m].reshape(3, m, -1)  # L1, Lt, L2 flattened over (b + 1, n_blocks)
        # part a: from ja to the end of block ka (or to jb when the window stays in block ka)
        s1, st, s2 = sums[:, :, plan.a_stop] - sums[:, :, plan.a_start]
        # part b: the start of block kb up to jb (frame shifted by c[ka]; t counted from block ka)
        if plan.cross.size:
            cross, kbx, kax, jbx = plan.cross, plan.kb_cross, plan.ka_cross, plan.jb_cross
            d = self.c[:, kbx] - self.c[:, kax]
            p1, pt, p2 = sums[:, :, plan.b_stop]
            s1[:, cross] += jbx * d + p1
            s2[:, cross] += jbx * d * d + 2 * d * p1 + p2
            st[:, cross] += plan.offset_cross * (jbx * d + p1) + d * (jbx * (jbx - 1) / 2.0) + pt
        # whole blocks strictly between ka and kb
        if plan.mid.size:
            mid, k0, k1, kam = plan.mid, plan.k0_mid, plan.k1_mid, plan.ka_mid
            count = (k1 - k0).astype(np.longdouble)
            ca = self.c_ld[:, kam]
            kam = kam.astype(np.longdouble)
            span = dict(zip(PREFIX_NAMES, self.P[:, :, k1] - self.P[:, :, k0], strict=True))
            sc, sz1 = span["c"], span["z1"]
            s1[:, mid] += (b * (sc - count * ca) + sz1).astype(float)
            s2[:, mid] += (
                b * (span["cc"] - 2 * ca * sc + count * ca * ca) + 2 * (span["cz"] - ca * sz1) + span["z2"]
            ).astype(float)
            sum_k = (k1 * (k1 - 1) - k0 * (k0 - 1)).astype(np.longdouble) / 2
            st[:, mid] += (
                b * b * (span["kc"] - kam * sc - ca * sum_k + kam * ca * count)
                + b * (span["kz"] - kam * sz1)
                + b * (b - 1) / 2.0 * (sc - count * ca)
                + span["zt"]
            ).astype(float)
        sty = st - plan.t_mean * s1
        stt = n * (n * n - 1) / 12.0
        rss = s2 - s1 * s1 / n - sty * sty / stt
        self.last_size = s2  # the window sums' size, for the round-off bound
        return np.maximum(rss, 0.0)

    def roundoff(self, n: int) -> np.ndarray:
        """Bound on the mean absolute round-off of the last :meth:`rss` call, per row.

        Window sums are float64 in a frame shifted to each window's first block (error about
        eps x their size); windows longer than a block add block-level sums in extended precision
        (error about eps_extended x the record's sum of squares).
        """
        local = 8 * np.finfo(float).eps * self.last_size.mean(axis=-1)
        if n > self.block:
            local = local + 8 * float(np.finfo(np.longdouble).eps) * self.global_size
        return local


PREFIX_NAMES = ("c", "cc", "cz", "z1", "z2", "zt", "kc", "kz")
"""Block-level prefix sums (extended precision) of :class:`_PrefixSums`."""


class _WindowPlan:
    """Flat indices into the block layout of the windows ``[start, start + n)`` of one scale."""

    def __init__(self, starts: np.ndarray, n: int, b: int, nb: int) -> None:
        self.n = n
        ka, ja = np.divmod(starts, b)
        kb, jb = np.divmod(starts + n, b)
        same = kb == ka
        self.a_start = ja * nb + ka  # flat index of [ja, ka] in (b + 1, nb)
        self.a_stop = np.where(same, jb, b) * nb + ka
        self.cross = np.flatnonzero(~same)
        self.ka_cross, self.kb_cross, self.jb_cross = ka[self.cross], kb[self.cross], jb[self.cross]
        self.b_stop = self.jb_cross * nb + self.kb_cross
        self.offset_cross = (self.kb_cross - self.ka_cross) * b
        self.mid = np.flatnonzero(kb - ka >= 2)
        self.ka_mid, self.k0_mid, self.k1_mid = ka[self.mid], ka[self.mid] + 1, kb[self.mid]
        self.t_mean = ja + (n - 1) / 2.0


TRANSPOSE_TILE = 64
"""Blocks per tile of :func:`_block_transpose` (a tile stays in cache)."""


def _block_transpose(rows: np.ndarray, mean: np.ndarray, *, out: np.ndarray) -> None:
    """``out[:, j, k] = rows[:, k * b + j] - mean`` for ``out`` ``(m, b, n_blocks)``; zero past the end."""
    m, b, nb = out.shape
    n = rows.shape[-1]
    full = n // b
    for r in range(m):
        blocks = rows[r, : full * b].reshape(full, b)
        for k0 in range(0, full, TRANSPOSE_TILE):
            k1 = min(full, k0 + TRANSPOSE_TILE)
            np.subtract(blocks[k0:k1].T, mean[r], out=out[r, :, k0:k1])
    out[:, :, full:] = 0.0
    tail = n - full * b
    if tail:
        out[:, :tail, full] = rows[:, full * b :] - mean[:, None]


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    out = np.zeros(values.shape, dtype=values.dtype)
    np.cumsum(values[..., :-1], axis=-1, out=out[..., 1:])
    return out


def _direct_rss(profile: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """Residual sums of squares computed window by window in a centred frame (exact; slow)."""
    index = starts[:, None] + np.arange(n)
    windows = profile[:, index]  # (m, n_windows, n)
    windows = windows - windows.mean(axis=-1, keepdims=True)
    t = np.arange(n) - (n - 1) / 2.0
    sty = windows @ t
    return np.maximum(np.einsum("...i,...i->...", windows, windows) - sty * sty / (t @ t), 0.0)


def _window_starts(n_times: int, n: int, overlap: float) -> np.ndarray:
    step = max(1, int(round(n * (1.0 - overlap))))
    return np.arange(0, n_times - n + 1, step)


def _fit_loglog(scales: np.ndarray, fluctuation: np.ndarray, fit: np.ndarray):
    """Slope, intercept and R^2 of log10 F on log10 scale; NaN for constant signals (F = 0)."""
    x = np.log10(scales[fit])
    values = fluctuation[..., fit]
    constant = np.any(values <= 0, axis=-1)
    y = np.log10(np.where(values > 0, values, 1.0))
    xc = x - x.mean()
    yc = y - y.mean(-1, keepdims=True)
    slope = yc @ xc / (xc @ xc)
    intercept = y.mean(-1) - slope * x.mean()
    resid = y - (intercept[..., None] + slope[..., None] * x)
    ss_tot = (yc**2).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r_squared = 1.0 - (resid**2).sum(-1) / ss_tot
    nan = np.nan
    return np.where(constant, nan, slope), np.where(constant, nan, intercept), np.where(constant, nan, r_squared)


def compute_dfa_array(
    data: np.ndarray,
    fs: float,
    *,
    scales: np.ndarray | None = None,
    fit_range: tuple[float, float] | None = None,
    overlap: float = 0.5,
    min_scale: float | None = None,
    n_scales: int = DEFAULT_N_SCALES,
) -> DfaResult:
    """Detrended fluctuation analysis (DFA-1) of every signal of ``data``.

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Signals; time last.
    fs : float
        Sampling rate in Hz.
    scales : ndarray of float, optional
        Window lengths in s (rounded to whole samples, at least 4); default :func:`default_scales`.
    fit_range : (low, high), optional
        Scales in s (inclusive) that enter the fit; default all of them.
    overlap : float
        Fraction of overlap between consecutive windows, in [0, 1); 0 reproduces nolds
        (``overlap=False``) and neurodsp.
    min_scale : float, optional
        Shortest default scale in s (ignored when ``scales`` is given).
    n_scales : int
        Number of default scales.

    Returns
    -------
    DfaResult

    Examples
    --------
    >>> from adhesive_dots.sim import sim_fgn
    >>> x = sim_fgn(60_000, 0.7, n_signals=2, rng=1)
    >>> result = compute_dfa_array(x, 250.0)
    >>> bool(abs(result.exponent - 0.7).max() < 0.1)
    True
    """
    fs = _check_fs(fs)
    data = _check_data(data, min_times=20)
    n_times = data.shape[-1]
    if not 0 <= overlap < 1:
        raise DataError(f"overlap must be a fraction in [0, 1), got {overlap!r}")
    if scales is None:
        scales = default_scales(fs, n_times, min_scale=min_scale, n_scales=n_scales)
    lengths = np.unique(np.round(np.asarray(scales, dtype=float) * fs).astype(int))
    if lengths.size < 2 or lengths[0] < 4 or lengths[-1] > n_times:
        raise DataError(
            f"scales must give at least 2 distinct window lengths between 4 samples and the record length "
            f"({n_times} samples at {fs:g} Hz); got {lengths.tolist()} samples"
        )
    scales = lengths / fs
    fit_range = (float(scales[0]), float(scales[-1])) if fit_range is None else fit_range
    low, high = _check_range("fit_range", fit_range)
    fit = (scales >= low * (1 - 1e-9)) & (scales <= high * (1 + 1e-9))
    if fit.sum() < 2:
        raise DataError(
            f"fit_range=({low:g}, {high:g}) s contains {int(fit.sum())} of the scales "
            f"{np.round(scales, 4).tolist()} s; it needs at least 2"
        )
    lead = data.shape[:-1]
    flat = data.reshape(-1, n_times)
    fluctuation = np.empty((flat.shape[0], lengths.size))
    rows_per_block = max(1, min(flat.shape[0], BLOCK_ROWS, BLOCK_SAMPLES // n_times))
    prefix = _PrefixSums(rows_per_block, n_times)
    plans = [prefix.plan(_window_starts(n_times, int(n), overlap), int(n)) for n in lengths]
    for r0 in range(0, flat.shape[0], rows_per_block):
        rows = flat[r0 : r0 + rows_per_block]
        prefix.load(rows)
        for i, (n, plan) in enumerate(zip(lengths, plans, strict=True)):
            starts = _window_starts(n_times, int(n), overlap)
            mean_rss = prefix.rss(plan).mean(axis=-1)
            # rows whose round-off bound is not negligible are recomputed exactly
            inexact = prefix.roundoff(int(n)) > ROUNDOFF_TOLERANCE * mean_rss
            for r in np.flatnonzero(inexact):
                mean_rss[r] = _direct_rss(prefix.profile(r), starts, int(n)).mean()
            fluctuation[r0 : r0 + rows.shape[0], i] = np.sqrt(mean_rss / n)
    slope, intercept, r_squared = _fit_loglog(scales, fluctuation, fit)
    return DfaResult(
        exponent=slope.reshape(lead),
        intercept=intercept.reshape(lead),
        r_squared=r_squared.reshape(lead),
        fluctuation=fluctuation.reshape(*lead, lengths.size),
        scales=scales,
        window_lengths=lengths,
        fit_range=(low, high),
        overlap=float(overlap),
    )


def envelope_rate(band: tuple[float, float]) -> float:
    """Default envelope sampling rate for ``band``: twice its upper edge, at least 8 x its width (Hz)."""
    low, high = band
    return float(max(2.0 * high, 8.0 * (high - low)))


def envelope_length(n_times: int, fs: float, band: tuple[float, float], envelope_fs: float | None = None) -> int:
    """Samples of the envelope of ``band`` over ``n_times`` samples at ``fs`` (see :func:`compute_envelope_array`)."""
    rate = envelope_rate(band) if envelope_fs is None else _check_positive("envelope_fs", envelope_fs)
    return min(int(np.ceil(rate * n_times / fs)), n_times)


def compute_envelope_array(
    data: np.ndarray,
    fs: float,
    *,
    band: tuple[float, float],
    envelope_fs: float | None = None,
    spectrum: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Amplitude envelope of the band-limited signal, sampled at ``envelope_fs``.

    The band-limited analytic signal ``z(t) = (2/N) sum_{k in band} X_k exp(2 pi i k t / N)`` (an
    ideal, zero-phase band-pass; ``X`` the real FFT of the data) is evaluated at ``M`` equally spaced
    times over the record by an inverse FFT of length ``M`` of the band's bins, and ``|z|`` is
    returned. At those times the values are exactly those of the full-rate Hilbert envelope of
    the FFT-filtered signal.

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Signals; time last.
    fs : float
        Sampling rate in Hz.
    band : (low, high)
        Pass band in Hz (inclusive), below the Nyquist frequency.
    envelope_fs : float, optional
        Output rate in Hz; default :func:`envelope_rate`. Must hold the band's width.
    spectrum : ndarray, shape (..., n_times // 2 + 1), optional
        ``scipy.fft.rfft(data)`` if already computed (saves the FFT when several bands are needed).

    Returns
    -------
    envelope : ndarray, shape (..., n_env)
        Amplitude envelope in the data's units.
    envelope_fs : float
        Its effective sampling rate in Hz (``n_env * fs / n_times``).
    """
    fs = _check_fs(fs)
    n_times = np.shape(data)[-1]
    low, high = _check_range("band", band, high=fs / 2.0)
    rate = envelope_rate((low, high)) if envelope_fs is None else _check_positive("envelope_fs", envelope_fs)
    if spectrum is None:
        data = _check_data(data, min_times=4)
        spectrum = scipy.fft.rfft(data, axis=-1, workers=-1)
    freqs = np.arange(spectrum.shape[-1]) * fs / n_times
    k0 = int(np.searchsorted(freqs, low, side="left"))
    k1 = int(np.searchsorted(freqs, high, side="right"))
    n_bins = k1 - k0
    if n_bins < 1:
        raise DataError(f"band ({low:g}, {high:g}) Hz holds no frequency bin of a {n_times / fs:g} s record")
    n_env = int(np.ceil(rate * n_times / fs))
    if n_env < n_bins:
        raise DataError(
            f"envelope_fs={rate:g} Hz cannot hold the {high - low:g} Hz wide band ({n_bins} bins > {n_env} samples); "
            "raise envelope_fs"
        )
    n_env = min(n_env, n_times)
    base = np.zeros((*spectrum.shape[:-1], n_env), dtype=complex)
    # bin k0 + j goes to j (a shift by k0 bins multiplies z by a phase only)
    base[..., :n_bins] = spectrum[..., k0:k1]
    z = scipy.fft.ifft(base, axis=-1) * (2.0 * n_env / n_times)
    return np.abs(z), n_env * fs / n_times
