"""Every lab as a learner meets it: the unfilled copy, the filled copy, and wrong answers.

* The **unfilled** learner copy (``labs/NAME.ipynb``) runs top to bottom and every check
  answers 💡 — no ✅, and no error outside a check.
* The **filled** copy — the learner copy with each solution block put back into its blank —
  passes every check, in strict mode, as the solution does.
* Each **wrong answer** the lab's authors list in the solution's metadata
  (``scaledown.wrong_answers``: a realistic mistake as a text replacement in the filled copy)
  makes its step answer 💡.

All copies run through :func:`scaledown.labs.grading.grade` (strict quick mode, a fresh
kernel each), the function behind ``scaledown labs grade``.
"""
import functools
import json
import pathlib
import tempfile

import pytest

from scaledown import labs
from scaledown.labs import grading

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "labs" / "solutions").glob("*.ipynb"))
TIME_LIMIT = 300


def _load(path):
    return json.loads(path.read_text())


def wrong_answers(solution_path):
    """``[(solution_path, wrong_answer_dict)]`` listed in a solution's metadata."""
    listed = _load(solution_path).get("metadata", {}).get("scaledown", {}).get("wrong_answers", [])
    return [(solution_path, w) for w in listed]


WRONG = [case for s in SOLUTIONS for case in wrong_answers(s)]


def _step_cell(notebook, step):
    """Index of the code cell that runs the check of ``step``."""
    for index, cell in enumerate(notebook["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and ("check(" in source) and (f'"{step}"' in source or f"'{step}'" in source):
            return index
    raise AssertionError(f"no check cell for step {step!r}")


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


@pytest.mark.parametrize("case", WRONG, ids=lambda c: f"{c[0].stem}-{c[1]['step']}-{c[1]['why'][:30]}")
def test_wrong_answer_gets_a_hint(case, tmp_path):
    solution, wrong = case
    notebook = labs.filled_notebook(_load(ROOT / "labs" / solution.name), _load(solution))
    sources = ["".join(c["source"]) for c in notebook["cells"]]
    assert sum(s.count(wrong["replace"]) for s in sources) == 1, f"{wrong['replace']!r} must occur once in the filled copy"
    for cell, source in zip(notebook["cells"], sources):
        cell["source"] = source.replace(wrong["replace"], wrong["with"])
    notebook["cells"] = notebook["cells"][:_step_cell(notebook, wrong["step"]) + 1]
    result = grading.grade_notebook(_write(notebook, tmp_path / solution.name), time_limit=TIME_LIMIT)
    steps = list(result.steps)
    before = steps[:steps.index(wrong["step"])]
    assert result.marks[wrong["step"]] == grading.HINT, (wrong["why"], result.marks)
    assert all(result.marks[s] == grading.PASSED for s in before), ("the steps before it must still pass", result.marks)
