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
