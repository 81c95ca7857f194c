"""Reading and writing recordings: NWB (pynwb), BIDS (mne-bids), raw files (MNE), archives.

This is the only layer that knows pynwb, h5py and mne-bids. ``open_recording`` opens any
supported source lazily (see :mod:`adhesive_dots.io.read`).
"""

from adhesive_dots.io.read import open_recording

__all__ = ["open_recording"]
