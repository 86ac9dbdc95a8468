"""The website's claims ledger page (``website.stage`` writes it as ``claims.md``).

Built from the committed run's ``notebooks/results/*.json`` (``ledger.ledger_rows``): the run's
counts, a filter by notebook and by verdict (``_static/ledger-filter.js``; without JavaScript the
overview table links each notebook's section and "By verdict" lists every claim under its
verdict), then one section per notebook with its own forest plot (``ledger.plot_claims``) and a
table of its claims whose verdict badges carry a symbol and a word, not colour alone, and whose
min effects are rounded and carry their unit.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from ..claims import SEEDS_BUDGET, VERDICTS, format_effect
from .ledger import collect, counts_line, ledger_rows, plot_claims, verdict_counts

VERDICT_SYMBOLS = {"confirmed": "✓", "refuted": "✗", "depends": "◐", "inconclusive": "?"}
POINT_UNITS = {"accuracy": "", "training accuracy": " (training accuracy)"}  # fractions: x 100
NAT_UNITS = {"nats": "", "val loss": " (val loss)"}
LOG_UNITS = {"log speed ratio", "log time ratio", "log ratio"}
PHONE_WIDTH = 4.2  # inches: the phone chart, about 500 px, shown below PHONE_BREAKPOINT_PX
PHONE_BREAKPOINT_PX = 640  # the same width as course.css's phone layout
TABLE_HEAD = ("claim", "effect (mean ± SE, n)", "min effect", "verdict", "q")


def short_name(stem: str) -> str:
    """``07_label_smoothing`` -> ``07 · label smoothing``: a notebook named in a heading."""
    number, _, topic = stem.partition("_")
    return f"{number} · {topic.replace('_', ' ')}" if topic else stem


def section_id(stem: str) -> str:
    """The anchor of a notebook's section (a MyST target before its heading)."""
    return f"ledger-{stem[:2]}"


def _g(x: float, digits: int = 2) -> str:
    """``x`` rounded to ``digits`` significant digits, without exponent for everyday sizes."""
    text = f"{x:.{digits}g}"
    return f"{float(text):g}" if "e" in text and 1e-4 <= abs(x) < 1e6 else text


def format_min_effect(value: float | None, unit: str | None) -> str:
    """A min effect, rounded, in words a reader knows: ``0.5 points``, ``0.02 nats``,
    ``10 % (log 1.1)``; ``-`` for a claim without one."""
    if not value:
        return "-"
    unit = unit or ""
    if unit in POINT_UNITS:
        return f"{_g(value * 100)} points{POINT_UNITS[unit]}"
    if unit in ("accuracy points", "points"):
        return f"{_g(value)} points"
    if unit in NAT_UNITS:
        return f"{_g(value)} nats{NAT_UNITS[unit]}"
    if unit in LOG_UNITS or unit == "log10 loss ratio":
        base, name = (10.0, "log10") if unit.startswith("log10") else (math.e, "log")
        ratio = base**value
        change = f"{_g((ratio - 1) * 100)} %" if ratio < 2 else f"{_g(ratio)}x"
        return f"{change} ({name} {_g(ratio, 3)})"
    return f"{_g(value)} {unit}".strip()


def format_site_effect(row: dict[str, Any]) -> str:
    """The mean +- SE of a claim's paired differences in the unit of its min effect, with its 95%
    interval; an exact check's difference and tolerance; ``-`` otherwise."""
    samples, unit = row.get("samples"), row.get("unit") or ""
    if samples:
        scale, shown = (100.0, "points") if unit in POINT_UNITS else (1.0, unit)
        text = format_effect(samples, shown, scale=scale).replace(" +- ", " ± ")
        low, high = row.get("low"), row.get("high")
        if low is not None and high is not None:
            text += f"; 95 % interval [{_g(low * scale, 3)}, {_g(high * scale, 3)}]"
        return text
    if row.get("method") == "exact" and row.get("error") is not None:
        tolerance = row.get("tolerance")
        return f"exact check: difference {_g(row['error'])}" + (
            f" (tolerance {_g(tolerance)})" if tolerance is not None else ""
        )
    return "-"


