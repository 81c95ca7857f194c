"""Reading and writing recordings (layer 3): NWB (pynwb), BIDS (mne-bids), raw files (MNE), tables, archives.

This is the only layer that knows pynwb, h5py and mne-bids. ``open_recording`` opens any
supported source lazily (see :mod:`adhesive_dots.io.read`); :mod:`adhesive_dots.io.sources` is the
one road from a source to its baselines (``SourceSpec``, ``expand_sources``, ``resolve``) that
everything above uses.
"""

from adhesive_dots.io.read import open_recording

__all__ = ["open_recording"]
