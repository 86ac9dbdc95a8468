"""Paired differences that remember their arms (``cu.paired``), and the course's min effects.

A comparison is decided on per-seed differences. ``cu.paired(treatment, baseline)`` computes them
the way the claim reads (``better="higher"``: treatment - baseline; ``"lower"``: baseline -
treatment, so a positive difference always supports the claim) and keeps both arms, so the
recorded claim shows which arm was subtracted from which and a test can recompute the samples.

:data:`MIN_EFFECTS` is the one smallest-effect-worth-having per unit (the README's table); a claim
that uses another value says why in its text. Taught in notebook 00 (the claims rule).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .validation import ParameterError, check_choice

BETTER = ("higher", "lower")

# unit -> smallest effect worth having; each with the reason it was chosen
MIN_EFFECTS: dict[str, float] = {
    "accuracy": 0.005,  # half a point: the test-set sampling SD of a 5,000-image test near 90 %
    "accuracy points": 0.5,  # the same half point, for claims measured in points
    "nats": 0.02,  # a 2 % change of the likelihood ratio per example
    "val loss": 0.02,  # the same 0.02 nats, on the validation set
    "ECE points": 1.0,  # one point of |confidence - accuracy|: visible in a reliability diagram
    "log speed ratio": math.log(1.1),  # 10 % faster: below that, machine noise dominates
    "log time ratio": math.log(1.1),  # the same 10 %, as a ratio of times
}


def min_effect_for(unit: str) -> float:
    """The course's min effect for ``unit`` (:data:`MIN_EFFECTS`); a clear error for any other."""
    if unit not in MIN_EFFECTS:
        raise ParameterError(
            f"parameter 'unit' got {unit!r}; allowed: one of {sorted(MIN_EFFECTS)} "
            "(or pass min_effect and say why in the claim's text)"
        )
    return MIN_EFFECTS[unit]


class Paired(tuple):
    """Per-seed differences (a tuple of floats) with the two arms they came from."""

    treatment: tuple[float, ...]
    baseline: tuple[float, ...]
    better: str
    names: tuple[str, str]
    test_var: float = 0.0  # the test set's sampling variance of the mean difference

    def arms(self) -> dict[str, Any]:
        """The arms as recorded in a claim's JSON entry."""
        return {
            "treatment": self.names[0],
            "baseline": self.names[1],
            "better": self.better,
            "treatment_samples": list(self.treatment),
            "baseline_samples": list(self.baseline),
            "test_var": self.test_var,
        }


def _arm(name: str, values: Sequence[float]) -> tuple[float, ...]:
    try:
        arm = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ParameterError(
            f"parameter {name!r} got {values!r}; allowed: a list of numbers, one per seed"
        ) from None
    if not arm:
        raise ParameterError(f"parameter {name!r} got an empty list; allowed: one number per seed")
    return arm


def per_example_variance(treatment: Any, baseline: Any) -> float:
    """The test set's sampling variance of the seed-mean difference, from per-example scores.

    ``treatment`` and ``baseline`` are (seeds, examples) arrays (1 = correct, 0 = wrong; or any
    per-example score) on the same test examples. Resampling the examples with replacement (the
    paired bootstrap) gives the mean difference a variance of var(d) / N, where d is each
    example's difference averaged over the seeds: that closed form is returned.
    """
    t, b = (np.atleast_2d(np.asarray(a, dtype=float)) for a in (treatment, baseline))
    if t.shape != b.shape or t.shape[1] < 2:
        raise ParameterError(
            f"parameter 'per_example' got arrays of shapes {t.shape} and {b.shape}; allowed: two "
            "(seeds, examples) arrays of the same shape with at least 2 examples"
        )
    d = (t - b).mean(axis=0)
    return float(d.var(ddof=1) / len(d))


def oriented(treatment: Sequence[float], baseline: Sequence[float], better: str) -> list[float]:
    """The differences a claim is decided on: positive when the treatment is better."""
    sign = 1.0 if better == "higher" else -1.0
    return [sign * (t - b) for t, b in zip(treatment, baseline)]


def paired(
    treatment: Sequence[float],
    baseline: Sequence[float],
    *,
    better: str = "higher",
    names: tuple[str, str] = ("treatment", "baseline"),
    scale: float = 1.0,
    per_example: tuple[Any, Any] | None = None,
) -> Paired:
    """Per-seed differences oriented so that positive supports the claim "treatment is better".

    ``better="higher"`` gives ``scale * (treatment - baseline)`` (accuracy), ``"lower"`` gives
    ``scale * (baseline - treatment)`` (loss, error, ECE). ``names`` label the arms in the record.
    ``per_example``: (treatment, baseline) per-example scores on a fixed test set, shape (seeds,
    examples), whose row means are the arms; the test set's sampling variance
    (:func:`per_example_variance`) then widens the claim's interval beside the seed variance.
    Taught in notebook 00 (the claims rule).
    """
    check_choice("better", better, BETTER)
    t, b = _arm("treatment", treatment), _arm("baseline", baseline)
    if len(t) != len(b):
        raise ParameterError(
            f"parameters 'treatment' and 'baseline' got {len(t)} and {len(b)} values; "
            "allowed: the same seeds in both arms"
        )
    t = tuple(scale * v for v in t)
    b = tuple(scale * v for v in b)
    diffs = Paired(oriented(t, b, better))
    diffs.treatment, diffs.baseline, diffs.better = t, b, better
    diffs.names = (str(names[0]), str(names[1]))
    if per_example is not None:
        diffs.test_var = scale**2 * per_example_variance(*per_example)
    return diffs
