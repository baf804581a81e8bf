"""Grade learners' lab notebooks for a workshop: ``scaledown labs grade PATH...``.

Each notebook runs in a fresh kernel, in a scratch folder of its own, in strict quick mode
(``SCALEDOWN_STRICT=1``, ``SCALEDOWN_QUICK=1``) with a time limit. Strict mode makes every
unmet check raise; the run records the error and goes on, so every step is judged:

* ✅ the check passed, 💡 it ran and did not pass,
* ⏱ the time limit ran out before the check, — the kernel died before it (or it never ran).

A notebook that hangs, crashes its kernel, raises outside its checks or deletes files is
reported in its row's notes; it never stops the run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
import tempfile
import time

from scaledown.labs.notebook_io import cell_source
from scaledown.labs.progress import lab_declaration

PASSED, HINT, TIMED_OUT, NOT_RUN = "✅", "💡", "⏱", "—"


@dataclasses.dataclass
class GradeResult:
    """One notebook's grade: a mark per step, the time it took and what went wrong around the checks."""

    path: pathlib.Path
    lab_id: str
    steps: tuple
    marks: dict
    seconds: float
    notes: list = dataclasses.field(default_factory=list)
    raised: list = dataclasses.field(default_factory=list)  # steps whose unmet check raised (strict mode)

    @property
    def passed(self) -> int:
        return sum(self.marks.get(s) == PASSED for s in self.steps)


def _files_next_to(path: pathlib.Path) -> set:
    """The files in the notebook's own folder (not below it: that may be a whole course with its .venv)."""
    return {p for p in path.parent.iterdir() if p.is_file()} if path.parent.is_dir() else set()


def marks_from_outputs(notebook: dict, steps) -> tuple:
    """The last ✅/💡 line printed for each step, the steps whose check raised, and the other errors."""
    marks, raised, errors = {}, [], []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                for line in cell_source({"source": output.get("text", "")}).splitlines():
                    for mark in (PASSED, HINT):
                        if line.startswith(mark + " "):
                            name = line[len(mark) + 1 :]
                            step = next((s for s in steps if name == s or name.startswith(s + ":")), None)
                            if step:
                                marks[step] = mark
            elif output.get("output_type") == "error":
                step = next((s for s in steps if output.get("evalue", "").startswith(s + ":")), None)
                if output.get("ename") == "AssertionError" and step:
                    raised.append(step)
                else:
                    errors.append(f"{output.get('ename')}: {output.get('evalue', '')}"[:160])
    return marks, raised, errors


def strict_client(notebook: dict, scratch: pathlib.Path, *, time_limit: float, quick: bool):
    """``(notebook_node, client, env)`` to run ``notebook`` in a fresh kernel in strict mode, in ``scratch``.

    Outputs saved with the file are cleared (only this run counts); the kernel's progress
    file and home are inside ``scratch``; every cell gets what is left of ``time_limit``.
    """
    import nbclient
    import nbformat

    env = {
        **os.environ,
        "SCALEDOWN_STRICT": "1",
        "SCALEDOWN_QUICK": "1" if quick else "",
        "SCALEDOWN_PROGRESS": str(scratch / "progress.json"),
        "HOME": str(scratch),
    }
    deadline = time.monotonic() + time_limit
    node = nbformat.reads(json.dumps(notebook), as_version=4)
    for cell in node.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = nbclient.NotebookClient(
        node,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=False,
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
        resources={"metadata": {"path": str(scratch)}},
    )
    return node, client, env


