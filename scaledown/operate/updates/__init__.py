"""Safe over-the-air model updates: signed manifests, partial (delta) updates, A/B slots.

    from scaledown.operate import updates
    private_key, public_key = updates.generate_keypair()
    device = updates.ABDevice(old_weights, public_key, health_check)
    update = updates.make_update(old_weights, new_weights, private_key, counter=1, version="1.1")
    print(device.receive(update.wire()))          # installed version 1.1 (counter 1) in slot B.
    print(device.receive(update.wire()))          # refused: counter 1 is not above ... (replayed)

Modules: ``signing`` (Ed25519 detached signatures over the manifest's bytes, strict
parsing, anti-rollback counter), ``delta`` (changed tensors only, hashes, radio cost),
``flash`` (simulated flash that can lose power at any write), ``slots`` (A/B slots and
boot record in flash, trial boots, health check, rollback), ``rollout`` (a fleet-wide update
in waves: a canary first, then growing waves; what a canary saves when the new version is bad).
"""

from scaledown.operate.updates.delta import (  # noqa: F401
    apply_delta,
    make_delta,
    pack,
    tensor_sha256,
    transfer_cost,
    unpack,
    weights_sha256,
)
from scaledown.operate.updates.flash import Flash, PowerCut  # noqa: F401
from scaledown.operate.updates.rollout import rollout_waves, simulate_rollout  # noqa: F401
from scaledown.operate.updates.signing import REASONS, Manifest, UpdateRefused, generate_keypair, sign, verify  # noqa: F401
from scaledown.operate.updates.slots import ABDevice, Update, make_update  # noqa: F401
