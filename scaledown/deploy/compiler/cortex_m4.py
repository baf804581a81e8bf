"""A Cortex-M4 on PyPI: build the compiled model into a bare-metal ELF with ``zig cc``, run it in Unicorn.

The ELF has the memory map of the Arduino Nano 33 BLE's nRF52840 (1 MB flash at
0, 256 KB SRAM at 0x2000_0000; ``chip/cortex_m4.ld``) and a minimal startup
(``chip/startup.c``): a vector table, ``sd_startup`` (copy ``.data`` from flash,
zero ``.bss``) and ``sd_run`` (``sd_invoke(sd_input, sd_output)`` once).

The emulator loads only what a flash programmer would write (each segment at its
*load* address), fills RAM with garbage, calls ``sd_startup`` once, then per
inference writes ``sd_input``, calls ``sd_run`` and reads ``sd_output``, like a
host talking to a board over a debugger. Each call starts at the function with
the Thumb bit set, with the stack pointer from the vector table and the link
register at a magic return address where emulation stops.

    elf = build_cortex_m4("compiled/", "build/")
    chip = CortexM4(elf)
    y = chip.run(x_int8)                      # (N, SD_OUTPUT_SIZE) int8, no hooks: fast
    profile = chip.profile(x_int8[0])         # instructions per inference and per op, peak stack

Counting: a Python call per instruction is slow, so ``profile`` hooks *blocks*
(one call per straight-line run of code, its instruction count decoded once from
the Thumb-2 encoding) and the writes of ``SD_OP_BEGIN(i)`` to a marker address;
the ops' counts are split at the exact instruction that wrote the marker. Peak
stack: the stack is painted with a pattern before the run and the deepest word
that changed is found after it.
"""

from __future__ import annotations

import pathlib
import shutil
import tempfile
from dataclasses import dataclass, field

import numpy as np

from scaledown.deploy.compiler.toolchain import c_sources, zig_cc

CHIP = pathlib.Path(__file__).parent / "chip"
FLASH_ORIGIN, FLASH_BYTES = 0x0000_0000, 1024 * 1024
RAM_ORIGIN, RAM_BYTES = 0x2000_0000, 256 * 1024
MARKER_ADDRESS = 0x4001_F000  # chip/sd_marker.h: SD_OP_BEGIN(i) stores i here
MARKER_PAGE = MARKER_ADDRESS & ~0xFFF
SYSTEM_CONTROL_PAGE = 0xE000_E000  # holds CPACR (0xE000_ED88), which the startup writes to switch the FPU on
RETURN_ADDRESS = FLASH_ORIGIN + FLASH_BYTES - 0x100  # the link register of every call: emulation stops here
STACK_PAINT = 0xC5  # byte the stack is painted with before a profiled run
RAM_GARBAGE = 0xA5  # what RAM holds at power-on in the emulator (never zero: .bss must be zeroed)


class EmulationError(RuntimeError):
    """The program did not return from a call in the emulator (a fault, an invalid access, or a time-out)."""


# --------------------------------------------------------------------------- build


def build_cortex_m4(
    compiled_dir: str | pathlib.Path,
    out_dir: str | pathlib.Path,
    per_op_markers: bool = True,
    name: str = "model",
    dsp: bool = False,
) -> pathlib.Path:
    """Compile every ``*.c`` of ``compiled_dir`` with the startup into ``out_dir/<name>.elf``; returns its path.

    ``per_op_markers`` defines ``SD_OP_BEGIN(i)`` as a volatile store to ``MARKER_ADDRESS``
    (for per-op counts; costs one store per op). The FPU is switched on in the startup only
    if the compiled code holds floating-point (VFP) instructions. ``dsp`` defines ``SD_USE_DSP``:
    the convolutions' inner loops then use the Cortex-M4's DSP instructions (SXTB16 and SMLAD, two
    int8 multiply-accumulates per instruction) instead of plain C; the results are the same.
    """
    compiled_dir, out_dir = pathlib.Path(compiled_dir).resolve(), pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    elf = out_dir / f"{name}.elf"
    arguments = [
        *c_sources(compiled_dir),
        CHIP / "startup.c",
        f"-I{compiled_dir}",
        "-T",
        CHIP / "cortex_m4.ld",
        "-Wl,--entry=Reset_Handler",
        "-Wl,-u,sd_startup",
        "-Wl,-u,sd_run",
    ]
    if per_op_markers:
        arguments += ["-include", CHIP / "sd_marker.h"]
    if dsp:
        arguments.append("-DSD_USE_DSP")
    with tempfile.TemporaryDirectory(dir=out_dir) as scratch:
        trial = pathlib.Path(scratch) / elf.name
        zig_cc([*arguments, "-o", trial], target="cortex-m4")
        if uses_fpu(trial):
            zig_cc([*arguments, "-DSD_ENABLE_FPU", "-o", trial], target="cortex-m4")
        shutil.move(trial, elf)
    return elf


