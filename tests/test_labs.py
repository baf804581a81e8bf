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
        "x = 1\nmodel = ...  # YOUR CODE HERE\nacc, loss = ...  # YOUR CODE HERE\nprint(x)")


def test_function_keeps_signature_and_docstring():
    src = ('### BEGIN SOLUTION\ndef quantize(x, scale):\n    """Map to int8."""\n'
           '    return round(x / scale)\n### END SOLUTION')
    assert labs.student_source(src) == (
        'def quantize(x, scale):\n    """Map to int8."""\n    ...  # YOUR CODE HERE')


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
    assert json.loads(student.read_text())["cells"] == expected["cells"], \
        f"{student.name} is out of date: run `scaledown labs build`"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_student_notebook_has_no_solution_left(solution):
    text = (ROOT / "labs" / solution.name).read_text()
    assert labs.BEGIN not in text and labs.TODO_MARK in text


def test_every_course_lab_is_discovered_with_its_steps():
    found = {lab_id: steps for lab_id, _, steps in labs.discover_labs()}
    assert len(found) == len(SOLUTIONS)
    assert found["ch01-fit-the-nano"] == ("design", "fits the Nano", "fast enough", "accuracy")


def test_progress_report_counts_passed_checks(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCALEDOWN_PROGRESS", str(tmp_path / "p.json"))
    lab = labs.Lab("ch01-fit-the-nano")
    lab.check("design", lambda: "ok")
    lab.check("fits the Nano", lambda: "ok")
    rows = {r[0]: r[2:] for r in labs.progress_rows()}
    assert rows["ch01-fit-the-nano"] == (2, 4)
    assert "0 of " in labs.progress_report() and "2 of " in labs.progress_report()


def test_progress_cli_prints_the_report(tmp_path, monkeypatch, capsys):
    from scaledown import cli
    monkeypatch.setenv("SCALEDOWN_PROGRESS", str(tmp_path / "p.json"))
    assert cli.main(["progress"]) == 0
    assert "ch00-read-a-profile" in capsys.readouterr().out
