"""Deployment architectures, as small simulations you can run and change.

Multi-tenancy — several models on one device or one fleet:

``simulate_schedule``   one core, several models with periods and deadlines: round-robin vs priority
``shared_arena_plan``   models that never run at the same time can share their arenas' activation memory
``place_models``        which model on which device of a mixed fleet, under memory and latency limits

Cascades — a tiny always-on model gating a larger one:

``cascade_outcome``     accuracy, escalation rate and average compute at one confidence threshold
``cascade_sweep``       the same for many thresholds (``plot_cascade_sweep`` draws it)
``Cascade``             run it: the large model sees only the inputs the small one is unsure of

Modules: ``scheduling``, ``arena``, ``placement``, ``cascades``. Staged rollouts of an update
across a fleet are in :mod:`scaledown.operate.updates.rollout`.
"""

from scaledown.deploy.architectures.arena import ArenaPlan, shared_arena_plan  # noqa: F401
from scaledown.deploy.architectures.cascades import (  # noqa: F401
    Cascade,
    cascade_outcome,
    cascade_sweep,
    pick_threshold,
    plot_cascade_sweep,
    softmax,
)
from scaledown.deploy.architectures.placement import Placement, Workload, place_models  # noqa: F401
from scaledown.deploy.architectures.scheduling import POLICIES, ScheduleResult, Tenant, plot_schedule, simulate_schedule  # noqa: F401
