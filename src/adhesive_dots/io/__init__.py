"""Reading and writing recordings: NWB (pynwb), BIDS (mne-bids), raw files (MNE), archives.

This is the only layer that knows pynwb, h5py and mne-bids.
"""
