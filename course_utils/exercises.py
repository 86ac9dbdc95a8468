"""Self-check helpers for exercises: say right or wrong, and why, in one line (never a traceback).

Convention for the notebooks: the exercise cell defines the learner's function (returning None
until answered) and calls a check; the solution cell, tagged ``solution`` and hidden, starts with a
neutral comment line, defines ``solution_<name>`` (so running it never overwrites the learner's
answer) and calls the same check on it. With ``$COURSE_STRICT_EXERCISES=1`` (set by the test
suite) a wrong, non-empty answer raises ``AssertionError``, so a wrong solution fails CI; an
unanswered exercise (None) raises only in a solution cell (one whose source names a
``solution_<name>``): a solution that returns None is a broken solution, not an open exercise.
"""

from __future__ import annotations

import linecache
import os
import re
import sys
from typing import Any

import numpy as np

STRICT_ENV = "COURSE_STRICT_EXERCISES"


SOLUTION = re.compile(r"\bsolution_\w+")


def _strict() -> bool:
    return os.environ.get(STRICT_ENV, "0") not in ("", "0")


def _cell_source() -> str:
    """The source of the notebook cell running now ("" outside IPython): the outermost frame
    running module-level code in the shell's namespace is the cell, and IPython keeps every
    cell's source in ``linecache`` (for tracebacks)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    source, frame = "", sys._getframe(1)
    while shell is not None and frame is not None:
        if frame.f_globals is shell.user_ns and frame.f_code.co_name == "<module>":
            source = "".join(linecache.getlines(frame.f_code.co_filename))
        frame = frame.f_back
    return source


def _in_solution_cell() -> bool:
    return bool(SOLUTION.search(_cell_source()))


def _report(ok: bool, name: str, why: str, *, answered: bool = True) -> None:
    print(f"{'✅ correct' if ok else '❌ not yet'}: {name}" + ("" if ok else f" — {why}"))
    if ok or not _strict():
        return
    if answered:
        raise AssertionError(f"exercise check failed in strict mode: {name}: {why}")
    if _in_solution_cell():
        raise AssertionError(
            f"exercise check failed in strict mode: {name}: the solution returned None ({why})"
        )


def _hint(hint: str) -> str:
    return f"; hint: {hint}" if hint else ""


def _as_array(value: Any) -> np.ndarray | None:
    """A float array, or None when the value cannot be read as numbers."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def check_close(
    name: str, answer: Any, expected: Any, *, rtol: float = 1e-6, atol: float = 1e-8, hint: str = ""
) -> None:
    """Print whether ``answer`` matches ``expected`` elementwise within tolerance (returns None)."""
    if answer is None:
        return _report(
            False, name, "no answer yet (the function returned None)" + _hint(hint), answered=False
        )
    a, e = _as_array(answer), _as_array(expected)
    if a is None:
        kind = type(answer).__name__
        return _report(
            False, name, f"expected numbers, got a {kind} ({answer!r:.40})" + _hint(hint)
        )
    if a.shape != e.shape:
        return _report(False, name, f"shape {a.shape} but expected {e.shape}" + _hint(hint))
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return _report(True, name, "")
    worst = float(np.max(np.abs(a - e)))
    why = f"largest difference {worst:.3g} (tolerance rtol={rtol}, atol={atol})" + _hint(hint)
    return _report(False, name, why)


def check_equal(name: str, answer: Any, expected: Any, *, hint: str = "") -> None:
    """Print whether ``answer == expected`` (returns None, so a cell can end with the check)."""
    if answer is None:
        return _report(False, name, "no answer yet (None)" + _hint(hint), answered=False)
    try:
        ok = bool(answer == expected)
    except (TypeError, ValueError):  # e.g. comparing arrays of different shapes
        ok = False
    return _report(ok, name, f"got {answer!r}, expected {expected!r}" + _hint(hint))


def check_true(name: str, condition: bool | None, why: str) -> None:
    """Report a custom condition; ``why`` explains what is wrong when it fails (None = unanswered)."""
    if condition is None:
        return _report(False, name, "no answer yet (None)", answered=False)
    return _report(bool(condition), name, why)
