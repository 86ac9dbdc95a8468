"""Record a notebook's metrics and tested claims as JSON (``cu.Results``), and print tables.

Every comparison is decided by the rule in ``course_utils.claims``; collecting a run's JSON into
the claims ledger (with Benjamini-Hochberg q-values) is ``python -m course_utils ledger``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .claims import (
    TARGETS,
    VERDICTS,
    Decision,
    as_diffs,
    bonferroni_k,
    decide,
    decide_every,
    decide_some,
    decision_words,
    depends_on,
    effect_interval,
    excluded_words,
    format_effect,
    included_levels,
    joined_text,
    level_average,
    undecided,
)
from .config import available_cores
from .paired import Paired, min_effect_for
from .validation import ParameterError, check_choice

RESULTS_DIR_ENV = "COURSE_RESULTS_DIR"


# The run's own threads count in the load average: a notebook computing on every core keeps it
# near the core count, plus background noise of a few tenths. Another job computing adds at least
# one, so half a core of slack tells the two apart.
LOAD_SLACK = 0.5


def _machine_load() -> tuple[float, int]:
    """(1-minute load average, usable cores): timing claims are inconclusive when the load
    exceeds the cores plus ``LOAD_SLACK``, i.e. when something besides this run computes."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return load, available_cores()


def _loaded(load: float, cores: int) -> bool:
    return load > cores + LOAD_SLACK


