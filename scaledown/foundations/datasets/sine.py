"""The TinyML "hello world": learn ``y = sin(x)`` from noisy samples."""

import numpy as np
from sklearn.model_selection import train_test_split

from scaledown.foundations.datasets._common import Split, check_fraction


def load_sine(n_samples=1000, noise=0.1, seed=0, test_fraction=0.2):
    """Sample ``x`` uniformly in [0, 2π) and ``y = sin(x) + noise * ε``, with ε ~ N(0, 1).

    Parameters
    ----------
    n_samples : int
        Total number of (x, y) pairs, before the split.
    noise : float
        Standard deviation of the Gaussian noise added to ``sin(x)``.
    seed : int
        Seed of the samples and of the split; the same seed gives the same data.
    test_fraction : float
        Share of the samples held out for testing.

    Returns
    -------
    Split
        ``x_train, x_test``: float32, shape (N, 1), in [0, 2π);
        ``y_train, y_test``: float32, shape (N, 1).
    """
    check_fraction(test_fraction)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 2 * np.pi, size=(n_samples, 1))
    y = np.sin(x) + noise * rng.standard_normal(size=(n_samples, 1))
    x_train, x_test, y_train, y_test = train_test_split(
        x.astype(np.float32), y.astype(np.float32), test_size=test_fraction, random_state=seed
    )
    return Split(x_train, y_train, x_test, y_test)
