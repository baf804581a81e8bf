"""The lab format: TODO cells, check cells that answer with a hint, solutions the tests run.

A lab is written once, as its *solution* notebook (``labs/solutions/NAME.ipynb``).
Each answer sits between two marker lines::

    ### BEGIN SOLUTION
    model = build_my_model()
    ### END SOLUTION

:func:`make_student_notebook` writes the learner's copy (``labs/NAME.ipynb``): every
solution block becomes a TODO stub — ``model = ...  # YOUR CODE HERE`` for an
assignment, the signature and docstring for a function — and outputs are cleared.
The tests execute the solution end to end; a test keeps the two copies in sync.

Check cells call :meth:`Lab.check`. A check never raises: a TODO left undone, a
name not yet defined or a wrong answer gets a 💡 hint; a right answer gets a ✅
and is recorded in the learner's progress file (``~/.scaledown/progress.json``,
or the path in ``SCALEDOWN_PROGRESS``).
"""
from __future__ import annotations

import ast
import copy
import datetime as _dt
import json
import os
import pathlib
import tempfile

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
TODO_MARK = "# YOUR CODE HERE"


class Hint(Exception):
    """Raise inside a check to tell the learner what to look at next."""


def todo_done(value, name: str = "value"):
    """Raise :class:`Hint` while ``value`` is still the TODO placeholder (``...`` or ``None``)."""
    if value is Ellipsis or value is None:
        raise Hint(f"`{name}` is still a TODO: replace the `...` in the cell above with your code and run it.")
    return value


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


def _record(lab_id: str, step: str) -> None:
    path = progress_path()
    data = load_progress()
    data.setdefault(lab_id, {})[step] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        json.dump(data, tmp, indent=1, sort_keys=True)
    os.replace(tmp.name, path)  # atomic: a crash never leaves half a file


class Lab:
    """The checks of one lab.

    Parameters
    ----------
    lab_id : str
        Stable identifier, e.g. ``"ch01-fit-the-nano"``; progress is stored under it.
    steps : sequence of str, optional
        The names of the checks, in order, so that :meth:`summary` can show what is left.
    """

    def __init__(self, lab_id: str, steps=()):
        self.lab_id = lab_id
        self.steps = tuple(steps)
        self.passed: dict[str, str] = {}

    def check(self, step: str, test, *, record: bool = True) -> bool:
        """Run ``test()`` and print ✅ with its message, or 💡 with a hint; return whether it passed.

        ``test`` is a function of no arguments (usually a ``lambda`` over the learner's
        variables) that returns a success message, or raises :class:`Hint` (or
        ``AssertionError``) with a hint for a wrong answer.
        """
        try:
            message = test()
        except NameError as exc:
            print(f"💡 {step}: {exc} — run the TODO cell above first.")
            return False
        except (Hint, AssertionError) as exc:
            print(f"💡 {step}: {exc}")
            return False
        except Exception as exc:  # noqa: BLE001 - a learner's bug is a hint, not a traceback
            print(f"💡 {step}: your code raised {type(exc).__name__}: {exc}")
            return False
        print(f"✅ {step}" + (f": {message}" if message else ""))
        self.passed[step] = message or ""
        if record:
            _record(self.lab_id, step)
        return True

    def summary(self) -> None:
        """Print one line per step: ✅ passed in this session, ⬜ not yet."""
        print("\n".join(f"{'✅' if s in self.passed else '⬜'} {s}" for s in (self.steps or tuple(self.passed))))


# --- student notebooks from solutions ---------------------------------------------------------

def _stub(solution_code: str) -> str:
    """TODO stub for a solution block: assignments become ``name = ...``, functions keep their signature."""
    lines = solution_code.splitlines()
    stub = []
    for node in ast.parse(solution_code).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = ", ".join(ast.get_source_segment(solution_code, t) for t in targets)
            stub.append(f"{names} = ...  {TODO_MARK}")
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            header_end = node.body[0].lineno - 1
            stub.extend(lines[node.lineno - 1 - len(node.decorator_list):header_end])
            first = node.body[0]
            indent = " " * first.col_offset
            if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
                    and isinstance(first.value.value, str):
                stub.extend(lines[first.lineno - 1:first.end_lineno])
            stub.append(f"{indent}...  {TODO_MARK}")
    return "\n".join(stub) if stub else TODO_MARK


