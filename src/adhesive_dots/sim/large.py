"""A large calcium-imaging population with a known correlation eigenspectrum, generated block by block.

:func:`sim_large_calcium` describes ``n_neurons`` ROIs x ``n_times`` frames (default 75,000 x 18,000,
ten minutes at 30 Hz, 5.4 GB in float32) without holding them: :meth:`LargeCalcium.block` returns any
block of neurons on demand, deterministically, so a writer can stream it to disk.

The model (rows are neurons, time last)::

    x_i(t) = ( sum_k sqrt(lambda_k) L_ik s_k(t) + sigma e_i(t) ) / sqrt(v)

* ``lambda_k = k**-exponent`` for ``k = 1..n_components`` (the power-law eigenspectrum);
* ``L_ik = +-1/sqrt(n_neurons)`` (random signs): every column has unit norm and every neuron the
  same variance ``v = sum(lambda)/n_neurons + sigma**2``, so standardising does not distort the spectrum;
* ``s_k`` are AR(1) time courses (coefficient ``ar``, calcium-like smoothness), centred and made
  exactly orthonormal over the frames (times ``sqrt(n_times)``): their sample covariance is the identity;
* ``e_i`` is independent white noise.

The population correlation matrix is ``(L Lambda L^T + sigma**2 I) / v``; its eigenvalues follow
from the small ``n_components x n_components`` matrix ``Lambda^1/2 L^T L Lambda^1/2``
(:meth:`LargeCalcium.truth`), which gives the ground truth of the eigenspectrum exponent and the
participation ratio exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adhesive_dots.errors import DataError
from adhesive_dots.sim.signals import RngLike, as_rng

GENERATION_BLOCK = 1024
"""Neurons generated together (loadings and noise are seeded per group of this many neurons)."""


@dataclass(frozen=True)
class LargeCalcium:
    """A population defined block by block (see the module docstring); build with :func:`sim_large_calcium`.

    Attributes
    ----------
    n_neurons, n_times : int
    fs : float
        Frame rate in Hz.
    exponent : float
        Power-law exponent of ``lambda_k = k**-exponent``.
    n_components : int
        Number of shared components.
    noise : float
        ``sigma**2``, the private noise variance (in the units of ``lambda``).
    seed : int
        Seed of the loadings and the noise.
    latents : ndarray, shape (n_components, n_times), float32
        ``sqrt(lambda_k) s_k(t)`` (orthonormal time courses times ``sqrt(n_times)``).
    """

    n_neurons: int
    n_times: int
    fs: float
    exponent: float
    n_components: int
    noise: float
    seed: int
    latents: np.ndarray

    @property
    def variances(self) -> np.ndarray:
        """``lambda_k``, shape (n_components,)."""
        return np.arange(1, self.n_components + 1, dtype=float) ** -self.exponent

    @property
    def neuron_variance(self) -> float:
        """``v``: the variance of every neuron before normalisation."""
        return float(self.variances.sum() / self.n_neurons + self.noise)

    def _loadings(self, group: int) -> np.ndarray:
        c0 = group * GENERATION_BLOCK
        n = min(GENERATION_BLOCK, self.n_neurons - c0)
        signs = np.random.default_rng([self.seed, 1, group]).integers(0, 2, size=(n, self.n_components))
        return ((2.0 * signs - 1.0) / np.sqrt(self.n_neurons)).astype(np.float32)

    def _group(self, group: int) -> np.ndarray:
        c0 = group * GENERATION_BLOCK
        n = min(GENERATION_BLOCK, self.n_neurons - c0)
        out = self._loadings(group) @ self.latents  # (n, T) float32
        noise = np.random.default_rng([self.seed, 2, group]).standard_normal((n, self.n_times), dtype=np.float32)
        noise *= np.float32(np.sqrt(self.noise))
        out += noise
        out *= np.float32(1.0 / np.sqrt(self.neuron_variance))
        return out

    def block(self, c0: int, c1: int) -> np.ndarray:
        """Neurons ``c0:c1``, shape ``(c1 - c0, n_times)``, float32 (fastest on multiples of GENERATION_BLOCK)."""
        if not 0 <= c0 <= c1 <= self.n_neurons:
            raise DataError(f"block({c0}, {c1}) is outside 0..{self.n_neurons} neurons")
        parts = []
        for group in range(c0 // GENERATION_BLOCK, (c1 - 1) // GENERATION_BLOCK + 1 if c1 > c0 else 0):
            g0 = group * GENERATION_BLOCK
            values = self._group(group)
            parts.append(values[max(c0 - g0, 0) : c1 - g0])
        return np.concatenate(parts, axis=0) if parts else np.zeros((0, self.n_times), dtype=np.float32)

    def truth(self, *, rank_range: tuple[int, int] = (2, 64)) -> dict[str, float | list[float]]:
        """Ground truth of the population correlation matrix.

        Returns
        -------
        dict
            ``exponent`` (the generating exponent), ``eigenspectrum_exponent`` (power-law fit of the
            exact eigenvalues over ``rank_range``, as the fingerprint fits), ``participation_ratio``
            (exact), ``eigenvalues`` (the leading ``n_components``, descending).
        """
        from adhesive_dots.fingerprint.correlation import fit_eigenspectrum

        gram = np.zeros((self.n_components, self.n_components))
        for group in range(-(-self.n_neurons // GENERATION_BLOCK)):
            loadings = self._loadings(group).astype(np.float64)
            gram += loadings.T @ loadings
        root = np.sqrt(self.variances)
        shared = np.linalg.eigvalsh(root[:, None] * gram * root[None, :])[::-1]
        v = self.neuron_variance
        top = (shared + self.noise) / v
        rest = self.n_neurons - self.n_components
        floor = self.noise / v
        participation = self.n_neurons**2 / float((top**2).sum() + rest * floor**2)
        exponent, _ = fit_eigenspectrum(top, rank_range)
        return {
            "exponent": float(self.exponent),
            "eigenspectrum_exponent": exponent,
            "rank_range": list(rank_range),
            "participation_ratio": participation,
            "eigenvalues": top.tolist(),
        }


def sim_large_calcium(
    n_neurons: int = 75_000,
    n_times: int = 18_000,
    fs: float = 30.0,
    *,
    exponent: float = 1.0,
    n_components: int = 512,
    noise: float = 1e-4,
    ar: float = 0.8,
    rng: RngLike = 0,
) -> LargeCalcium:
    """A large calcium population with a power-law correlation eigenspectrum (see the module docstring).

    Parameters
    ----------
    n_neurons, n_times : int
        Size (default 75,000 ROIs x 18,000 frames).
    fs : float
        Frame rate in Hz.
    exponent : float
        Eigenspectrum exponent (``lambda_k = k**-exponent``; Stringer et al. 2019 found about 1).
    n_components : int
        Shared components (at most ``min(n_neurons, n_times)``).
    noise : float
        Private noise variance per neuron, in the units of ``lambda_1 = 1``.
    ar : float
        AR(1) coefficient of the latent time courses (0 <= ar < 1).
    rng : Generator, int or None
        Randomness of the latents, loadings and noise.

    Returns
    -------
    LargeCalcium
        Only the latents are held (``n_components x n_times`` float32); blocks are generated on demand.

    Examples
    --------
    >>> sim = sim_large_calcium(2048, 600, n_components=32, rng=0)
    >>> sim.block(0, 4).shape
    (4, 600)
    """
    n_neurons, n_times, n_components = int(n_neurons), int(n_times), int(n_components)
    if n_neurons < 2 or n_times < 4:
        raise DataError(f"need at least 2 neurons and 4 frames, got n_neurons={n_neurons}, n_times={n_times}")
    if not 1 <= n_components <= min(n_neurons, n_times - 1):
        raise DataError(
            f"n_components must be between 1 and min(n_neurons, n_times - 1) = {min(n_neurons, n_times - 1)}, "
            f"got {n_components}"
        )
    if not 0.0 <= ar < 1.0 or noise < 0 or fs <= 0:
        raise DataError(f"need 0 <= ar < 1, noise >= 0 and fs > 0; got ar={ar}, noise={noise}, fs={fs}")
    generator = as_rng(rng)
    seed = int(generator.integers(2**62))
    from scipy.signal import lfilter

    drive = generator.standard_normal((n_times, n_components))
    courses = lfilter([1.0], [1.0, -ar], drive, axis=0)
    courses -= courses.mean(axis=0)
    q, _ = np.linalg.qr(courses)
    variances = np.arange(1, n_components + 1, dtype=float) ** -float(exponent)
    latents = (q.T * np.sqrt(n_times) * np.sqrt(variances)[:, None]).astype(np.float32)
    return LargeCalcium(n_neurons, n_times, float(fs), float(exponent), n_components, float(noise), seed, latents)
