"""``make book``: the course website, built offline from the committed notebooks (never executed).

Sphinx with MyST-NB renders the stored cpu-profile outputs in ``sphinx-book-theme`` (search, dark
mode, previous/next, each page's contents, a download button for each notebook, a layout for
phones); the theme ships its assets and fonts (FontAwesome) inside its package, and MathJax comes
from Debian's ``libjs-mathjax`` (copied into the site), so nothing is fetched at build or view
time. Pages: a landing page and a "running it yourself" page made from README.md's sections, one
page per notebook (``website_notebooks``: solutions folded behind "Show the solution", every
figure with its alt text, exercise time and difficulty badges), and the claims ledger of the
committed run (``website_ledger``). Any Sphinx warning fails the build, and so does a relative
link or image of the built site that is missing, a resource fetched from another site (scripts,
styles, fonts, images), an image without meaningful alt text, or a page without exactly one H1.
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
from .website_ledger import claims_page
from .website_notebooks import ALTS_FILE, recorded_alt_count, stage_notebook

__all__ = ["BookError", "broken_links", "build_website", "claims_page", "stage", "stage_notebook"]

OUT = REPO / "book" / "_build"
MATHJAX = Path("/usr/share/javascript/mathjax")
MATHJAX_PARTS = ("MathJax.js", "config", "extensions", "jax", "fonts", "localization")
LANDING_SECTIONS = ("Two commands", "How a claim is decided", "Course map", "Profiles", "Datasets")
RUNNING_SECTIONS = ("Running notebooks and sweeps", "Sweeps and search", "Tests and benchmarks")
STATIC = Path(__file__).with_name("website_static")  # the site's stylesheet and ledger filter
TITLE = "Training neural networks well"


class BookError(RuntimeError):
    """The book could not be built (a missing tool, a warning, a broken link)."""


CONF = """
project = {title!r}
{author_lines}
extensions = ["myst_nb", "sphinx_togglebutton", "course_utils.tools.website_notebooks"]
nb_execution_mode = "off"  # the committed cpu-profile outputs are the content
nb_ipywidgets_js = {{}}  # no widget scripts from a CDN; stored panels are static notes
nb_code_prompt_show = "Show the code"
nb_code_prompt_hide = "Hide the code"
myst_enable_extensions = ["dollarmath", "amsmath"]
html_theme = "sphinx_book_theme"
html_title = {title!r}
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_js_files = [("ledger-filter.js", {{"defer": "defer"}})]
html_last_updated_fmt = None
html_theme_options = {{
    "use_download_button": True,  # the notebook's .ipynb (and the page's source)
    "use_fullscreen_button": False,
    "use_repository_button": False,  # no public repository: no repository links at all
    "use_source_button": False,
    "use_issues_button": False,
    "use_edit_page_button": False,
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "show_prev_next": True,
    "toc_title": "On this page",
    "pygments_light_style": "a11y-high-contrast-light",  # accessible-pygments: contrast >= 4.5
    "pygments_dark_style": "a11y-high-contrast-dark",
    "footer_content_items": {footer_items!r},
    "extra_footer": {footer!r},
}}
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML"
mathjax2_config = {{"tex2jax": {{"inlineMath": [["\\\\(", "\\\\)"]],
                                "displayMath": [["\\\\[", "\\\\]"]],
                                "processEscapes": True, "processClass": "math|output_area",
                                "ignoreClass": "document|bd-article"}}}}
exclude_patterns = ["_build", "files"]
suppress_warnings = ["mystnb.unknown_mime_type"]
html_show_sourcelink = False
"""


def course_authors() -> list[str]:
    """The names in pyproject.toml's ``[project].authors`` (the footer's "By ..."), if any."""
    text = (REPO / "pyproject.toml").read_text()
    block = re.search(r"(?ms)^authors\s*=\s*\[(.*?)^\]", text)
    return re.findall(r'name\s*=\s*"([^"]+)"', block.group(1)) if block else []


def conf_py(today: str) -> str:
    """Sphinx's conf.py: the course's name in the footer (and its authors, where pyproject.toml
    names them), never an empty "(c)."."""
    authors = ", ".join(course_authors())
    footer = (
        f"<p>{TITLE}: a hands-on course. This site shows the committed notebooks with the "
        f"outputs of a real cpu-profile run; built {today}, offline.</p>"
    )
    items = (
        ["author.html", "copyright.html", "extra-footer.html"] if authors else ["extra-footer.html"]
    )
    author_lines = (
        f"author = {authors!r}\ncopyright = {today[:4] + ', ' + authors!r}" if authors else ""
    )
    return CONF.format(title=TITLE, author_lines=author_lines, footer=footer, footer_items=items)


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
    for item in STATIC.iterdir():
        shutil.copy2(item, static / item.name)
    stems = [p.stem for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))]
    alts: dict[str, str] = {}
    for stem in stems:
        dest = src_dir / "notebooks" / f"{stem}.ipynb"
        try:
            alts.update(stage_notebook(NOTEBOOKS / f"{stem}.ipynb", dest))
        except ValueError as exc:  # an exercise line that contradicts itself
            raise BookError(str(exc)) from None
    (src_dir / ALTS_FILE).write_text(json.dumps(alts, indent=1, ensure_ascii=False))
    (src_dir / "conf.py").write_text(conf_py(time.strftime("%Y-%m-%d")))
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


class _Tags(html.parser.HTMLParser):
    """The links, images and headings of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[tuple[str, str]] = []
        self.images: list[dict[str, str | None]] = []
        self.h1 = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.targets.append((tag, value))
        if tag == "img":
            self.images.append(dict(attrs))
        self.h1 += tag == "h1"


