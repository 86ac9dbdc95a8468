"""The website's notebook pages: staging each committed notebook, and the Sphinx extension that
gives every figure its alt text (``website.CONF`` loads this module as an extension).

A figure's alt text is the description ``course_utils.alt_text`` recorded in its output's
metadata (``metadata["image/png"]["alt"]``) when the notebook ran; a notebook executed before that
mechanism existed gets one made from its cell instead (:func:`fallback_alt`: the section heading,
a docstring or first comment, the titles and axis labels written in the code). MyST-NB names a
figure's file by the SHA-256 of its bytes and passes no alt text from output metadata, so staging
writes ``{sha256: alt}`` to ``_figure_alts.json`` and :func:`apply_figure_alts` sets each image
node's ``alt`` when Sphinx reads the page.

Exercises: a markdown line of the form ``**Exercise 2** · about 10 min · ★★☆ medium`` (see
:data:`EXERCISE_LINE`) becomes a styled line with a time badge and a difficulty badge.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
from binascii import a2b_base64
from pathlib import Path
from typing import Any

import nbformat
from docutils import nodes

from ..alt_text import ALT_KEY

ALTS_FILE = "_figure_alts.json"
SOLUTION_PROMPTS = {
    "code_prompt_show": "Show the solution",
    "code_prompt_hide": "Hide the solution",
}
LEVELS = {"easy": 1, "medium": 2, "hard": 3}
EXERCISE_LINE = re.compile(
    r"^\*\*Exercise (?P<number>\d+[a-z]?)(?P<extra>[^*]*?)\.?\*\* · about (?P<minutes>\d+) min"
    r" · (?P<stars>[★☆]{3}) (?P<level>easy|medium|hard)[ \t]*$",
    re.MULTILINE,
)
_STRING = r"""\s*(?:=|\()\s*[fr]?(["'])(?P<text>.+?)\1"""
TITLE_CALL = re.compile(r"(?:set_title|suptitle|\btitle)" + _STRING)
AXIS_CALL = {
    "x": re.compile(r"(?:set_xlabel|\bxlabel)" + _STRING),
    "y": re.compile(r"(?:set_ylabel|\bylabel)" + _STRING),
}
DOCSTRING = re.compile(r'"""\s*(?P<text>.+?)\s*(?:"""|\n\s*\n)', re.DOTALL)
SKIPPED_COMMENTS = ("# NBVAL", "# noqa", "# type:", "# %%")


class ExerciseLineError(ValueError):
    """An exercise line whose stars do not match its difficulty word."""


def _plain(text: str) -> str:
    """Code text for a description: f-string fields become "…", TeX and markup signs go,
    whitespace is collapsed."""
    text = re.sub(r"\{[^{}]*\}", "…", text)
    text = re.sub(r"\\+([A-Za-z]+)", r"\1", text)  # $\lambda$ -> lambda
    return " ".join(re.sub(r"[$`\\]", "", text).split())


def _informative(text: str) -> bool:
    """More words than f-string holes (``"…: … epochs"`` says nothing)."""
    return len(re.findall(r"[A-Za-z]{3,}", text)) >= 2


def _heading_text(line: str) -> str:
    text = line.lstrip("#").strip()
    text = re.sub(r"^\d+[.)]\s*", "", text)  # "5. Momentum" -> "Momentum"
    return re.sub(r"[*_`$\\]", "", text).strip()


def fallback_alt(source: str, heading: str) -> str:
    """A figure's description made from the code cell that drew it, for a notebook run before
    figures recorded their own: the section it belongs to, the cell's docstring or first comment,
    and the titles and axis labels its code writes."""
    parts = [f'Figure in the section "{heading}"' if heading else "Figure"]
    doc = DOCSTRING.search(source)
    comments = [
        line.strip().lstrip("#").strip()
        for line in source.splitlines()
        if line.strip().startswith("#") and not line.strip().startswith(SKIPPED_COMMENTS)
    ]
    lead = _plain(doc.group("text")) if doc else (comments[0] if comments else "")
    if lead:
        parts[0] += ": " + lead.rstrip(".")
    titles = [t for t in (_plain(m.group("text")) for m in TITLE_CALL.finditer(source)) if t]
    titles = [t for t in dict.fromkeys(titles) if _informative(t)]
    if titles:
        parts.append("titled " + ", ".join(f'"{t}"' for t in titles[:6]))
    for axis, pattern in AXIS_CALL.items():
        labels = [_plain(m.group("text")) for m in pattern.finditer(source)]
        labels = [t for t in dict.fromkeys(labels) if re.search(r"[A-Za-z]", t)]
        if labels:
            parts.append(f"{axis} axis: " + ", ".join(labels[:4]))
    if len(parts) == 1 and not lead:
        parts[0] += ", drawn by the code cell above it"
    return "; ".join(parts) + "."


def figure_alts(nb: nbformat.NotebookNode) -> dict[str, str]:
    """``{sha256 of the PNG: alt text}`` for every figure of a notebook: the recorded
    description, else :func:`fallback_alt`. The hash is the name MyST-NB gives the file."""
    alts: dict[str, str] = {}
    heading = ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = [line for line in cell.source.splitlines() if re.match(r"#{1,6} ", line)]
            heading = _heading_text(found[-1]) if found else heading
            continue
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if not png:
                continue
            digest = hashlib.sha256(a2b_base64(png)).hexdigest()
            recorded = output.get("metadata", {}).get("image/png", {}).get(ALT_KEY)
            alts[digest] = recorded or fallback_alt(cell.source, heading)
    return alts


def recorded_alt_count(nb: nbformat.NotebookNode) -> tuple[int, int]:
    """(figures whose output carries a recorded description, all figures) of a notebook."""
    figures = [
        o for c in nb.cells for o in c.get("outputs", []) if o.get("data", {}).get("image/png")
    ]
    recorded = sum(bool(o.get("metadata", {}).get("image/png", {}).get(ALT_KEY)) for o in figures)
    return recorded, len(figures)


def exercise_badges(markdown: str) -> str:
    """Exercise lines of the fixed form become an HTML line: the exercise's name, a time badge
    and a difficulty badge (stars hidden from screen readers, the word read out)."""

    def badge(match: re.Match[str]) -> str:
        stars, level = match.group("stars"), match.group("level")
        if stars.count("★") != LEVELS[level]:
            raise ExerciseLineError(
                f"exercise line {match.group(0)!r}: {stars} has {stars.count('★')} filled stars "
                f"but says {level!r}; allowed: ★☆☆ easy, ★★☆ medium, ★★★ hard"
            )
        name = f"Exercise {match.group('number')}{match.group('extra')}".strip()
        return (
            f'<p class="exercise-meta"><strong>{html.escape(name)}</strong> '
            f'<span class="exercise-badge exercise-time">about {match.group("minutes")} min</span> '
            f'<span class="exercise-badge exercise-{level}"><span aria-hidden="true">{stars}</span>'
            f" {level}</span></p>\n"
        )

    return EXERCISE_LINE.sub(badge, markdown)


def header_cell(src: Path) -> nbformat.NotebookNode:
    """The note at the top of a notebook page: the file to download and how to run it."""
    return nbformat.v4.new_markdown_cell(
        f"```{{note}}\nThis page is the notebook {{download}}`{src.name} <../files/{src.name}>` "
        "with the stored outputs of a real `cpu`-profile run. Run it yourself: `make lab` and "
        f"open `notebooks/{src.name}` (the sliders of the *Try it* panels work there), or "
        f"`python -m course_utils run {src.stem[:2]}`.\n```"
    )


def stage_notebook(src: Path, dest: Path) -> dict[str, str]:
    """Copy a notebook for the book: a header cell saying how to run it, solutions folded behind
    "Show the solution", exercise lines styled. Returns its figures' alt texts by hash."""
    nb = nbformat.read(src, as_version=4)
    alts = figure_alts(nb)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if cell.cell_type == "markdown":
            try:
                cell.source = exercise_badges(cell.source)
            except ExerciseLineError as exc:
                raise ExerciseLineError(f"{src.name}: {exc}") from None
        if cell.cell_type == "code" and "cu.exercises.check" in cell.source:
            tags.append("exercise-check")  # course.css wraps its message
        if "solution" in tags and cell.cell_type == "code":
            cell.outputs = []
            tags.append("hide-input")
            cell.metadata.pop("jupyter", None)
            cell.metadata.setdefault("mystnb", {}).update(SOLUTION_PROMPTS)
    title_index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), 0)
    nb.cells.insert(title_index + 1, header_cell(src))
    nbformat.write(nb, dest)
    files = dest.parent.parent / "files"
    files.mkdir(exist_ok=True)
    shutil.copy2(src, files / src.name)
    return alts


def apply_figure_alts(app: Any, doctree: nodes.document) -> None:
    """Sphinx ``doctree-read``: every notebook figure gets the alt text staged for its hash."""
    path = Path(app.srcdir) / ALTS_FILE
    alts = json.loads(path.read_text()) if path.is_file() else {}
    for image in doctree.findall(nodes.image):
        alt = alts.get(Path(str(image.get("uri", ""))).stem)
        if alt and not image.get("alt"):
            image["alt"] = alt


PRINT_TITLE = re.compile(r'(<div id="jb-print-docs-body" class="onlyprint">\s*)<h1>(.*?)</h1>')


FIGURE = re.compile(r'<img alt="([^"]*)" src="((?:\.\./)*_images/[0-9a-f]{64}\.png)" />')
SIDEBAR = '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar">'


def tidy_html(text: str) -> str:
    """A page's HTML with one H1: the book theme's print-only copy of the title becomes a
    paragraph; each notebook figure links to its full-size image (a phone zooms into it); the
    sidebar (the course's title, search, contents) is a landmark, so no content
    sits outside one (axe's ``region``); a folded solution's summary is named by its visible
    words ("Show the solution"), not MyST-NB's fixed aria-label "Toggle hidden content"."""
    text = text.replace('<summary aria-label="Toggle hidden content">', "<summary>")
    text = text.replace(SIDEBAR, SIDEBAR[:-1] + ' role="navigation" aria-label="Course">', 1)
    text = FIGURE.sub(r'<a class="figure-zoom" href="\2"><img alt="\1" src="\2" /></a>', text)
    return PRINT_TITLE.sub(r'\1<p class="jb-print-title">\2</p>', text)


def tidy_pages(app: Any, exception: Exception | None) -> None:
    """Sphinx ``build-finished``: :func:`tidy_html` on every page."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text()
        tidy = tidy_html(text)
        if tidy != text:
            page.write_text(tidy)


def setup(app: Any) -> dict[str, Any]:
    """The Sphinx extension (named in ``website.CONF``)."""
    app.connect("doctree-read", apply_figure_alts)
    app.connect("build-finished", tidy_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