def _is_32bit_thumb(halfword: int) -> bool:
    """A Thumb-2 instruction is 32 bits wide when its first halfword starts with 0b11101, 0b11110 or 0b11111."""
    return (halfword >> 11) in (0b11101, 0b11110, 0b11111)


def uses_fpu(elf_path: str | pathlib.Path) -> bool:
    """Whether any function of the ELF holds a VFP instruction (a coprocessor 10/11 encoding).

    Decodes each function's halfwords linearly; a literal pool may be read as code,
    which can only err towards switching the FPU on.
    """
    from elftools.elf.elffile import ELFFile

    with open(elf_path, "rb") as handle:
        elf = ELFFile(handle)
        text = elf.get_section_by_name(".text")
        code, base = text.data(), text["sh_addr"]
        functions = [
            (s["st_value"] & ~1, s["st_size"])
            for s in elf.get_section_by_name(".symtab").iter_symbols()
            if s["st_info"]["type"] == "STT_FUNC" and s["st_size"]
        ]
    for start, size in functions:
        offset, end = start - base, start - base + size
        while offset + 2 <= end:
            first = int.from_bytes(code[offset : offset + 2], "little")
            if not _is_32bit_thumb(first):
                offset += 2
                continue
            second = int.from_bytes(code[offset + 2 : offset + 4], "little")
            if (first & 0xEC00) == 0xEC00 and (second & 0x0E00) == 0x0A00:
                return True
            offset += 4
    return False


# --------------------------------------------------------------------------- run


@dataclass
class Profile:
    """What one profiled inference cost: instructions executed in ``sd_run`` and per op, peak stack.

    ``per_op[i]`` counts from ``SD_OP_BEGIN(i)`` to the next marker; ``outside_ops`` the
    call itself before op 0 and after the last op, so ``sum(per_op) + outside_ops == instructions``.
    """

    outputs: np.ndarray
    instructions: int
    per_op: list = field(default_factory=list)
    outside_ops: int = 0
    peak_stack_bytes: int = 0


