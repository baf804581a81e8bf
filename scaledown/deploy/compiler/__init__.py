"""A small model compiler: an int8 ``.tflite`` in, plain C99 out, run on an emulated Cortex-M4 or in WebAssembly.

One idea per module:

- ``reader``: the ``.tflite`` flatbuffer as tensors and ops (``read_tflite``);
- ``planner``: lifetimes, sharing (reshape, in place) and a greedy placement in one arena (``plan_memory``);
- ``emit``: C99 with TensorFlow Lite's exact integer arithmetic (``emit_c``, kernels in ``kernels/``);
- ``host``: the same C built for this computer, for a fast bit-exact check (``run_on_host``);
- ``toolchain``: ``zig cc`` from PyPI, for a bare-metal Cortex-M4 and for WebAssembly;
- ``cortex_m4``: the build for a Cortex-M4 (``chip/``: startup, linker script) run in the Unicorn
  emulator, counting instructions per op; ``elf_size``: flash and RAM read from the ELF;
- ``wasm``: the same C as a WebAssembly module, run in wasmtime;
- ``project``, ``report``, ``cli``: a board project (Makefile, PlatformIO), the report, and
  ``scaledown compile`` / ``scaledown emulate``.

>>> compiled = compile_model(open("model.tflite", "rb").read(), "build/model")
>>> compiled.plan.arena_bytes, compiled.plan.lower_bound_bytes
>>> y = run_on_host(compiled.path, x_int8)      # == scaledown.deploy.micro.run_tflm(content, x_int8)
"""

import json
import pathlib
import shutil
import tempfile
from dataclasses import dataclass

from scaledown.deploy.compiler.emit import emit_c
from scaledown.deploy.compiler.errors import CompileError
from scaledown.deploy.compiler.host import run_on_host
from scaledown.deploy.compiler.planner import MemoryPlan, draw_plan, plan_memory
from scaledown.deploy.compiler.reader import SUPPORTED_OPS, read_tflite


@dataclass
class CompiledModel:
    """What ``compile_model`` wrote: the folder, its C sources, the memory plan and the ops in call order."""

    path: pathlib.Path
    sources: list
    plan: MemoryPlan
    ops: list
    input_shape: tuple
    output_shape: tuple


def compile_model(tflite_bytes, out_dir, in_place=True, name="model.tflite") -> CompiledModel:
    """Compile an int8 ``.tflite`` into a folder of C99: ``model.h``, ``model.c``, kernels, ``plan.json``.

    Parameters
    ----------
    tflite_bytes : bytes
        A full-int8 ``.tflite`` (int8 input and output) using only ``SUPPORTED_OPS``.
    out_dir : str or Path
        Written whole or not at all: the files go to a temporary folder beside it, renamed at the end
        (an existing folder is replaced).
    in_place : bool
        Let ADD, depthwise and 1x1 convolutions write over their input (a smaller arena).

    Raises
    ------
    CompileError
        For a float model, an unsupported op or a file that is not a ``.tflite``: one sentence.
    """
    graph = read_tflite(tflite_bytes, name)
    plan = plan_memory(graph, in_place=in_place)
    out_dir = pathlib.Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        ops = emit_c(graph, plan, staging)
        x, y = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
        record = {
            **plan.to_json(),
            "sd_op_names": ops,  # SD_OP_BEGIN(i) is sd_op_names[i]; "ops" has the reshapes too
            "input_shape": list(x.shape),
            "output_shape": list(y.shape),
        }
        (staging / "plan.json").write_text(json.dumps(record, indent=1) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return CompiledModel(out_dir, sorted(out_dir.glob("*.[ch]")), plan, ops, x.shape, y.shape)


__all__ = [
    "SUPPORTED_OPS",
    "CompileError",
    "CompiledModel",
    "compile_model",
    "draw_plan",
    "plan_memory",
    "read_tflite",
    "run_on_host",
]
