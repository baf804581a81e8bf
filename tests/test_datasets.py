"""scaledown.foundations.datasets: shapes, dtypes, determinism, errors, and the download cache (no network)."""

import hashlib
import io
import os
import pickle
import shutil
import tarfile

import numpy as np
import pytest

from scaledown.foundations.datasets import (
    MOTIONS_CLASSES,
    DatasetUnavailableError,
    download,
    downloads,
    load_cifar10,
    load_digits,
    load_motions,
    load_sine,
)
from scaledown.foundations.datasets._common import datasets_dir

REFUSED_URL = "http://127.0.0.1:9/cifar.tar.gz"  # loopback "discard" port: the connection is refused at once


def test_digits_nhwc_shapes_dtypes_and_range():
    x_train, y_train, x_test, y_test = load_digits()
    assert x_train.shape[1:] == (32, 32, 1) and x_test.shape[1:] == (32, 32, 1)
    assert len(x_train) + len(x_test) == 1797 and len(x_test) == 360
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() >= 0.0 and x_train.max() == 1.0
    assert set(np.unique(y_test)) == set(range(10))


def test_digits_nchw_layout_and_size():
    split = load_digits(size=16, layout="NCHW")
    assert split.x_train.shape[1:] == (1, 16, 16)


def test_digits_size_8_keeps_the_original_pixels():
    import sklearn.datasets

    x_train, y_train, _, _ = load_digits(size=8, test_fraction=0.5)
    originals = {img.tobytes() for img in (sklearn.datasets.load_digits().images / 16).astype(np.float32)}
    assert all(img[:, :, 0].tobytes() in originals for img in x_train[:20])


def test_digits_same_seed_same_split_and_other_seed_differs():
    a, b, c = load_digits(size=8, seed=3), load_digits(size=8, seed=3), load_digits(size=8, seed=4)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a.y_train, c.y_train)


def test_digits_limit_is_stratified_and_leaves_test_alone():
    full = load_digits(size=8)
    capped = load_digits(size=8, limit=100)
    assert len(capped.x_train) == 100 and len(capped.y_train) == 100
    assert np.all(np.bincount(capped.y_train, minlength=10) >= 9)
    assert np.array_equal(capped.y_test, full.y_test)


def test_bad_layout_names_the_value_and_the_accepted_ones():
    with pytest.raises(ValueError, match=r"layout='NWHC'.*'NHWC', 'NCHW'"):
        load_digits(layout="NWHC")
    with pytest.raises(ValueError, match=r"layout='NHWC'.*'NTC', 'NCT'"):
        load_motions(layout="NHWC")


def test_limit_smaller_than_the_number_of_classes_is_refused():
    with pytest.raises(ValueError, match="limit=3"):
        load_motions(limit=3)


def test_motions_ntc_shapes_and_dtypes():
    x_train, y_train, x_test, y_test = load_motions()
    assert x_train.shape == (40, 100, 6) and x_test.shape == (40, 100, 6)
    assert x_train.dtype == np.float32 and y_test.dtype == np.int64


def test_motions_nct_is_the_transpose_of_ntc():
    ntc, nct = load_motions("NTC"), load_motions("NCT")
    assert nct.x_train.shape == (40, 6, 100)
    assert np.array_equal(nct.x_test, ntc.x_test.transpose(0, 2, 1))


def test_motions_has_four_classes_ten_recordings_each_per_split():
    _, y_train, _, y_test = load_motions()
    assert MOTIONS_CLASSES == ("Standing", "Running", "Walking", "Badminton")
    assert np.bincount(y_train).tolist() == [10] * 4
    assert np.bincount(y_test).tolist() == [10] * 4


def test_motions_limit_is_stratified():
    _, y_train, _, _ = load_motions(limit=8)
    assert np.bincount(y_train).tolist() == [2] * 4


def test_motions_standing_moves_less_than_running():
    x_train, y_train, _, _ = load_motions()
    standing = x_train[y_train == MOTIONS_CLASSES.index("Standing")].std()
    running = x_train[y_train == MOTIONS_CLASSES.index("Running")].std()
    assert running > 3 * standing


def test_motions_corrupt_file_is_reported(tmp_path, monkeypatch):
    shutil.copytree(datasets_dir() / "basic_motions", tmp_path / "basic_motions")
    npz = tmp_path / "basic_motions" / "basic_motions.npz"
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    monkeypatch.setenv("SCALEDOWN_DATASETS", str(tmp_path))
    with pytest.raises(DatasetUnavailableError, match="sha256.*corrupt"):
        load_motions()


def test_motions_missing_file_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALEDOWN_DATASETS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="clone") as error:
        load_motions()
    assert str(tmp_path) in str(error.value)


