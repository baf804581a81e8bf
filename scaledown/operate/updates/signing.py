"""Signed update manifests: verify the bytes first, parse them second.

A :class:`Manifest` names the model, its ``version`` (for people), a monotonically
increasing ``counter`` (for the device's anti-rollback check), the SHA-256 and size of
the payload that follows it, the hash of the model the device must end up with and,
for a delta, the hash of the model it applies to (as SUIT manifests do, RFC 9124).

The vendor signs the manifest's exact bytes with an Ed25519 private key and ships the
64-byte signature beside them (a *detached* signature). The device holds only the
public key and, like python-tuf and MCUboot, checks in this order:

1. sizes against fixed caps — before it reads anything else;
2. the signature over exactly the bytes received — before it parses them;
3. the manifest's fields, strictly (known fields only, each of its type);
4. the counter against the installed one (a replayed or rolled-back update).

Every refusal is an :class:`UpdateRefused` whose ``reason`` is one of :data:`REASONS`
and whose message says why in one sentence.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

SIGNATURE_BYTES = 64  # an Ed25519 signature
MAX_MANIFEST_BYTES = 4096  # a manifest is a few hundred bytes; anything larger is refused unread

REASONS = {
    "cut": "the transfer ended before the update was complete",
    "too_large": "a length exceeds what the device accepts",
    "malformed": "the update's framing is not an update",
    "unsigned": "there is no signature",
    "bad_signature": "the signature does not verify with the vendor's key over the bytes received",
    "bad_manifest": "the signed manifest is not a valid manifest",
    "rollback": "the counter is not above the installed one (a replay or a rollback)",
    "wrong_base": "a delta made for another model than the one installed",
    "bad_payload": "the payload does not match the manifest (size, hash or content)",
    "health_check": "the new model failed its health check and was rolled back",
}


class UpdateRefused(Exception):
    """The device refused an update. ``reason`` is a key of :data:`REASONS`; the message is one sentence."""

    def __init__(self, reason: str, message: str):
        if reason not in REASONS:
            raise ValueError(f"reason={reason!r} is not one of {sorted(REASONS)}")
        super().__init__(message)
        self.reason = reason


_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Manifest:
    """What an update claims to be (every field is covered by the signature).

    ``kind`` is ``"full"`` (the whole model) or ``"delta"`` (only changed tensors, applied
    on top of the model whose hash is ``base_sha256``).
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
        """The bytes that are signed and sent: sorted-key JSON without spaces."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def parse(cls, data: bytes) -> "Manifest":
        """A manifest from (already verified) bytes; :class:`UpdateRefused` ``bad_manifest`` unless every field is right."""
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise UpdateRefused("bad_manifest", "refused: the manifest is not JSON.") from None
        if not isinstance(document, dict):
            raise UpdateRefused("bad_manifest", "refused: the manifest is not a JSON object.")
        expected = {name for name in cls.__dataclass_fields__}
        unknown, missing = set(document) - expected, expected - {"base_sha256", "tensors"} - set(document)
        if unknown or missing:
            raise UpdateRefused(
                "bad_manifest",
                f"refused: the manifest has unknown fields {sorted(unknown)} or lacks {sorted(missing)}.",
            )
        problems = []
        for name in ("model", "version", "kind", "payload_sha256", "target_sha256", "base_sha256"):
            if name in document and not isinstance(document[name], str):
                problems.append(f"{name} is not a string")
        for name in ("counter", "payload_bytes"):
            value = document.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems.append(f"{name} is not a non-negative integer")
        tensors = document.get("tensors", [])
        if not isinstance(tensors, list) or not all(isinstance(t, str) for t in tensors):
            problems.append("tensors is not a list of names")
        if problems:
            raise UpdateRefused("bad_manifest", f"refused: in the manifest, {'; '.join(problems)}.")
        if document["kind"] not in ("full", "delta"):
            raise UpdateRefused(
                "bad_manifest", f"refused: the manifest's kind {document['kind']!r} is not 'full' or 'delta'."
            )
        hashes = ["payload_sha256", "target_sha256"] + (["base_sha256"] if document["kind"] == "delta" else [])
        if not all(_HEX64.fullmatch(document.get(name, "")) for name in hashes):
            raise UpdateRefused("bad_manifest", "refused: a hash in the manifest is not 64 lowercase hex digits.")
        return cls(**{**document, "tensors": tuple(tensors)})


def generate_keypair():
    """A new Ed25519 ``(private_key, public_key)`` pair (``cryptography`` objects)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_key = Ed25519PrivateKey.generate()
    return private_key, private_key.public_key()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sign(manifest: Manifest, private_key) -> tuple[bytes, bytes]:
    """``(manifest bytes, 64-byte Ed25519 signature over exactly those bytes)``."""
    data = manifest.canonical()
    return data, private_key.sign(data)


def verify(manifest_bytes: bytes, signature: bytes, public_key, installed_counter: int) -> Manifest:
    """Check a signed manifest and return its :class:`Manifest`, or raise :class:`UpdateRefused`.

    The signature is checked over the bytes as received, before a byte of them is parsed;
    the device calls this before it accepts a byte of payload.
    """
    from cryptography.exceptions import InvalidSignature

    if not isinstance(manifest_bytes, (bytes, bytearray)) or not isinstance(signature, (bytes, bytearray)):
        raise UpdateRefused("malformed", "refused: the manifest and its signature must be bytes.")
    if len(manifest_bytes) > MAX_MANIFEST_BYTES:
        raise UpdateRefused(
            "too_large",
            f"refused: the manifest is {len(manifest_bytes)} bytes, "
            f"more than the {MAX_MANIFEST_BYTES} the device accepts.",
        )
    if not any(signature):
        raise UpdateRefused("unsigned", "refused: the update is unsigned.")
    if len(signature) != SIGNATURE_BYTES:
        raise UpdateRefused(
            "bad_signature", f"refused: the signature is {len(signature)} bytes, not {SIGNATURE_BYTES}."
        )
    try:
        public_key.verify(bytes(signature), bytes(manifest_bytes))
    except InvalidSignature:
        raise UpdateRefused(
            "bad_signature", "refused: the signature does not match the manifest (tampered or wrong key)."
        ) from None
    manifest = Manifest.parse(bytes(manifest_bytes))
    if manifest.counter <= installed_counter:
        raise UpdateRefused(
            "rollback",
            f"refused: counter {manifest.counter} is not above the installed counter "
            f"{installed_counter} (a replayed or rolled-back update).",
        )
    return manifest


def check_payload(manifest: Manifest, payload: bytes) -> None:
    """Raise :class:`UpdateRefused` unless ``payload`` is complete and matches the manifest's hash."""
    if len(payload) != manifest.payload_bytes:
        raise UpdateRefused(
            "bad_payload",
            f"refused: the payload is {len(payload)} bytes, the manifest says "
            f"{manifest.payload_bytes} (the transfer was cut).",
        )
    if sha256(payload) != manifest.payload_sha256:
        raise UpdateRefused(
            "bad_payload", "refused: the payload's SHA-256 does not match the manifest (tampered in transit)."
        )
