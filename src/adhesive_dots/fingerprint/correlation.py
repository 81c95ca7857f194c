"""Correlation structure across channels: matrix, eigenspectrum, dimensionality.

:func:`compute_correlation_array` describes the zero-lag Pearson correlation matrix of signals
``(n_channels, n_times)``:

* up to ``max_channels`` (default 2,000) channels the full matrix is formed (one pass of
  time blocks through a symmetric rank-k update, so long records never need a copy);
* above that a low-rank description is computed without ever forming it: the leading eigenvalues
  by a randomised SVD (Halko, Martinsson and Tropp 2011) of the standardised data, applied
  implicitly (the data are never standardised in a copy), and the mean absolute correlation and
  the participation ratio from the exact correlations of a random subset of ``max_channels``
  channels (unbiased estimates; ``rng`` chooses the subset).

Quantities (all unitless):

``eigenvalues``
    Of the correlation matrix, descending; they sum to ``n_channels``.
``eigenspectrum_exponent``
    alpha of a power-law fit ``lambda_k ~ k**-alpha`` over ranks ``rank_range`` (Stringer et al. 2019).
``participation_ratio``
    ``(sum lambda)**2 / sum lambda**2``, from 1 (one shared signal) to ``n_channels`` (independent).
``mean_abs_correlation``
    Mean of ``|r_ij|`` over pairs ``i < j``.
``knee``
    The rank after which the eigenspectrum drops most (largest ``lambda_k / lambda_k+1`` among the
    first half of the ranks): the number of strong shared components, when there is a gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_data

MAX_CHANNELS = 2000
"""Above this many channels the correlation matrix is never formed."""
TIME_BLOCK = 16384
"""Samples per block of the covariance accumulation."""


@dataclass(frozen=True)
class CorrelationResult:
    """Correlation structure of ``n_channels`` signals (see the module docstring).

    Attributes
    ----------
    matrix : ndarray, shape (n_channels, n_channels) or None
        The correlation matrix (None above ``max_channels``).
    eigenvalues : ndarray, shape (n_eigenvalues,)
        Leading eigenvalues, descending (all of them when the matrix is formed).
    eigenspectrum_exponent : float
        Power-law exponent alpha of the eigenspectrum over ``rank_range``.
    eigenspectrum_r_squared : float
        Goodness of that fit (log-log).
    participation_ratio : float
        ``(sum lambda)**2 / sum lambda**2``.
    mean_abs_correlation : float
        Mean ``|r|`` over channel pairs.
    knee : int
        Rank of the largest eigenvalue gap (see the module docstring).
    rank_range : tuple of int
        Ranks (1-based, inclusive) of the power-law fit.
    exact : bool
        True when the full matrix was formed.
    """

    matrix: np.ndarray | None
    eigenvalues: np.ndarray
    eigenspectrum_exponent: float
    eigenspectrum_r_squared: float
    participation_ratio: float
    mean_abs_correlation: float
    knee: int
    rank_range: tuple[int, int]
    exact: bool


def compute_covariance_blocks_array(
    data: np.ndarray, *, block_starts: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sums and cross-products of consecutive time blocks (one pass; windows add blocks).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
    block_starts : ndarray of int, optional
        First sample of each block (increasing; the last block runs to the end). Default: one block.

    Returns
    -------
    sums : ndarray, shape (n_blocks, n_channels)
        Sum of the samples of each block.
    products : ndarray, shape (n_blocks, n_channels, n_channels)
        ``x x^T`` of each block (raw, not centred).
    """
    data = _check_data(data)
    if data.ndim != 2:
        raise DataError(f"data must be (n_channels, n_times), got shape {data.shape}")
    n_channels, n_times = data.shape
    starts = np.array([0]) if block_starts is None else np.asarray(block_starts, dtype=int)
    edges = np.append(starts, n_times)
    sums = np.zeros((starts.size, n_channels))
    products = np.zeros((starts.size, n_channels, n_channels))
    for i in range(starts.size):
        for t0 in range(edges[i], edges[i + 1], TIME_BLOCK):
            # float64 pieces (float32 input is promoted piece by piece, never as a whole copy)
            block = np.asarray(data[:, t0 : min(t0 + TIME_BLOCK, edges[i + 1])], dtype=np.float64)
            sums[i] += block.sum(axis=-1)
            products[i] += block @ block.T
    return sums, products


def correlation_from_moments(total: np.ndarray, product: np.ndarray, n: int) -> np.ndarray:
    """Correlation matrix from ``sum x`` (..., C), ``sum x x^T`` (..., C, C) and the sample count.

    Rows and columns of constant channels (zero variance) are NaN.
    """
    mean = total / n
    corr = product / n
    corr -= mean[..., :, None] * mean[..., None, :]  # the covariance, in place
    var = np.diagonal(corr, axis1=-2, axis2=-1).copy()
    mean_square = np.diagonal(product, axis1=-2, axis2=-1) / n
    scale = 1.0 / np.sqrt(np.where(var > 1e-12 * mean_square, var, np.nan))  # constant: variance is round-off
    corr *= scale[..., :, None]
    corr *= scale[..., None, :]
    return corr


