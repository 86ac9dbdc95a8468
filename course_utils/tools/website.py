"""``make book``: the course website, built offline from the committed notebooks (never executed).

Sphinx with MyST-NB renders the stored cpu-profile outputs; the built-in ``alabaster`` theme and
``sphinx-togglebutton`` ship their assets inside their packages, and MathJax comes from Debian's
``libjs-mathjax`` (copied into the site), so nothing is fetched at build or view time. Pages:
a landing page and a "running it yourself" page made from README.md's sections, one page per
notebook (solutions folded behind a toggle, a link to the notebook file and how to run it), and
the claims ledger of the committed run (``notebooks/results/*.json``, written by
``make notebooks``) with its forest plot. Any Sphinx warning fails the build, and every relative
link and image of the built site is checked offline.
"""

from __future__ import annotations

import html.parser
import json
import re
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat

from .catalogue import NOTEBOOKS, REPO
from .ledger import (
    LEDGER_COLUMNS,
    collect,
    counts_line,
    ledger_rows,
    markdown_table,
    plot_claims,
)

OUT = REPO / "book" / "_build"
MATHJAX = Path("/usr/share/javascript/mathjax")
MATHJAX_PARTS = ("MathJax.js", "config", "extensions", "jax", "fonts", "localization")
LANDING_SECTIONS = ("Two commands", "How a claim is decided", "Course map", "Profiles", "Datasets")
RUNNING_SECTIONS = ("Running notebooks and sweeps", "Sweeps and search", "Tests and benchmarks")


class BookError(RuntimeError):
    """The book could not be built (a missing tool, a warning, a broken link)."""


CONF = """
project = "Training neural networks well"
author = "the course team"
extensions = ["myst_nb", "sphinx_togglebutton"]
nb_execution_mode = "off"  # the committed cpu-profile outputs are the content
nb_ipywidgets_js = {}  # no widget scripts from a CDN; stored panels are static notes
myst_enable_extensions = ["dollarmath", "amsmath"]
html_theme = "alabaster"
html_static_path = ["_static"]
html_theme_options = {"page_width": "1100px", "sidebar_width": "230px", "font_family": "sans-serif",
                      "head_font_family": "sans-serif", "code_font_family": "monospace"}
html_sidebars = {"**": ["navigation.html", "searchbox.html"]}
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML"
mathjax2_config = {"tex2jax": {"inlineMath": [["\\\\(", "\\\\)"]],
                               "displayMath": [["\\\\[", "\\\\]"]],
                               "processEscapes": True, "processClass": "math|output_area",
                               "ignoreClass": "document"}}
exclude_patterns = ["_build", "files"]
suppress_warnings = ["mystnb.unknown_mime_type"]
html_show_sourcelink = False
"""


def readme_sections(titles: tuple[str, ...]) -> str:
    """The README's ``## title`` sections named in ``titles`` (those present), in README order."""
    text = (REPO / "README.md").read_text()
    parts = re.split(r"(?m)^## ", text)
    kept = [p for p in parts[1:] if p.split("\n", 1)[0].strip() in titles]
    return "\n".join("## " + p.rstrip() + "\n" for p in kept)


def link_course_map(markdown: str, stems: list[str]) -> str:
    """Turn the course map's `NN_topic` cells into links to the notebook pages."""
    for stem in stems:
        markdown = markdown.replace(f"| `{stem}` |", f"| {{doc}}`{stem} <notebooks/{stem}>` |")
    return markdown


def unlink_repo_files(markdown: str) -> str:
    """README links to repository files (``[x](notebooks/README.md)``) become plain text."""
    return re.sub(r"\[([^\]]+)\]\((?!https?:)[^)]+\.(?:md|py|toml|yml)\)", r"\1", markdown)


def stage_notebook(src: Path, dest: Path) -> None:
    """Copy a notebook for the book: a header cell saying how to run it, solutions folded."""
    nb = nbformat.read(src, as_version=4)
    header = nbformat.v4.new_markdown_cell(
        f"```{{note}}\nThis page is the notebook {{download}}`{src.name} <../files/{src.name}>` with the "
        "stored outputs of a real `cpu`-profile run. Run it yourself: `make lab` and open "
        f"`notebooks/{src.name}` (the sliders of the *Try it* panels work there), or "
        f"`python -m course_utils run {src.stem[:2]}`.\n```"
    )
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "solution" in tags:
            cell.outputs = [] if cell.cell_type == "code" else getattr(cell, "outputs", None)
            tags.append("hide-input")
            cell.metadata.pop("jupyter", None)
    title_index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), 0)
    nb.cells.insert(title_index + 1, header)
    nbformat.write(nb, dest)
    files = dest.parent.parent / "files"
    files.mkdir(exist_ok=True)
    shutil.copy2(src, files / src.name)