def _plain(value: Any) -> Any:
    """Turn numpy / torch scalars into JSON-friendly Python numbers."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Results:
    """Metrics and claims of one notebook run; ``save()`` writes them to ``path`` (if given).

    Claims are recorded with one call each:

    - :meth:`compare`: a comparison decided by :func:`decide` on per-seed differences;
    - :meth:`compare_steps`: a monotone claim, every step with its own interval (target every);
    - :meth:`can_happen`: "X can happen", swept over settings (target some, Bonferroni-corrected);
    - :meth:`across`: an effect at several levels of a named factor, with a declared target
      (average, every or some); "depends" when it is significant with opposite signs;
    - :meth:`exact`: a deterministic identity (an equivalence to a tolerance);
    - :meth:`untestable`: inconclusive, with the reason it cannot be tested here.

    Every entry names the ``method`` that decided it, so a test can decide it again from the
    recorded samples (``tests/conclusions.py``).
    """

    def __init__(
        self, notebook: str, path: str | os.PathLike | None = None, profile: str | None = None
    ) -> None:
        self.notebook, self.profile = notebook, profile
        self.path = Path(path) if path is not None else None
        self.metrics: dict[str, Any] = {}
        self.claims: list[dict[str, Any]] = []
        self.saved_to: Path | None = None  # where save() last wrote the JSON

    def metric(self, name: str, value: Any) -> Any:
        """Record one metric (a number or short string) and return it."""
        self.metrics[name] = _plain(value)
        return value

    def _record(self, entry: dict[str, Any]) -> str:
        check_choice("verdict", entry["verdict"], VERDICTS)
        self.claims = [c for c in self.claims if c["claim"] != entry["claim"]] + [entry]
        print(
            f"CLAIM   : {entry['claim']}\nMEASURED: {entry['measured']}\n"
            f"VERDICT : {entry['verdict'].upper()}\n"
        )
        return entry["verdict"]

    @staticmethod
    def _min_effect(min_effect: float | None, unit: str) -> float:
        """The claim's min effect: as given, or the course's table value for ``unit``."""
        return min_effect_for(unit) if min_effect is None else min_effect

    @staticmethod
    def _decide(
        claim: str,
        diffs: Sequence[float],
        min_effect: float,
        k: float | None = None,
        where: str = "",
    ) -> Decision:
        """:func:`decide`, with the claim (and its group) named in any error; a level of
        :meth:`across` is told it can be left out with ``exclude``."""
        extra = diffs.test_var if isinstance(diffs, Paired) else 0.0
        try:
            return decide(diffs, min_effect, k=k, extra_var=extra)
        except ParameterError as exc:
            hint = ""
            if where.startswith("level "):
                hint = "; or, if this level cannot inform the comparison, exclude={level: reason}"
            raise ParameterError(
                f"claim {claim!r}{', ' + where if where else ''}: {exc}{hint}"
            ) from None

    def _comparison(
        self,
        claim: str,
        diffs: Sequence[float],
        min_effect: float,
        unit: str,
        detail: str,
        decision: Decision,
        head: str = "",
    ) -> dict[str, Any]:
        """The claim entry: the deciding samples, their 95% interval and the decision's fields."""
        values = as_diffs(diffs)
        extra = diffs.test_var if isinstance(diffs, Paired) else 0.0
        mean, se, low, high = effect_interval(values, extra_var=extra)
        test_se = f" (with the scored images' sampling SE {math.sqrt(extra):.3g})" if extra else ""
        measured = (
            (head or format_effect(values, unit))
            + test_se
            + f"; min effect {min_effect:g}{' ' + unit if unit else ''}"
            + decision_words(decision)
        )
        return {
            "claim": claim,
            "measured": measured + (f"; {detail}" if detail else ""),
            "verdict": decision.verdict,
            "reason": decision.reason,
            "clears_min_effect": decision.clears_min_effect,
            "p_value": _plain(decision.p_value),
            "seeds_needed": decision.seeds_needed,
            "samples": [float(v) for v in values],
            "min_effect": float(min_effect),
            "unit": unit,
            "mean": mean,
            "se": _plain(se),
            "low": _plain(low),
            "high": _plain(high),
            "n": len(values),
            **({"arms": diffs.arms()} if isinstance(diffs, Paired) else {}),
        }

    def compare(
        self,
        claim: str,
        diffs: Sequence[float],
        min_effect: float | None = None,
        *,
        unit: str = "",
        detail: str = "",
        timing: bool = False,
        when_constant: str | None = None,
    ) -> str:
        """Decide a comparison with :func:`decide`; record it and return the verdict.

        ``timing=True`` marks a speed claim: when the machine is loaded (load average above the
        core count plus half a core, the run's own threads included) the verdict is inconclusive
        whatever the numbers say. ``when_constant`` says why every seed can give the same
        difference (e.g. early stopping that never stopped a run); when that happens there is no
        spread to build an interval from, and the claim is recorded as :meth:`untestable`.

        Taught in notebook 00 (the claims rule).
        """
        values = as_diffs(diffs)
        if when_constant is not None and len(values) > 1 and len(set(values)) == 1:
            why = f"every seed gave the same difference ({values[0]:+.4f}): {when_constant}"
            return self.untestable(claim, why)
        min_effect = self._min_effect(min_effect, unit)
        decision = self._decide(claim, diffs, min_effect)
        if timing:
            load, cores = _machine_load()
            if _loaded(load, cores):
                decision = undecided(decision)
                detail = joined_text(
                    detail,
                    f"machine loaded (load average {load:.1f} > {cores} cores + {LOAD_SLACK})",
                )
        entry = self._comparison(claim, diffs, min_effect, unit, detail, decision)
        entry["method"], entry["timing"] = "compare", bool(timing)
        return self._record(entry)

    @staticmethod
    def _check_groups(claim: str, groups: Mapping[str, Sequence[float]], name: str) -> None:
        if not isinstance(groups, Mapping) or not groups:
            raise ParameterError(
                f"claim {claim!r}: parameter {name!r} got {groups!r}; allowed: a non-empty mapping "
                "from a name to its per-seed differences"
            )

    def _grouped(
        self,
        claim: str,
        groups: Mapping[str, Sequence[float]],
        min_effect: float,
        unit: str,
        detail: str,
        decision: Decision,
        deciding: str | None,
        *,
        method: str,
        target: str,
        samples: Sequence[float] | None = None,
        excluded: Mapping[str, str] | None = None,
        factor: str | None = None,
    ) -> str:
        """Record a claim over groups, decided by ``decision`` on the ``deciding`` group's samples
        (or on ``samples``, e.g. the per-seed average, when no one group decides)."""
        parts = [f"{name}: {format_effect(d, unit)}" for name, d in groups.items()]
        if samples is not None:
            parts.append(f"average: {format_effect(samples, unit)}")
        values = groups[deciding] if samples is None else samples
        entry = self._comparison(
            claim, values, min_effect, unit, detail, decision, head="; ".join(parts)
        )
        entry["groups"] = {name: [float(v) for v in as_diffs(d)] for name, d in groups.items()}
        arms = {name: d.arms() for name, d in groups.items() if isinstance(d, Paired)}
        if arms:
            entry["group_arms"] = arms
        entry["deciding_group"] = deciding
        entry["method"], entry["target"] = method, target
        entry["excluded"] = dict(excluded or {})
        if factor is not None:
            entry["factor"] = factor
        return self._record(entry)

    def compare_steps(
        self,
        claim: str,
        steps: Mapping[str, Sequence[float]],
        min_effect: float | None = None,
        *,
        unit: str = "",
        detail: str = "",
    ) -> str:
        """A monotone claim, target *every*: each step is a comparison of its own.

        Confirmed when every step is confirmed, refuted when any step is refuted, else inconclusive.
        """
        min_effect = self._min_effect(min_effect, unit)
        self._check_groups(claim, steps, "steps")
        decision, deciding = decide_every(self._each(claim, steps, min_effect, "step"))
        return self._grouped(
            claim,
            steps,
            min_effect,
            unit,
            detail,
            decision,
            deciding,
            method="compare_steps",
            target="every",
        )

    def _each(
        self, claim: str, groups: Mapping[str, Sequence[float]], min_effect: float, where: str
    ) -> dict[str, Decision]:
        """Each group decided at the plain 95%."""
        return {
            g: self._decide(claim, d, min_effect, where=f"{where} {g!r}") for g, d in groups.items()
        }

    def _corrected(
        self, claim: str, groups: Mapping[str, Sequence[float]], min_effect: float, where: str
    ) -> dict[str, Decision]:
        """Each group decided at a Bonferroni-corrected 95% over all the groups."""
        m = len(groups)
        return {
            g: self._decide(
                claim, d, min_effect, bonferroni_k(len(as_diffs(d)), m), f"{where} {g!r}"
            )
            for g, d in groups.items()
        }

    def can_happen(
        self,
        claim: str,
        settings: Mapping[str, Sequence[float]],
        min_effect: float | None = None,
        *,
        unit: str = "",
        detail: str = "",
    ) -> str:
        """ "X can happen", swept over settings, target *some*: confirmed when some setting is
        confirmed at a Bonferroni-corrected 95% (over all the settings), refuted only when every
        setting is refuted (each at the plain 95%: all must hold), else inconclusive."""
        min_effect = self._min_effect(min_effect, unit)
        self._check_groups(claim, settings, "settings")
        corrected = self._corrected(claim, settings, min_effect, "setting")
        plain = self._each(claim, settings, min_effect, "setting")
        decision, deciding = decide_some(corrected, plain)
        note = f"Bonferroni-corrected over {len(settings)} settings"
        return self._grouped(
            claim,
            settings,
            min_effect,
            unit,
            joined_text(note, detail),
            decision,
            deciding,
            method="can_happen",
            target="some",
        )

    def across(
        self,
        claim: str,
        levels: Mapping[str, Sequence[float]],
        min_effect: float | None = None,
        *,
        factor: str,
        target: str = "every",
        exclude: Mapping[str, str] | None = None,
        unit: str = "",
        detail: str = "",
    ) -> str:
        """An effect measured at several levels of a named factor, with a declared ``target``.

        Whatever the target, ``depends`` comes first: the effect is significant with opposite signs
        at different levels (each at a Bonferroni-corrected 95%; the measured text names the
        factor and the levels). Otherwise the target decides: "average" is one paired test on the
        per-seed mean over the levels (the same seeds at every level), "every" is as
        :meth:`compare_steps` and "some" as :meth:`can_happen`. ``exclude`` maps a level that
        cannot inform the comparison to the reason (e.g. "both arms at chance"): it is listed in
        the measured text and not used.

        Taught in notebook 01 (which optimizer wins depends on the hyperparameters).
        """
        min_effect = self._min_effect(min_effect, unit)
        check_choice("target", target, TARGETS)
        self._check_groups(claim, levels, "levels")
        included = included_levels(levels, exclude)
        m = len(included)
        corrected = self._corrected(claim, included, min_effect, "level")
        notes = [f"factor: {factor}", f"target: {target}", excluded_words(exclude)]
        samples = None
        found = depends_on(corrected, factor)
        if found:
            decision, deciding, note = found
        elif target == "average":
            samples, deciding = level_average(claim, included), None
            decision = self._decide(claim, samples, min_effect, where="the per-seed average")
            note = ""
        elif target == "every":
            decision, deciding = decide_every(self._each(claim, included, min_effect, "level"))
            note = ""
        else:
            decision, deciding = decide_some(
                corrected, self._each(claim, included, min_effect, "level")
            )
            note = f"Bonferroni-corrected over {m} levels"
        return self._grouped(
            claim,
            levels,
            min_effect,
            unit,
            joined_text(*notes, note, detail),
            decision,
            deciding,
            method="across",
            target=target,
            samples=samples,
            excluded=exclude,
            factor=factor,
        )

    def exact(self, claim: str, error: float, tolerance: float, *, detail: str = "") -> str:
        """A deterministic identity (no seed noise): confirmed when ``error <= tolerance``."""
        if not math.isfinite(error):
            verdict = "refuted"
        else:
            verdict = "confirmed" if error <= tolerance else "refuted"
        measured = f"largest difference {error:.3g} (tolerance {tolerance:g})" + (
            f"; {detail}" if detail else ""
        )
        entry = {"claim": claim, "measured": measured, "verdict": verdict, "method": "exact"}
        entry.update(error=_plain(float(error)), tolerance=float(tolerance))  # NaN/inf: None
        return self._record(entry)

    def untestable(self, claim: str, why: str) -> str:
        """Record an explicit, reasoned "inconclusive (not testable here because ...)"."""
        return self._record(
            {
                "claim": claim,
                "measured": f"not testable here: {why}",
                "verdict": "inconclusive",
                "method": "untestable",
            }
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "profile": self.profile,
            "metrics": self.metrics,
            "claims": self.claims,
        }

    def save(self) -> None:
        """Write the JSON atomically to ``path`` (nothing is written when no path was given).

        Without a path, ``$COURSE_RESULTS_DIR`` (set by ``make notebooks``, so the committed
        notebooks' results feed the course website's claims ledger) gives ``<dir>/<notebook>.json``.
        """
        path = self.path
        if path is None and os.environ.get(RESULTS_DIR_ENV):
            path = Path(os.environ[RESULTS_DIR_ENV]) / f"{self.notebook}.json"
        if path is None:
            print(
                f"results of {self.notebook}: {len(self.metrics)} metrics, {len(self.claims)} claims "
                "(not saved: results_path is None)"
            )
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(self.as_dict(), f, indent=2)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        print(
            f"results saved to {path.name}: {len(self.metrics)} metrics, {len(self.claims)} claims"
        )
        self.saved_to = path