def verdict_badge(row: dict[str, Any]) -> str:
    """A verdict as a badge: symbol (hidden from screen readers), word and its qualifier."""
    verdict = row["verdict"]
    qualifier = f"({row['reason']})" if row.get("reason") else ""
    needed = row.get("seeds_needed")
    if verdict == "inconclusive" and needed:
        qualifier = (
            "(not decidable at this budget)" if needed > SEEDS_BUDGET else f"(~{needed} seeds)"
        )
    symbol = VERDICT_SYMBOLS.get(verdict, "•")
    return (
        f'<span class="verdict verdict-{verdict}"><span aria-hidden="true">{symbol}</span> '
        f'<span class="verdict-word">{verdict}</span>'
        + (f" {html.escape(qualifier)}" if qualifier else "")
        + "</span>"
    )


def claim_id(stem: str, index: int) -> str:
    return f"claim-{stem[:2]}-{index + 1}"


def _claim_cell(row: dict[str, Any]) -> str:
    """The claim, and what was measured (folded), its raw min effect put in words."""
    text = html.escape(str(row["claim"]))
    measured = str(row.get("measured") or "")
    value, unit = row.get("min_effect"), row.get("unit")
    if value and unit:
        raw = f"min effect {value:g} {unit}"
        measured = measured.replace(raw, f"min effect {format_min_effect(value, unit)}")
    if measured:
        text += (
            f"<details><summary>what was measured</summary>{html.escape(str(measured))}</details>"
        )
    return text


def claims_table(stem: str, rows: list[dict[str, Any]]) -> str:
    """One notebook's claims as an HTML table (no blank line: one raw HTML block for MyST)."""
    head = "".join(f'<th scope="col">{h}</th>' for h in TABLE_HEAD)
    lines = [
        '<div class="ledger-table-wrapper">',
        f'<table class="ledger-table" data-notebook="{stem}">',
        f"<caption>Claims of notebook {html.escape(short_name(stem))}</caption>",
        f"<thead><tr>{head}</tr></thead><tbody>",
    ]
    for i, row in enumerate(rows):
        cells = (
            _claim_cell(row),
            "<br>".join(html.escape(part) for part in format_site_effect(row).split("; ")),
            html.escape(format_min_effect(row.get("min_effect"), row.get("unit"))),
            verdict_badge(row),
            html.escape(str(row.get("q", "-"))),
        )
        # one cell a line: the search index reads raw HTML without its tags, so "</td><td>"
        # would glue two cells' words into one
        tds = "\n".join(f'<td data-label="{h}">{c}</td>' for h, c in zip(TABLE_HEAD, cells))
        lines.append(
            f'<tr id="{claim_id(stem, i)}" data-verdict="{row["verdict"]}" '
            f'data-notebook="{stem}">{tds}</tr>'
        )
    lines += ["</tbody></table>", "</div>"]
    return "\n".join(lines)


def overview_table(by_notebook: dict[str, list[dict[str, Any]]]) -> str:
    """Notebook x verdict counts; each notebook links its section (the no-script filter)."""
    head = "".join(
        f'<th scope="col"><span aria-hidden="true">{VERDICT_SYMBOLS[v]}</span> {v}</th>'
        for v in VERDICTS
    )
    lines = [
        '<div class="ledger-table-wrapper">',
        '<table class="ledger-overview">',
        "<caption>Claims per notebook and verdict</caption>",
        f'<thead><tr><th scope="col">notebook</th>{head}</tr></thead><tbody>',
    ]
    for stem, rows in by_notebook.items():
        counts = verdict_counts(rows)
        cells = "\n".join(f'<td data-label="{v}">{counts[v]}</td>' for v in VERDICTS)
        link = f'<a href="#{section_id(stem)}">{html.escape(short_name(stem))}</a>'
        lines.append(f'<tr><th scope="row">{link}</th>{cells}</tr>')
    lines += ["</tbody></table>", "</div>"]
    return "\n".join(lines)


def by_verdict_lists(by_notebook: dict[str, list[dict[str, Any]]]) -> str:
    """Every claim under its verdict, each a link to its row (folded; works without scripts)."""
    blocks = []
    for verdict in VERDICTS:
        items = [
            f'<li><a href="#{claim_id(stem, i)}">{stem[:2]} · {html.escape(str(r["claim"]))}</a></li>'
            for stem, rows in by_notebook.items()
            for i, r in enumerate(rows)
            if r["verdict"] == verdict
        ]
        if items:
            listed = "\n".join(items)
            summary = f"{verdict_badge({'verdict': verdict})} {len(items)} claims"
            blocks.append(
                f'<details class="ledger-verdict-list"><summary>{summary}</summary>'
                f"<ul>\n{listed}\n</ul></details>"
            )
    return "\n".join(blocks)


