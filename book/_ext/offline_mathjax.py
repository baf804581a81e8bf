"""Serve MathJax from the built book, so that formulas render without a network.

Sphinx's default ``mathjax_path`` is a CDN. This extension copies MathJax 2 from the
pinned ``jupyter-server-mathjax`` package into ``_static/mathjax/`` of the HTML output
and points ``mathjax_path`` there. Registered in ``_config.yml``
(``sphinx: local_extensions``).

MathJax 2 is configured with ``mathjax2_config``; the ``mathjax3_config`` that
myst-parser writes is dropped, since MathJax 2 does not read it. MyST marks each page
``tex2jax_ignore`` and each formula ``math``: MathJax typesets the formulas only.
"""

import pathlib
import shutil

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

TARGET = "mathjax"  # folder under _static/
MATHJAX_PATH = f"{TARGET}/MathJax.js"  # Sphinx refuses query strings (?config=) on local assets
MATHJAX2_CONFIG = {
    "config": ["TeX-AMS-MML_HTMLorMML-full.js"],  # TeX and MathML in, HTML-CSS out, in one file
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processRefs": False,
        "processClass": "tex2jax_process|mathjax_process|math|output_area",
        "ignoreClass": "tex2jax_ignore|mathjax_ignore",
    },
    # The package ships the STIX-Web fonts only: use them, never image fonts.
    "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web", "imageFont": None},
    "SVG": {"font": "STIX-Web"},
    "menuSettings": {"zoom": "None"},
    "showMathMenu": False,
}


def mathjax_source() -> pathlib.Path:
    """The folder holding ``MathJax.js`` in the installed ``jupyter-server-mathjax``."""
    try:
        import jupyter_server_mathjax
    except ImportError as exc:
        raise RuntimeError(
            "offline_mathjax needs the package jupyter-server-mathjax: "
            "run `make lab` (or pip install -r requirements.txt)."
        ) from exc
    source = pathlib.Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (source / "MathJax.js").is_file():
        raise RuntimeError(f"offline_mathjax: no MathJax.js in {source}; reinstall jupyter-server-mathjax.")
    return source


def _configure(app: Sphinx, config) -> None:
    config.mathjax_path = MATHJAX_PATH
    config.mathjax2_config = MATHJAX2_CONFIG


def _drop_mathjax3_config(app: Sphinx) -> None:
    # Runs after myst-parser's own builder-inited hook (priority 500), which fills it in.
    app.config.mathjax3_config = None


def _copy_mathjax(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    destination = pathlib.Path(app.outdir) / "_static" / TARGET
    shutil.copytree(mathjax_source(), destination, dirs_exist_ok=True)
    logger.info(f"offline_mathjax: MathJax copied to {destination}")


def setup(app: Sphinx) -> dict:
    mathjax_source()  # fail early, with the fix, if the package is missing
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _drop_mathjax3_config, priority=900)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
