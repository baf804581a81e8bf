"""A simulated flash chip that can lose power between (or in the middle of) two writes.

A microcontroller keeps its models in NOR flash. Flash is written a page at a time and
erased before it is rewritten; if the battery dies or someone pulls the plug, the
write in progress may be left half done. Bootloaders such as MCUboot are tested by
cutting power after *every* write of an update and checking that the device still
boots. :class:`Flash` lets the course do the same::

    flash = Flash(cut_after=17)            # the 18th write never completes
    try:
        device.receive(update)             # raises PowerCut in the middle
    except PowerCut:
        device = device.reboot()           # what survives is what the next boot sees

``torn=True`` leaves the interrupted write half written (its first half new, the rest
erased), as a real chip may.
"""

from __future__ import annotations

ERASED = 0xFF


class PowerCut(Exception):
    """Power was lost: the write in progress (if any) did not complete."""


class Flash:
    """Named regions of pages. Each :meth:`write` or :meth:`erase` of a page is one operation.

    Parameters
    ----------
    page_size : int
        Bytes per page (each write stores at most one page).
    cut_after : int or None
        Lose power when this many operations have completed (the next one fails).
    torn : bool
        The operation at the cut is left half done instead of not done at all.
    """

    def __init__(self, page_size: int = 1024, cut_after: int | None = None, torn: bool = False):
        if page_size < 64:
            raise ValueError(f"page_size={page_size} is too small; use at least 64 bytes.")
        self.page_size = page_size
        self.cut_after, self.torn = cut_after, torn
        self.operations = 0
        self._pages: dict[tuple[str, int], bytes] = {}

    def _operation(self, key: tuple[str, int], data: bytes) -> None:
        if self.cut_after is not None and self.operations >= self.cut_after:
            if self.torn:
                old = self._pages.get(key, bytes([ERASED]) * len(data))
                half = len(data) // 2
                self._pages[key] = data[:half] + old[half : len(data)]
            raise PowerCut(f"power lost during flash operation {self.operations + 1}")
        self._pages[key] = data
        self.operations += 1

    def write(self, region: str, index: int, data: bytes) -> None:
        """Program one page (``data`` at most ``page_size`` bytes)."""
        if len(data) > self.page_size:
            raise ValueError(f"a page holds {self.page_size} bytes, not {len(data)}.")
        self._operation((region, index), bytes(data))

    def erase(self, region: str, index: int) -> None:
        """Erase one page (all bytes 0xFF)."""
        self._operation((region, index), bytes([ERASED]) * self.page_size)

    def read(self, region: str, index: int) -> bytes:
        """A page as stored; an unwritten page reads as erased."""
        return self._pages.get((region, index), bytes([ERASED]) * self.page_size)

    def power_on(self) -> "Flash":
        """Power is back: the same contents, no cut pending."""
        self.cut_after, self.torn = None, False
        return self
