"""The claims ledger of a run: collect its results JSON, tabulate claims, draw the forest plot.

One ``ledger_rows`` feeds both the run's ``report.md`` (``runner.write_report``) and the course
website's claims page (``website.claims_page``); ``python -m course_utils ledger`` prints it,
compares two runs and pools several (``ledger_command``). The run's stochastic claims are one
family: each decision's p-value gets a Benjamini-Hochberg q-value across the run, and a decision
with q > 0.05 is *suggestive*.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # the ledger is drawn to files, never shown
import matplotlib.pyplot as plt  # noqa: E402
from scipy.stats import false_discovery_control  # noqa: E402

from ..claims import SEEDS_BUDGET, VERDICTS, claim_p_value, decide, format_effect  # noqa: E402
from ..tables import format_table, format_value  # noqa: E402
from ..validation import ParameterError  # noqa: E402

VERDICT_COLOURS = {
    "confirmed": "tab:green",
    "refuted": "tab:red",
    "depends": "tab:purple",
    "inconclusive": "tab:gray",
}
LEDGER_COLUMNS = [
    "notebook",
    "claim",
    "effect (mean +- SE, n)",
    "95% interval",
    "min effect",
    "verdict",
    "q",
]
Q_LEVEL = 0.05  # Benjamini-Hochberg false discovery rate of the run's kept decisions
DECISIONS = ("confirmed", "refuted", "depends")


def _load_results(path: str | os.PathLike) -> dict[str, Any]:
    """Read one results JSON, checking its shape."""
    data = json.loads(Path(path).read_text())
    for key in ("notebook", "metrics", "claims"):
        if key not in data:
            raise ParameterError(f"results file {path} lacks the key {key!r}")
    return data


def collect(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """All results JSON files in ``folder``, sorted by notebook name."""
    return sorted(
        (_load_results(p) for p in Path(folder).glob("*.json")), key=lambda r: r["notebook"]
    )


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A GitHub-flavoured markdown table; ``|`` in cells is escaped."""

    def cell(v: Any) -> str:
        return format_value(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def summarize_metrics(metrics: dict[str, Any], limit: int = 6) -> str:
    """``name=value`` for the first ``limit`` metrics."""
    items = [f"{k}={format_value(v)}" for k, v in list(metrics.items())[:limit]]
    return ", ".join(items) + (", ..." if len(metrics) > limit else "")


def summarize_claims(claims: list[dict[str, Any]]) -> str:
    return "; ".join(f"{c['claim']} -> {c['verdict']}" for c in claims)


def _seeds_needed(claim: dict[str, Any]) -> int | None:
    """The recorded estimate, or (older results) one recomputed from the deciding samples."""
    if "seeds_needed" in claim or claim["verdict"] != "inconclusive":
        return claim.get("seeds_needed")
    samples, min_effect = claim.get("samples"), claim.get("min_effect")
    if not samples or len(samples) < 2 or not min_effect:
        return None
    try:
        return decide(samples, min_effect).seeds_needed
    except ParameterError:  # no variation: no interval, no estimate
        return None


def _reason(claim: dict[str, Any]) -> str | None:
    """Why a refuted claim is refuted: recorded, or (older results) read off its interval."""
    if claim["verdict"] != "refuted":
        return None
    high = claim.get("high")
    return claim.get("reason") or ("reversed" if high is not None and high < 0 else "negligible")


def add_q_values(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every row its ``p_value`` (``claim_p_value``: recomputed from its samples and min
    effect with ``decide``; None without samples), and every decided row its Benjamini-Hochberg
    ``q_value`` across the run (scipy's ``false_discovery_control``), ``suggestive`` (q > 0.05)
    and ``q`` as text. The family is every claim with a p-value: an inconclusive claim counts as a
    test made (else no decision's q could exceed its p < 0.025) but gets no q, having decided
    nothing. Returns the rows, changed in place."""
    ps = [claim_p_value(row) for row in rows]
    family = [i for i, p in enumerate(ps) if p is not None]
    qs = false_discovery_control([ps[i] for i in family], method="bh") if family else []
    q_of = {i: float(q) for i, q in zip(family, qs) if rows[i]["verdict"] in DECISIONS}
    for i, row in enumerate(rows):
        q = q_of.get(i)
        row["p_value"], row["q_value"] = ps[i], q
        row["suggestive"] = q is not None and q > Q_LEVEL
        row["q"] = "-" if q is None else f"{q:.2g}" + (" (suggestive)" if row["suggestive"] else "")
    return rows


def ledger_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per claim of every collected result: its effect, interval and min effect as text,
    why it was refuted, the seeds an inconclusive one needs, and its q-value across the run."""
    rows = []
    for result in results:
        for claim in result["claims"]:
            row = {"notebook": result["notebook"], **claim}
            samples, unit = claim.get("samples"), claim.get("unit", "")
            row["effect (mean +- SE, n)"] = format_effect(samples, unit) if samples else "-"
            low, high = claim.get("low"), claim.get("high")
            row["95% interval"] = (
                f"[{low:.3g}, {high:.3g}]" if low is not None and high is not None else "-"
            )
            min_effect = claim.get("min_effect")
            row["min effect"] = f"{min_effect:g} {unit}".strip() if min_effect else "-"
            row["reason"], row["seeds_needed"] = _reason(claim), _seeds_needed(claim)
            rows.append(row)
    return add_q_values(rows)


def verdict_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many claims got each verdict."""
    return {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}


def ledger_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Verdicts, refutation reasons, suggestive decisions (q > 0.05), inconclusive claims needing
    more than ``SEEDS_BUDGET`` seeds, and the decisions with a q-value (``decisions``, ``kept``)."""
    counts = verdict_counts(rows)
    for reason in ("reversed", "negligible"):
        counts[reason] = sum(r.get("reason") == reason for r in rows)
    counts["suggestive"] = sum(bool(r.get("suggestive")) for r in rows)
    counts["undecidable"] = sum(
        r["verdict"] == "inconclusive" and (r.get("seeds_needed") or 0) > SEEDS_BUDGET for r in rows
    )
    counts["decisions"] = sum(r.get("q_value") is not None for r in rows)
    counts["kept"] = counts["decisions"] - counts["suggestive"]
    return counts


def counts_line(rows: list[dict[str, Any]]) -> str:
    """The ledger in one line: the verdicts, then what Benjamini-Hochberg says of the decisions."""
    c = ledger_counts(rows)
    return (
        f"{c['confirmed']} confirmed, {c['refuted']} refuted ({c['reversed']} reversed, "
        f"{c['negligible']} negligible), {c['depends']} depends, {c['inconclusive']} inconclusive; "
        f"{c['suggestive']} suggestive (q > {Q_LEVEL:g}); {c['undecidable']} not decidable at this "
        f"budget (more than {SEEDS_BUDGET} seeds needed). Benjamini-Hochberg at q = {Q_LEVEL:g}: "
        f"about {Q_LEVEL * c['kept']:.2g} of the {c['kept']} kept decisions (q <= {Q_LEVEL:g}, "
        f"of {c['decisions']} decisions) may be false ({Q_LEVEL:g} x kept decisions)."
    )


def plot_claims(ledger: list[dict[str, Any]], path: Path) -> bool:
    """Forest plot: one row per comparative claim, its mean paired difference with its 95% interval,
    in units of the claim's min effect, coloured by verdict. False when no claim has samples."""
    rows = [c for c in ledger if c.get("samples") and c.get("min_effect")]
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(10, 0.38 * len(rows) + 1.4))
    for i, c in enumerate(reversed(rows)):
        scale = c["min_effect"]
        low = c["low"] if c.get("low") is not None else c["mean"]
        high = c["high"] if c.get("high") is not None else c["mean"]
        colour = VERDICT_COLOURS.get(c["verdict"], "black")
        ax.plot([max(low / scale, -1000), min(high / scale, 1000)], [i, i], color=colour, lw=2)
        ax.plot(c["mean"] / scale, i, "o", color=colour)
    labels = [f"{c['notebook'][:2]} {c['claim'][:60]}" for c in reversed(rows)]
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    for x, style in ((0, "-"), (1, "--"), (-1, "--")):
        ax.axvline(x, color="black", lw=0.8, ls=style)
    ax.set_xscale("symlog", linthresh=1)  # linear within +-1 min effect, logarithmic beyond
    ax.set_xlim(-1000, 1000)
    ax.set_xlabel("mean paired difference / min effect (95% interval; symmetric log scale)")
    for verdict, colour in VERDICT_COLOURS.items():
        ax.plot([], [], "o-", color=colour, label=verdict)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def results_folder(path: str | os.PathLike) -> Path:
    """The folder of results JSON of ``path``: a run folder's ``results/``, or ``path`` itself."""
    folder = Path(path)
    if (folder / "results").is_dir():
        folder = folder / "results"
    if not folder.is_dir() or not any(folder.glob("*.json")):
        raise ParameterError(
            f"parameter 'RUN' got {str(path)!r}; allowed: a run folder with results/*.json, or a "
            "folder of results JSON (e.g. notebooks/results)"
        )
    return folder


PLAIN_COLUMNS = {
    "notebook": "notebook",
    "claim": "claim",
    "effect (mean +- SE, n)": "effect",
    "min effect": "min effect",
    "verdict": "verdict",
    "q": "q",
}


def ledger_text(rows: list[dict[str, Any]]) -> str:
    """The ledger as a plain table (notebook, claim, effect, min effect, verdict, q) and its counts."""
    plain = [{short: str(row.get(key, "")) for key, short in PLAIN_COLUMNS.items()} for row in rows]
    columns = list(PLAIN_COLUMNS.values())
    table = format_table(plain, columns, left=("notebook", "claim", "verdict"))
    return table + "\n\n" + counts_line(rows)


def verdict_changes(
    first: list[dict[str, Any]], second: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """Every claim (by notebook and claim text) whose verdict differs between two ledgers, or that
    only one has ("-" for the other); ``flip`` is "yes" for confirmed in one, refuted in the other."""
    verdicts = [
        {(r["notebook"], r["claim"]): r["verdict"] for r in rows} for rows in (first, second)
    ]
    changes = []
    for key in sorted(set(verdicts[0]) | set(verdicts[1])):
        a, b = (v.get(key, "-") for v in verdicts)
        if a != b:
            flip = {a, b} == {"confirmed", "refuted"}
            changes.append(
                {
                    "notebook": key[0],
                    "claim": key[1],
                    "first": a,
                    "second": b,
                    "flip": "yes" if flip else "",
                }
            )
    return changes
