"""The conclusions checker: decide every recorded claim again from what its entry recorded.

A results JSON (``notebooks/results/*.json``, or a run's ``results/``) keeps, for each claim, its
samples, min effect, groups, target and excluded levels. :func:`verdict_problems` replays each
claim through a fresh ``cu.Results`` with the course's rule (the method that recorded it) and
lists every way the stored entry and its samples disagree: verdict, reason, deciding group,
interval, p-value, seeds needed. Timing claims recorded while the machine was loaded are expected
inconclusive whatever their samples say. :func:`orientation_problems` recomputes the samples of
claims that recorded their arms (``cu.paired``) and :func:`unoriented_claims` names the
comparative claims that did not.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from course_utils.paired import oriented, paired
from course_utils.results import Results
from course_utils.validation import ParameterError

COMPARATIVE = ("compare", "compare_steps", "can_happen", "across")
LOADED = "machine loaded (load average"
EXACT_TEXT = re.compile(r"largest difference (\S+) \(tolerance (\S+)\)")
FACTOR_TEXT = re.compile(r"factor: ([^;]+)")
TOLERANCE = 1e-9  # relative, for recorded floats (means, intervals, p-values)


def load(result: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """A results JSON as a dict (from a path or as given)."""
    if isinstance(result, (str, Path)):
        return json.loads(Path(result).read_text())
    return dict(result)


def method_of(entry: Mapping[str, Any]) -> str:
    """The ``Results`` method that recorded the entry: its ``method`` field, or (for entries
    written before it was recorded) what its fields and measured text show."""
    if "method" in entry:
        return entry["method"]
    measured = entry.get("measured", "")
    if "samples" not in entry:
        return "untestable" if measured.startswith("not testable here") else "exact"
    if "groups" not in entry:
        return "compare"
    if FACTOR_TEXT.search(measured):
        return "across"
    return "can_happen" if entry.get("target") == "some" else "compare_steps"


def loaded(entry: Mapping[str, Any]) -> bool:
    """A timing claim recorded on a loaded machine: inconclusive whatever its samples say."""
    return LOADED in entry.get("measured", "")


def diffs_of(samples: list[float], arms: Mapping[str, Any] | None):
    """The differences to decide on: from the recorded arms (``cu.paired``, with the test set's
    sampling variance ``test_var`` when it was recorded), else the samples as they are."""
    if not arms:
        return samples
    names = (arms["treatment"], arms["baseline"])
    diffs = paired(
        arms["treatment_samples"], arms["baseline_samples"], better=arms["better"], names=names
    )
    diffs.test_var = float(arms.get("test_var", 0.0))
    return diffs


def replay(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry a fresh ``Results`` records for the same samples and declarations (the samples
    rebuilt from the arms where the entry recorded them)."""
    method, claim = method_of(entry), entry["claim"]
    res = Results("replay")
    with redirect_stdout(io.StringIO()):  # the CLAIM / MEASURED / VERDICT printout
        if method == "untestable":
            res.untestable(claim, "replayed")
        elif method == "exact":
            res.exact(claim, *exact_numbers(entry))
        else:
            effect, unit = entry["min_effect"], entry.get("unit", "")
            arms = entry.get("group_arms") or {}
            groups = {g: diffs_of(d, arms.get(g)) for g, d in (entry.get("groups") or {}).items()}
            if method == "compare":
                res.compare(claim, diffs_of(entry["samples"], entry.get("arms")), effect, unit=unit)
            elif method == "compare_steps":
                res.compare_steps(claim, groups, effect, unit=unit)
            elif method == "can_happen":
                res.can_happen(claim, groups, effect, unit=unit)
            elif method == "across":
                found = FACTOR_TEXT.search(entry.get("measured", ""))
                factor = entry.get("factor") or (found.group(1) if found else "?")
                res.across(
                    claim,
                    groups,
                    effect,
                    factor=factor,
                    target=entry["target"],
                    exclude=entry.get("excluded") or None,
                    unit=unit,
                )
            else:
                raise ValueError(f"claim {claim!r}: unknown method {method!r}")
    return res.claims[-1]


