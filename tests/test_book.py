"""``make book``: the site builds offline from the committed notebooks, with no warning and no
broken link; where Debian's chromium is installed, a headless browser renders it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import require

from course_utils.tools import website as book


@pytest.fixture(scope="module", autouse=True)
def mathjax_installed() -> None:
    """Skipped without MathJax, failed under CI=true (make setup installs libjs-mathjax)."""
    require(
        (book.MATHJAX / "MathJax.js").is_file(),
        "libjs-mathjax is not installed (make setup installs it where apt-get and root are available)",
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return book.build_website(tmp_path_factory.mktemp("book"))


def test_every_page_is_built_and_solutions_are_folded(site):
    stems = [p.stem for p in sorted(book.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))]
    for page in ["index", "claims", "running"] + [f"notebooks/{s}" for s in stems]:
        assert (site / f"{page}.html").is_file(), page
    index = (site / "index.html").read_text()
    assert all(f"notebooks/{s}.html" in index for s in stems), "course map links every notebook"
    for stem in stems:
        page = (site / "notebooks" / f"{stem}.html").read_text()
        text = re.sub(r"<[^>]+>", "", page)
        assert f"python -m course_utils run {stem[:2]}" in text and f"{stem}.ipynb" in text
        for cell in re.findall(r"(?s)<div class=\"cell tag_solution.*?</details>", page):
            assert "<details" in cell, f"{stem}: a solution is not folded"


def test_the_site_needs_no_network(site):
    assert book.broken_links(site) == []
    mathjax = site / "_static" / "mathjax" / "MathJax.js"
    assert mathjax.is_file()
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert not re.search(r"<script[^>]+src=\"https?://", text), f"{page} loads a remote script"


def test_a_broken_link_is_found(tmp_path):
    (tmp_path / "a.html").write_text(
        '<a href="missing.html">x</a><img src="b.png"><a href="#top">t</a>'
        '<a href="https://optuna.org">a reference</a><script src="https://cdn.example/x.js"></script>'
    )
    (tmp_path / "b.png").write_bytes(b"")
    assert book.broken_links(tmp_path) == [
        "a.html: missing.html",
        "a.html: fetches https://cdn.example/x.js (the site must work offline)",
    ]


def test_the_readme_course_map_becomes_links():
    text = "| 07 | `07_label_smoothing` | smoothing |"
    assert "{doc}`07_label_smoothing <notebooks/07_label_smoothing>`" in book.link_course_map(
        text, ["07_label_smoothing"]
    )


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)
def test_a_browser_renders_the_landing_page_and_a_notebook_page(site):
    def dom(page: Path) -> str:
        command = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=8000",
            "--dump-dom",
            page.as_uri(),
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=120).stdout

    landing = dom(site / "index.html")
    assert "Training neural networks well" in landing and "Claims ledger" in landing
    with_math = [p for p in sorted((site / "notebooks").glob("*.html")) if "\\(" in p.read_text()]
    page = with_math[0] if with_math else sorted((site / "notebooks").glob("*.html"))[0]
    rendered = dom(page)
    assert "<h1>" in rendered and "<img" in rendered, "title and at least one figure"
    if "tag_solution" in rendered:
        assert "<details" in rendered and "Toggle hidden content" in rendered
    if with_math:
        assert "mjx-chtml" in rendered or "MathJax_CHTML" in rendered, (
            "MathJax rendered the formulas"
        )
