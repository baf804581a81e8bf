"""Make the chapters' figures at every build, so that none is ever stale.

Two kinds, both written under ``book/_generated/`` (not committed) and shown by the
chapters with MyST's ``{figure}`` directive, with ``:alt:`` text and a caption:

* **Diagrams drawn from code** — each ``book/diagrams/chNN_*.py`` has a ``draw()`` that
  returns a matplotlib Figure; it is saved as ``_generated/diagrams/chNN_*.png`` (150 dpi).
  Run one by hand with ``python book/diagrams/ch02_int8_mapping.py``.
* **Plots from a run** — a walkthrough notebook's cell records its figure with MyST-NB's
  ``glue(key, fig, display=False)``; the PNG it stored is written to
  ``_generated/glued/<key>.png``. (MyST-NB's own ``{glue:figure}`` pastes only within the
  notebook's own page, and cross-page ``{glue}`` has no alt text; a chapter is another page.)

A PNG is rewritten only when its bytes change, so an unchanged figure does not make
Sphinx re-read its chapter. Registered in ``_config.yml`` (``sphinx: local_extensions``).
"""

import base64
import importlib.util
import io
import json
import pathlib
import sys

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

BOOK = pathlib.Path(__file__).resolve().parent.parent
ROOT = BOOK.parent
DIAGRAMS = BOOK / "diagrams"
NOTEBOOKS = ROOT / "notebooks"
OUTPUT = BOOK / "_generated"
DPI = 150
GLUE_PREFIX = "application/papermill.record/"  # what glue(..., display=False) prefixes to each MIME type


def _write_if_changed(target: pathlib.Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file() or target.read_bytes() != data:
        target.write_bytes(data)
        logger.info(f"figures: wrote {target.relative_to(ROOT)}")


def _load(path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(f"_book_diagram_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def draw_diagrams(output: pathlib.Path = OUTPUT / "diagrams") -> list:
    """Run every ``book/diagrams/*.py`` but ``_shapes.py``; return the PNGs (written or already up to date)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sys.path.insert(0, str(DIAGRAMS))  # the scripts share _shapes.py
    pngs = []
    try:
        for path in sorted(DIAGRAMS.glob("[!_]*.py")):
            try:
                figure = _load(path).draw()
            except Exception as exc:  # name the script that broke, not just the traceback
                raise ExtensionError(f"figures: {path.relative_to(ROOT)} failed to draw: {exc}") from exc
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
            plt.close(figure)
            pngs.append(output / f"{path.stem}.png")
            _write_if_changed(pngs[-1], buffer.getvalue())
    finally:
        sys.path.remove(str(DIAGRAMS))
        sys.modules.pop("_shapes", None)  # a later build (sphinx-autobuild) reads an edited _shapes.py afresh
    return pngs


def glued_images(notebook: pathlib.Path) -> dict:
    """``{key: PNG bytes}`` of the figures a notebook's stored outputs glued."""
    found = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            png = output.get("data", {}).get(GLUE_PREFIX + "image/png")
            if record and png:
                found[record["name"]] = base64.b64decode("".join(png) if isinstance(png, list) else png)
    return found


def extract_glued(output: pathlib.Path = OUTPUT / "glued") -> list:
    """Write every glued figure of ``notebooks/*.ipynb`` as ``<key>.png``; keys must be unique."""
    owner, pngs = {}, []
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        for key, data in glued_images(notebook).items():
            if key in owner:
                raise ExtensionError(f"figures: glue key {key!r} is in both {owner[key]} and {notebook.name}")
            owner[key] = notebook.name
            pngs.append(output / f"{key}.png")
            _write_if_changed(pngs[-1], data)
    return pngs


def _make_figures(app: Sphinx) -> None:
    draw_diagrams()
    extract_glued()


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _make_figures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
