"""Do a lab's checks catch the mistakes learners make? Run its authors' wrong answers.

A solution notebook lists realistic mistakes in its metadata::

    "scaledown": {"wrong_answers": [
        {"step": "affine parameters", "replace": "-128 - x_min / scale",
         "with": "-127 - x_min / scale", "why": "off-by-one zero point"}]}

:func:`try_wrong_answers` runs the *filled* learner copy once, cell by cell, in one fresh
kernel in strict quick mode. On reaching the cell a wrong answer changes, it first takes a
detour: the changed cell, then the cells after it up to the check of its step, and reads
that check's mark; then it runs the right cell and goes on. The right path's own marks come
back too: they are the filled copy's grade. One kernel per lab keeps this fast. A detour
re-runs cells, so keep a step's cells re-runnable (build a model in the cell that trains
it); a detour that leaks into the right path shows up as a 💡 there.
"""

from __future__ import annotations

import copy
import dataclasses
import pathlib
import shutil
import tempfile

from scaledown.labs.grading import NOT_RUN, marks_from_outputs, strict_client
from scaledown.labs.notebook_io import cell_source
from scaledown.labs.progress import lab_declaration


@dataclasses.dataclass
class WrongAnswerResult:
    """What the check of ``wrong["step"]`` answered to the wrong answer: ✅ (missed) or 💡 (caught)."""

    wrong: dict
    mark: str

    @property
    def caught(self) -> bool:
        return self.mark == "💡"


def listed_wrong_answers(solution: dict) -> list:
    """The wrong answers a solution notebook lists in its metadata (``scaledown.wrong_answers``)."""
    return solution.get("metadata", {}).get("scaledown", {}).get("wrong_answers", [])


def check_cell_index(notebook: dict, step: str) -> int:
    """Index of the code cell that runs ``lab.check("step", ...)``."""
    for index, cell in enumerate(notebook["cells"]):
        source = cell_source(cell)
        if cell["cell_type"] == "code" and "check(" in source and (f'"{step}"' in source or f"'{step}'" in source):
            return index
    raise ValueError(f"no cell checks the step {step!r}: a wrong answer names a step of the lab.")


def _changed_cell_index(notebook: dict, wrong: dict) -> int:
    found = [
        i for i, c in enumerate(notebook["cells"]) if c["cell_type"] == "code" and wrong["replace"] in cell_source(c)
    ]
    count = sum(cell_source(notebook["cells"][i]).count(wrong["replace"]) for i in found)
    if count != 1:
        raise ValueError(
            f"the wrong answer {wrong.get('why', '')!r} replaces {wrong['replace']!r}, "
            f"which occurs {count} times in the filled copy; it must occur exactly once."
        )
    return found[0]


@dataclasses.dataclass
class DetourRun:
    """One run of a filled lab with its wrong answers as detours.

    ``wrong`` holds a :class:`WrongAnswerResult` per wrong answer, in the order given;
    ``marks`` (step → ✅/💡), ``raised`` and ``errors`` describe the right path, as
    :func:`scaledown.labs.grading.marks_from_outputs` reads them.
    """

    wrong: list
    marks: dict
    raised: list
    errors: list


def try_wrong_answers(filled: dict, wrong_answers, *, time_limit: float = 600, quick: bool = True) -> DetourRun:
    """Run ``filled`` once, each wrong answer as a detour; see :class:`DetourRun`.

    Raises ``ValueError`` when a wrong answer's text is not found exactly once, or its step has
    no check cell after the changed cell.
    """
    steps = lab_declaration(filled)[1]
    plan = {}
    for position, wrong in enumerate(wrong_answers):
        changed, check = _changed_cell_index(filled, wrong), check_cell_index(filled, wrong["step"])
        if check < changed:
            raise ValueError(
                f"the wrong answer {wrong.get('why', '')!r} changes cell {changed}, "
                f"after the check of {wrong['step']!r} (cell {check})."
            )
        plan.setdefault(changed, []).append((position, wrong, check))
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="scaledown-wrong-"))
    results, cells = {}, []  # results by position in wrong_answers
    try:
        node, client, env = strict_client(filled, scratch, time_limit=time_limit, quick=quick)
        cells = list(node.cells)
        with client.setup_kernel(env=env):
            for index, cell in enumerate(cells):
                for position, wrong, check in plan.get(index, []):
                    detour = [copy.deepcopy(c) for c in cells[index : check + 1]]
                    detour[0].source = detour[0].source.replace(wrong["replace"], wrong["with"])
                    for offset, detour_cell in enumerate(detour):
                        if detour_cell.cell_type == "code":
                            client.execute_cell(detour_cell, index + offset)
                    node.cells[:] = cells  # execute_cell stores the detour's cells in the notebook
                    marks, _, _ = marks_from_outputs({"cells": [detour[-1]]}, steps)
                    results[position] = WrongAnswerResult(wrong, marks.get(wrong["step"], NOT_RUN))
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    marks, raised, errors = marks_from_outputs({"cells": cells}, steps)
    return DetourRun(
        [results[i] for i in range(len(results))], {s: marks.get(s, NOT_RUN) for s in steps}, raised, errors
    )
