"""``profile``: will this model run on that board, and what would it take?

It answers the four questions of the training chapter for one model and one
target: (1) does the runtime support every op, (2) does it fit flash and RAM
and how fast would it run, (3) can the model's framework reach the board,
(4) what can training do to limit the accuracy lost to optimisation.
"""

from dataclasses import dataclass, field
from typing import Any

from scaledown.foundations.hardware.graph import (
    FOLDED,
    Graph,
    activation_bytes_per_op,
    bytes_by_dtype,
    count_macs,
    count_params,
    int8_weight_bytes,
    peak_activation_bytes,
)
from scaledown.foundations.hardware.readers import read_graph
from scaledown.foundations.hardware.targets import Target, format_bytes, get_target

_FRAMEWORK_NAMES = {"keras": "Keras", "pytorch": "PyTorch", "tflite": "TensorFlow Lite", "onnx": "ONNX"}


@dataclass
class Profile:
    """What :func:`profile` found; print it, or show it in a notebook.

    Sizes are bytes; ``int8_*`` fields estimate a full-int8 conversion.
    ``dtype`` is the precision the fits and the latency are judged for.
    """

    target: Target
    framework: str
    dtype: str
    parameters: int
    macs: int
    flash_bytes_by_dtype: dict
    flash_bytes: int
    int8_flash_bytes: int
    peak_activation_bytes: int
    peak_activation_op: str
    int8_peak_activation_bytes: int
    ops: dict
    unsupported_ops: list
    runtime: str
    fits_flash: bool
    fits_ram: bool
    estimated_latency_s: float
    verdict: list
    graph: Graph = field(repr=False, compare=False, default=None)

    @property
    def activation_bytes_per_op(self) -> list:
        """Bytes of activations alive while each op runs, in execution order (for a plot)."""
        return [nbytes for _, nbytes in activation_bytes_per_op(self.graph)]

    @property
    def ok(self) -> bool:
        """True when every op is supported and the model fits flash and RAM."""
        return not self.unsupported_ops and self.fits_flash and self.fits_ram

    def to_dict(self) -> dict:
        """Plain JSON-serialisable values (the target as its id, no graph)."""
        return {
            "target": self.target.id,
            "framework": self.framework,
            "dtype": self.dtype,
            "parameters": self.parameters,
            "macs": self.macs,
            "flash_bytes_by_dtype": dict(self.flash_bytes_by_dtype),
            "flash_bytes": self.flash_bytes,
            "int8_flash_bytes": self.int8_flash_bytes,
            "peak_activation_bytes": self.peak_activation_bytes,
            "peak_activation_op": self.peak_activation_op,
            "int8_peak_activation_bytes": self.int8_peak_activation_bytes,
            "ops": dict(self.ops),
            "unsupported_ops": list(self.unsupported_ops),
            "runtime": self.runtime,
            "fits_flash": self.fits_flash,
            "fits_ram": self.fits_ram,
            "estimated_latency_s": round(self.estimated_latency_s, 6),
            "ok": self.ok,
            "verdict": list(self.verdict),
        }

    def _rows(self) -> list:
        t = self.target
        return [
            ("target", f"{t.id}: {t.name}, {t.processor} @ {t.clock_hz / 1e6:g} MHz"),
            ("model", f"{_FRAMEWORK_NAMES[self.framework]}, judged as {self.dtype}"),
            ("parameters", f"{self.parameters:,}"),
            ("MACs", f"{self.macs:,}"),
            (
                "weights",
                ", ".join(f"{format_bytes(n)} {d}" for d, n in self.flash_bytes_by_dtype.items())
                + f" (int8: {format_bytes(self.int8_flash_bytes)})",
            ),
            (
                "peak activations",
                f"{format_bytes(self.peak_activation_bytes)} at {self.peak_activation_op}"
                + f" (int8: {format_bytes(self.int8_peak_activation_bytes)})",
            ),
            ("fits flash", _yes(self.fits_flash)),
            ("fits RAM", _yes(self.fits_ram)),
            ("latency (est.)", _format_seconds(self.estimated_latency_s)),
            ("ops", ", ".join(f"{name} x{n}" for name, n in self.ops.items())),
            ("unsupported ops", ", ".join(self.unsupported_ops) or "none"),
        ]

    def __str__(self) -> str:
        rows = self._rows()
        width = max(len(label) for label, _ in rows)
        lines = [f"{label.ljust(width)}  {value}" for label, value in rows]
        return "\n".join(lines + ["verdict:"] + [f"  - {line}" for line in self.verdict])

    def _repr_markdown_(self) -> str:
        lines = ["| | |", "|---|---|"] + [f"| {label} | {value} |" for label, value in self._rows()]
        return "\n".join(lines + ["", "**Verdict**", ""] + [f"- {line}" for line in self.verdict])


