"""The C toolchain: Zig's ``zig cc`` (clang + lld) from PyPI, for a Cortex-M4 and for WebAssembly.

No Arm toolchain is needed: the ``ziglang`` wheel carries clang, lld and the
freestanding headers (``<stdint.h>``, ``<stddef.h>``) for every target.

    zig_cc(["model.c", "startup.c", "-o", "model.elf"], target="cortex-m4")
    zig_cc(["model.c", "wasm_glue.c", "-o", "model.wasm"], target="wasm32")

A compiler or linker error becomes one sentence, :class:`ToolchainError`,
naming the first ``error:`` line.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

# The flags of each target: no libc, no start files, optimised like a release firmware.
TARGET_FLAGS = {
    "cortex-m4": [
        "-target",
        "thumb-freestanding-eabihf",
        "-mcpu=cortex_m4",
        "-O2",
        "-ffreestanding",
        "-nostdlib",
        "-ffunction-sections",
        "-fdata-sections",
    ],
    "wasm32": ["-target", "wasm32-freestanding", "-O2", "-ffreestanding", "-nostdlib", "-Wl,--no-entry"],
}


class ToolchainError(RuntimeError):
    """``zig cc`` failed on the generated C (a compile or link error); the message holds its first error line."""


def zig_cc(arguments: list, target: str, cwd: str | pathlib.Path | None = None, timeout_s: float = 300) -> None:
    """Run ``python -m ziglang cc`` with the flags of ``target`` ("cortex-m4" or "wasm32") and ``arguments``.

    Raises
    ------
    ToolchainError
        If the compiler or linker fails: one sentence with the first error line.
    """
    if target not in TARGET_FLAGS:
        raise ValueError(f"target={target!r} is not a toolchain target; use one of {sorted(TARGET_FLAGS)}.")
    command = [sys.executable, "-m", "ziglang", "cc", *TARGET_FLAGS[target], *map(str, arguments)]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False)
    if result.returncode != 0:
        line = first_error_line(result.stderr)
        hint = ""
        if "undefined symbol: __" in line:
            hint = (
                " (the C calls a compiler runtime helper, e.g. 64-bit division or soft float; the build links "
                "neither libc nor compiler-rt)"
            )
        elif "will not fit in region" in line:
            hint = " (the Cortex-M4 target, like the Nano 33 BLE, has 1 MB of flash and 256 KB of RAM)"
        raise ToolchainError(f"zig cc could not build for {target}: {line}{hint}.")


def first_error_line(log: str) -> str:
    """The first line of a compiler log that says ``error`` (else its first non-empty line), trimmed."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower():
            return line
    return lines[0] if lines else "no message (exit status non-zero)"


def c_sources(folder: str | pathlib.Path) -> list:
    """Every ``*.c`` file of a compiled model's folder, sorted (the contract: the build compiles them all)."""
    sources = sorted(pathlib.Path(folder).glob("*.c"))
    if not sources:
        raise FileNotFoundError(f"{folder} holds no .c file: pass the folder that compile_model wrote.")
    return sources
