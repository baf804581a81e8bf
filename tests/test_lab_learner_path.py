"""Every lab as a learner meets it: the unfilled copy, the filled copy, and wrong answers.

* The **unfilled** learner copy (``labs/NAME.ipynb``) runs top to bottom and every check
  answers 💡 — no ✅, no error outside a check — and, in strict mode, raises.
* The **filled** copy — the learner copy with each solution block put back into its blank —
  passes every check.
* Each **wrong answer** the lab's authors list in the solution's metadata
  (``scaledown.wrong_answers``: a realistic mistake as a text replacement in the filled copy)
  makes its step answer 💡.

The unfilled copy runs through :func:`scaledown.labs.grading.grade_notebook`, the function
behind ``scaledown labs grade`` (strict quick mode, a fresh kernel). The filled copy and
all the wrong answers run in one more kernel (:func:`scaledown.labs.wrong_answers.try_wrong_answers`):
the filled copy cell by cell, each wrong answer as a detour from the cell it changes to its
step's check; the filled copy's grade is the marks of that run's right path.

One test class per lab, so that ``pytest -n 2 --dist loadscope`` keeps a lab's runs together.
"""

import functools
import json
import pathlib

import pytest

from scaledown import labs
from scaledown.labs import grading
from scaledown.labs.wrong_answers import listed_wrong_answers, try_wrong_answers

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "labs" / "solutions").glob("*.ipynb"))
TIME_LIMIT = 300


def _load(path):
    return json.loads(path.read_text())


@functools.cache
def unfilled(name):
    """The grade of a lab's learner copy as it ships (once per test session)."""
    return grading.grade_notebook(ROOT / "labs" / name, time_limit=TIME_LIMIT)


@functools.cache
def filled_with_detours(name):
    """The filled copy of a lab, run with every listed wrong answer as a detour (once per test session)."""
    solution = _load(ROOT / "labs" / "solutions" / name)
    filled = labs.filled_notebook(_load(ROOT / "labs" / name), solution)
    return try_wrong_answers(filled, listed_wrong_answers(solution), time_limit=TIME_LIMIT)


class _LabTests:
    """The learner-path tests of one lab; a subclass per lab sets ``solution``."""

    solution: pathlib.Path

    def test_unfilled_copy_runs_and_every_check_gives_a_hint(self):
        result = unfilled(self.solution.name)
        assert result.notes == [], result.notes
        assert result.marks == {step: grading.HINT for step in result.steps}
        assert result.raised == list(result.steps), "in strict mode every unmet check raises"

    def test_filled_copy_passes_every_check(self):
        run = filled_with_detours(self.solution.name)
        assert run.errors == [], run.errors
        assert run.marks == {step: grading.PASSED for step in run.marks} and run.marks

    def test_grade_table_shows_the_filled_and_the_unfilled_copy(self):
        graded_filled = grading.GradeResult(
            pathlib.Path("filled.ipynb"),
            "lab",
            tuple(filled_with_detours(self.solution.name).marks),
            filled_with_detours(self.solution.name).marks,
            0.0,
        )
        table = grading.grade_table([unfilled(self.solution.name), graded_filled])
        unfilled_row, filled_row = table.splitlines()[1:3]
        assert grading.HINT in unfilled_row and grading.PASSED not in unfilled_row
        assert grading.PASSED in filled_row and grading.HINT not in filled_row

    def test_lists_wrong_answers(self):
        assert listed_wrong_answers(_load(self.solution)), "list realistic mistakes in metadata.scaledown.wrong_answers"

    def _wrong_answer_gets_a_hint(self, index):
        wrong = filled_with_detours(self.solution.name).wrong[index]
        assert wrong.mark == grading.HINT, wrong.wrong


def _lab_class(solution):
    wrong = listed_wrong_answers(_load(solution))

    @pytest.mark.parametrize("index", range(len(wrong)), ids=[f"{w['step']}-{w['why'][:40]}" for w in wrong])
    def test_wrong_answer_gets_a_hint(self, index):
        self._wrong_answer_gets_a_hint(index)

    name = "TestLab_" + solution.stem
    return name, type(
        name, (_LabTests,), {"solution": solution, "test_wrong_answer_gets_a_hint": test_wrong_answer_gets_a_hint}
    )


globals().update(_lab_class(s) for s in SOLUTIONS)
