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
    assert "got [1, 2]: not the expected value" in out[5]


def test_a_wrong_answer_never_shows_the_expected_value(capsys, monkeypatch):
    """A check names the learner's value and the hint, never the expected value (nor the
    difference, from which it follows): "got 9, expected 2" gave the answer away."""
    monkeypatch.delenv(STRICT_ENV, raising=False)
    check_equal("tie", 9, 2, hint="read the tie rule")
    check_close("a", 0.3, 0.125, hint="a/K = alpha/(K-1)")
    check_close("v", [1.0, 2.0, 3.0], [1.0, 2.5, 3.5])
    check_equal("epochs", [4, 7], [9, 13])
    tie, a, v, epochs = capsys.readouterr().out.splitlines()
    assert tie == "❌ not yet: tie — got 9: not the expected value; hint: read the tie rule"
    assert a.startswith("❌ not yet: a — got 0.3: not the expected value") and "a/K" in a
    assert "2 of 3 values are not the expected ones" in v
    for line, hidden in ((tie, "2"), (a, "0.125"), (a, "0.175"), (v, "2.5"), (v, "3.5")):
        assert hidden not in line.split(" — ", 1)[1], line
    assert "9" not in epochs and "13" not in epochs and "[4, 7]" in epochs


POSED = """
from course_utils.exercises import check_close, check_equal, check_true

a_for_colleague = None  # your answer: a number
check_close("colleague", a_for_colleague, 0.125, hint="a/K = alpha/(K-1)")


def mean_lr_fraction():
    return None  # your answer: a number between 0 and 1


check_close("fraction", mean_lr_fraction(), 0.6, rtol=0.01)


def my_target(label, k, a):
    return None  # your code


check_close("target", my_target(3, 10, 0.3), [0.1] * 10)


def check_plateau(answer):
    return check_equal("reductions", answer, [9, 13], hint="patience + 1 epochs")


my_epochs = None  # your answer, a list such as [4, 7]
check_plateau(my_epochs)


def check_fix(fn):
    check_equal("fix", fn([1.2, 0.9], 1.0), 2)


def best_epoch(losses, best):
    return None  # your code


check_fix(best_epoch)


def noise_floor(a, k):
    return None


check_close("floor", None if noise_floor(0.3, 10) is None else [1.0], [1.0, 2.0])


def check_step(step_fn):
    if step_fn(1.0) is None:
        check_close("step", None, [1.0])


check_step(lambda p: None)
check_true("custom", None, "why")
"""


def test_an_empty_exercise_is_told_what_to_do_as_it_is_posed(tmp_path, capsys, monkeypatch):
    """A plain-number exercise left empty says "set `x = ...`", not "the function returned None";
    a function says which one returns None; a helper's parameter is followed to its caller."""
    import runpy

    monkeypatch.delenv(STRICT_ENV, raising=False)
    script = tmp_path / "posed.py"
    script.write_text(POSED)
    runpy.run_path(str(script))
    lines = {
        line.split(" — ")[0][len("❌ not yet: ") :]: line
        for line in capsys.readouterr().out.splitlines()
    }
    assert "set `a_for_colleague = ...` to your answer (a number); hint: a/K" in lines["colleague"]
    assert "`mean_lr_fraction` returns None; make it return a number" in lines["fraction"]
    assert "`my_target` returns None; make it return 10 numbers" in lines["target"]
    assert "set `my_epochs = ...` to your answer (a list)" in lines["reductions"]
    assert "`best_epoch` returns None; make it return a number" in lines["fix"]
    assert lines["floor"].endswith("`noise_floor` returns None")  # one call, not the whole list
    assert lines["step"].endswith("no answer yet (the answer is still None)")
    assert lines["custom"].endswith("no answer yet (the answer is still None)")
    assert not any("returned None" in line or "function" in line for line in lines.values())
    assert "0.125" not in lines["colleague"] and "13" not in lines["reductions"]


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
shell.run_cell("def f():\\n    return None\\n\\n\\ncheck_close('g', f(), 1.0)")
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
    # and the cell's source tells the learner what to do (from IPython's linecache)
    assert "set `answer = ...` to your answer (a number)" in done.stdout, done.stdout
    assert "`f` returns None; make it return a number" in done.stdout, done.stdout


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
