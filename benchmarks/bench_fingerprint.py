"""Whole fingerprint vs the field's peer pipelines, same data, same run.

Data: 64 channels x 10 min x 1000 Hz float64 (1/f noise plus an alpha rhythm, from the simulator).

Pipelines timed (wall clock, median of ``--repeats`` runs):

* ``adhesive-dots``: :func:`adhesive_dots.fingerprint.compute_fingerprint_array` -- every feature
  (Welch PSD, band powers, aperiodic fit, peak frequency, broadband DFA, alpha/beta envelope DFA,
  correlation matrix and eigenspectrum, 30 s sliding-window dynamics, non-stationarity, drift).
* ``peer (neurodsp DFA)``: MNE ``psd_array_welch`` + specparam ``SpectralGroupModel`` (fixed) +
  per-channel neurodsp ``compute_fluctuations`` (broadband DFA only, same 20 scales 0.1-60 s).
* ``peer (antropy DFA)``: the same with antropy's ``detrended_fluctuation`` (numba; its own scales),
  when antropy is installed (``pip install -e .[bench]``; ``make bench`` does). The ratio is
  taken against the faster of the neurodsp and antropy pipelines.
* ``peer (nolds DFA)``: the same with ``nolds.dfa`` (same window lengths, 50% overlap as ours, ``fit_exp="poly"``).
  nolds is slow (about 1.5 s per channel here); ``--quick`` times it on ``--nolds-channels``
  channels and extrapolates linearly to 64 (labelled "extrapolated").

Extra peak memory is the peak of Python-traced allocations (tracemalloc; NumPy reports its buffers)
during one run, on top of the input array, in a separate untimed run.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
import warnings

import numpy as np

N_CHANNELS, DURATION_S, FS = 64, 600.0, 1000.0


def make_data(seed: int = 0) -> np.ndarray:
    from adhesive_dots.sim import sim_oscillation, sim_powerlaw

    rng = np.random.default_rng(seed)
    n = int(DURATION_S * FS)
    data = sim_powerlaw(n, FS, 1.5, f_flat=0.5, n_signals=N_CHANNELS, rng=rng)
    alpha = sim_oscillation(n, FS, 10.0, rng=rng)
    data += np.linspace(0.2, 1.0, N_CHANNELS)[:, None] * alpha
    return data


def ours(data: np.ndarray) -> None:
    from adhesive_dots.fingerprint import compute_fingerprint_array

    compute_fingerprint_array(data, FS, modality="eeg", rng=0)


def _scales(data: np.ndarray) -> np.ndarray:
    from adhesive_dots.fingerprint.dfa import default_scales

    return default_scales(FS, data.shape[-1])


def _spectral_peer(data: np.ndarray) -> None:
    from mne.time_frequency import psd_array_welch
    from specparam import SpectralGroupModel

    n = int(2.0 * FS)
    psd, freqs = psd_array_welch(
        data, FS, fmin=0.0, fmax=FS / 2, n_fft=n, n_per_seg=n, n_overlap=n // 2, window="hann", verbose=False
    )
    group = SpectralGroupModel(aperiodic_mode="fixed", verbose=False)
    group.fit(freqs, psd, [1.0, 40.0])


def peer_neurodsp(data: np.ndarray) -> None:
    from neurodsp.aperiodic import compute_fluctuations

    _spectral_peer(data)
    scales = _scales(data)
    for channel in data:
        compute_fluctuations(channel, FS, n_scales=scales.size, min_scale=scales[0], max_scale=scales[-1])


def peer_antropy(data: np.ndarray) -> None:
    from antropy import detrended_fluctuation

    _spectral_peer(data)
    for channel in data:
        detrended_fluctuation(channel)


def peer_nolds(data: np.ndarray, channels: int | None = None) -> float:
    """Seconds of the nolds pipeline; DFA timed on ``channels`` channels and scaled to all of them."""
    import nolds

    start = time.perf_counter()
    _spectral_peer(data)
    spectral = time.perf_counter() - start
    lengths = np.round(_scales(data) * FS).astype(int)
    subset = data if channels is None else data[:channels]
    start = time.perf_counter()
    for channel in subset:
        nolds.dfa(channel, nvals=lengths, overlap=True, fit_exp="poly")
    dfa = time.perf_counter() - start
    return spectral + dfa * data.shape[0] / subset.shape[0]


def timed(fn, data, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory(fn, data) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn(data)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_fingerprint", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="time nolds on a few channels and extrapolate")
    parser.add_argument("--nolds-channels", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args, _ = parser.parse_known_args(argv)
    warnings.filterwarnings("ignore")
    data = make_data()
    segment_mb = data.nbytes / 1e6
    print(f"data: {N_CHANNELS} channels x {DURATION_S:.0f} s x {FS:.0f} Hz float64 = {segment_mb:.0f} MB", flush=True)
    ours(data[:, : int(60 * FS)])  # warm-up (imports, FFT plans)
    rows = []
    # interleaved (ours, peer, ours, peer, ...) so that both see the same machine load
    peers = {"neurodsp": peer_neurodsp}
    try:
        import antropy

        antropy.detrended_fluctuation(data[0, :10_000])  # numba compilation, not timed
        peers["antropy"] = peer_antropy
    except ImportError:
        print("antropy is not installed (pip install -e .[bench]): its pipeline is not timed")
    ours_times, peer_times = [], {name: [] for name in peers}
    for _ in range(args.repeats):
        ours_times.append(timed(ours, data, 1))
        for name, fn in peers.items():
            peer_times[name].append(timed(fn, data, 1))
    t_ours = statistics.median(ours_times)
    medians = {name: statistics.median(times) for name, times in peer_times.items()}
    fastest = min(medians, key=medians.get)
    t_peer = medians[fastest]
    rows.append(("adhesive-dots fingerprint (all features)", t_ours, f"median of {args.repeats} (interleaved)"))
    for name, seconds in medians.items():
        rows.append((f"peer: MNE + specparam + {name} DFA", seconds, f"median of {args.repeats} (interleaved)"))
    if args.quick:
        t_nolds = peer_nolds(data, channels=args.nolds_channels)
        note = f"1 run; nolds on {args.nolds_channels} channels, extrapolated to {N_CHANNELS}"
    else:
        t_nolds = peer_nolds(data)
        note = "1 run, all channels"
    rows.append(("peer: MNE + specparam + nolds DFA", t_nolds, note))
    mem_ours = peak_memory(ours, data) / 1e6
    mem_peer = peak_memory(peer_neurodsp, data) / 1e6
    import os

    print(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other processes share the cores)")
    print(f"\n{'pipeline':<44}{'seconds':>10}  note")
    for name, seconds, note in rows:
        print(f"{name:<44}{seconds:>10.2f}  {note}")
    print(f"\n{'ratio':<44}{'x':>10}  target")
    print(f"{'fastest peer (' + fastest + ') pipeline / ours':<44}{t_peer / t_ours:>10.1f}  >= 5")
    print(f"{'nolds pipeline / ours':<44}{t_nolds / t_ours:>10.1f}  >= 50")
    print(f"\n{'extra peak memory (tracemalloc)':<44}{'MB':>10}  x segment ({segment_mb:.0f} MB); target <= 2")
    print(f"{'adhesive-dots':<44}{mem_ours:>10.0f}  {mem_ours / segment_mb:.2f}")
    print(f"{'peer: MNE + specparam + neurodsp':<44}{mem_peer:>10.0f}  {mem_peer / segment_mb:.2f}", flush=True)


if __name__ == "__main__":
    main()