def filter_form(by_notebook: dict[str, list[dict[str, Any]]]) -> str:
    """The filter's controls; hidden until ``ledger-filter.js`` runs (no dead form without it)."""
    notebooks = "".join(
        f'<option value="{stem}">{html.escape(short_name(stem))}</option>' for stem in by_notebook
    )
    verdicts = "".join(f'<option value="{v}">{v}</option>' for v in VERDICTS)
    return (
        '<form class="ledger-filter" hidden>'
        '<label for="ledger-notebook">Notebook</label> '
        f'<select id="ledger-notebook"><option value="">all notebooks</option>{notebooks}</select> '
        '<label for="ledger-verdict">Verdict</label> '
        f'<select id="ledger-verdict"><option value="">all verdicts</option>{verdicts}</select> '
        '<output class="ledger-filter-count" for="ledger-notebook ledger-verdict"></output>'
        "</form>"
    )


def chart_alt(stem: str, rows: list[dict[str, Any]]) -> str:
    """The alt text of a notebook's forest plot: what it draws and how its verdicts fall."""
    drawn = [r for r in rows if r.get("samples") and r.get("min_effect")]
    counts = verdict_counts(drawn)
    spread = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return (
        f"Forest plot of the {len(drawn)} comparative claims of notebook {short_name(stem)} "
        f"({spread}): each claim's mean paired difference in units of its min effect, with its "
        "95 % interval, on a symmetric log axis with lines at 0 and plus or minus one min "
        "effect; the table below gives each value."
    )


def chart_html(wide: str, narrow: str, alt: str) -> str:
    """A chart as a <picture>: the narrow drawing on a phone, the wide one elsewhere."""
    return (
        '<figure class="ledger-chart"><picture>'
        f'<source media="(max-width: {PHONE_BREAKPOINT_PX}px)" srcset="_static/{narrow}">'
        f'<img src="_static/{wide}" alt="{html.escape(alt)}" loading="lazy">'
        "</picture></figure>"
    )


def notebook_section(stem: str, rows: list[dict[str, Any]], static_dir: Path) -> list[str]:
    """A notebook's heading, link, chart (when it has comparative claims) and table."""
    lines = [
        f"({section_id(stem)})=",
        f"## {short_name(stem)}",
        "",
        f"{{doc}}`Notebook {short_name(stem)} <notebooks/{stem}>`: {len(rows)} claims.",
        "",
    ]
    wide, narrow = f"claims-{stem[:2]}.png", f"claims-{stem[:2]}-phone.png"
    if plot_claims(rows, static_dir / wide, title=short_name(stem)):
        plot_claims(rows, static_dir / narrow, title=short_name(stem), width=PHONE_WIDTH)
        lines += [chart_html(wide, narrow, chart_alt(stem, rows)), ""]
    return lines + [claims_table(stem, rows), ""]


def claims_page(results_dir: Path, static_dir: Path) -> str:
    """The claims ledger page (MyST markdown with raw HTML blocks) of the committed run."""
    ledger = ledger_rows(collect(results_dir)) if results_dir.is_dir() else []
    lines = ["# Claims ledger", ""]
    if not ledger:
        return "\n".join(
            lines + ["No results of a committed run were found (run `make notebooks`).", ""]
        )
    by_notebook: dict[str, list[dict[str, Any]]] = {}
    for row in ledger:
        by_notebook.setdefault(row["notebook"], []).append(row)
    lines += [
        "Every claim of the source notes that the course tests, as measured in the committed "
        "`cpu`-profile run of each notebook, decided by the paired, replicated rule (see the "
        "{doc}`landing page <index>`); q is the Benjamini-Hochberg q-value of a decision across "
        "the run, and a decision with q > 0.05 is suggestive. " + counts_line(ledger),
        "",
        "Each notebook's chart draws its comparative claims: the mean paired difference with "
        "its 95 % interval, in units of the claim's smallest effect worth having (dashed lines "
        "at ±1); each verdict has its own marker and word.",
        "",
        filter_form(by_notebook),
        "",
        overview_table(by_notebook),
        "",
        "## By verdict",
        "",
        by_verdict_lists(by_notebook),
        "",
    ]
    for stem, rows in by_notebook.items():
        lines += notebook_section(stem, rows, static_dir)
    return "\n".join(lines)
