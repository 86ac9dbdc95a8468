"""The claims ledger of a run: collect its results JSON, tabulate claims, draw the forest plot.

One ``ledger_rows`` feeds both the run's ``report.md`` (``runner.write_report``) and the course
website's claims page (``website.claims_page``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # the ledger is drawn to files, never shown
import matplotlib.pyplot as plt  # noqa: E402

from ..results import VERDICTS, format_effect, format_value  # noqa: E402
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
]


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


def ledger_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per claim of every collected result, with its effect, interval and min effect as text."""
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
            rows.append(row)
    return rows


def verdict_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many claims got each verdict."""
    return {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}


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