def _format_seconds(seconds: float) -> str:
    """``0.00298`` -> ``'3.0 ms'``; µs below 0.1 ms, seconds from 1 s up."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms" if seconds >= 1e-4 else f"{seconds * 1e6:.1f} µs"


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


def profile(
    model: Any, target: str | Target = "nano33ble", input_shape: tuple | None = None, dtype: str | None = None
) -> Profile:
    """Profile a model against a target board.

    Parameters
    ----------
    model : keras.Model, torch.nn.Module, onnx.ModelProto, bytes, str or Path
        The model, or a ``.tflite`` / ``.onnx`` file; see :func:`read_graph`.
    target : str or Target, default "nano33ble"
        A target id or alias from :func:`list_targets`.
    input_shape : tuple of int, optional
        Example input shape with batch 1, e.g. ``(1, 1, 32, 32)``; PyTorch models need it.
    dtype : {"float32", "int8"}, optional
        Judge fits and latency as if the model were stored in this precision;
        by default, the precision its weights have now.

    Returns
    -------
    Profile
        Numbers, fits and a verdict; ``print`` it or show it in a notebook.
    """
    target = get_target(target)
    graph = read_graph(model, input_shape=input_shape)
    weight_bytes = bytes_by_dtype(graph)
    stored_dtype = (
        "int8"
        if weight_bytes.get("int8", 0) + weight_bytes.get("uint8", 0)
        > weight_bytes.get("float32", 0) + weight_bytes.get("float16", 0)
        else "float32"
    )
    if dtype not in (None, "float32", "int8"):
        raise ValueError(f"dtype must be None, 'float32' or 'int8', not {dtype!r}.")
    dtype = dtype or stored_dtype
    flash_bytes = sum(weight_bytes.values())
    peak, peak_op = peak_activation_bytes(graph)
    int8_peak = peak if stored_dtype == "int8" else peak // 4
    int8_flash = int8_weight_bytes(graph)
    ops = {}
    for op in graph.ops:
        if op.type != FOLDED:
            ops[op.type] = ops.get(op.type, 0) + 1
    unsupported = [] if target.ops is None else [o for o in ops if o not in target.ops]
    model_flash, model_ram = (
        (int8_flash, int8_peak) if dtype == "int8" and stored_dtype != "int8" else (flash_bytes, peak)
    )
    macs = count_macs(graph)
    result = Profile(
        target=target,
        framework=graph.format,
        dtype=dtype,
        parameters=count_params(graph),
        macs=macs,
        flash_bytes_by_dtype=weight_bytes,
        flash_bytes=flash_bytes,
        int8_flash_bytes=int8_flash,
        peak_activation_bytes=peak,
        peak_activation_op=peak_op,
        int8_peak_activation_bytes=int8_peak,
        ops=ops,
        unsupported_ops=unsupported,
        runtime=_runtime(graph.format, target),
        fits_flash=model_flash + target.reserved_flash_bytes <= target.flash_bytes,
        fits_ram=model_ram + target.reserved_ram_bytes <= target.ram_bytes,
        estimated_latency_s=macs / target.macs_per_s(dtype),
        verdict=[],
        graph=graph,
    )
    result.verdict = _verdict(result, model_flash, model_ram, stored_dtype)
    return result


def _runtime(framework: str, target: Target) -> str:
    """Question 3: can this framework's models reach this board, and how?"""
    if framework == "keras":
        runtime = "TFLite Micro" if target.is_microcontroller else "LiteRT"
        return f"Keras models convert to .tflite (tf.lite.TFLiteConverter) and run on {runtime}."
    if framework == "tflite":
        return "Runs as is on " + (
            "TFLite Micro (as a C array)." if target.is_microcontroller else "LiteRT (ai_edge_litert)."
        )
    if framework == "pytorch" and target.is_microcontroller:
        return (
            "PyTorch does not run on TFLite Micro: export to ONNX and convert to .tflite "
            "(e.g. onnx2tf or ai-edge-torch), or rebuild the model in Keras."
        )
    if framework == "pytorch":
        return "PyTorch runs on this board; for speed export to ONNX (torch.onnx.export) for ONNX Runtime."
    if target.is_microcontroller:
        return "ONNX does not run on TFLite Micro: convert it to .tflite first (e.g. with onnx2tf)."
    return "Runs with ONNX Runtime (or OpenVINO)."


