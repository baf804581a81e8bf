"""CIFAR-10: 60,000 32x32 colour photos in 10 classes, downloaded on demand (163 MB).

Optional, for the full-size exercises; see ``datasets/cifar10.md``.
"""
import pickle

import numpy as np

from scaledown.datasets._common import Split, cap_stratified
from scaledown.datasets.downloads import download

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


def _read_batch(path):
    """One pickled batch -> (uint8 (N, 32, 32, 3), int64 (N,)). The archive's checksum was verified on download."""
    with open(path, "rb") as file:
        batch = pickle.load(file, encoding="bytes")
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(batch[b"labels"], dtype=np.int64)
