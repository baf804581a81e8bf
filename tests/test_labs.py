"""The lab format: stubs from solutions, checks that hint instead of raising, progress."""

import json
import pathlib

import pytest

from scaledown import labs

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "labs" / "solutions").glob("*.ipynb"))


def test_assignment_becomes_ellipsis_stub():
    src = "x = 1\n### BEGIN SOLUTION\nmodel = build(3)\nacc, loss = 0.9, 1.0\n### END SOLUTION\nprint(x)"
    assert labs.student_source(src) == (
        "x = 1\nmodel = ...  # YOUR CODE HERE\nacc, loss = ..., ...  # YOUR CODE HERE\nprint(x)"
    )


def test_function_keeps_signature_and_docstring():
    src = (
        '### BEGIN SOLUTION\ndef quantize(x, scale):\n    """Map to int8."""\n'
        "    return round(x / scale)\n### END SOLUTION"
    )
    assert labs.student_source(src) == (
        'def quantize(x, scale):\n    """Map to int8."""\n    return ...  # YOUR CODE HERE'
    )


def test_stub_keeps_loops_and_the_names_a_function_returns():
    src = (
        "def f(xs):\n    ### BEGIN SOLUTION\n    total = 0\n    for x in xs:\n        if x > 0:\n"
        "            total += x\n    scale = total / 2\n    return scale, total\n    ### END SOLUTION"
    )
    assert labs.student_source(src) == (
        "def f(xs):\n    total = ...  # YOUR CODE HERE\n    for x in xs:\n        ...  # YOUR CODE HERE\n"
        "    scale = ...  # YOUR CODE HERE\n    return scale, total"
    )
    namespace = {}
    exec(labs.student_source(src), namespace)
    assert namespace["f"]([1, 2]) == (Ellipsis, Ellipsis)


def test_stub_keeps_an_if_that_returns_and_blanks_one_that_does_not():
    src = (
        "### BEGIN SOLUTION\ndef sign(x):\n    if x < 0:\n        return -1\n    y = abs(x)\n"
        "    if y > 9:\n        y = 9\n    return y\n### END SOLUTION"
    )
    assert labs.student_source(src) == (
        "def sign(x):\n    if x < 0:\n        return ...  # YOUR CODE HERE\n    y = ...  # YOUR CODE HERE\n"
        "    ...  # YOUR CODE HERE\n    return y"
    )


def test_every_stub_of_the_course_is_valid_python():
    for solution in SOLUTIONS:
        for cell in labs.make_student_notebook(json.loads(solution.read_text()))["cells"]:
            if cell["cell_type"] == "code":
                compile("".join(cell["source"]), solution.name, "exec")


def test_filled_notebook_puts_each_block_back_into_its_blank():
    solution = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "execution_count": 1,
                "source": "def f(x):\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION\n"
                "### BEGIN SOLUTION\nz = f(1)\n### END SOLUTION",
            }
        ],
        "metadata": {},
    }
    learner = labs.make_student_notebook(solution)
    filled = labs.filled_notebook(learner, solution)
    assert filled["cells"][0]["source"] == "def f(x):\n    y = x + 1\n    return y\nz = f(1)"
    learner["cells"][0]["source"] = "def f(x):\n    pass"
    with pytest.raises(ValueError, match="not in the learner's copy"):
        labs.filled_notebook(learner, solution)


def test_wrong_answers_stay_out_of_the_learners_copy():
    solution = {
        "cells": [],
        "metadata": {"scaledown": {"wrong_answers": [{"step": "a", "replace": "1", "with": "2", "why": "x"}]}},
    }
    assert "scaledown" not in labs.make_student_notebook(solution)["metadata"]


def test_indented_block_keeps_indent():
    src = "for i in range(2):\n    ### BEGIN SOLUTION\n    y = i * 2\n    ### END SOLUTION"
    assert labs.student_source(src) == "for i in range(2):\n    y = ...  # YOUR CODE HERE"


def test_unclosed_block_is_a_clear_error():
    with pytest.raises(ValueError, match="has no '### END SOLUTION'"):
        labs.student_source("### BEGIN SOLUTION\nx = 1")


def test_check_hints_on_todo_placeholder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCALEDOWN_PROGRESS", str(tmp_path / "p.json"))
    model = ...
    ok = labs.Lab("demo").check("model", lambda: labs.todo_done(model, "model"))
    assert not ok and "💡 model: `model` is still a TODO" in capsys.readouterr().out
    assert not (tmp_path / "p.json").exists()


