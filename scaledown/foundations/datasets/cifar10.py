"""CIFAR-10: 60,000 32x32 colour photos in 10 classes, downloaded on demand (163 MB).

Optional, for the full-size exercises; see ``datasets/cifar10.md``.
"""

import pickle

import numpy as np

from scaledown.foundations.datasets._common import Split, cap_stratified
from scaledown.foundations.datasets.downloads import DatasetUnavailableError, download

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def load_cifar10(cache_dir=None, limit=None):
    """Load CIFAR-10's official 50,000 / 10,000 split, downloading it on first use.

    Parameters
    ----------
    cache_dir : str or Path or None
        Where the archive is kept (see ``download``).
    limit : int or None
        Keep at most this many training images, with the same class proportions.

    Returns
    -------
    Split
        ``x_train, x_test``: uint8, shape (N, 32, 32, 3), RGB, channels last;
        ``y_train, y_test``: int64, shape (N,), indices into ``CIFAR10_CLASSES``.

    Raises
    ------
    DatasetUnavailableError
        If the archive is not cached and cannot be downloaded.
    """
    folder = download("cifar10", cache_dir)
    batches = [_read_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    x_train = np.concatenate([x for x, _ in batches])
    y_train = np.concatenate([y for _, y in batches])
    x_test, y_test = _read_batch(folder / "test_batch")
    x_train, y_train = cap_stratified(x_train, y_train, limit)
    return Split(x_train, y_train, x_test, y_test)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles only what a CIFAR-10 batch holds (dicts, lists, bytes, numbers and NumPy arrays).

    Unpickling can run any code a file names; this one refuses every class but NumPy's
    array reconstruction, so a replaced batch file cannot run code. (The extracted files are
    also checked against the SHA-256 they had in the verified archive: ``download``.)
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a CIFAR-10 batch holds no {module}.{name}; the file was not made by CIFAR-10")


def _read_batch(path):
    """One pickled batch -> (uint8 (N, 32, 32, 3), int64 (N,)), read with :class:`_ArraysOnly`."""
    try:
        with open(path, "rb") as file:
            batch = _ArraysOnly(file, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise DatasetUnavailableError(
            f"{path} is not a CIFAR-10 batch ({exc}); delete {path.parent} to "
            "extract it again from the verified archive."
        ) from None
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(batch[b"labels"], dtype=np.int64)
