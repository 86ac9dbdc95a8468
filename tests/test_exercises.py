"""Exercise checks: one line for every outcome, strict mode for the solutions."""

import pytest

from course_utils.exercises import STRICT_ENV, check_close, check_equal, check_true


def test_right_wrong_and_unanswered(capsys, monkeypatch):
    monkeypatch.delenv(STRICT_ENV, raising=False)
    assert check_close("x", [1.0, 2.0], [1.0, 2.0]) is None  # a cell can end with a check
    check_close("x", [1.0, 2.5], [1.0, 2.0])
    check_close("x", None, [1.0])
    check_close("x", "1/8", 0.125)  # a string answer: one line, no traceback
    check_close("x", [1.0], [[1.0, 2.0]])
    check_equal("y", [1, 2], 3)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✅ correct") and all(
        line.startswith("❌ not yet") for line in out[1:]
    )
    assert "expected numbers, got a str" in out[3] and "no answer yet" in out[2]


def test_strict_mode_raises_on_wrong_answers_but_not_on_unanswered(monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "1")
    check_close("x", None, [1.0])  # unanswered: no exception
    check_true("z", None, "why")
    with pytest.raises(AssertionError, match="strict mode: x"):
        check_close("x", [2.0], [1.0])
    with pytest.raises(AssertionError, match="strict mode: y"):
        check_equal("y", 1, 2)


def test_strict_mode_fails_a_solution_that_returns_none(monkeypatch):
    from course_utils import exercises

    monkeypatch.setenv(STRICT_ENV, "1")
    monkeypatch.setattr(exercises, "_cell_source", lambda: "def solution_f():\n    return None")
    with pytest.raises(AssertionError, match="x: the solution returned None"):
        check_close("x", None, [1.0])
    with pytest.raises(AssertionError, match="the solution returned None"):
        check_equal("y", None, 2)
    with pytest.raises(AssertionError, match="the solution returned None"):
        check_true("z", None, "why")
    check_close("x", [1.0], [1.0])  # a right solution passes
    monkeypatch.setattr(exercises, "_cell_source", lambda: "def f():\n    return None")
    check_close("x", None, [1.0])  # the learner's cell: still unanswered, no exception
    monkeypatch.delenv(STRICT_ENV)
    monkeypatch.setattr(exercises, "_cell_source", lambda: "solution_f = None")
    check_close("x", None, [1.0])  # not strict: one line, never an exception


IPYTHON_SESSION = """
import os
from IPython.core.interactiveshell import InteractiveShell
os.environ["COURSE_STRICT_EXERCISES"] = "1"
shell = InteractiveShell.instance()
shell.run_cell("from course_utils.exercises import check_close")
open_cell = shell.run_cell("answer = None\\ncheck_close('e', answer, 1.0)")
solution = shell.run_cell("solution_answer = None\\ncheck_close('e', solution_answer, 1.0)")
print("OPEN", open_cell.error_in_exec is None)
print("SOLUTION", type(solution.error_in_exec).__name__)
"""


def test_a_real_ipython_cell_that_names_a_solution_is_a_solution_cell():
    """The running cell's source comes from IPython itself (the cell's frame and linecache)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", IPYTHON_SESSION], capture_output=True, text=True, timeout=120
    )
    assert "OPEN True" in done.stdout and "SOLUTION AssertionError" in done.stdout, (
        done.stdout + done.stderr
    )


def test_solution_cells_are_exactly_the_cells_that_name_a_solution():
    """Strict mode tells a solution cell by its source: that must match the ``solution`` tag."""
    import nbformat
    from conftest import NOTEBOOKS

    from course_utils.exercises import SOLUTION

    wrong = [
        f"{nb.stem} cell {i}"
        for nb in NOTEBOOKS
        for i, cell in enumerate(nbformat.read(nb, as_version=4).cells)
        if cell.cell_type == "code"
        and ("solution" in cell.metadata.get("tags", [])) != bool(SOLUTION.search(cell.source))
    ]
    assert not wrong
