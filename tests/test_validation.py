import pytest

from course_utils.validation import (
    ParameterError,
    check_choice,
    check_fraction,
    check_number,
    check_type,
    describe_range,
)


def test_error_names_parameter_value_and_allowed_range():
    with pytest.raises(ParameterError, match=r"'lr' got -0\.1; allowed: a finite number > 0$"):
        check_number("lr", -0.1, low=0, low_open=True)


def test_infinity_is_refused_with_a_finite_range():
    with pytest.raises(ParameterError) as info:
        check_number("lr", float("inf"), low=0, low_open=True)
    assert str(info.value) == "parameter 'lr' got inf; allowed: a finite number > 0"


def test_one_allowed_range_per_parameter_whatever_the_side():
    messages = []
    for bad in (5, 10_000_000):
        with pytest.raises(ParameterError) as info:
            check_number("train_size", bad, low=100, high=60000, integer=True)
        messages.append(str(info.value).split("allowed: ")[1])
    assert messages == ["an integer in [100, 60000]"] * 2


@pytest.mark.parametrize("value", [0, -3, 1.5, True, "3", float("nan")])
def test_a_positive_integer_refuses(value):
    with pytest.raises(ParameterError, match="'epochs'"):
        check_number("epochs", value, low=0, low_open=True, integer=True)


def test_valid_values_pass_through():
    assert check_number("epochs", 3, low=0, low_open=True, integer=True) == 3
    assert check_number("momentum", 0.0, low=0, high=1, high_open=True) == 0.0
    assert check_number("x", None, allow_none=True) is None
    assert check_choice("opt", "adam", ["sgd", "adam"]) == "adam"
    assert check_type("path", "a", str, "a string") == "a"


def test_open_interval_excludes_bound():
    with pytest.raises(ParameterError, match=r"\[0, 1\)"):
        check_number("momentum", 1.0, low=0, high=1, high_open=True)


def test_fraction_gives_no_misleading_percentage_hint():
    with pytest.raises(ParameterError) as info:
        check_fraction("smoothing", 1.5)
    assert str(info.value) == "parameter 'smoothing' got 1.5; allowed: a finite number in [0, 1]"
    assert check_fraction("alpha", 0.3) == 0.3


def test_ranges_are_worded_like_the_parameter_declarations():
    from course_utils.params import integer, number

    pairs = [
        (number(0, 10, low_open=True), dict(low=0, high=10, low_open=True)),
        (integer(1, 20), dict(low=1, high=20, integer=True)),
        (integer(0), dict(low=0, integer=True)),
        (number(), dict()),
    ]
    for spec, kwargs in pairs:
        assert spec.allowed() == describe_range(**kwargs)


def test_choice_lists_what_is_allowed():
    with pytest.raises(ParameterError, match="one of 'sgd', 'adam'"):
        check_choice("optimizer", "adamw", ["sgd", "adam"])


def test_type_refuses_bool_for_int():
    with pytest.raises(ParameterError):
        check_type("n", True, int, "an integer")
