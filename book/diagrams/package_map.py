"""The package map: scaledown's folders as the course's parts, and the imports between them.

Drawn from the package itself: the folders are listed from disk, the layers are read from
``[tool.importlinter]`` in ``pyproject.toml``, and each arrow counts the import statements
from one part into another (grimp, the import graph import-linter checks). A new module or
a new import shows up here at the next build.
"""

import sys
import tomllib
from pathlib import Path

import grimp
from _shapes import ACCENT, ARTEFACT, CLOUD, DEVICE, INK, PI, arrow, box, canvas, save

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "scaledown"
CHAPTERS = {
    "foundations": "chapters 0-1",
    "compress": "chapters 2-5",
    "deploy": "chapter 6",
    "operate": "chapter 7",
    "labs": "every lab",
    "cli": "the command line",
    "setup_check": "set-up",
}
FILLS = {"foundations": ARTEFACT, "compress": CLOUD, "deploy": PI, "operate": DEVICE}


def layers():
    """The layers of the import-linter contract, top first."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"][0]["layers"]


def members(part):
    """The modules and subpackages of one part, as listed on disk."""
    folder = PACKAGE / part
    if not folder.is_dir():
        return []
    return sorted(
        p.stem
        for p in folder.iterdir()
        if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").is_file())
    )


def part_imports():
    """{(importer part, imported part): number of import lines} between the package's top-level parts."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph("scaledown", cache_dir=None)
    counts = {}
    for module in graph.modules:
        source = module.split(".")[1] if module.count(".") else None
        for imported in graph.find_modules_directly_imported_by(module):
            target = imported.split(".")[1] if imported.count(".") else None
            if source and target and source != target:
                lines = graph.get_import_details(importer=module, imported=imported)
                counts[source, target] = counts.get((source, target), 0) + max(len(lines), 1)
    return counts


def draw():
    order = layers()
    top = [name for name in order if name in ("cli", "setup_check", "labs")]
    parts = [name for name in order if name not in top]
    fig, ax = canvas(13.4, 2.0 * len(parts) + 2.0)
    rows = {}
    y = 2.0 * len(parts) + 0.4
    rows["top"] = box(
        ax, 0.3, y, 8.2, 1.4, "  ·  ".join(f"{n}  ({CHAPTERS[n]})" for n in top), fill="white", fontsize=10
    )
    for name in top:
        rows[name] = rows["top"]
    for i, name in enumerate(parts):
        y = 2.0 * (len(parts) - 1 - i) + 0.4
        listed = ", ".join(members(name))
        rows[name] = box(
            ax,
            0.3,
            y,
            8.2,
            1.4,
            f"{name}   ({CHAPTERS.get(name, '')})\n{listed}",
            fill=FILLS.get(name, "white"),
            fontsize=10,
            weight="normal",
        )
    counts = part_imports()
    ax.text(
        8.8,
        0.1,
        "arrow: import statements from one part into another;\nred: the one import that points up (called, not at import)",
        ha="left",
        va="bottom",
        fontsize=8.5,
        color=INK,
    )
    names = top + parts
    seen = set()
    for (source, target), n in sorted(counts.items()):
        if source not in rows or target not in rows:
            continue
        s, t = rows[source], rows[target]
        key = (s, t)
        if s == t or key in seen:
            continue
        seen.add(key)
        total = sum(c for (a, b), c in counts.items() if rows.get(a) == s and rows.get(b) == t)
        upward = names.index(source) > names.index(target)
        sy, ty = s[1] + (s[3] if upward else 0), t[1] + (0 if upward else t[3])
        column = 8.9 + 0.5 * len(seen)
        arrow(ax, (column, sy), (column, ty), color=ACCENT if upward else INK, connection="arc3", lw=1.1, style="-|>")
        ax.text(
            column + 0.05,
            (sy + ty) / 2,
            str(total),
            fontsize=8,
            color=ACCENT if upward else INK,
            ha="left",
            va="center",
        )
    return fig


if __name__ == "__main__":
    save(draw(), "package_map.png")
