"""Partial updates: send only the tensors that changed.

A model's weights are a dict ``{name: np.ndarray}`` (a PyTorch ``state_dict`` or Keras
weights as NumPy arrays). After fine-tuning only the last layer, every other tensor is
byte-for-byte the same, so the update needs only the changed ones::

    delta = make_delta(old, new)          # {name: array} of the changed tensors
    payload = pack(delta)                 # bytes that travel
    new_again = apply_delta(old, unpack(payload))
    assert weights_sha256(new_again) == weights_sha256(new)

:func:`pack` is a small, deterministic format — a JSON header (name, dtype, shape,
offset, SHA-256 per tensor) then the raw little-endian bytes — so the device can check
every tensor's hash while it applies it.
"""

from __future__ import annotations

import hashlib
import json
import struct

import numpy as np

_MAGIC = b"SDW1"

# An assumed, round radio cost per transmitted byte for the battery estimate (receiving and
# writing flash included). Measure your own radio and pass its figure to transfer_cost.
JOULES_PER_BYTE = 1e-6
# A CR2032 coin cell: 225 mAh at 3 V ≈ 2,430 J.
BATTERY_JOULES = 0.225 * 3600 * 3.0


def _check_weights(name, weights) -> dict:
    if not isinstance(weights, dict) or not all(isinstance(k, str) for k in weights):
        raise ValueError(f"{name} must be a dict {{tensor name: numpy array}}, got {type(weights).__name__}.")
    return {k: np.ascontiguousarray(v) for k, v in weights.items()}


def tensor_sha256(array) -> str:
    """SHA-256 of a tensor's dtype, shape and bytes."""
    array = np.ascontiguousarray(array)
    h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    h.update(array.tobytes())
    return h.hexdigest()


def weights_sha256(weights: dict) -> str:
    """SHA-256 of a whole model: its tensors' names and hashes, in name order."""
    weights = _check_weights("weights", weights)
    h = hashlib.sha256()
    for name in sorted(weights):
        h.update(name.encode() + b"\0" + tensor_sha256(weights[name]).encode())
    return h.hexdigest()


def make_delta(old: dict, new: dict) -> dict:
    """The tensors of ``new`` that differ from ``old`` (or are new). Shapes and names must match otherwise."""
    old, new = _check_weights("old", old), _check_weights("new", new)
    missing = sorted(set(old) - set(new))
    if missing:
        raise ValueError(f"new lacks tensors {missing[:3]}; a delta can change or add tensors, not remove them.")
    return {
        k: v
        for k, v in new.items()
        if k not in old or old[k].shape != v.shape or old[k].dtype != v.dtype or not np.array_equal(old[k], v)
    }


def pack(weights: dict) -> bytes:
    """Serialize ``weights`` deterministically: magic, header length, JSON header, raw tensor bytes."""
    weights = _check_weights("weights", weights)
    header, blobs, offset = [], [], 0
    for name in sorted(weights):
        a = weights[name]
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header.append(
            {
                "name": name,
                "dtype": a.dtype.newbyteorder("<").str,
                "shape": list(a.shape),
                "offset": offset,
                "bytes": len(raw),
                "sha256": tensor_sha256(a),
            }
        )
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    return _MAGIC + struct.pack("<I", len(head)) + head + b"".join(blobs)


def unpack(payload: bytes) -> dict:
    """Inverse of :func:`pack`; raises ``ValueError`` if the bytes are cut or a tensor's hash is wrong."""
    if len(payload) < 8 or payload[:4] != _MAGIC:
        raise ValueError("payload is not a packed weights file (bad magic); it was cut or is not an update.")
    (n,) = struct.unpack("<I", payload[4:8])
    try:
        header = json.loads(payload[8 : 8 + n])
    except ValueError:
        raise ValueError("payload's header is unreadable; the transfer was cut.") from None
    body = memoryview(payload)[8 + n :]
    weights = {}
    for entry in header:
        end = entry["offset"] + entry["bytes"]
        if end > len(body):
            raise ValueError(f"payload ends inside tensor {entry['name']!r}; the transfer was cut.")
        a = np.frombuffer(body[entry["offset"] : end], dtype=np.dtype(entry["dtype"])).reshape(entry["shape"]).copy()
        if tensor_sha256(a) != entry["sha256"]:
            raise ValueError(f"tensor {entry['name']!r} does not match its hash.")
        weights[entry["name"]] = a
    return weights


def apply_delta(base: dict, delta: dict) -> dict:
    """A new weights dict: ``base`` with the tensors of ``delta`` replaced (``base`` is not changed)."""
    return {**_check_weights("base", base), **_check_weights("delta", delta)}


def transfer_cost(num_bytes: int, joules_per_byte: float = JOULES_PER_BYTE) -> dict:
    """Estimated radio energy of sending ``num_bytes``: joules and share of a CR2032 coin cell."""
    joules = num_bytes * joules_per_byte
    return {"bytes": int(num_bytes), "joules": joules, "battery_share": joules / BATTERY_JOULES}
