"""Self-check helpers for exercises: say right or wrong, and why, in one line (never a traceback).

Convention for the notebooks: the exercise cell defines the learner's function (returning None
until answered) and calls a check; the solution cell, tagged ``solution`` and hidden, starts with a
neutral comment line, defines ``solution_<name>`` (so running it never overwrites the learner's
answer) and calls the same check on it. With ``$COURSE_STRICT_EXERCISES=1`` (set by the test
suite) a wrong, non-empty answer raises ``AssertionError``, so a wrong solution fails CI; an
unanswered exercise (None) raises only in a solution cell (one whose source names a
``solution_<name>``): a solution that returns None is a broken solution, not an open exercise.

A check never prints the expected value, only the learner's answer, what kind of answer is wanted
and the hint. An unanswered exercise is told what to do as the exercise is posed: read from the
source of the call (``check_close("x", my_value, ...)`` -> "set `my_value = ...`",
``check_close("x", my_fn(), ...)`` -> "`my_fn()` returns None"), following a helper
``check_x(fn)`` back to the cell that called it. Used by every notebook's exercises.
"""

from __future__ import annotations

import ast
import linecache
import numbers
import os
import re
import sys
from types import FrameType
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


def _short(value: Any, limit: int = 40) -> str:
    """The learner's answer as one short ``repr``."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _wanted(expected: Any, *, exact: bool) -> str:
    """What kind of answer the check wants, in words: never its value."""
    if isinstance(expected, (bool, np.bool_)):
        return "True or False"
    if isinstance(expected, numbers.Number):
        return "a number"
    if isinstance(expected, str):
        return "a string"
    if exact and isinstance(expected, (list, tuple)):
        return f"a {type(expected).__name__}"
    values = _as_array(expected)
    if values is None:
        return f"a {type(expected).__name__}"
    if values.ndim == 0:
        return "a number"
    if values.ndim == 1:
        return f"{values.size} numbers (a list or an array)"
    return f"an array of shape {values.shape}"


# ----------------------------------------------------------------- how an unanswered exercise is posed
CHECKS = ("check_close", "check_equal", "check_true")


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _call_at(frame: FrameType, names: tuple[str, ...]) -> ast.Call | None:
    """The innermost call of one of ``names`` on the line ``frame`` is running (from linecache,
    where IPython keeps every cell's source), or None when the source cannot be read."""
    lines = linecache.getlines(frame.f_code.co_filename)
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        return None
    line = frame.f_lineno
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and _callee(node) in names
        and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    return min(calls, key=lambda n: (n.end_lineno or n.lineno) - n.lineno, default=None)


def _argument(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[index] if index < len(call.args) else None


def _parameter(frame: FrameType, name: str) -> int | None:
    """Position of ``name`` among the running function's parameters (None: not a parameter)."""
    code = frame.f_code
    if code.co_name == "<module>":
        return None
    params = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    return params.index(name) if name in params else None


def _at_caller(frame: FrameType, name: str) -> tuple[ast.expr, FrameType] | None:
    """What the caller of ``frame``'s function passed as its parameter ``name``."""
    index, caller = _parameter(frame, name), frame.f_back
    if index is None or caller is None:
        return None
    call = _call_at(caller, (frame.f_code.co_name,))
    expr = None if call is None else _argument(call, index, name)
    return None if expr is None else (expr, caller)


def _posed(expr: ast.expr | None, frame: FrameType, depth: int = 0) -> tuple[str, str | None, bool]:
    """What the learner left as None: ("variable", name), ("function", name or None) or
    ("unknown", None), and whether the checked value is that thing itself (so the wanted kind
    applies to it), following a helper's parameters back to the cell that called it."""
    if expr is None or depth > 3:
        return "unknown", None, False
    if isinstance(expr, ast.IfExp) and isinstance(expr.test, ast.Compare):
        test = expr.test  # ``None if f(x) is None else [f(a) for a in ...]``: f(x) is unanswered
        if isinstance(test.ops[0], ast.Is) and ast.unparse(test.comparators[0]) == "None":
            return _posed(test.left, frame, depth + 1)[:2] + (False,)
    role = "function" if isinstance(expr, ast.Call) else "variable"
    target = expr.func if isinstance(expr, ast.Call) else expr
    unknown = ("function", None, True) if role == "function" else ("unknown", None, False)
    if not isinstance(target, ast.Name):
        return unknown
    if frame.f_code.co_name == "<module>":
        return role, target.id, True
    passed = _at_caller(frame, target.id)
    if passed is None:
        return unknown
    outer, caller = passed
    if role == "function":  # the caller passed the learner's function itself
        module = caller.f_code.co_name == "<module>"
        return "function", outer.id if isinstance(outer, ast.Name) and module else None, True
    return _posed(outer, caller, depth + 1)


def _checked_expression(frame: FrameType) -> ast.expr | None:
    """The answer argument of the check call that ``frame`` is running."""
    call = _call_at(frame, CHECKS)
    if call is None:
        return None
    keyword = "condition" if _callee(call) == "check_true" else "answer"
    return _argument(call, 1, keyword)


def _unanswered(wanted: str) -> str:
    """The "no answer yet" line for the check being run, as its exercise is posed."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    if frame is None:
        return "no answer yet (the answer is still None)"
    role, name, itself = _posed(_checked_expression(frame), frame)
    if role == "variable":
        return f"no answer yet: set `{name} = ...` to your answer ({wanted})"
    if role == "function":
        who = f"`{name}`" if name else "your function"
        return f"no answer yet: {who} returns None" + (
            f"; make it return {wanted}" if itself else ""
        )
    return "no answer yet (the answer is still None)"


def check_close(
    name: str, answer: Any, expected: Any, *, rtol: float = 1e-6, atol: float = 1e-8, hint: str = ""
) -> None:
    """Print whether ``answer`` matches ``expected`` elementwise within tolerance (returns None).

    The expected value is never printed: a wrong answer gets "not the expected value" and the hint.
    """
    if answer is None:
        why = _unanswered(_wanted(expected, exact=False)) + _hint(hint)
        return _report(False, name, why, answered=False)
    a, e = _as_array(answer), _as_array(expected)
    if a is None:
        kind = type(answer).__name__
        return _report(
            False, name, f"expected numbers, got a {kind} ({_short(answer)})" + _hint(hint)
        )
    if a.shape != e.shape:
        return _report(
            False, name, f"got shape {a.shape}; the answer has shape {e.shape}" + _hint(hint)
        )
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return _report(True, name, "")
    tolerance = f"rtol={rtol:g}, atol={atol:g}"
    if a.ndim == 0:
        why = f"got {_short(answer)}: not the expected value (to within {tolerance})"
    else:
        wrong = int(np.sum(~np.isclose(a, e, rtol=rtol, atol=atol)))
        why = f"{wrong} of {a.size} values are not the expected ones (to within {tolerance})"
    return _report(False, name, why + _hint(hint))


def check_equal(name: str, answer: Any, expected: Any, *, hint: str = "") -> None:
    """Print whether ``answer == expected`` (returns None, so a cell can end with the check).

    The expected value is never printed: a wrong answer gets "not the expected value" and the hint.
    """
    if answer is None:
        why = _unanswered(_wanted(expected, exact=True)) + _hint(hint)
        return _report(False, name, why, answered=False)
    try:
        ok = bool(answer == expected)
    except (TypeError, ValueError):  # e.g. comparing arrays of different shapes
        ok = False
    return _report(ok, name, f"got {_short(answer)}: not the expected value" + _hint(hint))


def check_true(name: str, condition: bool | None, why: str) -> None:
    """Report a custom condition; ``why`` explains what is wrong when it fails (None = unanswered)."""
    if condition is None:
        return _report(False, name, _unanswered("True or False"), answered=False)
    return _report(bool(condition), name, why)
