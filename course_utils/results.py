"""Record a notebook's metrics and tested claims as JSON (``cu.Results``), and print tables.

Every comparative claim is decided by one rule, :func:`paired_verdict`, on per-seed paired
differences (the README's "How a claim is decided"): the compared settings share each seed's data
subset, initial weights and batch order, and the claim declares its smallest effect worth having
before it runs. Collecting a run's JSON into the claims ledger is ``course_utils.tools.ledger``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from .config import available_cores
from .validation import ParameterError, check_choice

VERDICTS = ("confirmed", "refuted", "depends", "inconclusive")
RESULTS_DIR_ENV = "COURSE_RESULTS_DIR"


def _as_diffs(diffs: Sequence[float], name: str = "diffs") -> np.ndarray:
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
    diffs: Sequence[float], *, k: float | None = None
) -> tuple[float, float, float, float]:
    """``(mean, se, low, high)`` of paired differences; the interval is mean +- k*SE.

    ``k`` defaults to the two-sided 95% t quantile for n-1 degrees of freedom. With one value the
    standard error is unknown: se is nan and the interval is infinite.

    Taught in notebook 00 (the claims rule).
    """
    values = _as_diffs(diffs)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan, -math.inf, math.inf
    se = float(values.std(ddof=1) / math.sqrt(len(values)))
    k = float(stats.t.ppf(0.975, len(values) - 1)) if k is None else k
    return mean, se, mean - k * se, mean + k * se


def paired_verdict(diffs: Sequence[float], min_effect: float, *, k: float | None = None) -> str:
    """The course's one decision rule for a comparison, on per-seed paired differences.

    ``diffs`` are oriented so that a positive value supports the claim. With the interval
    mean +- k*SE (``k``: two-sided 95% t quantile for n-1 degrees of freedom by default):

    - **confirmed** when the interval lies above 0 and the mean is at least ``min_effect``;
    - **refuted** when the interval lies below 0, or lies entirely inside
      (-min_effect, +min_effect): there is no effect worth having;
    - **inconclusive** otherwise, and always with a single seed.

    A tie (all differences zero) is refuted as "no effect", never confirmed.
    """
    values = _as_diffs(diffs)
    min_effect = _check_min_effect(min_effect)
    if k is not None and (not math.isfinite(k) or k <= 0):
        raise ParameterError(f"parameter 'k' got {k!r}; allowed: a finite number > 0 or None")
    if len(values) < 2:
        return "inconclusive"
    mean, _, low, high = effect_interval(values, k=k)
    if low > 0 and mean >= min_effect:
        return "confirmed"
    if high < 0 or (low > -min_effect and high < min_effect):
        return "refuted"
    return "inconclusive"


def format_effect(diffs: Sequence[float], unit: str = "", scale: float = 1.0) -> str:
    """``'+1.23 +- 0.45 points (n=5)'``: mean +- standard error of the paired differences.

    Taught in notebook 00 (the claims rule).
    """
    mean, se, _, _ = effect_interval(diffs)
    unit = f" {unit}" if unit else ""
    se_text = "?" if math.isnan(se) else f"{scale * se:.3g}"
    return f"{scale * mean:+.3g} +- {se_text}{unit} (n={len(_as_diffs(diffs))})"


def _machine_load() -> tuple[float, int]:
    """(1-minute load average, usable cores): timing claims are inconclusive when load > cores."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return load, available_cores()


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

    - :meth:`compare`: a comparison decided by :func:`paired_verdict` on per-seed differences;
    - :meth:`compare_steps`: a monotone claim, every step with its own interval;
    - :meth:`can_happen`: "X can happen", swept over settings (confirmed if any setting confirms);
    - :meth:`across`: an effect that may change sign with a named factor ("depends");
    - :meth:`exact`: a deterministic identity (an equivalence to a tolerance);
    - :meth:`untestable`: inconclusive, with the reason it cannot be tested here.
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

    def _comparison(
        self,
        claim: str,
        diffs: Sequence[float],
        min_effect: float,
        unit: str,
        detail: str,
        verdict: str,
    ) -> dict[str, Any]:
        values = _as_diffs(diffs)
        mean, se, low, high = effect_interval(values)
        measured = (
            format_effect(values, unit) + f"; min effect {min_effect:g}{' ' + unit if unit else ''}"
        )
        return {
            "claim": claim,
            "measured": measured + (f"; {detail}" if detail else ""),
            "verdict": verdict,
            "samples": [float(v) for v in values],
            "min_effect": float(min_effect),
            "unit": unit,
            "mean": mean,
            "se": _plain(se),
            "low": _plain(low),
            "high": _plain(high),
            "n": len(values),
        }

    def compare(
        self,
        claim: str,
        diffs: Sequence[float],
        min_effect: float,
        *,
        unit: str = "",
        detail: str = "",
        timing: bool = False,
    ) -> str:
        """Decide a comparison with :func:`paired_verdict`; record it and return the verdict.

        ``timing=True`` marks a speed claim: when the machine is loaded (load average above the
        core count) the verdict is inconclusive whatever the numbers say.
        """
        verdict = paired_verdict(diffs, min_effect)
        if timing:
            load, cores = _machine_load()
            if load > cores:
                verdict = "inconclusive"
                detail = (detail + "; " if detail else "") + (
                    f"machine loaded (load average {load:.1f} > {cores} cores)"
                )
        return self._record(self._comparison(claim, diffs, min_effect, unit, detail, verdict))

    def _grouped(
        self,
        claim: str,
        groups: Mapping[str, Sequence[float]],
        min_effect: float,
        unit: str,
        detail: str,
        verdict: str,
        deciding: str,
    ) -> str:
        if not groups:
            raise ParameterError(f"claim {claim!r}: no groups of differences given")
        parts = [f"{name}: {format_effect(d, unit)}" for name, d in groups.items()]
        entry = self._comparison(claim, groups[deciding], min_effect, unit, "", verdict)
        entry["measured"] = (
            "; ".join(parts)
            + f"; min effect {min_effect:g}{' ' + unit if unit else ''}"
            + (f"; {detail}" if detail else "")
        )
        entry["groups"] = {name: [float(v) for v in _as_diffs(d)] for name, d in groups.items()}
        entry["deciding_group"] = deciding
        return self._record(entry)

    def compare_steps(
        self,
        claim: str,
        steps: Mapping[str, Sequence[float]],
        min_effect: float,
        *,
        unit: str = "",
        detail: str = "",
    ) -> str:
        """A monotone claim: every step is a comparison of its own.

        Confirmed when every step is confirmed, refuted when any step is refuted, else inconclusive.
        """
        verdicts = {name: paired_verdict(d, min_effect) for name, d in steps.items()}
        if verdicts and all(v == "confirmed" for v in verdicts.values()):
            verdict = "confirmed"
        elif "refuted" in verdicts.values():
            verdict = "refuted"
        else:
            verdict = "inconclusive"
        deciding = min(steps, key=lambda name: effect_interval(steps[name])[2]) if steps else ""
        return self._grouped(claim, steps, min_effect, unit, detail, verdict, deciding)

    def can_happen(
        self,
        claim: str,
        settings: Mapping[str, Sequence[float]],
        min_effect: float,
        *,
        unit: str = "",
        detail: str = "",
    ) -> str:
        """ "X can happen", swept over settings: confirmed when some setting confirms it,
        refuted only when every setting refutes it, else inconclusive."""
        verdicts = {name: paired_verdict(d, min_effect) for name, d in settings.items()}
        if "confirmed" in verdicts.values():
            verdict = "confirmed"
        elif verdicts and all(v == "refuted" for v in verdicts.values()):
            verdict = "refuted"
        else:
            verdict = "inconclusive"
        deciding = (
            max(settings, key=lambda name: effect_interval(settings[name])[0]) if settings else ""
        )
        return self._grouped(claim, settings, min_effect, unit, detail, verdict, deciding)

    def across(
        self,
        claim: str,
        levels: Mapping[str, Sequence[float]],
        min_effect: float,
        *,
        factor: str,
        unit: str = "",
        detail: str = "",
    ) -> str:
        """An effect measured at several levels of a named factor.

        ``depends`` only when it is significant with opposite signs at different levels (the
        measured text names the factor); otherwise confirmed when every level confirms it,
        refuted when every level refutes it, else inconclusive.
        """
        intervals = {name: effect_interval(d) for name, d in levels.items()}
        positive = [n for n, (_, _, low, _) in intervals.items() if low > 0]
        negative = [n for n, (_, _, _, high) in intervals.items() if high < 0]
        verdicts = [paired_verdict(d, min_effect) for d in levels.values()]
        if positive and negative:
            verdict = "depends"
            detail = (detail + "; " if detail else "") + (
                f"depends on {factor}: holds at {', '.join(positive)}, reversed at {', '.join(negative)}"
            )
        elif verdicts and all(v == "confirmed" for v in verdicts):
            verdict = "confirmed"
        elif verdicts and all(v == "refuted" for v in verdicts):
            verdict = "refuted"
        else:
            verdict = "inconclusive"
        deciding = max(levels, key=lambda name: abs(intervals[name][0])) if levels else ""
        return self._grouped(
            claim,
            levels,
            min_effect,
            unit,
            f"factor: {factor}" + (f"; {detail}" if detail else ""),
            verdict,
            deciding,
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
        return self._record({"claim": claim, "measured": measured, "verdict": verdict})

    def untestable(self, claim: str, why: str) -> str:
        """Record an explicit, reasoned "inconclusive (not testable here because ...)"."""
        return self._record(
            {"claim": claim, "measured": f"not testable here: {why}", "verdict": "inconclusive"}
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


def format_value(value: Any, floatfmt: str = ".4g") -> str:
    """A table cell: floats with ``floatfmt``, anything else as ``str``."""
    if isinstance(value, float):
        return format(value, floatfmt)
    return str(value)


def format_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, floatfmt: str = ".4g"
) -> str:
    """Rows of dicts as an aligned plain-text table (``columns``: which keys, in order)."""
    rows = list(rows)
    columns = list(columns or (rows[0].keys() if rows else []))
    cells = [[format_value(r.get(c, ""), floatfmt) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, floatfmt: str = ".4g"
) -> None:
    """Print rows of dicts as an aligned table; returns None, so a cell can end with it."""
    print(format_table(rows, columns, floatfmt))
