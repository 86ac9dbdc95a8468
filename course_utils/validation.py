"""Parameter checks that fail early with a message naming the parameter, the value and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


class ParameterError(ValueError):
    """A parameter has a value that is not allowed."""


def _fail(name: str, value: Any, allowed: str, hint: str = "") -> None:
    message = f"parameter {name!r} got {value!r}; allowed: {allowed}"
    raise ParameterError(message + (f". {hint}" if hint else ""))


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        _fail(name, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe_range(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> str:
    """The allowed values in words (also how ``course_utils.params`` declarations describe theirs):
    ``an integer in [1, 20]``, ``a finite number > 0``, ``a finite number``."""
    kind = "an integer" if integer else "a finite number"
    if low is not None and high is not None:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        return f"{kind} in {left}{_num(low)}, {_num(high)}{right}"
    if low is not None:
        return f"{kind} {'>' if low_open else '>='} {_num(low)}"
    if high is not None:
        return f"{kind} {'<' if high_open else '<='} {_num(high)}"
    return kind


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    allow_none: bool = False,
    hint: str = "",
) -> Any:
    """Check that ``value`` is a finite number inside the given interval.

    ``low_open``/``high_open`` exclude the bound itself. Booleans, NaN and infinities are refused.
    ``hint`` (optional) explains what the parameter means; it is appended to the message.
    """
    if value is None and allow_none:
        return value
    allowed = describe_range(low, high, low_open=low_open, high_open=high_open, integer=integer) + (
        " or None" if allow_none else ""
    )
    numeric = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, numeric) or not math.isfinite(value):
        _fail(name, value, allowed, hint)
    if low is not None and (value < low or (low_open and value == low)):
        _fail(name, value, allowed, hint)
    if high is not None and (value > high or (high_open and value == high)):
        _fail(name, value, allowed, hint)
    return value


def check_fraction(
    name: str, value: Any, *, high_open: bool = False, allow_none: bool = False
) -> Any:
    """Check that ``value`` is a fraction in [0, 1] (or [0, 1) with ``high_open``)."""
    return check_number(name, value, low=0, high=1, high_open=high_open, allow_none=allow_none)


def check_type(name: str, value: Any, expected: type | tuple[type, ...], what: str) -> Any:
    """Check ``isinstance(value, expected)``; ``what`` describes the allowed values."""
    if isinstance(value, bool) and bool not in (
        expected if isinstance(expected, tuple) else (expected,)
    ):
        _fail(name, value, what)
    if not isinstance(value, expected):
        _fail(name, value, what)
    return value
