"""What every loader shares: the ``Split`` result, where shipped data live, stratified capping."""

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.model_selection import train_test_split

DATASETS_ENV_VAR = "SCALEDOWN_DATASETS"


class Split(NamedTuple):
    """A train/test split, unpackable as ``x_train, y_train, x_test, y_test = load_...()``.

    Each loader documents the shapes and dtypes of its arrays; class names are
    module constants (``DIGITS_CLASSES``, ``MOTIONS_CLASSES``, ``CIFAR10_CLASSES``)
    so that unpacking always gives exactly these four arrays.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def datasets_dir() -> Path:
    """The repository's ``datasets/`` folder, or ``$SCALEDOWN_DATASETS`` when that is set."""
    override = os.environ.get(DATASETS_ENV_VAR)
    if override:
        return Path(override)
    return (
        Path(__file__).resolve().parents[3] / "datasets"
    )  # scaledown/foundations/datasets/_common.py -> the repository


def shipped_file(relative_path, sha256, what) -> Path:
    """The path of a data file the repository ships, after checking it exists and has its recorded sha256."""
    import hashlib

    from scaledown.foundations.datasets.downloads import DatasetUnavailableError

    path = datasets_dir() / relative_path
    if not path.is_file():
        raise FileNotFoundError(
            f"{what} not found at {path}; clone the course repository and install it with "
            f"`pip install -e .` (or set {DATASETS_ENV_VAR} to the folder holding {relative_path})."
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise DatasetUnavailableError(
            f"{path} has sha256 {digest} instead of {sha256}, so it is corrupt or was changed; "
            f"restore it with `git checkout -- datasets/{relative_path}`."
        )
    return path


def check_layout(layout, accepted):
    """Raise ``ValueError`` unless ``layout`` is one of ``accepted``."""
    if layout not in accepted:
        raise ValueError(f"layout={layout!r} is not supported; use one of {', '.join(map(repr, accepted))}.")


def check_fraction(test_fraction):
    """Raise ``ValueError`` unless ``0 < test_fraction < 1``."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction={test_fraction!r} must be strictly between 0 and 1.")


def cap_stratified(x, y, limit, seed=0):
    """Keep at most ``limit`` samples of ``(x, y)``, with the class proportions of ``y``.

    Parameters
    ----------
    x : ndarray, shape (N, ...)
    y : ndarray of int, shape (N,)
    limit : int or None
        ``None`` or ``limit >= N`` returns ``x, y`` unchanged.
    seed : int
        Which samples are kept; the same seed keeps the same samples.
    """
    if limit is None or limit >= len(y):
        return x, y
    n_classes = len(np.unique(y))
    if limit < n_classes:
        raise ValueError(f"limit={limit!r} is too small; it must be at least the number of classes ({n_classes}).")
    x_kept, _, y_kept, _ = train_test_split(x, y, train_size=limit, stratify=y, random_state=seed)
    return x_kept, y_kept