def grade_notebook(path, *, time_limit: float = 600, quick: bool = True) -> GradeResult:
    """Run one lab notebook in strict mode in a fresh kernel and grade its checks.

    Parameters
    ----------
    path : str or Path
        A lab notebook (a learner's copy, filled or not, or a solution).
    time_limit : float
        Seconds the whole notebook may run; steps not reached by then are marked ⏱.
    quick : bool
        Run in quick mode (the labs' small data and few epochs), as the tests do.
    """
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    path = pathlib.Path(path)
    start = time.monotonic()
    try:
        notebook = json.loads(path.read_text())
        declared = lab_declaration(notebook)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, SyntaxError, ValueError) as exc:
        return GradeResult(path, "?", (), {}, 0.0, [f"not a readable notebook ({type(exc).__name__})"])
    if not declared:
        return GradeResult(path, "?", (), {}, 0.0, ["no Lab(...) call: not a lab notebook"])
    lab_id, steps = declared
    result = GradeResult(path, lab_id, steps, {}, 0.0)
    before = _files_next_to(path)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="scaledown-grade-"))
    node, client, env = strict_client(notebook, scratch, time_limit=time_limit, quick=quick)
    ended = None
    try:
        client.execute(env=env)
    except CellTimeoutError:
        ended = TIMED_OUT
        result.notes.append(f"stopped after the {time_limit:.0f} s time limit")
    except DeadKernelError:
        ended = NOT_RUN
        result.notes.append("the kernel died (out of memory, or the notebook ended its own process)")
    except Exception as exc:  # noqa: BLE001 - a broken notebook is reported, never fatal to the run
        ended = NOT_RUN
        result.notes.append(f"could not run: {type(exc).__name__}: {str(exc)[:120]}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    marks, result.raised, errors = marks_from_outputs(node, steps)
    result.marks = {s: marks.get(s, ended or NOT_RUN) for s in steps}
    if errors:
        result.notes.append(f"{len(errors)} cell(s) raised outside a check, first: {errors[0]}")
    deleted = sorted(before - _files_next_to(path))
    if deleted:
        result.notes.append(f"deleted {len(deleted)} file(s) next to it, e.g. {deleted[0].name}")
    result.seconds = time.monotonic() - start
    return result


def notebooks_in(paths) -> list:
    """Notebook files named in ``paths``, with folders expanded to their ``*.ipynb`` files (sorted)."""
    found = []
    for path in map(pathlib.Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist: give lab notebooks (.ipynb) or folders that hold them.")
    return found


def grade(paths, *, time_limit: float = 600, quick: bool = True, progress=None) -> list:
    """Grade every notebook in ``paths`` (files or folders), one fresh kernel each; a list of :class:`GradeResult`."""
    results = []
    for path in notebooks_in(paths):
        if progress:
            progress(path)
        results.append(grade_notebook(path, time_limit=time_limit, quick=quick))
    return results


def grade_table(results) -> str:
    """The grades as a text table: one row per notebook, one column per step, notes at the end.

    When every row is the same lab the columns are named after its steps; otherwise they
    are numbered and a legend lists each lab's steps.
    """
    if not results:
        return "no notebooks to grade"
    labs = {r.lab_id: r.steps for r in results}
    width = max(len(s) for s in labs.values()) if labs else 0
    same_lab = len(labs) == 1
    names = [str(r.path) for r in results]
    name_width = max(len("notebook"), *(len(n) for n in names))
    header_steps = list(next(iter(labs.values()))) if same_lab else [str(i + 1) for i in range(width)]
    column = [max(2, len(h)) for h in header_steps]
    lines = [
        "notebook".ljust(name_width)
        + "  "
        + "lab".ljust(22)
        + "  "
        + "  ".join(h.ljust(w) for h, w in zip(header_steps, column))
        + "  passed   time  notes"
    ]
    for name, r in zip(names, results):
        cells = [r.marks.get(r.steps[i], "") if i < len(r.steps) else "" for i in range(len(header_steps))]
        # emoji take two columns in a terminal
        row = "  ".join(c + " " * (w - 2 if c else w) for c, w in zip(cells, column))
        lines.append(
            f"{name.ljust(name_width)}  {r.lab_id[:22].ljust(22)}  {row}  "
            f"{f'{r.passed}/{len(r.steps)}':>6}  {r.seconds:4.0f}s  {'; '.join(r.notes)}"
        )
    if not same_lab:
        lines.append("")
        lines += [
            f"{lab_id}: " + ", ".join(f"{i + 1} {s}" for i, s in enumerate(steps)) for lab_id, steps in labs.items()
        ]
    lines.append(f"\n{PASSED} passed  {HINT} not yet (a hint)  {TIMED_OUT} time limit  {NOT_RUN} not run")
    return "\n".join(lines)
