"""One declaration per notebook parameter: its profile defaults and its allowed values.

A notebook declares its lesson parameters once, right after the papermill ``parameters`` cell::

    cfg = cu.setup(
        globals(),
        epochs=cu.integer(1, 500, smoke=1, cpu=20, gpu=40),
        smoothing=cu.number(0, 0.9),
        optimizer=cu.choice("sgd", "adam"),
    )

``setup`` checks every value before any work starts and fills ``None`` with the profile's
default. The course CLI reads the same call (see :func:`declared_specs`) to refuse a bad ``-p``
before a kernel starts, so the arguments of these constructors must be plain literals.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Any

from .validation import ParameterError, describe_range


@dataclass(frozen=True)
class Spec:
    """What one parameter allows, and its default per profile (used when its value is None)."""

    kind: str  # "integer", "number", "choice" or "names"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    options: tuple[Any, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    optional: bool = False  # None is a meaningful value (kept as None)
    hint: str = ""  # added to the refusal, e.g. how the source notes write this parameter

    def allowed(self) -> str:
        """Human-readable description of the allowed values."""
        if self.kind in ("integer", "number"):
            text = describe_range(
                self.low,
                self.high,
                low_open=self.low_open,
                high_open=self.high_open,
                integer=self.kind == "integer",
            )
        elif self.kind == "choice":
            text = "one of " + ", ".join(repr(o) for o in self.options)
        else:
            text = "comma-separated names from " + ", ".join(repr(o) for o in self.options)
        if self.defaults or self.optional:
            text += " or None" + (" (the profile's default)" if self.defaults else "")
        return text

    def check(self, name: str, value: Any) -> Any:
        """Return ``value`` if allowed, else raise a ParameterError naming ``name``."""
        if value is None and (self.defaults or self.optional):
            return value
        if not self._ok(value):
            hint = f". {self.hint}" if self.hint else ""
            raise ParameterError(
                f"parameter {name!r} got {value!r}; allowed: {self.allowed()}{hint}"
            )
        return value

    def _ok(self, value: Any) -> bool:
        if self.kind == "choice":
            return value in self.options
        if self.kind == "names":
            if not isinstance(value, str):
                return False
            picked = [v.strip() for v in value.split(",") if v.strip()]
            return bool(picked) and all(v in self.options for v in picked)
        numeric = (int,) if self.kind == "integer" else (int, float)
        if isinstance(value, bool) or not isinstance(value, numeric) or not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return False
        return True

    def resolve(self, name: str, value: Any, profile: str) -> Any:
        """Check ``value``; ``None`` becomes the profile's default (which is checked too)."""
        self.check(name, value)
        if value is None and self.defaults:
            value = self.defaults[profile]
            self.check(name, value)
        return value


def _defaults(smoke: Any, cpu: Any, gpu: Any) -> dict[str, Any]:
    given = {"smoke": smoke, "cpu": cpu, "gpu": gpu}
    if all(v is None for v in given.values()):
        return {}
    if any(v is None for v in given.values()):
        missing = [k for k, v in given.items() if v is None]
        raise ParameterError(
            f"profile defaults must be given for every profile; missing: {missing}"
        )
    return given


def integer(
    low: int | None = None,
    high: int | None = None,
    *,
    smoke: int | None = None,
    cpu: int | None = None,
    gpu: int | None = None,
    optional: bool = False,
) -> Spec:
    """An integer in [low, high]; ``smoke``/``cpu``/``gpu`` are the defaults used for None."""
    return Spec("integer", low, high, defaults=_defaults(smoke, cpu, gpu), optional=optional)


def number(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    smoke: float | None = None,
    cpu: float | None = None,
    gpu: float | None = None,
    optional: bool = False,
    hint: str = "",
) -> Spec:
    """A finite number between ``low`` and ``high`` (``*_open`` excludes the bound); ``hint`` is
    added to the refusal of a value outside them."""
    return Spec(
        "number",
        low,
        high,
        low_open,
        high_open,
        defaults=_defaults(smoke, cpu, gpu),
        optional=optional,
        hint=hint,
    )


def choice(*options: Any, smoke: Any = None, cpu: Any = None, gpu: Any = None) -> Spec:
    """One of ``options``."""
    return Spec("choice", options=tuple(options), defaults=_defaults(smoke, cpu, gpu))


def names(
    *options: str, smoke: str | None = None, cpu: str | None = None, gpu: str | None = None
) -> Spec:
    """A comma-separated, non-empty selection from ``options`` (e.g. ``"flip,shift"``)."""
    return Spec("names", options=tuple(options), defaults=_defaults(smoke, cpu, gpu))


def split_names(value: str) -> list[str]:
    """``"flip, shift"`` -> ``["flip", "shift"]`` (for parameters declared with :func:`names`)."""
    return [v.strip() for v in value.split(",") if v.strip()]


CONSTRUCTORS = {"integer": integer, "number": number, "choice": choice, "names": names}


def _call_name(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def declared_specs(source: str) -> dict[str, Spec]:
    """The specs of the ``setup(globals(), name=integer(...), ...)`` call in ``source``.

    Only literal arguments are understood; anything else is a ParameterError, so a notebook
    cannot declare a range the CLI would fail to check.
    """
    specs: dict[str, Spec] = {}
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and _call_name(node.func) == "setup"):
            continue
        for kw in node.keywords:
            if not (isinstance(kw.value, ast.Call) and _call_name(kw.value.func) in CONSTRUCTORS):
                continue
            make = CONSTRUCTORS[_call_name(kw.value.func)]
            try:
                args = [ast.literal_eval(a) for a in kw.value.args]
                kwargs = {k.arg: ast.literal_eval(k.value) for k in kw.value.keywords}
            except ValueError as exc:
                raise ParameterError(
                    f"the declaration of {kw.arg!r} must use literal values only ({exc})"
                ) from exc
            specs[kw.arg] = make(*args, **kwargs)
    return specs
