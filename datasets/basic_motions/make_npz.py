"""How ``basic_motions.npz`` was made from the UEA ``.ts`` files (not run by the tests).

The two ``.ts`` files ship inside the sktime wheel (BSD-3-Clause package; the
data come from the UEA & UCR Time Series Classification archive)::

    pip download --no-deps sktime==1.2.0 -d /tmp/bm
    cd /tmp/bm && unzip -o sktime-*.whl 'sktime/datasets/data/BasicMotions/*'
    python make_npz.py /tmp/bm/sktime/datasets/data/BasicMotions

Each data line of a ``.ts`` file holds one recording: six comma-separated
series (acc x, y, z, gyro x, y, z; 100 steps each) separated by ``:``, then the
class label. The npz stores them channels-first, as in the archive:
``x_train`` / ``x_test`` float32 (40, 6, 100), ``y_train`` / ``y_test`` int64 (40,),
``class_names`` in the archive's ``@classLabel`` order.

Rerunning gives identical arrays but a different file sha256 (zip timestamps):
update ``_SHA256`` in ``scaledown/datasets/motions.py`` if you regenerate it.
"""

import sys
from pathlib import Path

import numpy as np


def read_ts(path):
    """Parse one UEA ``.ts`` file into (x float32 (N, C, T), labels list[str], class_names list[str])."""
    series, labels, class_names = [], [], None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("@classlabel"):
            class_names = line.split()[2:]  # "@classLabel true Standing Running ..."
            continue
        if line.startswith("@"):
            continue
        *channels, label = line.split(":")
        series.append([[float(v) for v in channel.split(",")] for channel in channels])
        labels.append(label)
    return np.asarray(series, dtype=np.float32), labels, class_names


def main(ts_folder):
    ts_folder = Path(ts_folder)
    x_train, train_labels, class_names = read_ts(ts_folder / "BasicMotions_TRAIN.ts")
    x_test, test_labels, _ = read_ts(ts_folder / "BasicMotions_TEST.ts")
    to_index = {name: i for i, name in enumerate(class_names)}
    out = Path(__file__).with_name("basic_motions.npz")
    np.savez_compressed(
        out,
        x_train=x_train,
        y_train=np.array([to_index[n] for n in train_labels], dtype=np.int64),
        x_test=x_test,
        y_test=np.array([to_index[n] for n in test_labels], dtype=np.int64),
        class_names=np.array(class_names),
    )
    print(f"wrote {out} ({out.stat().st_size} bytes), x_train {x_train.shape}, x_test {x_test.shape}")


if __name__ == "__main__":
    main(sys.argv[1])
