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
import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # the ledger is drawn to files, never shown
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullLocator  # noqa: E402
from scipy.stats import false_discovery_control  # noqa: E402

from ..claims import SEEDS_BUDGET, VERDICTS, claim_p_value, decide, format_effect  # noqa: E402
from ..tables import format_table, format_value  # noqa: E402
from ..validation import ParameterError  # noqa: E402

# Okabe-Ito colours (colour-blind safe), each verdict with its own marker as well
VERDICT_COLOURS = {
    "confirmed": "#009E73",
    "refuted": "#D55E00",
    "depends": "#CC79A7",
    "inconclusive": "#6E6E6E",
}
VERDICT_MARKERS = {"confirmed": "o", "refuted": "X", "depends": "D", "inconclusive": "s"}
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


def _claim_label(claim: dict[str, Any], width: int, lines: int = 2) -> list[str]:
    """A claim's text in at most ``lines`` chart lines of ``width`` characters, the last one
    shortened at a word."""
    text = " ".join(str(claim["claim"]).split())
    wrapped = textwrap.wrap(text, width, break_on_hyphens=False)
    if len(wrapped) > lines:
        rest = " ".join(wrapped[lines - 1 :])
        wrapped = wrapped[: lines - 1] + [textwrap.shorten(rest, width, placeholder=" …")]
    return wrapped


def _draw_claim(ax: plt.Axes, y: float, claim: dict[str, Any], label: list[str]) -> float:
    """One row: the interval, the mean with the verdict's marker, the claim's text above it and
    the verdict's word at the right. Returns the largest |value| drawn, in min effects."""
    scale = claim["min_effect"]
    low = claim["low"] if claim.get("low") is not None else claim["mean"]
    high = claim["high"] if claim.get("high") is not None else claim["mean"]
    colour = VERDICT_COLOURS.get(claim["verdict"], "black")
    marker = VERDICT_MARKERS.get(claim["verdict"], "o")
    ax.plot([low / scale, high / scale], [y, y], color=colour, lw=2.2, solid_capstyle="butt")
    ax.plot(claim["mean"] / scale, y, marker, color=colour, ms=8, mec="black", mew=0.6)
    place = ax.get_yaxis_transform()  # x in axes fractions, y in data
    text = {"transform": place, "fontsize": 9.5, "va": "bottom", "linespacing": 1.15}
    ax.text(0.01, y + 0.22, "\n".join(label), **text)
    top = y + 0.22 + LINE_UNITS * (len(label) - 1)
    ax.text(0.99, top, claim["verdict"], ha="right", color=colour, fontweight="bold", **text)
    return max(abs(low), abs(high), abs(claim["mean"])) / scale


LINE_UNITS = 0.36  # the height of one more label line, in rows


def plot_claims(
    ledger: list[dict[str, Any]], path: Path, title: str = "", width: float = 7.2
) -> bool:
    """Forest plot: one row per comparative claim, its mean paired difference with its 95% interval,
    in units of the claim's min effect; each verdict has its own marker, colour and word (so no
    verdict is told by colour alone), and each claim's text (two lines at most) sits above its
    row, never cut off. ``width`` in inches (the website also draws a narrow one for phones).
    False when no claim has samples. The course website draws one per notebook."""
    rows = [c for c in ledger if c.get("samples") and c.get("min_effect")]
    if not rows:
        return False
    chars = int(width * 11.5) - 14  # what fits at 9.5 pt beside the verdict's word
    labels = [_claim_label(c, chars) for c in rows]
    pitches = [1.0 + LINE_UNITS * (len(label) - 1) for label in labels]
    total = sum(pitches)
    fig, ax = plt.subplots(figsize=(width, 0.55 * total + 1.6), layout="constrained")
    ys = [total - sum(pitches[: i + 1]) + 0.45 for i in range(len(rows))]
    reach = max(_draw_claim(ax, y, c, label) for y, c, label in zip(ys, rows, labels))
    for x, style in ((0, "-"), (1, "--"), (-1, "--")):
        ax.axvline(x, color="black", lw=0.8, ls=style, zorder=0)
    ax.set_xscale("symlog", linthresh=1)  # linear within +-1 min effect, logarithmic beyond
    limit = max(3.0, reach * 1.4)
    ax.set_xlim(-limit, limit)
    steps = (1, 3, 10, 30, 100, 300, 1000, 3000, 10000) if width >= 6 else (1, 10, 100, 1000)
    ticks = [t for t in steps if t < limit]
    ax.set_xticks([-t for t in reversed(ticks)] + [0] + ticks)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(-0.1, total + 0.1)
    ax.set_yticks([])
    tall = len(rows) > 8
    ax.tick_params(axis="x", top=tall, labeltop=tall)  # an axis at the top of a tall chart
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(
        "mean paired difference / min effect, with its 95% interval (symmetric log)"
        if width >= 6
        else "difference / min effect (95% interval, log)"
    )
    handles = [
        plt.Line2D(
            [],
            [],
            color=VERDICT_COLOURS[v],
            marker=VERDICT_MARKERS[v],
            mec="black",
            mew=0.6,
            ms=7,
            lw=2,
            label=v,
        )
        for v in VERDICT_COLOURS
        if any(c["verdict"] == v for c in rows)
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=4 if width >= 6 else 2,
        frameon=False,
        fontsize=9,
    )
    if title:
        fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=120)
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
