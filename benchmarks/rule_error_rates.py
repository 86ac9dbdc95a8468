"""The claims rule's own error rates: how often it confirms or refutes at a known true effect.

A fixed-seed simulation (numpy ``Generator``): per-seed paired differences are normal with the true
effect as mean and SD = min effect; each replicate is decided by the course's rule
(``course_utils.results.rule_verdicts``, the vectorized core of ``decide``) on its mean +- t*SE
(95%). The table gives P(confirmed) and P(refuted) at n = 5 and n = 10 seeds when the true effect
is 0, min effect / 2, min effect and 2 x min effect. The README's "How a claim is decided" shows it.

Run: ``python benchmarks/rule_error_rates.py [--replicates N] [--seed S]`` (prints markdown).
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

from course_utils.claims import rule_verdicts
from course_utils.tools.ledger import markdown_table

EFFECTS = {"0": 0.0, "min effect / 2": 0.5, "min effect": 1.0, "2 x min effect": 2.0}
SEEDS = (5, 10)


def verdict_rates(
    effect: float, n: int, replicates: int, rng: np.random.Generator, min_effect: float = 1.0
) -> tuple[float, float]:
    """(P(confirmed), P(refuted)) of the rule on ``replicates`` samples of ``n`` normal
    differences with mean ``effect`` and SD ``min_effect``."""
    diffs = rng.normal(effect, min_effect, size=(replicates, n))
    mean = diffs.mean(axis=1)
    half = stats.t.ppf(0.975, n - 1) * diffs.std(axis=1, ddof=1) / np.sqrt(n)
    verdicts = rule_verdicts(mean, mean - half, mean + half, min_effect)
    return float(np.mean(verdicts == "confirmed")), float(np.mean(verdicts == "refuted"))


def error_rates(replicates: int = 20_000, seed: int = 0) -> list[dict[str, object]]:
    """One row per (true effect, n): the rule's P(confirmed) and P(refuted), simulated."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, effect in EFFECTS.items():
        for n in SEEDS:
            confirmed, refuted = verdict_rates(effect, n, replicates, rng)
            rows.append(
                {
                    "true effect": name,
                    "n": n,
                    "P(confirmed)": confirmed,
                    "P(refuted)": refuted,
                }
            )
    return rows


def markdown(rows: list[dict[str, object]]) -> str:
    """The table with one row per true effect, P(confirmed) and P(refuted) at each n."""
    by = {(r["true effect"], r["n"]): r for r in rows}
    columns = ["true effect"] + [f"P({v}), n={n}" for v in ("confirmed", "refuted") for n in SEEDS]
    wide = [
        {"true effect": name}
        | {
            f"P({v}), n={n}": f"{by[name, n][f'P({v})']:.3f}"
            for v in ("confirmed", "refuted")
            for n in SEEDS
        }
        for name in EFFECTS
    ]
    return markdown_table(wide, columns)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(markdown(error_rates(args.replicates, args.seed)))
    print(f"\n{args.replicates} replicates per cell, seed {args.seed}; per-seed SD = min effect")


if __name__ == "__main__":
    main()
