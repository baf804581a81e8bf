"""Small helpers for notebooks held as nbformat-4 JSON dicts."""

from __future__ import annotations


def cell_source(cell: dict) -> str:
    """A cell's source as one string (nbformat allows a string or a list of lines)."""
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source
