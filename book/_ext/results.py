"""``{result}`` — a figure a benchmark measured, read from its results file at build time.

A benchmark run in full mode writes ``benchmarks/results/<name>.json`` (see
``benchmarks/_results.py``): the command that made it, the date, the library versions and
a ``results`` tree. A chapter quotes a value of that tree by its dotted path and a Python
format spec, so that the text and the run cannot disagree::

    scaledown's pruning kept {result}`compression:unstructured.scaledown.accuracy.mean:.1%` ...

``{result}`NAME:KEY:FORMAT``` — ``FORMAT`` is optional (``str()`` of the value); a
``null`` in the file (a figure the run did not produce, such as the delay of a change never
detected) prints as a dash. A
missing file or key is a build error that names both, so a renamed key cannot leave a
hole in the text. ``{result}`NAME:command``` quotes how the file was made.
"""

import json
import pathlib

from docutils import nodes
from sphinx.application import Sphinx

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "benchmarks" / "results"
RUN_FIELDS = ("command", "date", "seconds", "mode", "cpus")  # about the run, beside its ``results``


class ResultError(ValueError):
    pass


def load(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        raise ResultError(f"no results file benchmarks/results/{name}.json (run benchmarks/{name}.py in full mode)")
    return json.loads(path.read_text())


def lookup(name: str, key: str):
    """The value at dotted ``key`` in ``benchmarks/results/<name>.json`` (``command``, ``date`` … or ``results``)."""
    data = load(name)
    if key in RUN_FIELDS:
        return data[key]
    try:
        return lookup_in(data.get("results", {}), key)
    except ResultError as exc:
        raise ResultError(f"benchmarks/results/{name}.json {exc}") from None


def lookup_in(node, key: str):
    """The value at dotted ``key`` in a results tree; a part may itself hold a dot (``step_0.5sd``)."""
    parts, i = key.split("."), 0
    while i < len(parts):  # a key may itself hold a dot ("step_0.5sd"): take the longest that exists
        for j in range(len(parts), i, -1):
            part = ".".join(parts[i:j])
            if isinstance(node, dict) and part in node:
                node, i = node[part], j
                break
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node, i = node[int(part)], j
                break
        else:
            raise ResultError(f"has no result {key!r} (stopped at {parts[i]!r})")
    return node


def format_result(text: str) -> str:
    """``"NAME:KEY[:FORMAT]"`` → the formatted value."""
    name, _, rest = text.partition(":")
    key, _, fmt = rest.partition(":")
    if not name or not key:
        raise ResultError(
            f"{{result}}`{text}`: write {{result}}`NAME:KEY[:FORMAT]`, e.g. compression:structured.macs:,"
        )
    value = lookup(name.strip(), key.strip())
    if isinstance(value, (dict, list)):
        raise ResultError(f"{{result}}`{text}` names a group of results, not one value")
    if value is None:  # a value the run did not produce, e.g. the delay of a change that was never detected
        return "—"
    try:
        return format(value, fmt) if fmt else str(value)
    except (TypeError, ValueError) as exc:
        raise ResultError(f"{{result}}`{text}`: cannot format {value!r} with {fmt!r}: {exc}") from exc


def result_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    try:
        shown = format_result(text)
    except (ResultError, KeyError) as exc:
        message = inliner.reporter.error(str(exc), line=lineno)
        problem = inliner.problematic(rawtext, rawtext, message)
        return [problem], [message]
    env = inliner.document.settings.env
    env.note_dependency(str(RESULTS / f"{text.partition(':')[0].strip()}.json"))
    return [nodes.inline(rawtext, shown, classes=["benchmark-result"])], []


def setup(app: Sphinx) -> dict:
    app.add_role("result", result_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