def student_source(source: str) -> str:
    """Replace every ``### BEGIN SOLUTION`` … ``### END SOLUTION`` block of a cell by its TODO stub."""
    out, block, inside = [], [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside, block = True, []
            indent = line[: len(line) - len(line.lstrip())]
        elif line.strip() == END:
            if not inside:
                raise ValueError(f"'{END}' without a '{BEGIN}' before it.")
            code = "\n".join(b[len(indent):] if b.startswith(indent) else b for b in block)
            out.extend(indent + s if s else s for s in _stub(code).splitlines())
            inside = False
        elif inside:
            block.append(line)
        else:
            out.append(line)
    if inside:
        raise ValueError(f"A '{BEGIN}' has no '{END}' after it.")
    return "\n".join(out)


def make_student_notebook(solution: dict) -> dict:
    """Return the learner's copy of a solution notebook (a dict in nbformat 4 JSON form).

    Solution blocks become TODO stubs, cells tagged ``solution-only`` are dropped,
    outputs and execution counts are cleared, and Markdown links relative to
    ``labs/solutions/`` (``](../../``, the Colab badge) are rewritten for ``labs/``.
    """
    student = copy.deepcopy(solution)
    cells = []
    for cell in student["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "solution-only" in tags:
            continue
        if cell["cell_type"] == "code":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = student_source(source)
            cell["outputs"], cell["execution_count"] = [], None
            cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k == "tags"}
            if tags:
                cell["metadata"]["tags"] = [t for t in tags if t != "hide-input"]
                if not cell["metadata"]["tags"]:
                    del cell["metadata"]["tags"]
        else:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = source.replace("](../../", "](../").replace("/blob/main/labs/solutions/", "/blob/main/labs/")
        cells.append(cell)
    student["cells"] = cells
    return student


# --- progress across all labs ---------------------------------------------------------------

def course_root() -> pathlib.Path:
    """The course folder that holds ``labs/`` (this package is installed from it, editable)."""
    return pathlib.Path(__file__).resolve().parents[1]


def discover_labs(labs_dir=None) -> list:
    """Every lab of the course as ``(lab_id, title, steps)``, read from the ``Lab(...)`` call in each notebook.

    The learners' notebooks in ``labs/`` are the source, so a new lab needs no registration.
    """
    labs_dir = pathlib.Path(labs_dir) if labs_dir else course_root() / "labs"
    found = []
    for path in sorted(labs_dir.glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        title = next((_title(c) for c in cells if c["cell_type"] == "markdown" and _title(c)), path.stem)
        for cell in cells:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] != "code" or "Lab(" not in source:
                continue
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Lab" and node.args:
                    steps = next((ast.literal_eval(k.value) for k in node.keywords if k.arg == "steps"), ())
                    found.append((ast.literal_eval(node.args[0]), title, tuple(steps)))
    return found


def _title(cell) -> str:
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    return next((line.lstrip("# ").strip() for line in source.splitlines() if line.startswith("# ")), "")


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
    lines.append(f"\n{complete} of {len(rows)} labs complete, {passed} of {total} checks passed "
                 f"(progress file: {progress_path()})")
    return "\n".join(lines)


def progress_widget(labs_dir=None):
    """An ipywidgets view of :func:`progress_rows`: a progress bar per lab."""
    import ipywidgets as widgets

    rows = []
    for lab_id, title, passed, total in progress_rows(labs_dir):
        bar = widgets.IntProgress(value=passed, min=0, max=max(total, 1),
                                  bar_style="success" if total and passed == total else "info")
        rows.append(widgets.HBox([widgets.Label(f"{lab_id}", layout=widgets.Layout(width="220px")), bar,
                                  widgets.Label(f"{passed}/{total} — {title}")]))
    return widgets.VBox(rows)
