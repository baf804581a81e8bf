"""Opt-in downloads of the full-size datasets (CIFAR-10, Speech Commands).

Nothing here runs on import: a file is fetched only when you call
``download(name)`` or ``load_cifar10()``. Files land in ``cache_dir`` (default:
``$SCALEDOWN_DATA``, else ``~/.cache/scaledown``), as
``<cache_dir>/<name>/<archive>``, and are extracted next to it. A download goes
to a temporary file that is renamed into place only once its checksum matches,
so an interrupted download never looks finished.
"""

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import NamedTuple

from tqdm import tqdm

CACHE_ENV_VAR = "SCALEDOWN_DATA"


class DatasetUnavailableError(RuntimeError):
    """A dataset could not be obtained: no network, or a file whose checksum does not match."""


class _Source(NamedTuple):
    url: str
    filename: str  # archive name inside <cache_dir>/<name>/
    checksum: tuple  # (hashlib algorithm, hex digest)
    folder: str  # what download() returns: <cache_dir>/<name>/<folder>
    inside_archive: str  # the archive's folder that becomes <folder>; "." for the whole archive


_SOURCES = {
    "cifar10": _Source(
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        filename="cifar-10-python.tar.gz",
        checksum=("md5", "c58f30108f718f92721af3b95e74349a"),  # as published with torchvision
        folder="cifar-10-batches-py",
        inside_archive="cifar-10-batches-py",
    ),
    "speech_commands": _Source(
        url="http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
        filename="speech_commands_v0.02.tar.gz",
        checksum=("sha256", "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"),  # as in torchaudio
        folder="speech_commands_v0.02",
        inside_archive=".",
    ),
}


def default_cache_dir() -> Path:
    """``$SCALEDOWN_DATA`` when set, else ``~/.cache/scaledown``."""
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "scaledown")


def download(name, cache_dir=None, url=None):
    """Download and extract a full-size dataset once; later calls reuse the cache.

    Parameters
    ----------
    name : {"cifar10", "speech_commands"}
        CIFAR-10 python batches (163 MB) or Speech Commands v0.02 (2.3 GB).
    cache_dir : str or Path or None
        Where to keep the files; default ``default_cache_dir()``.
    url : str or None
        Fetch the archive from this mirror instead of the official address; the
        checksum is still verified.

    Returns
    -------
    Path
        The extracted folder, ``<cache_dir>/<name>/<folder>``.

    Raises
    ------
    ValueError
        If ``name`` is not a known dataset.
    DatasetUnavailableError
        If the archive cannot be fetched or its checksum does not match.
    """
    if name not in _SOURCES:
        raise ValueError(f"name={name!r} is not a downloadable dataset; use one of {', '.join(map(repr, _SOURCES))}.")
    source = _SOURCES[name]
    root = Path(cache_dir or default_cache_dir()) / name
    target = root / source.folder
    if target.is_dir() and _matches_manifest(target):
        return target
    archive = root / source.filename
    if not (archive.is_file() and _digest(archive, source.checksum[0]) == source.checksum[1]):
        _fetch(name, url or source.url, archive, source.checksum)
    if target.is_dir():  # extracted before, but a file changed since: extract again from the verified archive
        shutil.rmtree(target)
    _extract(archive, source.inside_archive, target)
    return target


MANIFEST = ".scaledown-sha256.json"  # beside the extracted files: each one's SHA-256 when it left the archive


def _matches_manifest(folder: Path) -> bool:
    """Are the extracted files exactly those the verified archive held (none changed, added or removed)?"""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return False
    try:
        expected = json.loads(manifest.read_text())
    except ValueError:
        return False
    found = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p != manifest}
    return found == set(expected) and all(_digest(folder / f, "sha256") == d for f, d in expected.items())


def _digest(path, algorithm):
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _fetch(name, url, archive, checksum):
    """Stream ``url`` into a temporary file beside ``archive``; rename it once its checksum matches."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=archive.parent, prefix=archive.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file, urllib.request.urlopen(url, timeout=30) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=archive.name) as bar:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    file.write(chunk)
                    bar.update(len(chunk))
    except OSError as error:  # URLError, refused connection, timeout, full disk
        os.remove(partial)
        raise DatasetUnavailableError(
            f"Could not download {name!r} from {url} ({getattr(error, 'reason', error)}); connect to the "
            f"internet and rerun, or place {archive.name} at {archive} yourself."
        ) from error
    algorithm, expected = checksum
    actual = _digest(partial, algorithm)
    if actual != expected:
        os.remove(partial)
        raise DatasetUnavailableError(
            f"The file downloaded from {url} has {algorithm} {actual} instead of {expected}, so it is damaged "
            f"or not the expected release; rerun to fetch it again, or place a verified copy at {archive}."
        )
    os.replace(partial, archive)


def _extract(archive, inside_archive, target):
    """Unpack ``archive`` in a temporary folder, then move ``inside_archive`` to ``target`` in one rename."""
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=".extracting-"))
    try:
        with tarfile.open(archive) as tar:
            # The "data" filter (Python >= 3.10.12 / 3.11.4) refuses absolute paths and links out of scratch.
            tar.extractall(scratch, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        extracted = scratch / inside_archive
        digests = {
            p.relative_to(extracted).as_posix(): _digest(p, "sha256")
            for p in sorted(extracted.rglob("*"))
            if p.is_file()
        }
        (extracted / MANIFEST).write_text(json.dumps(digests, indent=0))
        os.replace(extracted, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