def test_sine_shapes_dtypes_and_range():
    x_train, y_train, x_test, y_test = load_sine(n_samples=500)
    assert x_train.shape == (400, 1) and y_test.shape == (100, 1)
    assert x_train.dtype == np.float32 and y_train.dtype == np.float32
    assert x_train.min() >= 0 and x_train.max() <= np.float32(2 * np.pi)


def test_sine_noise_has_the_requested_spread():
    x_train, y_train, _, _ = load_sine(n_samples=5000, noise=0.1)
    assert abs(np.std(y_train - np.sin(x_train)) - 0.1) < 0.01


def test_sine_same_seed_same_data():
    assert all(np.array_equal(u, v) for u, v in zip(load_sine(seed=1), load_sine(seed=1)))


def test_download_offline_names_the_cache_path(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="Could not download 'cifar10'") as error:
        download("cifar10", cache_dir=tmp_path, url=REFUSED_URL)
    assert str(tmp_path / "cifar10" / "cifar-10-python.tar.gz") in str(error.value)
    assert not list((tmp_path / "cifar10").glob("*.part"))  # no half-written file left behind


def test_download_unknown_name_lists_the_accepted_ones():
    with pytest.raises(ValueError, match="'cifar10', 'speech_commands'"):
        download("mnist")


def _fake_cifar_archive(path, images_per_batch=20):
    """A tiny archive laid out like cifar-10-python.tar.gz: five train batches and a test batch."""
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            batch = {
                b"data": rng.integers(0, 256, size=(images_per_batch, 3072), dtype=np.uint8),
                b"labels": [i % 10 for i in range(images_per_batch)],
            }
            payload = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def _register_fake_cifar(tmp_path, monkeypatch):
    archive = tmp_path / "cifar10" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    _fake_cifar_archive(archive)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    source = downloads._SOURCES["cifar10"]._replace(url=REFUSED_URL, checksum=("md5", md5))
    monkeypatch.setitem(downloads._SOURCES, "cifar10", source)
    return archive


def test_download_uses_a_cached_archive_without_the_network(tmp_path, monkeypatch):
    _register_fake_cifar(tmp_path, monkeypatch)  # the registered URL is refused: any fetch would fail
    folder = download("cifar10", cache_dir=tmp_path)
    assert folder == tmp_path / "cifar10" / "cifar-10-batches-py"
    assert (folder / "test_batch").is_file()
    assert download("cifar10", cache_dir=tmp_path) == folder


def test_download_refetches_an_archive_with_a_wrong_checksum(tmp_path, monkeypatch):
    archive = _register_fake_cifar(tmp_path, monkeypatch)
    archive.write_bytes(b"truncated")
    with pytest.raises(DatasetUnavailableError, match="Could not download"):
        download("cifar10", cache_dir=tmp_path)


def test_load_cifar10_parses_batches_into_uint8_nhwc(tmp_path, monkeypatch):
    _register_fake_cifar(tmp_path, monkeypatch)
    x_train, y_train, x_test, y_test = load_cifar10(cache_dir=tmp_path)
    assert x_train.shape == (100, 32, 32, 3) and x_test.shape == (20, 32, 32, 3)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert np.bincount(y_test).tolist() == [2] * 10


def test_load_cifar10_keeps_channels_of_a_pixel_together(tmp_path, monkeypatch):
    _register_fake_cifar(tmp_path, monkeypatch)
    x_train, _, _, _ = load_cifar10(cache_dir=tmp_path)
    with open(tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_1", "rb") as file:
        raw = pickle.load(file, encoding="bytes")[b"data"][0]
    assert x_train[0, 0, 1].tolist() == [raw[1], raw[1024 + 1], raw[2048 + 1]]  # red, green, blue of pixel (0, 1)


def test_load_cifar10_limit_is_stratified(tmp_path, monkeypatch):
    _register_fake_cifar(tmp_path, monkeypatch)
    _, y_train, _, _ = load_cifar10(cache_dir=tmp_path, limit=30)
    assert np.bincount(y_train).tolist() == [3] * 10


def test_extracted_files_changed_after_extraction_are_extracted_again(tmp_path, monkeypatch):
    _register_fake_cifar(tmp_path, monkeypatch)
    folder = download("cifar10", cache_dir=tmp_path)
    original = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(b"edited after extraction")
    (folder / "extra_file").write_bytes(b"added")
    assert download("cifar10", cache_dir=tmp_path) == folder  # re-extracted from the verified archive
    assert (folder / "test_batch").read_bytes() == original and not (folder / "extra_file").exists()


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_a_batch_file_that_would_run_code_is_refused(tmp_path, monkeypatch):
    from scaledown.foundations.datasets.cifar10 import _read_batch

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Boom(), b"labels": [1]}))
    with pytest.raises(DatasetUnavailableError, match="not a CIFAR-10 batch"):
        _read_batch(path)
    assert not (tmp_path / "pwned.txt").exists()
