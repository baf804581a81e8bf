"""A/B slots on flash: a device that never ends without a working model.

The device keeps two model slots in flash and a small boot record (two copies, each with
a sequence number and a CRC, so a record torn by a power cut is ignored and the other
copy wins — as MCUboot keeps its swap status). It runs the *active* slot and writes an
update into the *other*; the image's header, with its length and SHA-256, is written
last, so a half-written image is never mistaken for a model. Then the record marks the
new slot for a *trial* boot. At each boot the bootloader counts the attempt first and
runs the health check; a pass *confirms* the new slot (the one step that makes it
active and raises the anti-rollback counter); after three failed attempts it rolls
back to the old slot, as greenboot and Mender do.

=============================  ==============================================
what happens                   the device
=============================  ==============================================
update larger than the caps    refuses before reading further
manifest unsigned / tampered   refuses before parsing it or taking payload
counter not above installed    refuses (replay or rollback attack)
delta for another model        refuses before writing a byte
transfer cut at any byte       refuses; the old model keeps running
payload tampered in transit    refuses (hash mismatch), keeps the old model
power cut at any flash write   boots the old model, or the new one if confirmed
new model fails health check   rolled back after three boots
=============================  ==============================================

An update on the wire is ``MAGIC | manifest length | payload length | signature |
manifest | payload`` (:meth:`Update.wire`), so a cut at any byte is one slice:
``update.wire()[:k]``.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass

from scaledown.operate.updates import delta as _delta
from scaledown.operate.updates.flash import Flash, PowerCut
from scaledown.operate.updates.signing import (
    MAX_MANIFEST_BYTES,
    SIGNATURE_BYTES,
    Manifest,
    UpdateRefused,
    check_payload,
    sha256,
    sign,
    verify,
)

WIRE_MAGIC = b"SDU2"
_WIRE_HEAD = struct.Struct("<4sII")  # magic, manifest length, payload length
IMAGE_MAGIC = b"SDI1"
_IMAGE_HEAD = struct.Struct("<4sI32s")  # magic, image length, SHA-256 of the image
MAX_PAYLOAD_BYTES = 1 << 20  # the slot size: larger updates are refused unread
BOOT_ATTEMPTS = 3


@dataclass(frozen=True)
class Update:
    """A manifest, its detached Ed25519 signature and the payload, as the vendor publishes them."""

    manifest: bytes
    signature: bytes
    payload: bytes

    def wire(self) -> bytes:
        """The bytes that travel."""
        return (
            _WIRE_HEAD.pack(WIRE_MAGIC, len(self.manifest), len(self.payload))
            + self.signature
            + self.manifest
            + self.payload
        )

    @staticmethod
    def from_wire(data: bytes, max_payload_bytes: int = MAX_PAYLOAD_BYTES) -> "Update":
        """Split received bytes, checking the lengths against the caps first; :class:`UpdateRefused` if they are wrong."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise UpdateRefused("malformed", f"refused: an update is bytes, not {type(data).__name__}.")
        data = bytes(data)
        if data[:4] != WIRE_MAGIC[: len(data[:4])]:
            raise UpdateRefused("malformed", "refused: these bytes do not start like an update.")
        if len(data) < _WIRE_HEAD.size:
            raise UpdateRefused("cut", "refused: the transfer was cut before the update's header arrived.")
        _, manifest_bytes, payload_bytes = _WIRE_HEAD.unpack_from(data)
        if manifest_bytes > MAX_MANIFEST_BYTES:
            raise UpdateRefused(
                "too_large",
                f"refused: the manifest would be {manifest_bytes} bytes, more than "
                f"the {MAX_MANIFEST_BYTES} the device accepts.",
            )
        if payload_bytes > max_payload_bytes:
            raise UpdateRefused(
                "too_large",
                f"refused: the payload would be {payload_bytes} bytes, more than the {max_payload_bytes} a slot holds.",
            )
        start = _WIRE_HEAD.size
        end = start + SIGNATURE_BYTES + manifest_bytes + payload_bytes
        if len(data) < end:
            raise UpdateRefused("cut", f"refused: the transfer was cut after {len(data)} of {end} bytes.")
        if len(data) > end:
            raise UpdateRefused("malformed", f"refused: {len(data) - end} bytes follow the update.")
        signature = data[start : start + SIGNATURE_BYTES]
        manifest = data[start + SIGNATURE_BYTES : start + SIGNATURE_BYTES + manifest_bytes]
        return Update(manifest, signature, data[end - payload_bytes : end])


