"""``scaledown labs grade``: a table of ✅/💡/⏱ per step; a hang, a crash or a deleted file is reported, not fatal."""

import json

import pytest

from scaledown import cli
from scaledown.labs import grading

SETUP = 'from scaledown.labs import Lab, Hint\nlab = Lab("toy", steps=["one", "two"])'


def _notebook(path, *cells):
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": s} for s in cells]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def _fail(message):
    return f"def _fail():\n    raise Hint({message!r})\n"


def test_grades_each_step_and_records_strict_failures(tmp_path):
    path = _notebook(
        tmp_path / "a.ipynb",
        SETUP,
        'lab.check("one", lambda: "fine")',
        _fail("not yet") + 'lab.check("two", _fail)',
        'print("after the unmet check")',
    )
    result = grading.grade_notebook(path, time_limit=60)
    assert result.marks == {"one": grading.PASSED, "two": grading.HINT}
    assert result.raised == ["two"] and result.notes == []


def test_outputs_saved_in_the_file_are_not_graded(tmp_path):
    path = _notebook(tmp_path / "a.ipynb", SETUP, "import os\nos._exit(1)", 'lab.check("one", lambda: "fine")')
    notebook = json.loads(path.read_text())
    notebook["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "✅ one\n✅ two\n"}]
    path.write_text(json.dumps(notebook))
    result = grading.grade_notebook(path, time_limit=60)
    assert result.marks == {"one": grading.NOT_RUN, "two": grading.NOT_RUN}


def test_a_hang_a_crash_an_error_and_a_deletion_are_reported_and_the_run_goes_on(tmp_path):
    keep = tmp_path / "submissions" / "keep.txt"
    keep.parent.mkdir()
    keep.write_text("a learner's file")
    hang = _notebook(
        keep.parent / "hang.ipynb", SETUP, 'lab.check("one", lambda: "fine")', "import time\ntime.sleep(120)"
    )
    crash = _notebook(keep.parent / "crash.ipynb", SETUP, "import os\nos._exit(1)")
    error = _notebook(keep.parent / "error.ipynb", SETUP, "undefined_name", 'lab.check("one", lambda: "fine")')
    delete = _notebook(keep.parent / "delete.ipynb", SETUP, f"import os\nos.remove({str(keep)!r})")
    results = grading.grade([hang, crash, error, delete], time_limit=8)
    by_name = {r.path.name: r for r in results}
    assert by_name["hang.ipynb"].marks == {"one": grading.PASSED, "two": grading.TIMED_OUT}
    assert "time limit" in by_name["hang.ipynb"].notes[0]
    assert by_name["crash.ipynb"].marks == {"one": grading.NOT_RUN, "two": grading.NOT_RUN}
    assert "kernel died" in by_name["crash.ipynb"].notes[0]
    assert by_name["error.ipynb"].marks["one"] == grading.PASSED
    assert "NameError" in by_name["error.ipynb"].notes[0]
    assert any("deleted 1 file" in n for n in by_name["delete.ipynb"].notes)


def test_not_a_notebook_and_not_a_lab_are_reported(tmp_path):
    (tmp_path / "broken.ipynb").write_text("{ not json")
    plain = _notebook(tmp_path / "plain.ipynb", "x = 1")
    results = grading.grade([tmp_path / "broken.ipynb", plain], time_limit=30)
    assert "not a readable notebook" in results[0].notes[0]
    assert "not a lab notebook" in results[1].notes[0]


def test_cli_prints_one_table_with_a_column_per_step(tmp_path, capsys):
    _notebook(tmp_path / "good.ipynb", SETUP, 'lab.check("one", lambda: "fine")', 'lab.check("two", lambda: "fine")')
    _notebook(tmp_path / "todo.ipynb", SETUP, _fail("not yet") + 'lab.check("one", _fail)', 'lab.check("two", _fail)')
    assert cli.main(["labs", "grade", str(tmp_path), "--timeout", "60"]) == 0
    out = capsys.readouterr().out
    header, good, todo = out.splitlines()[:3]
    assert "one" in header and "two" in header
    assert good.count(grading.PASSED) == 2 and "2/2" in good
    assert todo.count(grading.HINT) == 2 and "0/2" in todo


@pytest.mark.parametrize(
    "args, message",
    [
        (["labs", "grade", "no/such/folder"], "does not exist"),
        (["labs", "grade", "."], None),
        (["labs", "grade", "x.ipynb", "--timeout", "0"], "--timeout must be a positive number"),
    ],
)
def test_cli_bad_input_is_one_sentence(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("scaledown: ") and err.count("\n") == 1 and "Traceback" not in err
    if message:
        assert message in err


def test_wrong_answers_run_as_detours_in_one_kernel():
    from scaledown.labs.wrong_answers import try_wrong_answers

    cells = [
        SETUP,
        "def double(x):\n    return 2 * x",
        'lab.check("one", lambda: double(2) == 4 or _no())',
        'lab.check("two", lambda: "fine" if double(1) == 2 else _no())',
    ]
    cells[2] = "def _no():\n    raise Hint('double(2) should be 4')\n" + cells[2]
    notebook = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": s} for s in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    wrong = [
        {"step": "two", "replace": "double(1) == 2", "with": "double(1) == 3", "why": "a later cell, listed first"},
        {"step": "one", "replace": "2 * x", "with": "x + x", "why": "the same, written otherwise"},
        {"step": "one", "replace": "2 * x", "with": "3 * x", "why": "triples"},
    ]
    run = try_wrong_answers(notebook, wrong, time_limit=60)
    assert [r.mark for r in run.wrong] == [grading.HINT, grading.PASSED, grading.HINT]
    assert run.marks == {"one": grading.PASSED, "two": grading.PASSED} and run.errors == []


def test_a_wrong_answer_that_matches_nothing_is_a_clear_error():
    from scaledown.labs.wrong_answers import try_wrong_answers

    notebook = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": SETUP},
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "execution_count": None,
                "source": 'lab.check("one", lambda: "ok")',
            },
        ],
        "metadata": {},
    }
    with pytest.raises(ValueError, match="occurs 0 times"):
        try_wrong_answers(notebook, [{"step": "one", "replace": "nothing like it", "with": "x", "why": "w"}])