def _fit_line(what, model_bytes, reserved, capacity, fits) -> str:
    used = model_bytes + reserved
    text = f"{what} {format_bytes(model_bytes)} + {format_bytes(reserved)} reserved of {format_bytes(capacity)}"
    if fits:
        return f"{text}: fits"
    return f"{text}: does not fit, {format_bytes(used - capacity)} ({used - capacity:,} bytes) over"


def _verdict(p: Profile, model_flash, model_ram, stored_dtype) -> list:
    t = p.target
    lines = []
    if p.unsupported_ops:
        lines.append(
            f"(1) Ops: {', '.join(p.unsupported_ops)} not supported by "
            f"{t.runtimes[0]} on {t.id}: replace them (e.g. with RELU6 or HARD_SWISH) "
            "or write a custom kernel."
        )
    else:
        lines.append(f"(1) Ops: all {len(p.ops)} op type{'s are' if len(p.ops) != 1 else ' is'} supported on {t.id}.")
    lines.append(
        f"(2) Efficiency ({p.dtype}): "
        + _fit_line("flash", model_flash, t.reserved_flash_bytes, t.flash_bytes, p.fits_flash)
        + "; "
        + _fit_line("RAM", model_ram, t.reserved_ram_bytes, t.ram_bytes, p.fits_ram)
        + f"; about {_format_seconds(p.estimated_latency_s)} per inference"
        + f" at {t.macs_per_s(p.dtype) / 1e6:,.0f} M MAC/s."
    )
    if p.dtype != "int8":
        int8_flash_ok = p.int8_flash_bytes + t.reserved_flash_bytes <= t.flash_bytes
        int8_ram_ok = p.int8_peak_activation_bytes + t.reserved_ram_bytes <= t.ram_bytes
        lines.append(
            f"(2) As int8 (estimate): flash {format_bytes(p.int8_flash_bytes)}"
            f" ({'fits' if int8_flash_ok else 'does not fit'}), RAM "
            f"{format_bytes(p.int8_peak_activation_bytes)}"
            f" ({'fits' if int8_ram_ok else 'does not fit'}), about "
            f"{_format_seconds(p.macs / t.int8_macs_per_s)} per inference."
        )
    lines.append(f"(3) Framework: {p.runtime}")
    lines.append("(4) Training: " + _training_advice(p, stored_dtype))
    return lines


def _training_advice(p: Profile, stored_dtype) -> str:
    ops = p.graph.ops
    folded = sum(op.type == FOLDED for op in ops)
    unbounded = sum(op.type == "RELU" or op.activation == "RELU" for op in ops)
    depthwise = p.ops.get("DEPTHWISE_CONV_2D", 0)
    advice = []
    if stored_dtype == "int8":
        advice.append("already quantised to int8; if accuracy dropped, retrain with quantisation-aware training (QAT)")
    if unbounded:
        advice.append(f"{unbounded} unbounded ReLU activations: ReLU6 keeps int8 ranges tight")
    if folded:
        advice.append(f"{folded} BatchNorm layers fold into the layer before (free at inference)")
    if p.ops.get("BATCH_NORM") or (p.ops.get("MUL") and p.framework != "tflite" and not folded):
        advice.append("BatchNorm not after a convolution costs MUL + ADD: move it after one")
    if depthwise:
        advice.append(
            f"{depthwise} depthwise convolutions are sensitive to per-tensor "
            "quantisation: keep per-channel weights (the TFLite default) and use QAT "
            "if int8 accuracy drops"
        )
    if not advice:
        advice.append("nothing special: post-training int8 quantisation should lose little accuracy")
    return "; ".join(advice) + "."