def claims_page(results_dir: Path, static_dir: Path) -> str:
    """The claims ledger of the committed run: its counts (with Benjamini-Hochberg), its forest
    plot and one row per claim with its q-value across the run."""
    ledger = ledger_rows(collect(results_dir)) if results_dir.is_dir() else []
    lines = ["# Claims ledger", ""]
    if not ledger:
        return "\n".join(
            lines + ["No results of a committed run were found (run `make notebooks`).", ""]
        )
    lines += [
        "Every claim of the source notes that the course tests, as measured in the committed "
        "`cpu`-profile run of each notebook, decided by the paired, replicated rule (see the "
        "{doc}`landing page <index>`); q is the Benjamini-Hochberg q-value of a decision across "
        "the run, and a decision with q > 0.05 is suggestive. " + counts_line(ledger),
        "",
    ]
    if plot_claims(ledger, static_dir / "claims.png"):
        lines += [
            "```{figure} _static/claims.png",
            ":alt: forest plot of the claims",
            "",
            "Each comparative claim's mean paired difference with its 95% interval, in units "
            "of its smallest effect worth having (dashed lines at +-1), coloured by verdict.",
            "```",
            "",
        ]
    lines += [markdown_table(ledger, LEDGER_COLUMNS), ""]
    return "\n".join(lines)


def stage(src_dir: Path) -> list[str]:
    """Write the Sphinx source tree into ``src_dir``; returns the notebook stems."""
    if not (MATHJAX / "MathJax.js").is_file():
        raise BookError(
            f"MathJax is not installed at {MATHJAX}: run `apt-get install libjs-mathjax` "
            "(make setup does it where apt-get and root are available)"
        )
    if src_dir.exists():
        shutil.rmtree(src_dir)
    (src_dir / "notebooks").mkdir(parents=True)
    static = src_dir / "_static"
    for part in MATHJAX_PARTS:
        source = MATHJAX / part
        if source.is_dir():
            shutil.copytree(source, static / "mathjax" / part)
        elif source.is_file():
            (static / "mathjax").mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, static / "mathjax" / part)
    stems = [p.stem for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))]
    for stem in stems:
        stage_notebook(NOTEBOOKS / f"{stem}.ipynb", src_dir / "notebooks" / f"{stem}.ipynb")
    (src_dir / "conf.py").write_text(CONF)
    intro = (REPO / "README.md").read_text().split("\n## ", 1)[0]
    toc = ["```{toctree}", ":maxdepth: 1", ":caption: Notebooks", ""]
    toc += [f"notebooks/{s}" for s in stems] + ["```", ""]
    toc += [
        "```{toctree}",
        ":maxdepth: 1",
        ":caption: The course",
        "",
        "claims",
        "running",
        "```",
        "",
    ]
    landing = link_course_map(readme_sections(LANDING_SECTIONS), stems)
    (src_dir / "index.md").write_text(
        unlink_repo_files(intro + "\n" + landing + "\n" + "\n".join(toc))
    )
    running = "# Running it yourself\n\n" + readme_sections(RUNNING_SECTIONS)
    (src_dir / "running.md").write_text(unlink_repo_files(running))
    (src_dir / "claims.md").write_text(claims_page(NOTEBOOKS / "results", static))
    return stems


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.targets.append((tag, value))


def broken_links(site: Path) -> list[str]:
    """Relative links and images of the built site whose target file does not exist, and any
    remote resource a page would fetch (scripts, styles, images). A plain hyperlink to another
    site (a reference) is fine: a reader offline just cannot follow it."""
    broken = []
    for page in site.rglob("*.html"):
        parser = _Links()
        parser.feed(page.read_text(errors="replace"))
        for tag, target in parser.targets:
            url = urlparse(target)
            if url.scheme in ("http", "https") or url.netloc:
                if tag != "a":
                    broken.append(
                        f"{page.relative_to(site)}: fetches {target} (the site must work offline)"
                    )
                continue
            if url.scheme or target.startswith("#"):
                continue  # mailto:, data:, javascript:, in-page anchors
            path = (page.parent / unquote(url.path)).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(site)}: {target}")
    return broken


def build_website(out: Path = OUT) -> Path:
    """Build the site into ``out/html``; returns that folder. Raises BookError on any problem."""
    from sphinx.cmd.build import build_main  # sphinx is a dev extra: only `make book` needs it

    src = out / "src"
    stage(src)
    html_dir = out / "html"
    if html_dir.exists():
        shutil.rmtree(html_dir)
    log = out / "sphinx-warnings.log"
    code = build_main(
        ["-b", "html", "-q", "-W", "--keep-going", "-w", str(log), str(src), str(html_dir)]
    )
    if code != 0:
        raise BookError(
            f"sphinx reported warnings or errors (see {log}):\n{log.read_text()[-3000:]}"
        )
    broken = broken_links(html_dir)
    if broken:
        raise BookError("broken links in the built site:\n" + "\n".join(broken[:40]))
    return html_dir


def cmd_book(out: str | None = None) -> int:
    """``python -m course_utils book``: build the site and say where it is; 1 on any problem."""
    start = time.perf_counter()
    try:
        site = build_website(Path(out) if out else OUT)
    except BookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    pages = len(list(site.rglob("*.html")))
    seconds = time.perf_counter() - start
    print(f"book built in {seconds:.0f} s: {site / 'index.html'} ({pages} pages)")
    print(json.dumps({"seconds": round(seconds, 1), "pages": pages}))
    return 0
