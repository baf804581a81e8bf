"""Every lab as a learner meets it: the unfilled copy, the filled copy, and wrong answers.

* The **unfilled** learner copy (``labs/NAME.ipynb``) runs top to bottom and every check
  answers 💡 — no ✅, and no error outside a check.
* The **filled** copy — the learner copy with each solution block put back into its blank —
  passes every check, in strict mode, as the solution does.
* Each **wrong answer** the lab's authors list in the solution's metadata
  (``scaledown.wrong_answers``: a realistic mistake as a text replacement in the filled copy)
  makes its step answer 💡 (all of a lab's wrong answers run in one kernel,
  :mod:`scaledown.labs.wrong_answers`).

The copies run through :func:`scaledown.labs.grading.grade_notebook` (strict quick mode, a
fresh kernel each), the function behind ``scaledown labs grade``.
"""
import functools
import json
import pathlib
import tempfile

import pytest

from scaledown import labs
from scaledown.labs import grading
from scaledown.labs.wrong_answers import listed_wrong_answers, try_wrong_answers

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "labs" / "solutions").glob("*.ipynb"))
TIME_LIMIT = 300


def _load(path):
    return json.loads(path.read_text())


WRONG = [(s, w) for s in SOLUTIONS for w in listed_wrong_answers(_load(s))]


def _write(notebook, path):
    path.write_text(json.dumps(notebook, ensure_ascii=False))
    return path


_FILLED = pathlib.Path(tempfile.mkdtemp(prefix="scaledown-filled-"))


@functools.cache
def graded(kind, name):
    """Grade one lab's ``"unfilled"`` learner copy or its ``"filled"`` copy (once per test session)."""
    solution = ROOT / "labs" / "solutions" / name
    learner = ROOT / "labs" / name
    if kind == "unfilled":
        path = learner
    else:
        path = _write(labs.filled_notebook(_load(learner), _load(solution)), _FILLED / name)
    return grading.grade_notebook(path, time_limit=TIME_LIMIT)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_unfilled_copy_runs_and_every_check_gives_a_hint(solution):
    result = graded("unfilled", solution.name)
    assert result.notes == [], result.notes
    assert result.marks == {step: grading.HINT for step in result.steps}
    assert result.raised == list(result.steps), "in strict mode every unmet check raises"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_filled_copy_passes_every_check(solution):
    result = graded("filled", solution.name)
    assert result.notes == [], result.notes
    assert result.marks == {step: grading.PASSED for step in result.steps}


def test_grade_table_shows_every_lab_filled_and_unfilled():
    table = grading.grade_table([graded(kind, s.name) for s in SOLUTIONS for kind in ("unfilled", "filled")])
    rows = [line for line in table.splitlines() if line.endswith(".ipynb") or ".ipynb " in line]
    assert len(rows) == 2 * len(SOLUTIONS)
    for line in rows:
        assert (grading.PASSED in line) != (grading.HINT in line), line


def test_every_lab_lists_a_wrong_answer():
    assert {s.name for s, _ in WRONG} == {s.name for s in SOLUTIONS}


@functools.cache
def wrong_answer_marks(name):
    """The mark each listed wrong answer of one lab gets, in order, all run in one kernel (see scaledown.labs.wrong_answers)."""
    solution = _load(ROOT / "labs" / "solutions" / name)
    filled = labs.filled_notebook(_load(ROOT / "labs" / name), solution)
    results = try_wrong_answers(filled, listed_wrong_answers(solution), time_limit=TIME_LIMIT)
    return [r.mark for r in results]


@pytest.mark.parametrize("case", WRONG, ids=lambda c: f"{c[0].stem}-{c[1]['step']}-{c[1]['why'][:40]}")
def test_wrong_answer_gets_a_hint(case):
    solution, wrong = case
    index = listed_wrong_answers(_load(solution)).index(wrong)
    assert wrong_answer_marks(solution.name)[index] == grading.HINT, wrong