def mean_abs_offdiagonal(corr: np.ndarray) -> np.ndarray:
    """Mean ``|r_ij|`` over ``i != j`` of (..., C, C) matrices, ignoring NaN pairs (NaN if none)."""
    values = np.abs(corr)
    finite = np.isfinite(values)
    diagonal, diagonal_finite = np.diagonal(values, axis1=-2, axis2=-1), np.diagonal(finite, axis1=-2, axis2=-1)
    if not finite.all():
        values[~finite] = 0.0
    total = values.sum(axis=(-2, -1)) - np.where(diagonal_finite, diagonal, 0.0).sum(axis=-1)
    count = finite.sum(axis=(-2, -1)) - diagonal_finite.sum(axis=-1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def window_mean_abs_correlation(data: np.ndarray, window_starts: np.ndarray, length: int) -> np.ndarray:
    """Mean off-diagonal ``|r|`` in each window ``[start, start + length)`` of ``data`` ``(n_channels, n_times)``.

    Windows (increasing starts) are cut into the blocks between window edges; each block's
    cross-products are computed once and kept only while a window still needs them (with 50%
    overlap, two blocks of ``n_channels x n_channels``), so overlapping windows cost one product.

    Returns
    -------
    ndarray, shape (n_windows,)
    """
    starts = np.asarray(window_starts, dtype=int)
    out = np.full(starts.size, np.nan)
    edges = np.unique(np.concatenate([starts, starts + length]))
    kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for w, start in enumerate(starts):
        i0, i1 = np.searchsorted(edges, start), np.searchsorted(edges, start + length)
        kept = {i: moments for i, moments in kept.items() if i >= i0}
        for i in range(i0, i1):
            if i not in kept:
                sums, products = compute_covariance_blocks_array(data[:, edges[i] : edges[i + 1]])
                kept[i] = (sums[0], products[0])
        total = sum(kept[i][0] for i in range(i0, i1))
        product = sum(kept[i][1] for i in range(i0, i1))
        out[w] = mean_abs_offdiagonal(correlation_from_moments(total, product, length))
    return out


def fit_eigenspectrum(eigenvalues: np.ndarray, rank_range: tuple[int, int]) -> tuple[float, float]:
    """Power-law exponent and R^2 of ``lambda_k ~ k**-alpha`` over ranks ``rank_range`` (1-based, inclusive)."""
    lo, hi = int(rank_range[0]), int(min(rank_range[1], eigenvalues.size))
    ranks = np.arange(lo, hi + 1)
    values = eigenvalues[lo - 1 : hi]
    keep = values > 0
    if keep.sum() < 3:
        return float("nan"), float("nan")
    x, y = np.log10(ranks[keep]), np.log10(values[keep])
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (intercept + slope * x)
    r_squared = 1 - (resid**2).sum() / ((y - y.mean()) ** 2).sum()
    return float(-slope), float(r_squared)


def default_rank_range(n_channels: int) -> tuple[int, int]:
    """Ranks 2 to n/2 (at least 3 ranks); the first eigenvalue is often a global mode."""
    return 2, max(4, n_channels // 2)


def _standardiser(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = data.mean(axis=-1)
    sd = data.std(axis=-1)
    sd = np.where(sd > 0, sd, np.nan)
    return mean, sd


def _randomized_eigenvalues(data: np.ndarray, k: int, *, n_iter: int, rng: np.random.Generator) -> np.ndarray:
    """Leading eigenvalues of the correlation matrix via a randomised SVD of Z = (X - mu) / (sd sqrt(T))."""
    n_channels, n_times = data.shape
    mean, sd = _standardiser(data)
    scale = 1.0 / (np.nan_to_num(sd, nan=np.inf) * np.sqrt(n_times))

    def z_times(m: np.ndarray) -> np.ndarray:  # Z @ m, m (T, p)
        return scale[:, None] * (data @ m - mean[:, None] * m.sum(axis=0)[None, :])

    def zt_times(q: np.ndarray) -> np.ndarray:  # Z.T @ q, q (C, p)
        sq = scale[:, None] * q
        return data.T @ sq - (mean @ sq)[None, :]

    p = min(k + 10, n_channels)
    q, _ = np.linalg.qr(z_times(rng.standard_normal((n_times, p))))
    for _ in range(n_iter):
        w, _ = np.linalg.qr(zt_times(q))
        q, _ = np.linalg.qr(z_times(w))
    b = zt_times(q).T  # (p, T) = Q^T Z
    singular = np.linalg.svd(b, compute_uv=False)
    return (singular**2)[:k]


def eigenspectrum_knee(eigenvalues: np.ndarray) -> int:
    """Rank ``k`` (1-based, first half) after which the eigenspectrum drops most (max ``lambda_k / lambda_k+1``)."""
    values = np.asarray(eigenvalues, dtype=float)
    half = max(2, values.size // 2)
    head = values[: half + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = head[:-1] / head[1:]
    ratio = np.where(np.isfinite(ratio) & (head[1:] > 0), ratio, 0.0)
    return int(np.argmax(ratio) + 1)


def describe_moments(
    total: np.ndarray,
    product: np.ndarray,
    n_times: int,
    *,
    rank_range: tuple[int, int] | None = None,
    matrix: str = "correlation",
) -> CorrelationResult:
    """Correlation structure from ``sum x`` (C,) and ``sum x x^T`` (C, C) over ``n_times`` samples (exact)."""
    n_channels = total.shape[-1]
    corr = correlation_from_moments(total, product, n_times)
    if matrix == "covariance":
        mean = total / n_times
        target = product / n_times - np.outer(mean, mean)
    else:
        target = np.nan_to_num(corr, nan=0.0)
        np.fill_diagonal(target, 1.0)
    eigenvalues = np.linalg.eigvalsh(target)[::-1]
    rank_range = default_rank_range(n_channels) if rank_range is None else rank_range
    exponent, r_squared = fit_eigenspectrum(eigenvalues, rank_range)
    return CorrelationResult(
        matrix=corr,
        eigenvalues=eigenvalues,
        eigenspectrum_exponent=exponent,
        eigenspectrum_r_squared=r_squared,
        participation_ratio=float(eigenvalues.sum() ** 2 / (eigenvalues**2).sum()),
        mean_abs_correlation=float(mean_abs_offdiagonal(corr)),
        knee=eigenspectrum_knee(eigenvalues),
        rank_range=(int(rank_range[0]), int(rank_range[1])),
        exact=True,
    )


def compute_correlation_array(
    data: np.ndarray,
    *,
    max_channels: int = MAX_CHANNELS,
    n_eigenvalues: int = 200,
    rank_range: tuple[int, int] | None = None,
    matrix: str = "correlation",
    rng: np.random.Generator | int | None = None,
) -> CorrelationResult:
    """Correlation structure of ``(n_channels, n_times)`` signals (see the module docstring).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Signals; time last. Constant channels give NaN correlations and are left out.
    max_channels : int
        Above this many channels the matrix is never formed (randomised SVD and a random subset).
    n_eigenvalues : int
        Eigenvalues kept in the low-rank regime.
    rank_range : (low, high), optional
        Ranks (1-based, inclusive) of the eigenspectrum power-law fit; default :func:`default_rank_range`.
    matrix : {"correlation", "covariance"}
        Eigen-decompose the correlation matrix (unitless, default) or the covariance matrix
        (then eigenvalues are in units**2 and sum to the total variance).
    rng : Generator, int or None
        Randomness of the SVD sketch and of the channel subset (low-rank regime only).

    Returns
    -------
    CorrelationResult

    Examples
    --------
    >>> from adhesive_dots.sim import sim_powerlaw_eigenspectrum
    >>> x, _ = sim_powerlaw_eigenspectrum(20_000, 64, 1.0, rng=0)
    >>> result = compute_correlation_array(x, matrix="covariance")
    >>> bool(abs(result.eigenspectrum_exponent - 1.0) < 0.15)
    True
    """
    data = _check_data(data)
    if data.ndim != 2:
        raise DataError(f"data must be (n_channels, n_times), got shape {data.shape}")
    if matrix not in ("correlation", "covariance"):
        raise DataError(f"matrix must be 'correlation' or 'covariance', got {matrix!r}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n_channels, n_times = data.shape
    if n_channels < 2:
        raise DataError(f"correlation structure needs at least 2 channels, got {n_channels}")
    if n_channels <= max_channels:
        total, product = compute_covariance_blocks_array(data)
        total, product = total[0], product[0]
        return describe_moments(total, product, n_times, rank_range=rank_range, matrix=matrix)
    if matrix == "covariance":
        raise DataError(f"matrix='covariance' needs at most max_channels={max_channels} channels, got {n_channels}")
    k = min(n_eigenvalues, n_channels)
    eigenvalues = _randomized_eigenvalues(data, k, n_iter=4, rng=rng)
    subset = np.sort(rng.choice(n_channels, size=max_channels, replace=False))
    sub = np.corrcoef(data[subset])
    off = sub[~np.eye(max_channels, dtype=bool)]
    off = off[np.isfinite(off)]
    mean_abs = float(np.abs(off).mean())
    mean_sq = float((off**2).mean())
    # sum lambda = n (trace), sum lambda^2 = ||C||_F^2 = n + n(n-1) E[r^2]
    participation = n_channels**2 / (n_channels + n_channels * (n_channels - 1) * mean_sq)
    rank_range = (2, max(4, k // 2)) if rank_range is None else rank_range
    exponent, r_squared = fit_eigenspectrum(eigenvalues, rank_range)
    return CorrelationResult(
        matrix=None,
        eigenvalues=eigenvalues,
        eigenspectrum_exponent=exponent,
        eigenspectrum_r_squared=r_squared,
        participation_ratio=float(participation),
        mean_abs_correlation=mean_abs,
        knee=eigenspectrum_knee(eigenvalues),
        rank_range=(int(rank_range[0]), int(rank_range[1])),
        exact=False,
    )