def exact_numbers(entry: Mapping[str, Any]) -> tuple[float, float]:
    """(error, tolerance) of an exact claim: recorded, or read from its measured text."""
    if "tolerance" in entry:
        error = entry.get("error")
        return (math.inf if error is None else float(error)), float(entry["tolerance"])
    found = EXACT_TEXT.search(entry.get("measured", ""))
    if found is None:
        raise ValueError(f"claim {entry['claim']!r}: an exact claim without its error")
    return float(found.group(1)), float(found.group(2))


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list) or isinstance(b, list):
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and len(a) == len(b)
            and all(_close(x, y) for x, y in zip(a, b))
        )
    return math.isclose(float(a), float(b), rel_tol=TOLERANCE, abs_tol=1e-12)


FIELDS = ("reason", "clears_min_effect", "deciding_group", "seeds_needed", "n")
NUMBERS = ("samples", "mean", "low", "high", "p_value")


def claim_problems(entry: Mapping[str, Any]) -> list[str]:
    """How the stored entry disagrees with the decision its own record implies (empty: none)."""
    method = method_of(entry)
    if method == "exact":
        error, tolerance = exact_numbers(entry)
        if "tolerance" not in entry and error == tolerance != 0:
            return []  # the measured text's 3 digits cannot tell error <= tolerance
    try:
        again = replay(entry)
    except ParameterError as exc:
        return [f"its samples cannot be decided: {exc}"]
    expected = dict(again)
    if loaded(entry) and method == "compare":
        expected.update(verdict="inconclusive", reason=None, clears_min_effect=False)
        expected.update(p_value=None, seeds_needed=None)
    problems = []
    if entry["verdict"] != expected["verdict"]:
        problems.append(
            f"verdict {entry['verdict']!r}, but its samples give {expected['verdict']!r}"
            + (" (the machine was loaded)" if loaded(entry) else "")
        )
    if method in ("exact", "untestable"):
        return problems
    for key in FIELDS:
        if key in entry and entry[key] != expected.get(key):
            problems.append(f"{key} {entry[key]!r}, but its samples give {expected.get(key)!r}")
    for key in NUMBERS:
        if key in entry and not _close(entry[key], expected.get(key)):
            problems.append(f"{key} {entry[key]!r}, but its samples give {expected.get(key)!r}")
    if "groups" in entry and entry.get("target") != expected.get("target"):
        problems.append(
            f"target {entry.get('target')!r} is not its method's {expected['target']!r}"
        )
    return problems


def verdict_problems(result: Mapping[str, Any] | str | Path) -> list[str]:
    """Every disagreement between a results JSON's stored decisions and their samples."""
    data = load(result)
    return [
        f"{data.get('notebook')}: {entry['claim']!r}: {problem}"
        for entry in data["claims"]
        for problem in claim_problems(entry)
    ]


def _arm_sets(entry: Mapping[str, Any]) -> Iterator[tuple[str, dict, list[float]]]:
    """(where, arms, the samples they must give) for the claim and each of its groups."""
    if "arms" in entry:
        yield "samples", entry["arms"], entry["samples"]
    for group, arms in (entry.get("group_arms") or {}).items():
        yield f"group {group!r}", arms, entry["groups"].get(group, [])


def orientation_problems(result: Mapping[str, Any] | str | Path) -> list[str]:
    """Claims whose samples are not their recorded arms' differences the way the claim reads
    (``better`` higher: treatment - baseline; lower: baseline - treatment)."""
    data, problems = load(result), []
    for entry in data["claims"]:
        for where, arms, samples in _arm_sets(entry):
            expected = oriented(arms["treatment_samples"], arms["baseline_samples"], arms["better"])
            if not _close(list(samples), expected):
                problems.append(
                    f"{data.get('notebook')}: {entry['claim']!r}: {where} {list(samples)!r} are not "
                    f"{arms['treatment']!r} vs {arms['baseline']!r} with {arms['better']!r} "
                    f"better: {expected!r}"
                )
    return problems


def unoriented_claims(result: Mapping[str, Any] | str | Path) -> list[str]:
    """The comparative claims that did not record the arms of every group they decide on."""
    data, missing = load(result), []
    for entry in data["claims"]:
        if method_of(entry) not in COMPARATIVE:
            continue
        if "groups" in entry:
            excluded = entry.get("excluded") or {}
            used = set(entry["groups"]) - set(excluded)
            if not used <= set(entry.get("group_arms") or {}):
                missing.append(entry["claim"])
        elif "arms" not in entry:
            missing.append(entry["claim"])
    return missing
