"""Where a learner stands: the progress file that checks write, and the report across all labs."""

from __future__ import annotations

import ast
import datetime as _dt
import json
import os
import pathlib
import tempfile

from scaledown.labs.notebook_io import cell_source


def progress_path() -> pathlib.Path:
    """Where completed checks are recorded: ``$SCALEDOWN_PROGRESS`` or ``~/.scaledown/progress.json``."""
    env = os.environ.get("SCALEDOWN_PROGRESS")
    return pathlib.Path(env) if env else pathlib.Path.home() / ".scaledown" / "progress.json"


def load_progress() -> dict:
    """Return ``{lab_id: {step: iso_time}}`` of every check passed on this machine."""
    path = progress_path()
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def record(lab_id: str, step: str) -> None:
    """Add ``step`` of ``lab_id`` to the progress file (written atomically)."""
    path = progress_path()
    data = load_progress()
    data.setdefault(lab_id, {})[step] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        json.dump(data, tmp, indent=1, sort_keys=True)
    os.replace(tmp.name, path)  # atomic: a crash never leaves half a file


def course_root() -> pathlib.Path:
    """The course folder that holds ``labs/`` (this package is installed from it, editable)."""
    return pathlib.Path(__file__).resolve().parents[2]


def lab_declaration(notebook: dict):
    """``(lab_id, steps)`` from the ``Lab("id", steps=[...])`` call in a notebook, or ``None``."""
    for cell in notebook["cells"]:
        source = cell_source(cell)
        if cell["cell_type"] != "code" or "Lab(" not in source:
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Lab" and node.args:
                steps = next((ast.literal_eval(k.value) for k in node.keywords if k.arg == "steps"), ())
                return ast.literal_eval(node.args[0]), tuple(steps)
    return None


def notebook_title(notebook: dict) -> str:
    """The first ``# Title`` line of a notebook's Markdown, or ``""``."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            for line in cell_source(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def discover_labs(labs_dir=None) -> list:
    """Every lab of the course as ``(lab_id, title, steps)``, read from the ``Lab(...)`` call in each notebook.

    The learners' notebooks in ``labs/`` are the source, so a new lab needs no registration.
    """
    labs_dir = pathlib.Path(labs_dir) if labs_dir else course_root() / "labs"
    found = []
    for path in sorted(labs_dir.glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        declared = lab_declaration(notebook)
        if declared:
            found.append((declared[0], notebook_title(notebook) or path.stem, declared[1]))
    return found


def progress_rows(labs_dir=None) -> list:
    """One row per lab: ``(lab_id, title, passed_steps, total_steps)`` from this machine's progress file."""
    done = load_progress()
    rows = []
    for lab_id, title, steps in discover_labs(labs_dir):
        passed = [s for s in steps if s in done.get(lab_id, {})]
        rows.append((lab_id, title, len(passed), len(steps)))
    return rows


def progress_report(labs_dir=None) -> str:
    """A text table of where the learner stands across all labs (``scaledown progress`` prints it)."""
    rows = progress_rows(labs_dir)
    lines = [f"{'lab':<28}{'checks passed':>15}  {'':<12}title"]
    for lab_id, title, passed, total in rows:
        bar = "█" * passed + "░" * (total - passed)
        lines.append(f"{lab_id:<28}{f'{passed}/{total}':>15}  {bar:<12}{title}")
    passed = sum(r[2] for r in rows)
    total = sum(r[3] for r in rows)
    complete = sum(1 for r in rows if r[3] and r[2] == r[3])
    lines.append(
        f"\n{complete} of {len(rows)} labs complete, {passed} of {total} checks passed "
        f"(progress file: {progress_path()})"
    )
    return "\n".join(lines)


def progress_widget(labs_dir=None):
    """An ipywidgets view of :func:`progress_rows`: a progress bar per lab."""
    import ipywidgets as widgets

    rows = []
    for lab_id, title, passed, total in progress_rows(labs_dir):
        bar = widgets.IntProgress(
            value=passed, min=0, max=max(total, 1), bar_style="success" if total and passed == total else "info"
        )
        rows.append(
            widgets.HBox(
                [
                    widgets.Label(f"{lab_id}", layout=widgets.Layout(width="220px")),
                    bar,
                    widgets.Label(f"{passed}/{total} — {title}"),
                ]
            )
        )
    return widgets.VBox(rows)
