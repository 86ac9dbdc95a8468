"""The course's one decision rule for claims, on per-seed paired differences.

:func:`decide` (its verdict: :func:`paired_verdict`) looks at the differences' interval, mean
+- t*SE: the compared settings share each seed's data subset, initial weights and batch order, and
the claim declares its smallest effect worth having before it runs (the README's "How a claim is
decided"). A claim over several groups declares its target: every group, some group
(Bonferroni-corrected), or their average; "depends" needs significant opposite signs.
``cu.Results`` records the decisions; the claims ledger (``python -m course_utils ledger``) adds Benjamini-Hochberg
q-values across a run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import stats

from .validation import ParameterError

VERDICTS = ("confirmed", "refuted", "depends", "inconclusive")
REASONS = ("reversed", "negligible")
TARGETS = ("average", "every", "some")
SEEDS_SEARCHED = 1000  # seeds_needed searches n = 2..1000; SEEDS_SEARCHED + 1 means "more"
SEEDS_BUDGET = 50  # an inconclusive claim needing more seeds is "not decidable at this budget"
LEVEL = 0.05  # two-sided level of the interval (95%); one-sided tests at LEVEL / 2 decide


@dataclass(frozen=True)
class Decision:
    """What :func:`decide` found for one set of paired differences.

    ``reason``: "reversed" (refuted, the interval lies below 0) or "negligible" (refuted, below the
    min effect but not below 0); None unless refuted. ``clears_min_effect``: confirmed and the whole
    interval is at least the min effect. ``p_value``: the one-sided t-test of the decision made
    (None when inconclusive). ``seeds_needed``: for an inconclusive claim, about how many seeds
    would decide it (``SEEDS_SEARCHED + 1``: more than searched; None when decided or n = 1).
    """

    verdict: str
    reason: str | None
    clears_min_effect: bool
    p_value: float | None
    seeds_needed: int | None
    mean: float
    se: float
    low: float
    high: float
    n: int


def as_diffs(diffs: Sequence[float], name: str = "diffs") -> np.ndarray:
    values = np.asarray([float(d) for d in diffs], dtype=float)
    if values.ndim != 1 or len(values) == 0:
        raise ParameterError(
            f"parameter {name!r} got {list(diffs)!r}; allowed: a non-empty list of numbers"
        )
    if not np.all(np.isfinite(values)):
        raise ParameterError(
            f"parameter {name!r} got {values.tolist()!r}; allowed: finite numbers only (no NaN or inf)"
        )
    return values


def _check_min_effect(min_effect: float) -> float:
    if isinstance(min_effect, bool) or not isinstance(min_effect, (int, float)):
        raise ParameterError(f"parameter 'min_effect' got {min_effect!r}; allowed: a number > 0")
    if not math.isfinite(min_effect) or min_effect <= 0:
        raise ParameterError(
            f"parameter 'min_effect' got {min_effect!r}; allowed: a finite number > 0"
        )
    return float(min_effect)


def effect_interval(
    diffs: Sequence[float], *, k: float | None = None, extra_var: float = 0.0
) -> tuple[float, float, float, float]:
    """``(mean, se, low, high)`` of paired differences; the interval is mean +- k*SE.

    ``k`` defaults to the two-sided 95% t quantile for n-1 degrees of freedom. With one value the
    standard error is unknown: se is nan and the interval is infinite. ``extra_var`` is added to
    the squared SE: the test set's sampling variance of the mean difference (``cu.paired`` with
    ``per_example``), which the seeds do not see when every seed is scored on the same images.

    Taught in notebook 00 (the claims rule).
    """
    values = as_diffs(diffs)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan, -math.inf, math.inf
    se = math.sqrt(float(values.var(ddof=1)) / len(values) + extra_var)
    k = float(stats.t.ppf(0.975, len(values) - 1)) if k is None else k
    return mean, se, mean - k * se, mean + k * se


def _check_k(k: float | None) -> None:
    if k is None:
        return
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not math.isfinite(k) or k <= 0:
        raise ParameterError(f"parameter 'k' got {k!r}; allowed: a finite number > 0 or None")


def _check_variation(values: np.ndarray) -> None:
    """Refuse samples without seed-to-seed variation: no interval can be built from them."""
    if len(values) > 1 and np.all(values == values[0]):
        raise ParameterError(
            f"parameter 'diffs' got {values.tolist()!r}: every seed gave the same value, so there is "
            "no seed-to-seed variation to build an interval from; allowed: values that vary across "
            "seeds. A deterministic comparison is Results.exact(claim, error, tolerance); a claim "
            "this run cannot test is Results.untestable(claim, why)"
        )


def rule_verdicts(mean: Any, low: Any, high: Any, min_effect: float) -> np.ndarray:
    """The rule on arrays of intervals (what :func:`decide` applies to one): "confirmed" where
    ``low > 0`` and ``mean >= min_effect``, "refuted" where ``high < min_effect``, else
    "inconclusive". Vectorized, so the rule's error rates can be simulated
    (``benchmarks/rule_error_rates.py``)."""
    mean, low, high = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (mean, low, high)))
    confirmed = (low > 0) & (mean >= min_effect)
    return np.where(confirmed, "confirmed", np.where(high < min_effect, "refuted", "inconclusive"))


def _p_value(
    mean: float, se: float, n: int, min_effect: float, verdict: str, reason: str | None
) -> float | None:
    """The one-sided t-test of the decision made: mean > 0 (confirmed), mean < 0 (reversed), or
    mean < min_effect against H0 mean >= min_effect (negligible); None for anything else."""
    if verdict == "confirmed":
        return float(stats.t.sf(mean / se, n - 1))
    if verdict == "refuted" and reason == "reversed":
        return float(stats.t.cdf(mean / se, n - 1))
    if verdict == "refuted":
        return float(stats.t.cdf((mean - min_effect) / se, n - 1))
    return None


def _seeds_needed(
    mean: float, sd: float, n: int, min_effect: float, k: float | None, extra_var: float = 0.0
) -> int:
    """About how many seeds would decide an inconclusive claim with this mean and SD: the first n
    in 2..SEEDS_SEARCHED whose interval half-width is below the distance to the nearer decision
    (0 when the mean clears the min effect, else the min effect); SEEDS_SEARCHED + 1 if none."""
    level = LEVEL if k is None else 2 * float(stats.t.sf(k, n - 1))  # k's level, kept at every n
    target = mean if mean >= min_effect else min_effect - mean
    ns = np.arange(2, SEEDS_SEARCHED + 1)
    half_width = stats.t.ppf(1 - level / 2, ns - 1) * np.sqrt(sd**2 / ns + extra_var)
    hits = np.nonzero(half_width < target)[0]
    return int(ns[hits[0]]) if len(hits) else SEEDS_SEARCHED + 1


def decide(
    diffs: Sequence[float], min_effect: float, *, k: float | None = None, extra_var: float = 0.0
) -> Decision:
    """The course's one decision rule for a comparison, on per-seed paired differences.

    ``diffs`` are oriented so that a positive value supports the claim. With the interval
    mean +- k*SE (``k``: two-sided 95% t quantile for n-1 degrees of freedom by default):

    - **confirmed** when the interval lies above 0 and the mean is at least ``min_effect``;
    - **refuted** when the interval's upper end is below ``min_effect``: it excludes every effect
      worth having ("reversed" when it lies below 0, else "negligible");
    - **inconclusive** otherwise, and always with a single seed.

    Differences without variation (all equal, n > 1) have no interval and raise ParameterError:
    such a comparison is deterministic (``Results.exact``) or untestable (``Results.untestable``).
    ``extra_var``: see :func:`effect_interval`.

    Taught in notebook 00 (the claims rule).
    """
    values = as_diffs(diffs)
    min_effect = _check_min_effect(min_effect)
    _check_k(k)
    if not (isinstance(extra_var, (int, float)) and math.isfinite(extra_var) and extra_var >= 0):
        raise ParameterError(f"parameter 'extra_var' got {extra_var!r}; allowed: a number >= 0")
    mean, se, low, high = effect_interval(values, k=k, extra_var=extra_var)
    n = len(values)
    if n < 2:
        return Decision("inconclusive", None, False, None, None, mean, se, low, high, n)
    _check_variation(values)
    verdict = str(rule_verdicts(mean, low, high, min_effect).item())
    reason = ("reversed" if high < 0 else "negligible") if verdict == "refuted" else None
    seeds = None
    if verdict == "inconclusive":
        sd = float(values.std(ddof=1))
        seeds = _seeds_needed(mean, sd, n, min_effect, k, extra_var)
    clears = verdict == "confirmed" and low >= min_effect
    p = _p_value(mean, se, n, min_effect, verdict, reason)
    return Decision(verdict, reason, clears, p, seeds, mean, se, low, high, n)


def paired_verdict(diffs: Sequence[float], min_effect: float, *, k: float | None = None) -> str:
    """The verdict of :func:`decide`: "confirmed", "refuted" or "inconclusive".

    Taught in notebook 00 (the claims rule).
    """
    return decide(diffs, min_effect, k=k).verdict


def bonferroni_k(n: int, m: int) -> float | None:
    """The interval multiplier for one of ``m`` settings at a Bonferroni-corrected 95%:
    ``t.ppf(1 - 0.05 / (2 m), n - 1)``; None with one seed (no interval)."""
    return float(stats.t.ppf(1 - LEVEL / (2 * m), n - 1)) if n >= 2 else None


def _sided_p(d: Decision, sign: int) -> float:
    """One-sided t-test p-value that the mean is above 0 (``sign`` 1) or below 0 (-1)."""
    return float(stats.t.sf(sign * d.mean / d.se, d.n - 1))


def _depends_p(decisions: Mapping[str, Decision], m: int) -> float | None:
    """p-value of "significant with opposite signs" over ``m`` levels: Bonferroni on the strongest
    level of each sign, the larger of the two (both must hold)."""
    usable = [d for d in decisions.values() if d.n >= 2]
    if not usable:
        return None
    up, down = (min(_sided_p(d, sign) for d in usable) for sign in (1, -1))
    return min(1.0, m * max(up, down))


def decide_every(decisions: Mapping[str, Decision]) -> tuple[Decision, str]:
    """Target every: confirmed when every group is confirmed (its weakest decides), refuted when
    any is (its clearest refutation decides), else inconclusive (the group needing most seeds)."""
    if all(d.verdict == "confirmed" for d in decisions.values()):
        deciding = max(decisions, key=lambda g: decisions[g].p_value)
        clears = all(d.clears_min_effect for d in decisions.values())
        return replace(decisions[deciding], clears_min_effect=clears), deciding
    refuted = [g for g, d in decisions.items() if d.verdict == "refuted"]
    if refuted:
        deciding = min(refuted, key=lambda g: decisions[g].p_value)
        return decisions[deciding], deciding
    open_ = [g for g, d in decisions.items() if d.verdict == "inconclusive"]
    deciding = max(open_, key=lambda g: decisions[g].seeds_needed or 0)
    return decisions[deciding], deciding


def decide_some(
    corrected: Mapping[str, Decision], plain: Mapping[str, Decision]
) -> tuple[Decision, str]:
    """Target some: confirmed when some group is confirmed at a Bonferroni-corrected 95%
    (``corrected``; p-value times the number of groups), refuted only when every group is refuted
    at the plain 95% (``plain``: all must hold, so no correction), else inconclusive (the group
    nearest to a corrected decision)."""
    m = len(corrected)
    confirmed = [g for g, d in corrected.items() if d.verdict == "confirmed"]
    if confirmed:
        deciding = min(confirmed, key=lambda g: corrected[g].p_value)
        p = min(1.0, m * corrected[deciding].p_value)
        return replace(corrected[deciding], p_value=p), deciding
    if all(d.verdict == "refuted" for d in plain.values()):
        deciding = max(plain, key=lambda g: plain[g].p_value)
        reason = "reversed" if all(d.reason == "reversed" for d in plain.values()) else "negligible"
        return replace(plain[deciding], reason=reason), deciding
    deciding = min(
        corrected, key=lambda g: (corrected[g].seeds_needed or math.inf, -corrected[g].mean)
    )
    d = corrected[deciding]
    return (d if d.verdict == "inconclusive" else undecided(d)), deciding


def claim_p_value(claim: Mapping[str, Any]) -> float | None:
    """The p-value of a recorded claim, recomputed with :func:`decide` from its JSON entry (so
    results written before p-values were recorded work too), on the deciding group's samples for
    a grouped claim: the one-sided test of the decision made; for an inconclusive claim, the test
    that would decide it (against 0 when the mean clears the min effect, else non-superiority, as
    for ``seeds_needed``). Times the number of groups for a "some" claim's confirmation, and the
    opposite-signs test for "depends". None for a claim without samples (n >= 2) and a min effect,
    or whose samples have no variation."""
    verdict, min_effect = claim.get("verdict"), claim.get("min_effect")
    if verdict not in VERDICTS or not min_effect:
        return None
    excluded = claim.get("excluded") or {}
    groups = {g: v for g, v in (claim.get("groups") or {}).items() if g not in excluded}
    deciding = claim.get("deciding_group")
    samples = groups.get(deciding, claim.get("samples"))
    arms = (claim.get("group_arms") or {}).get(deciding) or claim.get("arms") or {}
    test_var = {g: a.get("test_var", 0.0) for g, a in (claim.get("group_arms") or {}).items()}
    try:
        if verdict == "depends":
            return _depends_p(
                {
                    g: decide(v, min_effect, extra_var=test_var.get(g, 0.0))
                    for g, v in groups.items()
                },
                len(groups),
            )
        if not samples or len(samples) < 2:
            return None
        d = decide(samples, min_effect, extra_var=arms.get("test_var", 0.0))
    except ParameterError:
        return None
    if verdict == "inconclusive":
        verdict = "confirmed" if d.mean >= min_effect else "refuted"
    reason = d.reason if d.verdict == verdict else ("reversed" if d.high < 0 else "negligible")
    p = _p_value(d.mean, d.se, d.n, min_effect, verdict, reason)
    if p is not None and verdict == "confirmed" and claim.get("target") == "some":
        p = min(1.0, len(groups) * p)
    return p


def format_effect(diffs: Sequence[float], unit: str = "", scale: float = 1.0) -> str:
    """``'+1.23 +- 0.45 points (n=5)'``: mean +- standard error of the paired differences.

    Taught in notebook 00 (the claims rule).
    """
    mean, se, _, _ = effect_interval(diffs)
    unit = f" {unit}" if unit else ""
    se_text = "?" if math.isnan(se) else f"{scale * se:.3g}"
    return f"{scale * mean:+.3g} +- {se_text}{unit} (n={len(as_diffs(diffs))})"


def depends_on(corrected: Mapping[str, Decision], factor: str) -> tuple[Decision, str, str] | None:
    """Whether the effect depends on the factor: significant with opposite signs at different
    levels (``corrected``: each decided at a Bonferroni-corrected 95%). Returns (the decision, the
    deciding level, words naming the factor and the levels), or None."""
    positive = [g for g, d in corrected.items() if d.low > 0]
    negative = [g for g, d in corrected.items() if d.high < 0]
    if not (positive and negative):
        return None
    deciding = max(positive + negative, key=lambda g: abs(corrected[g].mean))
    p = _depends_p(corrected, len(corrected))
    decision = replace(undecided(corrected[deciding]), verdict="depends", p_value=p)
    words = (
        f"depends on {factor}: holds at {', '.join(positive)}, reversed at {', '.join(negative)} "
        f"(Bonferroni-corrected over {len(corrected)} levels)"
    )
    return decision, deciding, words


def included_levels(
    levels: Mapping[str, Sequence[float]], exclude: Mapping[str, str] | None
) -> dict[str, Sequence[float]]:
    """The levels that inform the comparison: all but those ``exclude`` names (with a reason)."""
    exclude = {} if exclude is None else exclude
    names = list(levels)
    if not isinstance(exclude, Mapping) or any(
        g not in levels or not isinstance(why, str) or not why.strip() for g, why in exclude.items()
    ):
        raise ParameterError(
            f"parameter 'exclude' got {exclude!r}; allowed: a mapping from levels among {names!r} "
            "to the reason each cannot inform the comparison"
        )
    included = {g: d for g, d in levels.items() if g not in exclude}
    if not included:
        raise ParameterError(
            f"parameter 'exclude' got {dict(exclude)!r}, which leaves no level of {names!r}; "
            "allowed: excluding some levels, never all (an untestable claim is Results.untestable)"
        )
    return included


def excluded_words(exclude: Mapping[str, str] | None) -> str:
    if not exclude:
        return ""
    return "excluded: " + ", ".join(f"{g} ({why})" for g, why in exclude.items())


def level_average(claim: str, levels: Mapping[str, Sequence[float]]) -> np.ndarray:
    """The per-seed mean over the levels; every level must have the same seeds (the same n)."""
    arrays = {g: as_diffs(d, f"levels[{g!r}]") for g, d in levels.items()}
    sizes = {g: len(a) for g, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ParameterError(
            f"claim {claim!r}: parameter 'levels' got {sizes!r} seeds per level; allowed for "
            "target 'average': the same seeds (the same n) at every level"
        )
    return np.mean(np.stack(list(arrays.values())), axis=0)


def decision_words(decision: Decision) -> str:
    """The decision in words, for a claim's measured text (empty when there is nothing to add)."""
    if decision.verdict == "refuted" and decision.reason == "reversed":
        return "; refuted: the whole interval lies below 0 (reversed)"
    if decision.verdict == "refuted":
        return "; refuted: the whole interval lies below the min effect (negligible)"
    if decision.clears_min_effect:
        return "; confirmed: the whole interval clears the min effect"
    seeds = decision.seeds_needed
    if decision.verdict != "inconclusive" or seeds is None:
        return ""
    if seeds <= SEEDS_BUDGET:
        return f"; about {seeds} seeds would decide it"
    needed = f"more than {SEEDS_SEARCHED}" if seeds > SEEDS_SEARCHED else f"about {seeds}"
    return f"; not decidable at this budget ({needed} seeds needed)"


def undecided(decision: Decision) -> Decision:
    """The same interval, inconclusive (a loaded machine, say): no reason, p-value or estimate."""
    return replace(
        decision,
        verdict="inconclusive",
        reason=None,
        clears_min_effect=False,
        p_value=None,
        seeds_needed=None,
    )


def joined_text(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
