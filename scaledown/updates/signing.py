"""Signed update manifests: who made this update, what it contains, and is it newer?

A :class:`Manifest` names the model, its ``version`` (for people), a monotonically
increasing ``counter`` (for the device's anti-rollback check), the SHA-256 of the
payload that follows it, and the hash of the model the device must end up with. The
vendor signs the manifest's canonical JSON with an Ed25519 private key; the device
holds only the public key and refuses, with one sentence each:

* an **unsigned** update (no signature),
* a **tampered** one (the signature does not match the manifest, or the payload does
  not match the manifest's hash),
* a **replayed** or rolled-back one (``counter`` not above the installed counter) —
  an attacker cannot reinstall an old, vulnerable but genuinely signed model.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field


class UpdateRefused(Exception):
    """The device refused an update; the message says why in one sentence."""


@dataclass(frozen=True)
class Manifest:
    """What an update claims to be (every field is covered by the signature).

    ``kind`` is ``"full"`` (the whole model) or ``"delta"`` (only changed tensors, applied
    on top of the model whose hash is ``base_hash``).
    """

    model: str
    version: str
    counter: int
    kind: str
    payload_sha256: str
    payload_bytes: int
    target_sha256: str
    base_sha256: str = ""
    tensors: tuple = field(default_factory=tuple)

    def canonical(self) -> bytes:
        """The bytes that are signed: sorted-key JSON without spaces."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()


def generate_keypair():
    """A new Ed25519 ``(private_key, public_key)`` pair (``cryptography`` objects)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_key = Ed25519PrivateKey.generate()
    return private_key, private_key.public_key()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sign(manifest: Manifest, private_key) -> bytes:
    """The signed manifest as bytes: JSON ``{"manifest": {...}, "signature": base64}``."""
    signature = private_key.sign(manifest.canonical())
    return json.dumps({"manifest": asdict(manifest), "signature": base64.b64encode(signature).decode()},
                      sort_keys=True).encode()


def verify(signed: bytes, public_key, installed_counter: int) -> Manifest:
    """Check a signed manifest and return its :class:`Manifest`, or raise :class:`UpdateRefused`.

    The device calls this *before* it accepts a byte of payload.
    """
    from cryptography.exceptions import InvalidSignature

    try:
        document = json.loads(signed)
        manifest = Manifest(**{**document["manifest"], "tensors": tuple(document["manifest"].get("tensors", ()))})
    except (ValueError, TypeError, KeyError) as exc:
        raise UpdateRefused(f"refused: the manifest is not readable ({type(exc).__name__}).") from None
    signature = document.get("signature")
    if not signature:
        raise UpdateRefused("refused: the update is unsigned.")
    try:
        public_key.verify(base64.b64decode(signature), manifest.canonical())
    except (InvalidSignature, ValueError):
        raise UpdateRefused("refused: the signature does not match the manifest (tampered or wrong key).") from None
    if manifest.counter <= installed_counter:
        raise UpdateRefused(f"refused: counter {manifest.counter} is not above the installed counter "
                            f"{installed_counter} (a replayed or rolled-back update).")
    return manifest


def check_payload(manifest: Manifest, payload: bytes) -> None:
    """Raise :class:`UpdateRefused` unless ``payload`` is complete and matches the manifest's hash."""
    if len(payload) != manifest.payload_bytes:
        raise UpdateRefused(f"refused: the payload is {len(payload)} bytes, the manifest says "
                            f"{manifest.payload_bytes} (the transfer was cut).")
    if sha256(payload) != manifest.payload_sha256:
        raise UpdateRefused("refused: the payload's SHA-256 does not match the manifest (tampered in transit).")
