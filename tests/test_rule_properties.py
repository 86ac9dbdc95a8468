"""Properties of the course's decision rule, on many random samples (plain numpy, fixed seeds).

The rule (``course_utils.claims.decide``) must be symmetric, monotone in the min effect and stable
under more seeds of the same effect, and invariant to the unit the differences are measured in;
each grouped method (every / some / average / depends) keeps the same properties.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import numpy as np
import pytest

from course_utils.claims import decide, paired_verdict
from course_utils.results import Results

RANK = {"confirmed": 0, "inconclusive": 1, "refuted": 2}
CASES = 200


def random_samples(rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """Differences with a random true effect and spread (so every verdict turns up)."""
    n = int(rng.integers(2, 12)) if n is None else n
    return rng.normal(rng.uniform(-0.05, 0.05), rng.uniform(0.001, 0.05), size=n)


def test_random_samples_reach_every_verdict():
    rng = np.random.default_rng(0)
    seen = {paired_verdict(random_samples(rng), 0.01) for _ in range(CASES)}
    assert seen == set(RANK)


def test_a_confirmed_effect_reversed_is_refuted_as_reversed():
    rng = np.random.default_rng(1)
    confirmed = 0
    for _ in range(CASES):
        d = random_samples(rng)
        if paired_verdict(d, 0.01) == "confirmed":
            confirmed += 1
            flipped = decide(-d, 0.01)
            assert flipped.verdict == "refuted" and flipped.reason == "reversed", d
    assert confirmed > 20  # the property was exercised


def test_a_verdict_never_moves_towards_confirmed_as_the_min_effect_grows():
    rng = np.random.default_rng(2)
    effects = np.geomspace(1e-4, 0.2, 25)
    moved = 0
    for _ in range(CASES):
        d = random_samples(rng)
        ranks = [RANK[paired_verdict(d, m)] for m in effects]
        assert ranks == sorted(ranks), (d, ranks)  # confirmed -> inconclusive -> refuted only
        moved += len(set(ranks)) > 1
    assert moved > 50


@pytest.mark.parametrize("copies", [2, 3, 5])
def test_more_seeds_of_the_same_effect_only_decide_more(copies: int):
    """The same samples seen ``copies`` times (same mean, same spread, more seeds): a decided claim
    keeps its verdict, and an inconclusive one may only become decided."""
    rng = np.random.default_rng(3 + copies)
    for _ in range(CASES):
        d = random_samples(rng)
        before, after = paired_verdict(d, 0.01), paired_verdict(np.tile(d, copies), 0.01)
        if before != "inconclusive":
            assert after == before, (d, before, after)


def crafted(mean: float, sd: float, n: int) -> np.ndarray:
    """n differences with exactly this mean and sample SD."""
    z = np.linspace(-1.0, 1.0, n)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


def test_the_same_mean_and_spread_at_more_seeds_decide_once_and_for_all():
    """With the mean and SD held fixed, more seeds only narrow the interval: the verdict goes
    from inconclusive to one decision and stays there (never confirmed <-> refuted)."""
    rng = np.random.default_rng(4)
    for _ in range(CASES):
        mean, sd = float(rng.uniform(-0.03, 0.03)), float(rng.uniform(0.001, 0.03))
        verdicts = [paired_verdict(crafted(mean, sd, n), 0.01) for n in (3, 5, 10, 20, 50, 200)]
        decided = [i for i, v in enumerate(verdicts) if v != "inconclusive"]
        if decided:
            first = decided[0]
            assert set(verdicts[first:]) == {verdicts[first]}, (mean, sd, verdicts)


def test_the_verdict_does_not_depend_on_the_unit_or_the_order():
    rng = np.random.default_rng(5)
    for _ in range(CASES):
        d, scale = random_samples(rng), float(rng.uniform(0.01, 100))
        verdict = paired_verdict(d, 0.01)
        assert paired_verdict(scale * d, scale * 0.01) == verdict  # points vs fractions
        assert paired_verdict(rng.permutation(d), 0.01) == verdict  # seeds in any order


def quiet(call, *args, **kwargs) -> str:
    with redirect_stdout(io.StringIO()):
        return call(*args, **kwargs)


def test_grouped_claims_keep_the_symmetry_and_the_target_order():
    """Target every confirmed means target some is not refuted (some is Bonferroni-corrected, so
    it need not be confirmed), some refuted means every is refuted, negating every group turns
    confirmed into refuted, and "depends" holds for the negated levels too."""
    rng = np.random.default_rng(6)
    seen = set()
    for _ in range(CASES // 4):
        n = int(rng.integers(3, 8))
        levels = {f"l{i}": list(random_samples(rng, n)) for i in range(3)}
        res = Results("p")
        every = quiet(res.compare_steps, "c", levels, 0.01)
        some = quiet(res.can_happen, "c", levels, 0.01)
        seen.add((every, some))
        if every == "confirmed":
            assert some != "refuted"
        if some == "refuted":
            assert every == "refuted"
        negated = {g: [-v for v in d] for g, d in levels.items()}
        if every == "confirmed":
            assert quiet(res.compare_steps, "c", negated, 0.01) == "refuted"
        for target in ("every", "some", "average"):
            verdict = quiet(res.across, "c", levels, 0.01, factor="f", target=target)
            if verdict == "depends":  # opposite significant signs: whatever the target
                assert quiet(res.across, "c", negated, 0.01, factor="f", target=target) == (
                    "depends"
                )
    assert {every for every, _ in seen} >= {"confirmed", "refuted", "inconclusive"}
