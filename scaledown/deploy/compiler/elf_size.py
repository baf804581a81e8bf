"""Flash and RAM of a bare-metal ELF, read with pyelftools (what ``arm-none-eabi-size`` would print, and more).

flash = .vectors + .text + .rodata + .data      (.data's initial values are stored in flash)
RAM   = .data + .bss + peak stack               (.bss holds the arena and the input/output buffers)

size = elf_size("model.elf", peak_stack_bytes=profile.peak_stack_bytes)
size.flash_bytes, size.ram_bytes, size.arena_bytes, size.largest_symbols[:5]
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

FLASH_SECTIONS = (".vectors", ".text", ".rodata", ".data")
RAM_SECTIONS = (".data", ".bss")


@dataclass
class ElfSize:
    """Bytes per section, flash and RAM totals, the arena, and the largest symbols ``(name, bytes, section)``."""

    sections: dict
    flash_bytes: int
    static_ram_bytes: int
    peak_stack_bytes: int
    arena_bytes: int
    largest_symbols: list = field(default_factory=list)

    @property
    def ram_bytes(self) -> int:
        """Static RAM (.data + .bss) plus the measured peak stack."""
        return self.static_ram_bytes + self.peak_stack_bytes


def elf_size(
    elf_path: str | pathlib.Path, peak_stack_bytes: int = 0, arena_symbol: str = "sd_arena", top: int = 10
) -> ElfSize:
    """Flash and RAM of ``elf_path``; ``peak_stack_bytes`` comes from a run (``CortexM4.profile``)."""
    from elftools.elf.elffile import ELFFile

    with open(elf_path, "rb") as handle:
        elf = ELFFile(handle)
        sections = {s.name: s["sh_size"] for s in elf.iter_sections() if s.name in FLASH_SECTIONS + RAM_SECTIONS}
        names = {i: s.name for i, s in enumerate(elf.iter_sections())}
        symbols = [
            (s.name, s["st_size"], names.get(s["st_shndx"], ""))
            for s in elf.get_section_by_name(".symtab").iter_symbols()
            if s.name and s["st_size"] and isinstance(s["st_shndx"], int)
        ]
    arena = [size for name, size, _ in symbols if name == arena_symbol]
    return ElfSize(
        sections=sections,
        flash_bytes=sum(sections.get(name, 0) for name in FLASH_SECTIONS),
        static_ram_bytes=sum(sections.get(name, 0) for name in RAM_SECTIONS),
        peak_stack_bytes=int(peak_stack_bytes),
        arena_bytes=arena[0] if arena else 0,
        largest_symbols=sorted(symbols, key=lambda item: -item[1])[:top],
    )