class CortexM4:
    """An emulated Cortex-M4 (Unicorn, Thumb + M-class) with the ELF flashed and its startup run once.

    Parameters
    ----------
    elf_path : path of an ELF from :func:`build_cortex_m4`.
    timeout_s : wall-clock limit of one call in the emulator.
    """

    def __init__(self, elf_path: str | pathlib.Path, timeout_s: float = 60.0):
        from elftools.elf.elffile import ELFFile
        from unicorn import UC_ARCH_ARM, UC_MODE_MCLASS, UC_MODE_THUMB, Uc

        self.elf_path, self.timeout_s = pathlib.Path(elf_path), timeout_s
        with open(self.elf_path, "rb") as handle:
            elf = ELFFile(handle)
            symbols = {s.name: s for s in elf.get_section_by_name(".symtab").iter_symbols() if s.name}
            segments = [
                (seg["p_paddr"], seg.data())
                for seg in elf.iter_segments()
                if seg["p_type"] == "PT_LOAD" and seg["p_filesz"]
            ]
        missing = [
            n for n in ("sd_input", "sd_output", "sd_startup", "sd_run", "__bss_end", "__stack_top") if n not in symbols
        ]
        if missing:
            raise ValueError(f"{self.elf_path} lacks {', '.join(missing)}: build it with build_cortex_m4.")
        self._address = {name: symbols[name]["st_value"] for name in symbols}
        self.input_bytes = symbols["sd_input"]["st_size"]
        self.output_bytes = symbols["sd_output"]["st_size"]

        self._uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        self._uc.mem_map(FLASH_ORIGIN, FLASH_BYTES)
        self._uc.mem_map(RAM_ORIGIN, RAM_BYTES)
        self._uc.mem_map(MARKER_PAGE, 0x1000)
        self._uc.mem_map(SYSTEM_CONTROL_PAGE, 0x1000)  # plain memory: Unicorn's M-class FPU is always on
        self._uc.mem_write(RAM_ORIGIN, bytes([RAM_GARBAGE]) * RAM_BYTES)
        for load_address, data in segments:  # what a flash programmer writes: .data only at its flash copy
            self._uc.mem_write(load_address, data)
        self._initial_sp = int.from_bytes(self._uc.mem_read(FLASH_ORIGIN, 4), "little")
        self._lengths = {}
        self._call("sd_startup")

    # -- one call into the program
    def _call(self, function: str) -> int:
        from unicorn import UcError
        from unicorn.arm_const import UC_ARM_REG_LR, UC_ARM_REG_PC, UC_ARM_REG_R0, UC_ARM_REG_SP

        uc = self._uc
        uc.reg_write(UC_ARM_REG_SP, self._initial_sp)
        uc.reg_write(UC_ARM_REG_LR, RETURN_ADDRESS | 1)
        try:
            uc.emu_start(self._address[function] | 1, RETURN_ADDRESS, timeout=int(self.timeout_s * 1e6))
        except UcError as error:
            raise EmulationError(
                f"{function}() stopped in the emulator at pc=0x{uc.reg_read(UC_ARM_REG_PC):08x}: "
                f"{error} (a fault in the compiled code or its startup)."
            ) from None
        pc = uc.reg_read(UC_ARM_REG_PC)
        if pc & ~1 != RETURN_ADDRESS:
            raise EmulationError(
                f"{function}() did not return within {self.timeout_s:g} s in the emulator "
                f"(pc=0x{pc:08x}): an endless loop or a fault handler."
            )
        return uc.reg_read(UC_ARM_REG_R0)

    def _invoke(self, sample: np.ndarray) -> np.ndarray:
        data = np.ascontiguousarray(sample, dtype=np.int8).tobytes()
        if len(data) != self.input_bytes:
            raise ValueError(f"One input has {len(data)} bytes; the model takes SD_INPUT_SIZE = {self.input_bytes}.")
        self._uc.mem_write(self._address["sd_input"], data)
        status = self._call("sd_run") & 0xFFFF_FFFF
        if status:
            raise EmulationError(f"sd_invoke returned {status} (non-zero: the compiled model reported an error).")
        return np.frombuffer(bytes(self._uc.mem_read(self._address["sd_output"], self.output_bytes)), np.int8)

    def run(self, inputs_int8: np.ndarray) -> np.ndarray:
        """int8 inputs (N, ...) with SD_INPUT_SIZE bytes each -> int8 outputs (N, SD_OUTPUT_SIZE); no hooks."""
        inputs_int8 = np.asarray(inputs_int8)
        return (
            np.stack([self._invoke(sample) for sample in inputs_int8])
            if len(inputs_int8)
            else np.zeros((0, self.output_bytes), np.int8)
        )

    # -- one counted inference
    def _block_length(self, address: int, size: int) -> int:
        """Instructions in the block [address, address + size), decoded once from its Thumb-2 encoding."""
        key = (address, size)
        if key not in self._lengths:
            code, offset, count = bytes(self._uc.mem_read(address, size)), 0, 0
            while offset < size:
                offset += 4 if _is_32bit_thumb(int.from_bytes(code[offset : offset + 2], "little")) else 2
                count += 1
            self._lengths[key] = count
        return self._lengths[key]

    def profile(self, sample: np.ndarray) -> Profile:
        """Run one input counting instructions (total and per op) and the peak stack; see :class:`Profile`.

        Counted per block: every instruction of a block that starts executing, including those of
        an ``IT`` block whose condition fails (a Cortex-M4 spends a cycle on each; Unicorn's
        per-instruction hook would skip them, and call Python once per instruction).
        """
        from unicorn import UC_HOOK_BLOCK, UC_HOOK_MEM_WRITE
        from unicorn.arm_const import UC_ARM_REG_PC

        uc = self._uc
        stack_bottom = (self._address["__bss_end"] + 3) & ~3
        stack_top = self._initial_sp
        uc.mem_write(stack_bottom, bytes([STACK_PAINT]) * (stack_top - stack_bottom))

        counts = {}  # op index (-1: before op 0) -> instructions
        state = {"op": -1, "block": (0, 0)}

        def on_block(uc, address, size, _):
            state["block"] = (address, size)
            counts[state["op"]] = counts.get(state["op"], 0) + self._block_length(address, size)

        def on_marker(uc, access, address, size, value, _):
            block_start, block_size = state["block"]  # move the rest of this block to the new op
            pc = uc.reg_read(UC_ARM_REG_PC)
            if not block_start <= pc < block_start + block_size:
                raise EmulationError(f"The marker store at pc=0x{pc:08x} lies outside its block.")
            after_store = pc + (4 if _is_32bit_thumb(int.from_bytes(uc.mem_read(pc, 2), "little")) else 2)
            end = block_start + block_size
            rest = self._block_length(after_store, end - after_store) if after_store < end else 0
            counts[state["op"]] -= rest
            counts[value] = counts.get(value, 0) + rest
            state["op"] = value

        hooks = [
            uc.hook_add(UC_HOOK_BLOCK, on_block),
            uc.hook_add(UC_HOOK_MEM_WRITE, on_marker, begin=MARKER_ADDRESS, end=MARKER_ADDRESS + 3),
        ]
        uc.ctl_flush_tb()  # code translated before the hooks would not call them
        try:
            outputs = self._invoke(sample)
        finally:
            for hook in hooks:
                uc.hook_del(hook)
            uc.ctl_flush_tb()  # and translate again without them: fast runs after this

        painted = np.frombuffer(bytes(uc.mem_read(stack_bottom, stack_top - stack_bottom)), np.uint8)
        touched = np.flatnonzero(painted != STACK_PAINT)
        if len(touched) and touched[0] < 4:
            raise EmulationError(
                f"The stack reached the end of .bss (0x{stack_bottom:08x}): it may have overwritten "
                "static data; the model needs more RAM than the target has."
            )
        peak_stack = int(stack_top - (stack_bottom + touched[0])) if len(touched) else 0
        ops = sorted(op for op in counts if op >= 0)
        number_of_ops = max(ops) if ops else 0  # the last marker is SD_OP_BEGIN(SD_NUM_OPS)
        per_op = [counts.get(op, 0) for op in range(number_of_ops)]
        return Profile(
            outputs=outputs,
            instructions=sum(counts.values()),
            per_op=per_op,
            outside_ops=counts.get(-1, 0) + counts.get(number_of_ops, 0),
            peak_stack_bytes=peak_stack,
        )

    def peek(self, symbol: str, size: int) -> bytes:
        """``size`` bytes of RAM or flash at an ELF symbol (e.g. to inspect the arena after a run)."""
        return bytes(self._uc.mem_read(self._address[symbol], size))


def run_cortex_m4(elf_path: str | pathlib.Path, inputs_int8: np.ndarray) -> np.ndarray:
    """int8 outputs (N, SD_OUTPUT_SIZE) of the ELF in the emulated Cortex-M4 for int8 inputs (N, ...)."""
    return CortexM4(elf_path).run(inputs_int8)
