"""What a compiled model costs on its target: flash, RAM, arena, instructions per inference and per op.

    report = compile_report(content, compiled, elf=elf, tflm_arena_bytes=19_372)
    print(format_report(report))

``report["arena"]`` puts the compiler's arena beside TensorFlow Lite Micro's smallest
arena (found by bisection, :func:`scaledown.deploy.micro.measure_arena`) and the lower
bound (the largest set of activations alive at once). ``report["per_op"]`` lists each
op's multiply-accumulates (MACs) and the instructions the emulated Cortex-M4 (or fuel
wasmtime) spent on it, so instructions per MAC shows how close the C is to the arithmetic.
"""

from __future__ import annotations

import numpy as np

from scaledown.deploy.compiler.reader import read_tflite

CORTEX_M4_FLASH_BYTES = 1024 * 1024  # the Nano 33 BLE's nRF52840 (chip/cortex_m4.ld)
CORTEX_M4_RAM_BYTES = 256 * 1024


def op_macs(graph) -> dict:
    """Multiply-accumulates of each op, by op index: convolutions, depthwise and fully connected (others 0).

    MACs = output elements x (the inputs one output reads): kh·kw·Cin for CONV_2D, kh·kw for
    DEPTHWISE_CONV_2D, the input features for FULLY_CONNECTED.
    """
    macs = {}
    for op in graph.ops:
        out = graph.tensors[op.outputs[0]]
        elements = int(np.prod(out.shape, dtype=np.int64))
        if op.kind == "CONV_2D":  # filter (Cout, kh, kw, Cin)
            _, kh, kw, cin = graph.tensors[op.inputs[1]].shape
            macs[op.index] = elements * kh * kw * cin
        elif op.kind == "DEPTHWISE_CONV_2D":  # filter (1, kh, kw, Cout)
            _, kh, kw, _ = graph.tensors[op.inputs[1]].shape
            macs[op.index] = elements * kh * kw
        elif op.kind == "FULLY_CONNECTED":  # weights (Cout, features)
            macs[op.index] = elements * graph.tensors[op.inputs[1]].shape[-1]
        else:
            macs[op.index] = 0
    return macs


def weight_bytes(graph) -> dict:
    """Bytes of the model's constants: ``int8`` (weights) and ``all`` (with int32 biases)."""
    constants = [t for t in graph.tensors if t.data is not None]
    return {"int8": sum(t.nbytes for t in constants if t.dtype == "int8"), "all": sum(t.nbytes for t in constants)}


def compile_report(
    content: bytes,
    compiled,
    *,
    target: str = "cortex-m4",
    profile=None,
    size=None,
    wasm_model=None,
    tflm_arena_bytes: int | None = None,
    name: str = "model.tflite",
) -> dict:
    """The report of one compiled model (JSON-ready).

    Parameters
    ----------
    content : bytes of the int8 ``.tflite``.
    compiled : the :class:`~scaledown.deploy.compiler.CompiledModel` of ``content``.
    target : ``"cortex-m4"`` or ``"wasm32"``.
    profile : :class:`~scaledown.deploy.compiler.cortex_m4.Profile` of one inference (Cortex-M4), optional.
    size : :class:`~scaledown.deploy.compiler.elf_size.ElfSize` of the ELF, optional.
    wasm_model : a :class:`~scaledown.deploy.compiler.wasm.WasmModel` after one ``run``, optional.
    tflm_arena_bytes : TensorFlow Lite Micro's smallest arena for ``content``, if measured.
    """
    graph = read_tflite(content, name)
    macs = op_macs(graph)
    total_macs = sum(macs.values())
    x = graph.tensors[graph.inputs[0]]
    plan = compiled.plan
    report = {
        "model": name,
        "target": target,
        "model_bytes": len(content),
        "weight_bytes": weight_bytes(graph),
        "macs": total_macs,
        "input": {
            "shape": list(compiled.input_shape),
            "dtype": "int8",
            "scale": float(x.scales[0]),
            "zero_point": int(x.zero_points[0]),
        },
        "output_shape": list(compiled.output_shape),
        "arena": {
            "ours_bytes": plan.arena_bytes,
            "lower_bound_bytes": plan.lower_bound_bytes,
            "tflm_minimum_bytes": tflm_arena_bytes,
            "ours_percent_of_tflm": round(100 * plan.arena_bytes / tflm_arena_bytes, 1) if tflm_arena_bytes else None,
        },
    }
    counts = None
    if size is not None:
        report.update(
            flash_bytes=size.flash_bytes,
            ram_bytes=size.ram_bytes,
            static_ram_bytes=size.static_ram_bytes,
            peak_stack_bytes=size.peak_stack_bytes,
            sections=size.sections,
            flash_over_int8_weights_bytes=size.flash_bytes - report["weight_bytes"]["int8"],
            largest_symbols=[{"name": n, "bytes": b, "section": s} for n, b, s in size.largest_symbols],
        )
    if profile is not None:
        counts, unit = profile.per_op, "instructions"
        report.update(instructions=profile.instructions, outside_ops_instructions=profile.outside_ops)
    elif wasm_model is not None:
        counts, unit = wasm_model.fuel_per_op, "fuel"
        report.update(fuel=wasm_model.instructions)
    if counts is not None:
        total = report.get("instructions", report.get("fuel"))
        report[f"{unit}_per_mac"] = round(total / total_macs, 2) if total_macs else None
        report["per_op"] = [
            {"name": op_name, "macs": macs[int(op_name.split("#")[1])], unit: count}
            for op_name, count in zip(compiled.ops, counts)
        ]
    return report


def _bytes(value) -> str:
    return "-" if value is None else f"{value:,} B"


def format_report(report: dict) -> str:
    """The report as a short text table: memory first, then the cost of each op."""
    arena = report["arena"]
    rows = [
        ("model", f"{report['model']} ({report['model_bytes']:,} B, {report['macs']:,} MACs)"),
        ("int8 weights", _bytes(report["weight_bytes"]["int8"])),
    ]
    if "flash_bytes" in report:
        rows += [
            ("flash", f"{report['flash_bytes']:,} B of {CORTEX_M4_FLASH_BYTES:,}"),
            (
                "RAM",
                f"{report['ram_bytes']:,} B of {CORTEX_M4_RAM_BYTES:,} "
                f"(static {report['static_ram_bytes']:,} + stack {report['peak_stack_bytes']:,})",
            ),
        ]
    rows += [
        ("arena (ours)", _bytes(arena["ours_bytes"])),
        (
            "arena (TFLite Micro)",
            _bytes(arena["tflm_minimum_bytes"]) + ("" if arena["tflm_minimum_bytes"] else " (not measured)"),
        ),
        ("arena lower bound", _bytes(arena["lower_bound_bytes"])),
    ]
    unit = "instructions" if "instructions" in report else "fuel" if "fuel" in report else None
    if unit:
        per_mac = report.get(f"{unit}_per_mac")
        rows.append((f"{unit} per inference", f"{report[unit]:,}" + (f" ({per_mac} per MAC)" if per_mac else "")))
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    if unit and report.get("per_op"):
        name_width = max(len(op["name"]) for op in report["per_op"])
        lines += ["", f"{'op':<{name_width}}  {'MACs':>11}  {unit:>12}  per MAC"]
        for op in report["per_op"]:
            per_mac = f"{op[unit] / op['macs']:.2f}" if op["macs"] else "-"
            lines.append(f"{op['name']:<{name_width}}  {op['macs']:>11,}  {op[unit]:>12,}  {per_mac:>7}")
    return "\n".join(lines)
