"""Pool the per-seed samples of runs made at disjoint seed blocks (``ledger --pool RUN ...``).

One machine may not run enough seeds to decide a claim; several runs of the same notebooks with the
same parameters but different ``seed`` (e.g. a ``sweep -p seed 0,5,10,15`` spread over machines on
one PostgreSQL study) together do. Every stochastic claim is decided again, by the method that
recorded it, on the concatenated samples. Runs whose parameters differ (other than the seed and
where files go) or whose seed blocks overlap are refused.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..paired import paired
from ..results import Results
from ..validation import ParameterError
from .ledger import collect, results_folder

PER_RUN = ("seed", "results_path", "data_dir")  # parameters that may differ between pooled runs
GROUPED = ("compare_steps", "can_happen", "across")


def run_parameters(run: Path, notebook: str) -> dict[str, Any]:
    """The parameters papermill injected into ``notebook`` of ``run`` (its executed .ipynb)."""
    path = run / f"{notebook}.ipynb"
    if not path.is_file():
        raise ParameterError(
            f"parameter 'RUN' got {str(run)!r}: it has no executed {notebook}.ipynb to read the "
            "parameters from; allowed: run folders made by `python -m course_utils run`"
        )
    meta = json.loads(path.read_text()).get("metadata", {})
    return dict(meta.get("papermill", {}).get("parameters", {}))


def seed_block(result: dict[str, Any], parameters: dict[str, Any]) -> range:
    """The seeds a notebook's claims used: ``seed`` up to the largest sample count."""
    start = int(parameters.get("seed", 0))
    return range(
        start, start + max((len(c.get("samples") or []) for c in result["claims"]), default=1)
    )


def check_poolable(runs: Sequence[Path], notebook: str, results: list[dict[str, Any]]) -> None:
    """Same profile and parameters (but the seed), and disjoint seed blocks, or a clear error."""
    params = [run_parameters(run, notebook) for run in runs]
    same = [{k: v for k, v in p.items() if k not in PER_RUN} for p in params]
    for run, p in zip(runs[1:], same[1:]):
        if p != same[0]:
            raise ParameterError(
                f"runs {str(runs[0])!r} and {str(run)!r} ran {notebook} with different parameters "
                f"({same[0]} vs {p}); allowed: runs that differ only in {', '.join(PER_RUN)}"
            )
    blocks = [seed_block(r, p) for r, p in zip(results, params)]
    for i, a in enumerate(blocks):
        for j in range(i + 1, len(blocks)):
            if set(a) & set(blocks[j]):
                raise ParameterError(
                    f"runs {str(runs[i])!r} and {str(runs[j])!r} ran {notebook} on overlapping seeds "
                    f"({a.start}-{a.stop - 1} and {blocks[j].start}-{blocks[j].stop - 1}); allowed: "
                    "disjoint seed blocks, e.g. -p seed 0 and -p seed 5 with 5 seeds each"
                )


def _pooled_arm(entries: list[dict[str, Any]], samples: list[list[float]]) -> Sequence[float]:
    """The concatenated samples, as ``cu.paired`` arms when every run recorded its arms."""
    flat = [v for s in samples for v in s]
    if not entries or any(e is None for e in entries):
        return flat
    arms = paired(
        [v for e in entries for v in e["treatment_samples"]],
        [v for e in entries for v in e["baseline_samples"]],
        better=entries[0]["better"],
        names=(entries[0]["treatment"], entries[0]["baseline"]),
    )
    # the runs score on the same test images: their test-set noise is shared, not averaged away
    arms.test_var = sum(e.get("test_var", 0.0) for e in entries) / len(entries)
    return arms


def redecide(results: Results, claims: list[dict[str, Any]]) -> None:
    """Decide one claim again on the samples of all ``claims`` (its entry in each run)."""
    try:
        _redecide(results, claims)
    except ParameterError as exc:  # e.g. the pooled samples have no variation
        results.untestable(claims[0]["claim"], f"the pooled samples cannot be decided ({exc})")


def _redecide(results: Results, claims: list[dict[str, Any]]) -> None:
    first, method = claims[0], claims[0].get("method")
    text, unit, min_effect = first["claim"], first.get("unit", ""), first.get("min_effect")
    if method in ("exact", "untestable") or method is None and "samples" not in first:
        verdicts = {c["verdict"] for c in claims}
        verdict = "refuted" if "refuted" in verdicts else first["verdict"]
        results._record({**first, "verdict": verdict})
        return
    if method == "compare" or method is None:
        diffs = _pooled_arm([c.get("arms") for c in claims], [c["samples"] for c in claims])
        loaded = [c for c in claims if "machine loaded" in c["measured"]]
        detail = "pooled over runs" + ("; a run was loaded: timing undecided" if loaded else "")
        results.compare(text, diffs, min_effect, unit=unit, detail=detail)
        if loaded:
            results.claims[-1]["verdict"] = "inconclusive"
        return
    groups = {
        g: _pooled_arm(
            [(c.get("group_arms") or {}).get(g) for c in claims], [c["groups"][g] for c in claims]
        )
        for g in first["groups"]
    }
    common = dict(unit=unit, detail="pooled over runs")
    if method == "compare_steps":
        results.compare_steps(text, groups, min_effect, **common)
    elif method == "can_happen":
        results.can_happen(text, groups, min_effect, **common)
    else:
        factor, target, exclude = first["factor"], first["target"], first.get("excluded") or None
        results.across(
            text, groups, min_effect, factor=factor, target=target, exclude=exclude, **common
        )


def pool_runs(runs: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Results of every notebook all ``runs`` ran, each claim decided on the pooled samples."""
    if len(runs) < 2:
        raise ParameterError(
            f"parameter 'RUN' got {len(runs)} run(s); allowed: two or more to pool"
        )
    folders = [results_folder(r) for r in runs]
    per_run = [{r["notebook"]: r for r in collect(f)} for f in folders]
    folders = [f.parent if f.name == "results" else f for f in folders]  # where the .ipynb are
    pooled = []
    for notebook in sorted(set.intersection(*(set(r) for r in per_run))):
        results = [r[notebook] for r in per_run]
        check_poolable(folders, notebook, results)
        out = Results(notebook, profile=results[0].get("profile"))
        by_claim = [{c["claim"]: c for c in r["claims"]} for r in results]
        with contextlib.redirect_stdout(io.StringIO()):  # Results prints every claim it records
            for text in by_claim[0]:
                if all(text in b for b in by_claim):
                    redecide(out, [b[text] for b in by_claim])
        pooled.append({**out.as_dict(), "pooled_runs": [str(f) for f in folders]})
    return pooled