def test_todo_done_sees_a_placeholder_inside_a_tuple():
    with pytest.raises(labs.Hint, match="still a TODO"):
        labs.todo_done((..., ...), "affine_params(...)")
    assert labs.todo_done((0.1, 3)) == (0.1, 3)


def test_strict_mode_raises_the_hint_of_an_unmet_check(monkeypatch, capsys):
    monkeypatch.setenv("SCALEDOWN_STRICT", "1")
    with pytest.raises(AssertionError, match="^model: `model` is still a TODO"):
        labs.Lab("demo").check("model", lambda: labs.todo_done(..., "model"), record_progress=False)
    assert "💡 model" in capsys.readouterr().out
    assert labs.Lab("demo").check("ok", lambda: "fine", record_progress=False)


def test_check_hints_on_undefined_name(capsys):
    ok = labs.Lab("demo").check("model", lambda: undefined_model_name)  # noqa: F821
    assert not ok and "run the TODO cell above first" in capsys.readouterr().out


def test_check_hints_on_learner_exception(capsys):
    ok = labs.Lab("demo").check("divide", lambda: 1 / 0)
    assert not ok and "ZeroDivisionError" in capsys.readouterr().out


def test_passed_check_is_recorded(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCALEDOWN_PROGRESS", str(tmp_path / "p.json"))
    lab = labs.Lab("demo", steps=["a", "b"])
    assert lab.check("a", lambda: "well done")
    assert "✅ a: well done" in capsys.readouterr().out
    assert set(json.loads((tmp_path / "p.json").read_text())["demo"]) == {"a"}
    capsys.readouterr()
    lab.summary()
    assert capsys.readouterr().out == "✅ a\n⬜ b\n"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_student_notebook_is_in_sync_with_its_solution(solution):
    student = ROOT / "labs" / solution.name
    expected = labs.make_student_notebook(json.loads(solution.read_text()))
    assert student.exists(), f"{student} is missing: run `scaledown labs build`"
    assert json.loads(student.read_text())["cells"] == expected["cells"], (
        f"{student.name} is out of date: run `scaledown labs build`"
    )


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_student_notebook_has_no_solution_left(solution):
    text = (ROOT / "labs" / solution.name).read_text()
    assert labs.BEGIN not in text and labs.TODO_MARK in text


def test_every_course_lab_is_discovered_with_its_steps():
    found = {lab_id: steps for lab_id, _, steps in labs.discover_labs()}
    assert len(found) == len(SOLUTIONS)
    assert found["ch01-fit-the-nano"] == ("design", "fits the Nano", "fast enough", "accuracy", "picture")


def test_progress_report_counts_passed_checks(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCALEDOWN_PROGRESS", str(tmp_path / "p.json"))
    lab = labs.Lab("ch01-fit-the-nano")
    lab.check("design", lambda: "ok")
    lab.check("fits the Nano", lambda: "ok")
    rows = {r[0]: r[2:] for r in labs.progress_rows()}
    assert rows["ch01-fit-the-nano"] == (2, 5)
    assert "0 of " in labs.progress_report() and "2 of " in labs.progress_report()


def test_progress_cli_prints_the_report(tmp_path, monkeypatch, capsys):
    from scaledown import cli

    monkeypatch.setenv("SCALEDOWN_PROGRESS", str(tmp_path / "p.json"))
    assert cli.main(["progress"]) == 0
    assert "ch00-read-a-profile" in capsys.readouterr().out


def _skeleton(notebook):
    """Per function (and per cell, for top-level code): how many returns and loops it has."""
    import ast

    counts = {}
    for number, cell in enumerate(c for c in notebook["cells"] if c["cell_type"] == "code"):
        source = "".join(cell["source"])
        tree = ast.parse(source.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                counts[node.name] = tuple(
                    sum(isinstance(n, kinds) for n in ast.walk(node)) for kinds in (ast.Return, (ast.For, ast.While))
                )
        top = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        counts[f"cell {number}"] = sum(isinstance(n, (ast.For, ast.While)) for t in top for n in ast.walk(t))
    return counts


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_learner_copy_keeps_every_return_and_loop_of_the_solution(solution):
    notebook = json.loads(solution.read_text())
    notebook["cells"] = [c for c in notebook["cells"] if "solution-only" not in c.get("metadata", {}).get("tags", [])]
    assert _skeleton(json.loads((ROOT / "labs" / solution.name).read_text())) == _skeleton(notebook)
