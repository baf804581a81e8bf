"""The course's datasets, one loader per dataset, all returning a ``Split``.

Shipped with the repository (no network, ever):

- ``load_sine()``: the TinyML "hello world", ``y = sin(x) + noise``.
- ``load_digits()``: scikit-learn's real 8x8 handwritten digits, resized.
- ``load_motions()``: UEA BasicMotions, smartwatch accelerometer + gyroscope.
- ``load_imu_stream()``: two real, contiguous IMU recordings (drift monitoring); it
  returns a ``Recording``, not a ``Split``.

Full-size, opt-in, downloaded on first use into ``$SCALEDOWN_DATA`` or ``~/.cache/scaledown``:

- ``load_cifar10()``, ``download("cifar10")``, ``download("speech_commands")``.

Every classification loader returns ``Split(x_train, y_train, x_test, y_test)``, so
``x_train, y_train, x_test, y_test = load_digits()`` works; class names are the
constants ``DIGITS_CLASSES``, ``MOTIONS_CLASSES`` and ``CIFAR10_CLASSES``.
Dataset cards (source, licence, shapes, which chapters use them) are in the
repository's ``datasets/`` folder.
"""

from scaledown.foundations.datasets._common import Split
from scaledown.foundations.datasets.cifar10 import CIFAR10_CLASSES, load_cifar10
from scaledown.foundations.datasets.digits import DIGITS_CLASSES, load_digits
from scaledown.foundations.datasets.downloads import DatasetUnavailableError, default_cache_dir, download
from scaledown.foundations.datasets.imu import IMU_CHANNELS, Recording, load_imu_stream
from scaledown.foundations.datasets.motions import MOTIONS_CLASSES, load_motions
from scaledown.foundations.datasets.sine import load_sine

__all__ = [
    "Split",
    "load_sine",
    "load_digits",
    "DIGITS_CLASSES",
    "load_motions",
    "MOTIONS_CLASSES",
    "load_imu_stream",
    "IMU_CHANNELS",
    "Recording",
    "load_cifar10",
    "CIFAR10_CLASSES",
    "download",
    "default_cache_dir",
    "DatasetUnavailableError",
]
