"""Build a compiled model for this computer and run it: a fast bit-exactness check without an emulator.

The folder's C is built as a shared library with Zig's clang (``python -m ziglang cc -shared -O2``)
and ``sd_invoke`` is called through ``ctypes``, one sample at a time.
"""

import ctypes
import json
import pathlib
import platform
import subprocess
import sys
import tempfile

import numpy as np

_TARGETS = {
    ("Linux", "x86_64"): "x86_64-linux-gnu",
    ("Linux", "aarch64"): "aarch64-linux-gnu",
    ("Darwin", "arm64"): "aarch64-macos",
    ("Darwin", "x86_64"): "x86_64-macos",
}


def build_host_library(compiled_dir, library=None):
    """Compile every ``*.c`` of ``compiled_dir`` into a shared library; returns its path."""
    compiled_dir = pathlib.Path(compiled_dir)
    library = pathlib.Path(library or tempfile.mkdtemp(prefix="sd-host-")) / "model.so"
    target = _TARGETS.get((platform.system(), platform.machine()))
    command = [
        sys.executable,
        "-m",
        "ziglang",
        "cc",
        "-shared",
        "-fPIC",
        "-O2",
        "-std=c99",
        *(["-target", target] if target else []),
        *sorted(map(str, compiled_dir.glob("*.c"))),
        "-o",
        str(library),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"zig cc could not build {compiled_dir} for this computer: {result.stderr.strip()[:500]}")
    return library


def run_on_host(compiled_dir, x_int8):
    """int8 outputs (N, *output_shape) of the compiled model for int8 inputs (N, *input_shape)."""
    compiled_dir = pathlib.Path(compiled_dir)
    shapes = json.loads((compiled_dir / "plan.json").read_text())
    x = np.ascontiguousarray(x_int8, dtype=np.int8).reshape(-1, int(np.prod(shapes["input_shape"])))
    lib = ctypes.CDLL(str(build_host_library(compiled_dir)))
    lib.sd_invoke.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    y = np.zeros((len(x), int(np.prod(shapes["output_shape"]))), np.int8)
    for sample, out in zip(x, y):
        if lib.sd_invoke(sample.ctypes.data, out.ctypes.data) != 0:
            raise RuntimeError("sd_invoke returned an error.")
    return y.reshape(len(x), *shapes["output_shape"][1:])
