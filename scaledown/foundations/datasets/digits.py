"""Handwritten digits: scikit-learn's 1,797 real 8x8 scans, resized for small CNNs.

The images come from the UCI "Optical Recognition of Handwritten Digits" set
(Alpaydin & Kaynak), shipped inside scikit-learn, so loading never touches the
network. See ``datasets/digits.md`` for the dataset card.
"""

import numpy as np
import sklearn.datasets
from scipy.ndimage import zoom
from sklearn.model_selection import train_test_split

from scaledown.foundations.datasets._common import Split, cap_stratified, check_fraction, check_layout

DIGITS_CLASSES = tuple(str(d) for d in range(10))
_LAYOUTS = ("NHWC", "NCHW")


def load_digits(size=32, layout="NHWC", test_fraction=0.2, seed=0, limit=None):
    """Load the handwritten digits as float images in [0, 1], split train/test.

    Each 8x8 image (values 0..16) is resized to ``size`` x ``size`` with bilinear
    interpolation (``scipy.ndimage.zoom``, ``order=1``) and divided by 16.

    Parameters
    ----------
    size : int
        Side of the square output images, in pixels (8 keeps the originals).
    layout : {"NHWC", "NCHW"}
        Channels last (Keras) or channels first (PyTorch).
    test_fraction : float
        Share of the 1,797 images held out for testing, stratified by class.
    seed : int
        Seed of the split (and of ``limit``); the same seed gives the same split.
    limit : int or None
        Keep at most this many training images, with the same class proportions
        (quick mode). The test set is unchanged.

    Returns
    -------
    Split
        ``x_train, x_test``: float32, shape (N, size, size, 1) for "NHWC" or
        (N, 1, size, size) for "NCHW"; ``y_train, y_test``: int64, shape (N,),
        digits 0..9 (names in ``DIGITS_CLASSES``).
    """
    check_layout(layout, _LAYOUTS)
    check_fraction(test_fraction)
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size={size!r} must be a positive integer number of pixels.")

    digits = sklearn.datasets.load_digits()
    images = digits.images.astype(np.float32)  # (1797, 8, 8), values 0..16
    images = zoom(images, (1, size / 8, size / 8), order=1)
    images = np.clip(images / 16.0, 0.0, 1.0).astype(np.float32)
    images = images[:, None, :, :] if layout == "NCHW" else images[:, :, :, None]
    labels = digits.target.astype(np.int64)

    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_fraction, stratify=labels, random_state=seed
    )
    x_train, y_train = cap_stratified(x_train, y_train, limit, seed)
    return Split(x_train, y_train, x_test, y_test)
