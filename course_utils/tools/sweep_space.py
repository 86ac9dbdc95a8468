"""A sweep's search space: every ``-p NAME VALUES`` sorted into fixed values, grids and ranges.

``-p NAME VALUE``: fixed for every trial. ``-p NAME a,b,c``: a grid (Optuna's ``GridSampler``; for
a comma-separated ``names`` parameter separate the alternatives with ``|``).
``-p NAME low:high[:log][:int]``: a range, searched with TPE (any grid parameters then become TPE
categorical choices). Everything is checked against the notebook's declarations before any trial.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalogue import CLIError, coerce, notebook_parameters, notebook_specs


@dataclass
class Space:
    """Fixed values, grids and ranges of the sweep's parameters (JSON-serializable)."""

    fixed: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, dict[str, Any]] = field(default_factory=dict)  # low, high, log, int

    @property
    def sampler_name(self) -> str:
        return "tpe" if self.ranges else "grid"

    def grid_points(self) -> list[dict[str, Any]]:
        names = sorted(self.grid)
        return [dict(zip(names, v)) for v in itertools.product(*(self.grid[n] for n in names))]


def _parse_range(name: str, raw: str, annotation: str, notebook: str) -> dict[str, Any]:
    parts = raw.split(":")
    flags = [p.strip().lower() for p in parts[2:]]
    bad = [f for f in flags if f not in ("log", "int")]
    if len(parts) < 2 or bad or len(set(flags)) != len(flags):
        raise CLIError(
            f"malformed range {raw!r} for parameter {name!r}: write LOW:HIGH, LOW:HIGH:log, "
            "LOW:HIGH:int or LOW:HIGH:int:log (e.g. 1e-4:1e-1:log, 2:8:int)"
        )
    try:
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise CLIError(
            f"malformed range {raw!r} for parameter {name!r}: {parts[0]!r} and {parts[1]!r} "
            "must be numbers"
        ) from None
    is_int, is_log = "int" in flags, "log" in flags
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise CLIError(f"malformed range {raw!r} for parameter {name!r}: need LOW < HIGH, finite")
    if is_log and low <= 0:
        raise CLIError(f"malformed range {raw!r} for parameter {name!r}: a log range needs LOW > 0")
    types = {t.strip() for t in annotation.split("|")}
    if is_int:
        if low != int(low) or high != int(high):
            raise CLIError(f"malformed range {raw!r} for parameter {name!r}: :int needs integers")
        if "int" not in types:
            raise CLIError(
                f"parameter {name!r} of {notebook} is declared as {annotation}; "
                f"an :int range needs an int parameter"
            )
        low, high = int(low), int(high)
    elif "float" not in types:
        hint = " (add :int, e.g. 2:8:int)" if "int" in types else ""
        raise CLIError(
            f"parameter {name!r} of {notebook} is declared as {annotation}; "
            f"a range {raw!r} needs a float parameter{hint}"
        )
    return {"low": low, "high": high, "log": is_log, "int": is_int}


def parse_space(notebook: Path, pairs: list[list[str]]) -> Space:
    """Sort every ``-p NAME VALUES`` into fixed / grid / range and check it against the notebook.

    Names and types come from the parameters cell, allowed values from the notebook's
    ``setup(...)`` declaration (both ends of a range are checked), all before any trial runs.
    """
    declared = {p.name: p for p in notebook_parameters(notebook)}
    specs = notebook_specs(notebook)
    space, seen = Space(), set()
    for name, raw in pairs:
        if name in seen:
            raise CLIError(f"parameter {name!r} is given twice")
        seen.add(name)
        if name not in declared:
            raise CLIError(
                f"notebook {notebook.stem} does not declare a parameter {name!r}; "
                f"it declares: {', '.join(declared)}"
            )
        if name == "results_path":
            raise CLIError("results_path is set by the sweep for every trial")
        param, spec = declared[name], specs.get(name)
        sep = "|" if spec is not None and spec.kind == "names" else ","
        numeric = any(t in param.allowed for t in (int, float))
        if sep in raw:
            items = [s.strip() for s in raw.split(sep)]
            if len(items) < 2 or not all(items):
                raise CLIError(f"malformed grid {raw!r} for parameter {name!r}: empty value")
            values = [coerce(param, s, notebook.stem) for s in items]
            if len(set(map(repr, values))) != len(values):
                raise CLIError(f"malformed grid {raw!r} for parameter {name!r}: repeated value")
            space.grid[name] = values
        elif ":" in raw and numeric:
            space.ranges[name] = _parse_range(name, raw, param.annotation, notebook.stem)
            values = [space.ranges[name]["low"], space.ranges[name]["high"]]
        else:
            values = [coerce(param, raw, notebook.stem)]
            space.fixed[name] = values[0]
        if spec is not None:
            for v in values:
                spec.check(name, v)
    return space
