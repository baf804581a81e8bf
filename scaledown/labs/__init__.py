"""The lab format: TODO cells, check cells that answer with a hint, solutions the tests run.

A lab is written once, as its *solution* notebook (``labs/solutions/NAME.ipynb``). Each
answer sits between two marker lines::

    ### BEGIN SOLUTION
    scale = (x_max - x_min) / 255
    ### END SOLUTION

The learner's copy (``labs/NAME.ipynb``) is generated from it (:mod:`.learner_copy`): the
skeleton around and inside each block stays — signatures, docstrings, loops, ``return`` —
and only the lines that teach become ``...  # YOUR CODE HERE``.

Check cells call :meth:`Lab.check` (:mod:`.checks`): a right answer gets ✅ and is recorded
in the learner's progress file (:mod:`.progress`); anything else gets a 💡 hint, never a
traceback — unless ``SCALEDOWN_STRICT=1``, when an unmet check raises ``AssertionError``
so that nbval, nbclient or the workshop grader (:mod:`.grading`) stops on it.
"""

from scaledown.labs.checks import STRICT_ENV_VAR, Hint, Lab, strict_mode, todo_done
from scaledown.labs.figures import check_figure, plotted_series
from scaledown.labs.learner_copy import (
    BEGIN,
    END,
    TODO_MARK,
    filled_notebook,
    make_student_notebook,
    solution_blocks,
    student_source,
)
from scaledown.labs.progress import (
    course_root,
    discover_labs,
    load_progress,
    progress_path,
    progress_report,
    progress_rows,
    progress_widget,
)

__all__ = [
    "Lab",
    "Hint",
    "todo_done",
    "strict_mode",
    "STRICT_ENV_VAR",
    "check_figure",
    "plotted_series",
    "BEGIN",
    "END",
    "TODO_MARK",
    "student_source",
    "make_student_notebook",
    "solution_blocks",
    "filled_notebook",
    "course_root",
    "discover_labs",
    "load_progress",
    "progress_path",
    "progress_report",
    "progress_rows",
    "progress_widget",
]