def make_update(
    base: dict, new: dict, private_key, *, counter: int, version: str, model: str = "model", kind: str = "delta"
) -> Update:
    """Sign an update that turns weights ``base`` into ``new``: only changed tensors (``kind="delta"``) or all (``"full"``)."""
    if kind not in ("delta", "full"):
        raise ValueError(f"kind={kind!r} is not an update kind; use 'delta' or 'full'.")
    tensors = _delta.make_delta(base, new) if kind == "delta" else new
    payload = _delta.pack(tensors)
    manifest = Manifest(
        model=model,
        version=version,
        counter=int(counter),
        kind=kind,
        payload_sha256=sha256(payload),
        payload_bytes=len(payload),
        target_sha256=_delta.weights_sha256(new),
        base_sha256=_delta.weights_sha256(base) if kind == "delta" else "",
        tensors=tuple(sorted(tensors)),
    )
    manifest_bytes, signature = sign(manifest, private_key)
    return Update(manifest_bytes, signature, payload)


class ABDevice:
    """A device with two model slots and a boot record in (simulated) flash, a public key and a health check.

    Parameters
    ----------
    weights : dict {name: np.ndarray}
        The factory model, programmed into slot A.
    public_key : Ed25519PublicKey
        The vendor's key; only updates it verifies are accepted.
    health_check : callable(weights) -> bool
        Run at each trial boot of a new model (e.g. accuracy on a few stored samples
        at least a floor, outputs finite).
    counter : int
        The anti-rollback counter of the factory model.
    flash : Flash or None
        Where slots and boot record live (a new :class:`Flash` by default); pass one
        with ``cut_after`` to cut power in the middle of an update.
    max_payload_bytes : int
        The slot size: a larger update is refused before it is read.
    """

    def __init__(
        self,
        weights: dict,
        public_key,
        health_check,
        counter: int = 0,
        *,
        flash: Flash | None = None,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        boot_attempts: int = BOOT_ATTEMPTS,
    ):
        self.flash = flash if flash is not None else Flash()
        self.public_key, self.health_check = public_key, health_check
        self.max_payload_bytes, self.boot_attempts = int(max_payload_bytes), int(boot_attempts)
        self.log: list[str] = []
        self._healthy: dict[str, bool] = {}  # model hash -> health-check result, so re-checks stay cheap
        self._write_image("A", _delta.pack(weights))  # factory programming
        self._write_record(
            {"seq": 1, "active": "A", "counter": int(counter), "trial": "", "trial_counter": 0, "attempts": 0}
        )
        self._boot()

    # ----- what the running device knows -----
    @property
    def active(self) -> str:
        return self.record["active"]

    @property
    def inactive(self) -> str:
        return "B" if self.active == "A" else "A"

    @property
    def counter(self) -> int:
        return self.record["counter"]

    def weights(self) -> dict:
        """The running model's weights."""
        if self._running is None:
            raise ValueError("the device has no model to run (both slots unreadable).")
        return self._running

    def has_working_model(self) -> bool:
        """Does the active slot hold a complete model, with its header's hash, that passes the health check?"""
        return self._running is not None and self._is_healthy(self._running)

    def _is_healthy(self, weights: dict) -> bool:
        digest = _delta.weights_sha256(weights)
        if digest not in self._healthy:
            try:
                self._healthy[digest] = bool(self.health_check(weights))
            except PowerCut:
                raise  # the device died (or its watchdog fired) while trying the model: the next boot counts it
            except Exception:  # noqa: BLE001 - a model that crashes its health check is not healthy
                self._healthy[digest] = False
        return self._healthy[digest]

    # ----- flash layout: two slots (header page last) and two boot-record copies -----
    def _write_image(self, slot: str, image: bytes) -> None:
        size = self.flash.page_size
        self.flash.erase(slot, 0)  # invalidate the slot first
        for index, start in enumerate(range(0, len(image), size), start=1):
            self.flash.write(slot, index, image[start : start + size])
        header = _IMAGE_HEAD.pack(IMAGE_MAGIC, len(image), bytes.fromhex(sha256(image)))
        self.flash.write(slot, 0, header)  # valid only once complete

    def _read_image(self, slot: str) -> bytes | None:
        magic, length, digest = _IMAGE_HEAD.unpack_from(self.flash.read(slot, 0))
        if magic != IMAGE_MAGIC or length > self.max_payload_bytes:
            return None
        size = self.flash.page_size
        image = b"".join(self.flash.read(slot, i) for i in range(1, -(-length // size) + 1))[:length]
        return image if sha256(image) == digest.hex() else None

    def _read_weights(self, slot: str) -> dict | None:
        image = self._read_image(slot)
        if image is None:
            return None
        try:
            return _delta.unpack(image)
        except ValueError:
            return None

    def _write_record(self, record: dict) -> None:
        body = json.dumps(record, sort_keys=True).encode()
        page = struct.pack("<I", len(body)) + body + struct.pack("<I", zlib.crc32(body))
        self.flash.write("boot", record["seq"] % 2, page)
        self.record = record

    def _read_records(self) -> list:
        records = []
        for index in (0, 1):
            page = self.flash.read("boot", index)
            (length,) = struct.unpack_from("<I", page)
            if length > len(page) - 8:
                continue
            body, (crc,) = page[4 : 4 + length], struct.unpack_from("<I", page, 4 + length)
            if zlib.crc32(body) == crc:
                records.append(json.loads(body))
        return records

    # ----- the bootloader -----
    def reboot(self) -> "ABDevice":
        """Power comes back: forget everything in RAM and boot from what flash holds."""
        self.flash.power_on()
        self._boot()
        return self

    def _boot(self) -> str:
        """Boot from flash; return ``"booted"``, ``"confirmed"`` or ``"rolled back"``."""
        records = self._read_records()
        if not records:
            self.record, self._running = (
                {"seq": 0, "active": "A", "counter": 0, "trial": "", "trial_counter": 0, "attempts": 0},
                None,
            )
            return "no boot record"
        record, outcome = max(records, key=lambda r: r["seq"]), "booted"
        self.record = record
        while record["trial"]:
            if record["attempts"] >= self.boot_attempts:  # never confirmed: back to the old slot
                record = {**record, "seq": record["seq"] + 1, "trial": "", "trial_counter": 0, "attempts": 0}
                self._write_record(record)
                outcome = "rolled back"
                break
            record = {**record, "seq": record["seq"] + 1, "attempts": record["attempts"] + 1}
            self._write_record(record)  # count the attempt before trying
            trial = self._read_weights(record["trial"])
            if trial is not None and self._is_healthy(trial):  # confirm: the one step that switches
                record = {
                    **record,
                    "seq": record["seq"] + 1,
                    "active": record["trial"],
                    "counter": record["trial_counter"],
                    "trial": "",
                    "trial_counter": 0,
                    "attempts": 0,
                }
                self._write_record(record)
                outcome = "confirmed"
                break
            # the health check failed: the watchdog resets the device and the loop boots again
        self._running = self._read_weights(record["active"])
        return outcome

    # ----- receiving an update -----
    def receive(self, data: bytes) -> str:
        """Install the update in ``data`` (bytes as received, maybe cut); return what happened in one sentence.

        Never raises for a bad update: a refusal is logged and returned (starting
        ``"refused"`` or ``"rolled back"``, with the reason in :attr:`last_refusal`);
        success returns ``"installed ..."``. A :class:`~scaledown.operate.updates.flash.PowerCut`
        from the flash does propagate: the device is off until :meth:`reboot`.
        """
        self.last_refusal = None
        try:
            message = self._install(data)
        except UpdateRefused as exc:
            message, self.last_refusal = str(exc), exc.reason
        self.log.append(message)
        return message

    def _install(self, data: bytes) -> str:
        update = Update.from_wire(data, self.max_payload_bytes)
        manifest: Manifest = verify(update.manifest, update.signature, self.public_key, self.counter)
        if manifest.payload_bytes > self.max_payload_bytes:
            raise UpdateRefused(
                "too_large",
                f"refused: the payload is {manifest.payload_bytes} bytes, more than "
                f"the {self.max_payload_bytes} a slot holds.",
            )
        if manifest.kind == "delta" and _delta.weights_sha256(self.weights()) != manifest.base_sha256:
            raise UpdateRefused("wrong_base", "refused: the delta was made for another model than the one installed.")
        check_payload(manifest, update.payload)
        try:
            tensors = _delta.unpack(update.payload)
            new = _delta.apply_delta(self.weights(), tensors) if manifest.kind == "delta" else tensors
        except ValueError as exc:
            raise UpdateRefused("bad_payload", f"refused: {exc}") from None
        if _delta.weights_sha256(new) != manifest.target_sha256:
            raise UpdateRefused(
                "bad_payload", "refused: the model built from the update does not match the manifest's hash."
            )
        image, slot = _delta.pack(new), self.inactive
        if len(image) > self.max_payload_bytes:
            raise UpdateRefused(
                "too_large",
                f"refused: the new model is {len(image)} bytes, more than the {self.max_payload_bytes} a slot holds.",
            )
        self._write_image(slot, image)
        self._write_record(
            {
                **self.record,
                "seq": self.record["seq"] + 1,
                "trial": slot,
                "trial_counter": manifest.counter,
                "attempts": 0,
            }
        )
        if self._boot() != "confirmed":
            raise UpdateRefused(
                "health_check",
                f"rolled back: version {manifest.version} failed its health check "
                f"on {self.boot_attempts} boots; slot {self.active} keeps running.",
            )
        return f"installed version {manifest.version} (counter {manifest.counter}) in slot {slot}."

    def __repr__(self) -> str:
        return f"ABDevice(active={self.active}, counter={self.counter})"