def site_pages(site: Path) -> list[Path]:
    """The site's HTML pages (not the theme's template macros it copies into ``_static``)."""
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def _parse(page: Path) -> _Tags:
    parser = _Tags()
    parser.feed(page.read_text(errors="replace"))
    return parser


CSS_REMOTE = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])((?:https?:)?//[^'")\s]+)""")


def remote_in_css(site: Path) -> list[str]:
    """Stylesheets that would fetch from another site (``url(https://...)``, ``@import``): web
    fonts such as Google Fonts, icon fonts from a CDN."""
    found = []
    for sheet in site.rglob("*.css"):
        for target in CSS_REMOTE.findall(sheet.read_text(errors="replace")):
            found.append(
                f"{sheet.relative_to(site)}: fetches {target} (the site must work offline)"
            )
    return found


def broken_links(site: Path) -> list[str]:
    """Relative links and images of the built site whose target file does not exist, and any
    remote resource a page or stylesheet would fetch (scripts, styles, fonts, images). A plain
    hyperlink to another site (a reference) is fine: a reader offline just cannot follow it."""
    broken = []
    for page in site_pages(site):
        for tag, target in _parse(page).targets:
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
    return broken + remote_in_css(site)


def _meaningless(alt: str | None, src: str) -> bool:
    """No alt, an empty one, or a file name (docutils' default alt is the image's path)."""
    alt = (alt or "").strip()
    name = Path(urlparse(src).path).name
    return (
        len(alt) < 8
        or alt in (src, name, Path(name).stem)
        or bool(re.fullmatch(r"[\w./-]*\.(?:png|jpe?g|svg|gif)|[0-9a-f]{16,}", alt))
    )


def page_problems(site: Path) -> list[str]:
    """Accessibility problems a page must not have: an <img> without meaningful alt text (an
    empty alt marks a decorative image and is fine), or not exactly one H1."""
    problems = []
    for page in site_pages(site):
        tags, name = _parse(page), page.relative_to(site)
        for image in tags.images:
            if image.get("alt") != "" and _meaningless(image.get("alt"), image.get("src") or ""):
                problems.append(f"{name}: <img src={image.get('src')}> alt={image.get('alt')!r}")
        if tags.h1 != 1:
            problems.append(f"{name}: {tags.h1} <h1> (each page has exactly one)")
    return problems


def replace_notebook_sources(html_dir: Path) -> None:
    """The download button's .ipynb is the committed notebook itself (all its outputs), not the
    copy staged for the page (with its header note and folded solutions)."""
    for staged in (html_dir / "_sources" / "notebooks").glob("*.ipynb"):
        shutil.copy2(NOTEBOOKS / staged.name, staged)


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
    replace_notebook_sources(html_dir)
    broken = broken_links(html_dir)
    if broken:
        raise BookError("broken links in the built site:\n" + "\n".join(broken[:40]))
    problems = page_problems(html_dir)
    if problems:
        raise BookError("inaccessible pages in the built site:\n" + "\n".join(problems[:40]))
    return html_dir


def cmd_book(out: str | None = None) -> int:
    """``python -m course_utils book``: build the site and say where it is; 1 on any problem."""
    start = time.perf_counter()
    try:
        site = build_website(Path(out) if out else OUT)
    except BookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    pages = len(site_pages(site))
    seconds = time.perf_counter() - start
    print(f"book built in {seconds:.0f} s: {site / 'index.html'} ({pages} pages)")
    print(figures_line())
    print(json.dumps({"seconds": round(seconds, 1), "pages": pages}))
    return 0


def figures_line() -> str:
    """How many notebook figures carry the description recorded when they were drawn, and which
    notebooks need a rebuild (``make notebooks NB=..``) to replace the one made from their cells."""
    recorded = total = 0
    stale = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        have, figures = recorded_alt_count(nbformat.read(path, as_version=4))
        recorded, total = recorded + have, total + figures
        if have < figures:
            stale.append(path.stem[:2])
    line = f"figures: {total} with alt text, {recorded} described when drawn"
    if stale:
        line += f", {total - recorded} from their cells (rebuild {', '.join(stale)} for theirs)"
    return line
