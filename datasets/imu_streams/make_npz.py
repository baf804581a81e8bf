"""Make imu_streams.npz from the IMU recordings that ship in the scikit-kinematics 0.10.4 wheel.

Not run by the tests (they load the npz). To redo it:

    pip download --no-deps scikit-kinematics==0.10.4 -d /tmp/sk
    unzip -q /tmp/sk/scikit_kinematics-0.10.4-py3-none-any.whl 'tests/data/*' -d /tmp/sk
    python datasets/imu_streams/make_npz.py /tmp/sk/tests/data
"""

import sys
from pathlib import Path

import numpy as np

CHANNELS = np.array(["gyro_x", "gyro_y", "gyro_z", "acc_x", "acc_y", "acc_z"])


def main(data_dir: Path) -> None:
    # x-io x-IMU, 256 Hz: columns packet, gyro xyz (deg/s), acc xyz (g), mag xyz (G)
    xio = np.loadtxt(data_dir / "data_xio" / "00033_CalInertialAndMag.csv", delimiter=",", skiprows=1)
    # Xsens MTx on a lower leg, 120 Hz: columns counter, acc xyz (m/s^2), gyro xyz (rad/s), mag, GPS
    xsens = np.loadtxt(data_dir / "walking_xsens_lowerLeg.txt", skiprows=5, usecols=range(1, 7))
    # Pololu MinIMU (raw counts), about 146 Hz: columns acc xyz, gyro xyz, mag xyz, then two times (ms)
    polulu = np.loadtxt(data_dir / "data_polulu.txt", usecols=range(6))
    np.savez_compressed(
        Path(__file__).with_name("imu_streams.npz"),
        xio=xio[:, 1:7].astype(np.float32),  # gyro, acc: already in order
        xsens=np.concatenate([xsens[:, 3:6], xsens[:, 0:3]], axis=1).astype(np.float32),  # reorder to gyro, acc
        polulu=np.concatenate([polulu[:, 3:6], polulu[:, 0:3]], axis=1).astype(np.float32),
        channels=CHANNELS,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
