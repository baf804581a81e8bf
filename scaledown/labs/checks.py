"""Check cells: a ✅ for a right answer, a 💡 hint for anything else.

``SCALEDOWN_STRICT=1`` turns an unmet check into an ``AssertionError`` carrying its hint, so a
notebook run by nbval, nbclient or :func:`scaledown.labs.grading.grade` stops at (or records)
the first step that is not met.
"""

from __future__ import annotations

import os

from scaledown.labs.progress import record

STRICT_ENV_VAR = "SCALEDOWN_STRICT"


class Hint(Exception):
    """Raise inside a check to tell the learner what to look at next."""


def strict_mode() -> bool:
    """True when ``SCALEDOWN_STRICT`` is set to anything but ``""``, ``"0"``, ``"false"`` or ``"no"``."""
    return os.environ.get(STRICT_ENV_VAR, "").strip().lower() not in ("", "0", "false", "no")


def _is_todo(value) -> bool:
    """True for the placeholder ``...``/``None``, or a tuple/list/dict that still holds one."""
    if value is Ellipsis or value is None:
        return True
    if isinstance(value, (tuple, list)):
        return any(v is Ellipsis for v in value)
    if isinstance(value, dict):
        return any(v is Ellipsis for v in value.values())
    return False


def todo_done(value, name: str = "value"):
    """Return ``value``, or raise :class:`Hint` while it is (or holds) the TODO placeholder ``...``."""
    if _is_todo(value):
        raise Hint(f"`{name}` is still a TODO: replace the `...` in the cell above with your code and run it.")
    return value


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

    def check(self, step: str, test, *, record_progress: bool = True) -> bool:
        """Run ``test()`` and print ✅ with its message, or 💡 with a hint; return whether it passed.

        ``test`` is a function of no arguments (usually a ``lambda`` over the learner's
        variables) that returns a success message, or raises :class:`Hint` (or
        ``AssertionError``) with a hint for a wrong answer. In strict mode an unmet check
        raises ``AssertionError("step: hint")`` after printing the hint.
        """
        hint = None
        try:
            message = test()
        except NameError as exc:
            hint = f"{exc} — run the TODO cell above first."
        except (Hint, AssertionError) as exc:
            hint = str(exc)
        except Exception as exc:  # noqa: BLE001 - a learner's bug is a hint, not a traceback
            hint = f"your code raised {type(exc).__name__}: {exc}"
        if hint is not None:
            print(f"💡 {step}: {hint}")
            if strict_mode():
                raise AssertionError(f"{step}: {hint}") from None
            return False
        print(f"✅ {step}" + (f": {message}" if message else ""))
        self.passed[step] = message or ""
        if record_progress:
            record(self.lab_id, step)
        return True

    def summary(self) -> None:
        """Print one line per step: ✅ passed in this session, ⬜ not yet."""
        print("\n".join(f"{'✅' if s in self.passed else '⬜'} {s}" for s in (self.steps or tuple(self.passed))))
