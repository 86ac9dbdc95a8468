import pytest

from course_utils.validation import (
    ParameterError,
    check_choice,
    check_fraction,
    check_number,
    check_positive,
    check_type,
)


def test_error_names_parameter_value_and_allowed_range():
    with pytest.raises(ParameterError, match=r"'lr' got -0\.1; allowed: a number in \(0, inf\]"):
        check_positive("lr", -0.1)


@pytest.mark.parametrize("value", [0, -3, 1.5, True, "3", float("nan")])
def test_positive_integer_refuses(value):
    with pytest.raises(ParameterError, match="'epochs'"):
        check_positive("epochs", value, integer=True)


def test_valid_values_pass_through():
    assert check_positive("epochs", 3, integer=True) == 3
    assert check_number("momentum", 0.0, low=0, high=1, high_open=True) == 0.0
    assert check_number("x", None, allow_none=True) is None
    assert check_choice("opt", "adam", ["sgd", "adam"]) == "adam"
    assert check_type("path", "a", str, "a string") == "a"


def test_open_interval_excludes_bound():
    with pytest.raises(ParameterError, match=r"\[0, 1\)"):
        check_number("momentum", 1.0, low=0, high=1, high_open=True)


def test_fraction_suggests_percentage_conversion():
    with pytest.raises(ParameterError, match="use 0.3 instead"):
        check_fraction("alpha", 30)
    assert check_fraction("alpha", 0.3) == 0.3


def test_choice_lists_what_is_allowed():
    with pytest.raises(ParameterError, match="one of 'sgd', 'adam'"):
        check_choice("optimizer", "adamw", ["sgd", "adam"])


def test_type_refuses_bool_for_int():
    with pytest.raises(ParameterError):
        check_type("n", True, int, "an integer")
