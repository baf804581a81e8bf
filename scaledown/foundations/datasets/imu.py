"""Three real, contiguous IMU recordings for drift monitoring (chapter 7).

All ship in ``datasets/imu_streams/imu_streams.npz`` (about 285 kB), taken from the
test data of the scikit-kinematics 0.10.4 wheel (BSD licence); loading never touches
the network. See ``datasets/imu_streams/README.md`` for the card.

- ``"xio"``: an x-io x-IMU at 256 Hz, 12,626 readings (about 49 s): rest, handling,
  rest, then about 20 s of steady rotation, then handling again.
- ``"xsens"``: an Xsens MTx on a lower leg at 120 Hz, 3,511 readings (about 29 s):
  standing, then walking.
- ``"polulu"``: a Pololu MinIMU-9 v5 (raw counts) at about 146 Hz, 3,653 readings (25 s):
  at rest for 14 s, then moved.

Unlike the windows of a classification dataset, consecutive readings here are
strongly autocorrelated — which is what a drift monitor on a device sees.
"""

from typing import NamedTuple

import numpy as np

from scaledown.foundations.datasets._common import shipped_file

IMU_CHANNELS = ("gyro_x", "gyro_y", "gyro_z", "acc_x", "acc_y", "acc_z")
_RELATIVE_PATH = "imu_streams/imu_streams.npz"
_SHA256 = "6ecbdbc599778e180058bcb82ea207a105307bf4fb0a0f1278e18b18ee9a2d29"
# name: (sample rate in Hz, the stretch of one steady activity as [start, stop) readings)
_RECORDINGS = {"xio": (256.0, (5250, 10250)), "xsens": (120.0, (500, 3500)), "polulu": (146.0, (0, 2100))}


class Recording(NamedTuple):
    """One contiguous recording: ``readings`` (T, 6) float32 in ``IMU_CHANNELS`` order, its rate."""

    readings: np.ndarray
    sample_rate_hz: float
    name: str


def load_imu_stream(name="xio", segment="steady"):
    """Load a real IMU recording, in time order, as the device produced it.

    Parameters
    ----------
    name : {"xio", "xsens", "polulu"}
        ``"xio"`` (x-IMU, 256 Hz) is the course's stream; ``"xsens"`` (Xsens, 120 Hz,
        walking) and ``"polulu"`` (Pololu, about 146 Hz, at rest) are other devices and
        activities, kept for checks that defaults chosen on ``"xio"`` carry over.
    segment : {"steady", "all"}
        ``"steady"``: the stretch of one activity (xio: readings 5,250–10,249, steady
        rotation; xsens: 500–3,499, walking; polulu: 0–2,099, at rest) — a stream with
        no drift in it.
        ``"all"``: the whole recording.

    Returns
    -------
    Recording
        ``readings``: float32, shape (T, 6), channels gyro x, y, z then accelerometer
        x, y, z (xio: deg/s and g; xsens: rad/s and m/s²; polulu: raw counts); T =
        5,000 (xio), 3,000 (xsens) or 2,100 (polulu) for ``"steady"``. ``sample_rate_hz``, ``name``.

    Raises
    ------
    FileNotFoundError
        If the npz is not where a clone of the repository keeps it.
    DatasetUnavailableError
        If the npz does not match its recorded sha256.
    """
    if name not in _RECORDINGS:
        raise ValueError(f"name={name!r} is not a recording here; use one of {', '.join(map(repr, _RECORDINGS))}.")
    if segment not in ("steady", "all"):
        raise ValueError(f"segment={segment!r} is not supported; use 'steady' or 'all'.")
    path = shipped_file(_RELATIVE_PATH, _SHA256, "IMU recordings")
    rate, (start, stop) = _RECORDINGS[name]
    with np.load(path) as data:
        readings = data[name]
    if segment == "steady":
        readings = readings[start:stop]
    return Recording(np.ascontiguousarray(readings), rate, name)
