"""The :class:`Fingerprint` container: an xarray Dataset of features, a summary vector, provenance.

A fingerprint is saved as NetCDF-4 (h5netcdf engine) and read back with :func:`read_fingerprint`;
parameters and versions live in the dataset's attributes (``parameters`` as JSON, read back as
:attr:`Fingerprint.params`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from adhesive_dots.errors import DataError, FormatError, SourceNotFoundError
from adhesive_dots.files import atomic_output, check_free_space, describe_write_error
from adhesive_dots.fingerprint.params import ResolvedParams

SUMMARY_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("aperiodic_exponent", "1", "median over channels of the aperiodic exponent chi (P ~ 1/f**chi)"),
    ("aperiodic_r_squared", "1", "median R^2 of the aperiodic fit (peaks excluded)"),
    ("peak_frequency", "Hz", "median peak frequency over channels with a peak (NaN: none, or no peak range)"),
    ("peak_height", "log10(power)", "median height of the largest peak above the aperiodic fit"),
    ("relative_power_delta", "1", "median relative power 1-4 Hz (NaN above Nyquist)"),
    ("relative_power_theta", "1", "median relative power 4-8 Hz"),
    ("relative_power_alpha", "1", "median relative power 8-13 Hz"),
    ("relative_power_beta", "1", "median relative power 13-30 Hz"),
    ("relative_power_gamma", "1", "median relative power 30-45 Hz"),
    ("dfa_broadband", "1", "median DFA exponent of the broadband signals"),
    (
        "dfa_slow",
        "1",
        "DFA exponent of slow fluctuations: median over channels of the first envelope band's "
        "(alpha for EEG/MEG/LFP), or of the population signal (mean dF/F for calcium, summed rate for spikes)",
    ),
    ("mean_abs_correlation", "1", "mean |r| between channels (NaN for one channel)"),
    ("participation_fraction", "1", "participation ratio / number of channels (0..1]"),
    ("eigenspectrum_exponent", "1", "power-law exponent of the correlation eigenspectrum"),
    ("nonstationarity", "log10(ratio)", "median log10 non-stationarity index of windowed band powers (0: stationary)"),
    ("drift", "1", "median drift index of the windowed features (0 none, ~3.5 pure ramp)"),
    ("exponent_variability", "1", "sd over windows of the median aperiodic exponent"),
    ("arousal_coupling", "1", "largest |r| between the state trajectory and an arousal signal (NaN: none)"),
)
"""The fixed-length summary vector: (name, unit, meaning), in order.

Every element is unitless or in a physical unit that does not depend on the amplifier, gain or
number of channels (offsets and absolute powers are left out on purpose), so vectors from
EEG, LFP, calcium imaging and spikes can be compared; elements that do not apply are NaN (use a
NaN-aware distance). No corpus-level standardisation is applied here: that belongs to the catalog.
"""

SUMMARY_NAMES: tuple[str, ...] = tuple(name for name, _, _ in SUMMARY_FIELDS)


@dataclass(frozen=True)
class Fingerprint:
    """The statistics of a baseline.

    Attributes
    ----------
    dataset : xarray.Dataset
        Features with dims ``channel``, ``freq``, ``band``, ``scale``, ``window``, ``feature``, ...
        (see :func:`adhesive_dots.fingerprint.compute_fingerprint_array` for the variables); attrs
        hold the provenance (``parameters`` as JSON, ``adhesive_dots_version``, ``numpy_version``,
        ``scipy_version``, ``fs``, ``units``, ``modality``, ``source``).
    """

    dataset: xr.Dataset

    @property
    def summary(self) -> xr.DataArray:
        """The fixed-length summary vector (dim ``feature``; see :data:`SUMMARY_FIELDS`)."""
        return self.dataset["summary"]

    def summary_vector(self) -> np.ndarray:
        """The summary as a float64 array of length ``len(SUMMARY_FIELDS)``."""
        return np.asarray(self.summary.values, dtype=float)

    def summary_dict(self) -> dict[str, float]:
        """The summary as ``{name: value}`` (NaN as ``float('nan')``)."""
        return {name: float(v) for name, v in zip(SUMMARY_NAMES, self.summary_vector(), strict=True)}

    @property
    def parameters(self) -> dict[str, Any]:
        """The parameters the fingerprint was computed with, as stored (JSON-decoded ``attrs["parameters"]``)."""
        return json.loads(self.dataset.attrs.get("parameters", "{}"))

    @property
    def params(self) -> ResolvedParams:
        """The resolved parameters the fingerprint was computed with (see
        :class:`~adhesive_dots.fingerprint.params.FingerprintParams`); ``make_params(fp.params)`` or
        ``fingerprint(other, params=fp.params)`` applies them to another baseline."""
        values = self.parameters
        if "dfa_scales" not in values and "scale" in self.dataset.coords:  # written before the parameters object
            values["dfa_scales"] = [float(v) for v in self.dataset["scale"].values]
            if "slow_scale" in self.dataset.coords:
                values.setdefault("slow_scales", [float(v) for v in self.dataset["slow_scale"].values])
        return ResolvedParams.from_dict(values)

    def __getitem__(self, name: str) -> xr.DataArray:
        return self.dataset[name]

    def __repr__(self) -> str:
        attrs = self.dataset.attrs
        return (
            f"<Fingerprint {attrs.get('source', '?')!r}: {attrs.get('modality', '?')}, "
            f"{self.dataset.sizes.get('channel', 0)} channels, {attrs.get('duration_s', float('nan')):.1f} s>"
        )

    def to_netcdf(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write to NetCDF-4 (h5netcdf) at ``path`` atomically; refuse to replace a file unless ``overwrite``.

        The free space is checked first and a failed write (e.g. a full disk) raises :class:`DataError`
        ("no space left") with no temporary file left behind; the leftovers of a killed earlier write of
        the same file are removed. The file gets the usual permissions (umask).
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise DataError(f"{path}: file exists; pass overwrite=True (CLI: --overwrite) to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        check_free_space(path.parent, int(self.dataset.nbytes * 1.2) + (1 << 20), what=str(path))
        try:
            with atomic_output(path, overwrite=True) as tmp:
                self.dataset.to_netcdf(tmp, engine="h5netcdf")
        except (OSError, RuntimeError, ValueError) as err:
            raise describe_write_error(err, path) from None
        return path


def read_fingerprint(path: str | Path) -> Fingerprint:
    """Read a fingerprint written by :meth:`Fingerprint.to_netcdf`."""
    path = Path(path)
    if not path.exists():
        raise SourceNotFoundError(f"{path}: no such fingerprint file")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as handle:
            dataset = handle.load()
    except (OSError, ValueError) as err:
        raise FormatError(f"{path}: not a readable NetCDF fingerprint ({err})") from None
    if "summary" not in dataset:
        raise FormatError(f"{path}: NetCDF file without a 'summary' variable; not written by adhesive-dots")
    return Fingerprint(dataset)
