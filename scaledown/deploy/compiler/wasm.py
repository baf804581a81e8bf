"""The same compiled C in a WebAssembly container: ``zig cc`` for ``wasm32``, run with ``wasmtime`` from PyPI.

The module (``chip/wasm_glue.c``) exports its linear memory, the addresses and
sizes of its input and output buffers, and ``sd_run``; the host writes the input
bytes into memory, calls ``sd_run`` and reads the output bytes back. Each op's
``SD_OP_BEGIN(i)`` calls the host (``env.sd_op_begin``), which reads wasmtime's
*fuel* (about one unit per WebAssembly instruction executed) to count per op.

    module = build_wasm("compiled/", "build/")
    y = run_wasm(module, x_int8)                   # (N, SD_OUTPUT_SIZE) int8
    runner = WasmModel(module); runner.run(x_int8); runner.fuel_per_op
"""

from __future__ import annotations

import itertools
import pathlib
import shutil
import tempfile

import numpy as np

from scaledown.deploy.compiler.toolchain import c_sources, zig_cc

CHIP = pathlib.Path(__file__).parent / "chip"
FUEL = 2**62  # refilled before every call: fuel counts, it never stops a model
EXPORTS = ("sd_input_address", "sd_output_address", "sd_input_size", "sd_output_size", "sd_num_ops", "sd_run")


def build_wasm(
    compiled_dir: str | pathlib.Path, out_dir: str | pathlib.Path, name: str = "model", stack_bytes: int = 64 * 1024
) -> pathlib.Path:
    """Compile every ``*.c`` of ``compiled_dir`` with the glue into ``out_dir/<name>.wasm``; returns its path."""
    compiled_dir, out_dir = pathlib.Path(compiled_dir).resolve(), pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    module = out_dir / f"{name}.wasm"
    with tempfile.TemporaryDirectory(dir=out_dir) as scratch:
        trial = pathlib.Path(scratch) / module.name
        zig_cc(
            [
                *c_sources(compiled_dir),
                CHIP / "wasm_glue.c",
                f"-I{compiled_dir}",
                "-include",
                CHIP / "wasm_marker.h",
                f"-Wl,-z,stack-size={stack_bytes}",
                "-o",
                trial,
            ],
            target="wasm32",
        )
        shutil.move(trial, module)
    return module


class WasmModel:
    """A compiled model instantiated in wasmtime with fuel metering.

    After each :meth:`run`, ``instructions`` holds the fuel one inference used (its last
    sample) and ``fuel_per_op[i]`` the fuel from ``SD_OP_BEGIN(i)`` to the next marker.
    """

    def __init__(self, wasm_path: str | pathlib.Path):
        import wasmtime

        config = wasmtime.Config()
        config.consume_fuel = True
        self._store = wasmtime.Store(wasmtime.Engine(config))
        module = wasmtime.Module.from_file(self._store.engine, str(wasm_path))
        self._marks = []
        on_op = wasmtime.Func(self._store, wasmtime.FuncType([wasmtime.ValType.i32()], []), self._on_op_begin)
        imports = [on_op if (item.module, item.name) == ("env", "sd_op_begin") else None for item in module.imports]
        if None in imports:
            wanted = [f"{item.module}.{item.name}" for item in module.imports]
            raise ValueError(f"{wasm_path} imports {wanted}; a model built by build_wasm imports env.sd_op_begin only.")
        instance = wasmtime.Instance(self._store, module, imports)
        exports = instance.exports(self._store)
        self._memory = exports["memory"]
        self._functions = {name: exports[name] for name in EXPORTS}
        self._store.set_fuel(FUEL)

        def call(name):
            return self._functions[name](self._store)

        self.input_bytes, self.output_bytes = call("sd_input_size"), call("sd_output_size")
        self.number_of_ops = call("sd_num_ops")
        self._input_address, self._output_address = call("sd_input_address"), call("sd_output_address")
        self.instructions, self.fuel_per_op = 0, []

    def _on_op_begin(self, op: int) -> None:
        self._marks.append((op, FUEL - self._store.get_fuel()))

    def _invoke(self, sample: np.ndarray) -> np.ndarray:
        data = np.ascontiguousarray(sample, dtype=np.int8).tobytes()
        if len(data) != self.input_bytes:
            raise ValueError(f"One input has {len(data)} bytes; the model takes SD_INPUT_SIZE = {self.input_bytes}.")
        self._memory.write(self._store, data, self._input_address)
        self._marks.clear()
        self._store.set_fuel(FUEL)
        status = self._functions["sd_run"](self._store)
        if status:
            raise RuntimeError(f"sd_invoke returned {status} in wasmtime (non-zero: the model reported an error).")
        self.instructions = FUEL - self._store.get_fuel()
        fuel = [used for _, used in self._marks]
        self.fuel_per_op = [after - before for before, after in itertools.pairwise(fuel)]
        out = self._memory.read(self._store, self._output_address, self._output_address + self.output_bytes)
        return np.frombuffer(bytes(out), np.int8)

    def run(self, inputs_int8: np.ndarray) -> np.ndarray:
        """int8 inputs (N, ...) with SD_INPUT_SIZE bytes each -> int8 outputs (N, SD_OUTPUT_SIZE)."""
        inputs_int8 = np.asarray(inputs_int8)
        if not len(inputs_int8):
            return np.zeros((0, self.output_bytes), np.int8)
        return np.stack([self._invoke(sample) for sample in inputs_int8])


def run_wasm(wasm_path: str | pathlib.Path, inputs_int8: np.ndarray) -> np.ndarray:
    """int8 outputs (N, SD_OUTPUT_SIZE) of the ``.wasm`` in wasmtime for int8 inputs (N, ...)."""
    return WasmModel(wasm_path).run(inputs_int8)
