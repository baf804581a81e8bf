"""BasicMotions: real smartwatch accelerometer + gyroscope recordings of four activities.

From the UEA & UCR Time Series Classification archive (Clements; Bagnall et al.
2018). The 80 recordings ship with this repository in
``datasets/basic_motions/basic_motions.npz`` (about 140 kB), so loading never
touches the network. See ``datasets/basic_motions/README.md`` for the card.
"""

import numpy as np

from scaledown.foundations.datasets._common import Split, cap_stratified, check_layout, shipped_file

MOTIONS_CLASSES = ("Standing", "Running", "Walking", "Badminton")
_LAYOUTS = ("NTC", "NCT")
_RELATIVE_PATH = "basic_motions/basic_motions.npz"
_SHA256 = "7219229dc6190e4f77b29bde40717529d91e3bf81974e202894ebf5a1a88af47"


def load_motions(layout="NTC", limit=None):
    """Load BasicMotions with the archive's official 40 / 40 train/test split.

    Each recording is 10 s of a smartwatch at 10 Hz: 100 time steps of six
    channels (accelerometer x, y, z, then gyroscope x, y, z).

    Parameters
    ----------
    layout : {"NTC", "NCT"}
        Time steps then channels (Keras ``Conv1D``) or channels then time steps
        (PyTorch ``Conv1d``).
    limit : int or None
        Keep at most this many training recordings, with the same class
        proportions (quick mode). The test set is unchanged.

    Returns
    -------
    Split
        ``x_train, x_test``: float32, shape (N, 100, 6) for "NTC" or (N, 6, 100)
        for "NCT"; ``y_train, y_test``: int64, shape (N,), indices into
        ``MOTIONS_CLASSES``. Without ``limit``, N = 40 in each, 10 per class.

    Raises
    ------
    FileNotFoundError
        If the npz is not where a clone of the repository keeps it.
    DatasetUnavailableError
        If the npz does not match its recorded sha256 (corrupt or changed).
    """
    check_layout(layout, _LAYOUTS)
    path = shipped_file(_RELATIVE_PATH, _SHA256, "BasicMotions data")
    with np.load(path) as data:
        x_train, y_train = data["x_train"], data["y_train"]  # x: (N, 6, 100), channels first
        x_test, y_test = data["x_test"], data["y_test"]
    if layout == "NTC":
        x_train, x_test = x_train.transpose(0, 2, 1), x_test.transpose(0, 2, 1)
    x_train, y_train = cap_stratified(np.ascontiguousarray(x_train), y_train, limit)
    return Split(x_train, y_train, np.ascontiguousarray(x_test), y_test)
