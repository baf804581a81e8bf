"""A/B slots: a device that never ends without a working model.

The device keeps two model slots. It runs the *active* one and writes an update into
the *other*; only when the new model is complete, matches its signed hashes and passes
a health check does one atomic step — flipping ``active`` — make it the running model.
Everything that can go wrong before that step leaves the active slot untouched:

=============================  ==============================================
what happens                   the device
=============================  ==============================================
manifest unsigned / tampered   refuses before taking a byte of payload
counter not above installed    refuses (replay or rollback attack)
transfer cut at any byte       keeps the old model; the inactive slot is junk
payload tampered in transit    refuses (hash mismatch), keeps the old model
new model fails health check   rolls back to the old model
=============================  ==============================================

An update on the wire is ``len(manifest) (4 bytes) | signed manifest | payload`` —
:meth:`Update.wire` — so a cut at any byte is one slice: ``update.wire()[:k]``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from scaledown.updates import delta as _delta
from scaledown.updates.signing import Manifest, UpdateRefused, check_payload, sha256, sign, verify


@dataclass(frozen=True)
class Update:
    """A signed manifest and its payload, as the vendor publishes them."""

    signed_manifest: bytes
    payload: bytes

    def wire(self) -> bytes:
        """The bytes that travel: 4-byte manifest length, the signed manifest, the payload."""
        return struct.pack("<I", len(self.signed_manifest)) + self.signed_manifest + self.payload

    @staticmethod
    def from_wire(data: bytes) -> "Update":
        """Split received bytes; raise :class:`UpdateRefused` if even the manifest is incomplete."""
        if len(data) < 4:
            raise UpdateRefused("refused: the transfer was cut before the manifest arrived.")
        (n,) = struct.unpack("<I", data[:4])
        if len(data) < 4 + n:
            raise UpdateRefused("refused: the transfer was cut inside the manifest.")
        return Update(bytes(data[4:4 + n]), bytes(data[4 + n:]))


def make_update(base: dict, new: dict, private_key, *, counter: int, version: str, model: str = "model",
                kind: str = "delta") -> Update:
    """Sign an update that turns weights ``base`` into ``new``: only changed tensors (``kind="delta"``) or all (``"full"``)."""
    if kind not in ("delta", "full"):
        raise ValueError(f"kind={kind!r} is not an update kind; use 'delta' or 'full'.")
    tensors = _delta.make_delta(base, new) if kind == "delta" else new
    payload = _delta.pack(tensors)
    manifest = Manifest(model=model, version=version, counter=int(counter), kind=kind,
                        payload_sha256=sha256(payload), payload_bytes=len(payload),
                        target_sha256=_delta.weights_sha256(new),
                        base_sha256=_delta.weights_sha256(base) if kind == "delta" else "",
                        tensors=tuple(sorted(tensors)))
    return Update(sign(manifest, private_key), payload)


class ABDevice:
    """A device with two model slots, a public key and a health check (in memory).

    Parameters
    ----------
    weights : dict {name: np.ndarray}
        The factory model, installed in slot A.
    public_key : Ed25519PublicKey
        The vendor's key; only updates it verifies are accepted.
    health_check : callable(weights) -> bool
        Run on a new model before it becomes active (e.g. accuracy on a few stored
        samples ≥ a floor, outputs finite).
    counter : int
        The anti-rollback counter of the factory model.
    """

    def __init__(self, weights: dict, public_key, health_check, counter: int = 0):
        self.slots = {"A": _delta.pack(weights), "B": b""}
        self.hashes = {"A": _delta.weights_sha256(weights), "B": ""}
        self.active = "A"
        self.counter = int(counter)
        self.public_key, self.health_check = public_key, health_check
        self.log: list[str] = []
        self._healthy: dict[str, bool] = {}  # model hash -> health-check result, so re-checks stay cheap

    @property
    def inactive(self) -> str:
        return "B" if self.active == "A" else "A"

    def weights(self) -> dict:
        """The running model's weights."""
        return _delta.unpack(self.slots[self.active])

    def has_working_model(self) -> bool:
        """Does the active slot hold a complete model, with the hash it was installed with, that passes the health check?"""
        try:
            weights = self.weights()
        except ValueError:
            return False
        digest = _delta.weights_sha256(weights)
        if digest != self.hashes[self.active]:
            return False
        if digest not in self._healthy:
            self._healthy[digest] = bool(self.health_check(weights))
        return self._healthy[digest]

    def receive(self, data: bytes) -> str:
        """Install the update in ``data`` (bytes as received, maybe cut); return what happened in one sentence.

        Never raises for a bad update: a refusal is logged and returned (starting
        ``"refused"`` or ``"rolled back"``); success returns ``"installed ..."``.
        """
        try:
            message = self._install(data)
        except UpdateRefused as exc:
            message = str(exc)
        self.log.append(message)
        return message

    def _install(self, data: bytes) -> str:
        update = Update.from_wire(data)
        manifest: Manifest = verify(update.signed_manifest, self.public_key, self.counter)
        slot = self.inactive
        self.slots[slot], self.hashes[slot] = b"", ""           # erase the inactive slot
        self.slots[slot] = update.payload                      # stream into it (maybe cut short)
        check_payload(manifest, self.slots[slot])
        try:
            tensors = _delta.unpack(self.slots[slot])
        except ValueError as exc:
            raise UpdateRefused(f"refused: {exc}") from None
        if manifest.kind == "delta":
            base = self.weights()
            if _delta.weights_sha256(base) != manifest.base_sha256:
                raise UpdateRefused("refused: the delta was made for another model than the one installed.")
            new = _delta.apply_delta(base, tensors)
        else:
            new = tensors
        if _delta.weights_sha256(new) != manifest.target_sha256:
            raise UpdateRefused("refused: the model built from the update does not match the manifest's hash.")
        self.slots[slot], self.hashes[slot] = _delta.pack(new), manifest.target_sha256
        if not self.health_check(new):                         # trial boot of the new slot
            raise UpdateRefused(f"rolled back: version {manifest.version} failed its health check; "
                                f"slot {self.active} keeps running.")
        self.active, self.counter = slot, manifest.counter      # the one atomic step
        return f"installed version {manifest.version} (counter {manifest.counter}) in slot {slot}."

    def __repr__(self) -> str:
        return f"ABDevice(active={self.active}, counter={self.counter})"
