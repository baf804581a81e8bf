"""Constraints checked before any training: the untrained candidate, profiled as int8 for the target."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from scaledown.compress.nas.space import Candidate, _is_number
from scaledown.foundations.hardware.targets import format_bytes, get_target
from scaledown.foundations.models.spec import ArchitectureSpec


@dataclass(frozen=True)
class Feasibility:
    """What :meth:`Constraints.check` found for one candidate.

    Sizes are judged for the constraints' ``dtype`` (int8 by default): ``peak_ram_bytes``
    is the peak of the activations alive at once (the tensor arena's lower bound),
    ``flash_bytes`` the weights (int8 weights, int32 biases), both without the
    target's reserved memory. ``reasons`` says, one sentence per broken limit, why
    the candidate is rejected; it is empty when ``ok``.
    """

    ok: bool
    reasons: tuple
    peak_ram_bytes: int
    flash_bytes: int
    latency_s: float
    macs: int
    parameters: int


@dataclass(frozen=True)
class Constraints:
    """The limits a candidate must meet to be worth training.

    Parameters
    ----------
    target : str or Target, default "nano33ble"
        Board from :func:`scaledown.list_targets`: its SRAM and flash, less the
        memory it reserves for everything but the model.
    dtype : {"int8", "float32"}, default "int8"
        Precision the model will ship in. The search assumes int8: the model found
        is quantized (chapter 2) before deployment, so its weights take 1 byte and
        its activations 1 byte each.
    max_latency_s : float, optional
        Budget for the profiler's estimated latency per inference; ``None`` for none.
    num_classes, channels : int
        Output classes and input channels of the networks built from candidates.
    """

    target: object = "nano33ble"
    dtype: str = "int8"
    max_latency_s: Optional[float] = None
    num_classes: int = 10
    channels: int = 1
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "target", get_target(self.target))
        if self.dtype not in ("int8", "float32"):
            raise ValueError(f"dtype={self.dtype!r} is not valid; use 'int8' or 'float32'.")
        if self.max_latency_s is not None and not (_is_number(self.max_latency_s) and self.max_latency_s > 0):
            raise ValueError(f"max_latency_s={self.max_latency_s!r} is not valid; use seconds > 0 or None.")

    @property
    def ram_limit_bytes(self) -> int:
        """SRAM left for the tensor arena: the target's RAM less its reserved RAM."""
        return self.target.ram_bytes - self.target.reserved_ram_bytes

    @property
    def flash_limit_bytes(self) -> int:
        """Flash left for the weights: the target's flash less its reserved flash."""
        return self.target.flash_bytes - self.target.reserved_flash_bytes

    def check(self, candidate) -> Feasibility:
        """Profile ``candidate`` (a :class:`Candidate` or an ``ArchitectureSpec``) untrained and judge it.

        The network is built in PyTorch with random weights — the profile depends
        on the architecture only — and read by :func:`scaledown.profile` with
        ``dtype=self.dtype``. Results are cached by architecture.
        """
        if isinstance(candidate, Candidate):
            key, spec = candidate.key(), candidate.spec(self.num_classes, self.channels)
        elif isinstance(candidate, ArchitectureSpec):
            key, spec = candidate, candidate
        else:
            raise ValueError(
                f"candidate is a {type(candidate).__name__}; pass a nas.Candidate or a models.ArchitectureSpec."
            )
        if key not in self._cache:
            self._cache[key] = self._judge(spec)
        return self._cache[key]

    def _judge(self, spec: ArchitectureSpec) -> Feasibility:
        from scaledown.foundations.hardware import profile
        from scaledown.foundations.models import build

        height, width, channels = spec.input_shape
        report = profile(
            build(spec, "torch"), target=self.target, input_shape=(1, channels, height, width), dtype=self.dtype
        )
        int8 = self.dtype == "int8"
        ram = report.int8_peak_activation_bytes if int8 else report.peak_activation_bytes
        flash = report.int8_flash_bytes if int8 else report.flash_bytes
        t, reasons = self.target, []
        if report.unsupported_ops:
            reasons.append(f"ops: {', '.join(report.unsupported_ops)} not supported on {t.id}")
        if ram > self.ram_limit_bytes:
            reasons.append(
                f"RAM: {format_bytes(ram)} of {self.dtype} activations + "
                f"{format_bytes(t.reserved_ram_bytes)}"
                f" reserved is {format_bytes(ram - self.ram_limit_bytes)} over the "
                f"{format_bytes(t.ram_bytes)} of {t.id}"
            )
        if flash > self.flash_limit_bytes:
            reasons.append(
                f"flash: {format_bytes(flash)} of {self.dtype} weights + "
                f"{format_bytes(t.reserved_flash_bytes)} reserved is "
                f"{format_bytes(flash - self.flash_limit_bytes)} over the {format_bytes(t.flash_bytes)}"
                f" of {t.id}"
            )
        latency = report.estimated_latency_s
        if self.max_latency_s is not None and latency > self.max_latency_s:
            reasons.append(
                f"latency: about {latency * 1000:.1f} ms per inference on {t.id}, over the "
                f"{self.max_latency_s * 1000:g} ms budget"
            )
        return Feasibility(
            ok=not reasons,
            reasons=tuple(reasons),
            peak_ram_bytes=int(ram),
            flash_bytes=int(flash),
            latency_s=float(latency),
            macs=int(report.macs),
            parameters=int(report.parameters),
        )
