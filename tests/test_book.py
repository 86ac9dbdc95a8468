"""``make book``: the site builds offline from the committed notebooks in sphinx-book-theme, with
no warning, no broken link, no remote resource, every image with meaningful alt text and one H1
per page; its claims ledger is grouped and filterable, its verdicts read without colour.
``test_accessibility.py`` drives the same built site in headless Chromium."""

from __future__ import annotations

import atexit
import functools
import json
import math
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest
from conftest import require

from course_utils.tools import website as book
from course_utils.tools import website_ledger as ledger_page
from course_utils.tools import website_notebooks as pages


@functools.cache
def built_site() -> Path:
    """The site, built once per test session (``test_accessibility`` shares it)."""
    require(
        (book.MATHJAX / "MathJax.js").is_file(),
        "libjs-mathjax is not installed (make setup installs it where apt-get and root are available)",
    )
    out = Path(tempfile.mkdtemp(prefix="course-book-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    return book.build_website(out)


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site()


def stems() -> list[str]:
    return [p.stem for p in sorted(book.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))]


def test_every_page_is_built_and_solutions_are_folded(site):
    for page in ["index", "claims", "running", "search"] + [f"notebooks/{s}" for s in stems()]:
        assert (site / f"{page}.html").is_file(), page
    index = (site / "index.html").read_text()
    assert all(f"notebooks/{s}.html" in index for s in stems()), "course map links every notebook"
    for stem in stems():
        page = (site / "notebooks" / f"{stem}.html").read_text()
        text = re.sub(r"<[^>]+>", "", page)
        assert f"python -m course_utils run {stem[:2]}" in text and f"{stem}.ipynb" in text
        solutions = re.findall(r"(?s)<div class=\"cell tag_solution.*?</details>", page)
        for cell in solutions:
            assert "<details" in cell and "Show the solution" in cell, f"{stem}: solution toggle"
        assert "Show code cell source" not in page and "Toggle hidden content" not in page
        if "cu.exercises.check" in text:
            assert "tag_exercise-check" in page, f"{stem}: exercise messages wrap"


def test_the_book_theme_gives_search_dark_mode_prev_next_contents_and_download(site):
    page = (site / "notebooks" / "07_label_smoothing.html").read_text()
    assert "sphinx-book-theme" in page and "theme-switch-button" in page, "book theme, dark mode"
    assert 'class="left-prev"' in page and 'class="right-next"' in page, "previous/next links"
    assert "bd-toc" in page and "On this page" in page, "the page's own table of contents"
    assert "search-button" in page and (site / "searchindex.js").is_file()
    download = "../_sources/notebooks/07_label_smoothing.ipynb"
    assert download in page, "a download button for the notebook"
    downloaded = (site / "_sources" / "notebooks" / "07_label_smoothing.ipynb").read_bytes()
    assert downloaded == (book.NOTEBOOKS / "07_label_smoothing.ipynb").read_bytes()
    footer = re.search(r"(?s)<footer.*</footer>", page).group(0)
    assert book.TITLE in footer and "(c)." not in footer and "©." not in footer
    for html_page in book.site_pages(site):
        text = html_page.read_text()
        assert "github.com/" not in text.replace("github.com/executablebooks", ""), html_page
        assert "repository-button" not in text and "example.com" not in text


def test_the_search_index_finds_a_notebook_by_a_word(site):
    raw = (site / "searchindex.js").read_text()
    index = json.loads(raw[raw.index("(") + 1 : raw.rindex(")")])
    docnames = index["docnames"]
    for word, stem in (("smooth", "07_label_smoothing"), ("disturblabel", "06_disturblabel")):
        found = []  # Sphinx files a word of a heading under titleterms, the rest under terms
        for kind in ("terms", "titleterms"):
            hit = index[kind].get(word, [])
            found += hit if isinstance(hit, list) else [hit]
        assert docnames.index(f"notebooks/{stem}") in found, word


def test_the_site_needs_no_network(site):
    assert book.broken_links(site) == []
    assert (site / "_static" / "mathjax" / "MathJax.js").is_file()
    assert list((site / "_static").rglob("*.woff2")), "icon fonts are bundled"
    for page in book.site_pages(site):
        text = page.read_text()
        assert not re.search(r"<script[^>]+src=\"https?://", text), f"{page} loads a remote script"
        assert not re.search(r"<link[^>]+href=\"(?:https?:)?//", text), f"{page} loads a stylesheet"


def test_a_broken_link_or_a_remote_font_is_found(tmp_path):
    (tmp_path / "a.html").write_text(
        '<a href="missing.html">x</a><img src="b.png"><a href="#top">t</a>'
        '<a href="https://optuna.org">a reference</a><script src="https://cdn.example/x.js"></script>'
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Lato">'
    )
    (tmp_path / "b.png").write_bytes(b"")
    (tmp_path / "s.css").write_text(
        '@import url("https://fonts.googleapis.com/css2?family=Inter");\n'
        "@font-face { src: url(//cdn.example/fa.woff2); }\n.x { background: url(local.png); }"
    )
    assert book.broken_links(tmp_path) == [
        "a.html: missing.html",
        "a.html: fetches https://cdn.example/x.js (the site must work offline)",
        "a.html: fetches https://fonts.googleapis.com/css?family=Lato (the site must work offline)",
        "s.css: fetches https://fonts.googleapis.com/css2?family=Inter (the site must work offline)",
        "s.css: fetches //cdn.example/fa.woff2 (the site must work offline)",
    ]


def test_every_image_has_meaningful_alt_text_and_every_page_one_h1(site):
    assert book.page_problems(site) == []
    figures = 0
    for stem in stems():
        page = (site / "notebooks" / f"{stem}.html").read_text()
        alts = re.findall(r'<img alt="([^"]*)"', page)
        nb = nbformat.read(book.NOTEBOOKS / f"{stem}.ipynb", as_version=4)
        assert len(alts) >= pages.recorded_alt_count(nb)[1], stem
        assert all(a.startswith("Figure") for a in alts), (stem, alts)
        zoom = re.findall(r'<a class="figure-zoom" href="([^"]+)"><img alt="[^"]+" src="\1"', page)
        assert len(zoom) == len(alts), f"{stem}: every figure links to its full-size image"
        figures += len(alts)
    assert figures > 0


def test_the_accessibility_check_finds_a_file_name_alt_and_a_second_h1(tmp_path):
    (tmp_path / "a.html").write_text(
        '<h1>A</h1><img src="_images/3f2a9c0b1d2e4f5a6b7c.png" alt="_images/3f2a9c0b1d2e4f5a6b7c.png">'
        '<img src="x.png" alt=""><img src="y.png" alt="a bar chart of accuracy per epoch">'
    )
    (tmp_path / "b.html").write_text("<h1>B</h1><h1>B again</h1><img src='z.png'>")
    assert book.page_problems(tmp_path) == [
        "a.html: <img src=_images/3f2a9c0b1d2e4f5a6b7c.png> alt='_images/3f2a9c0b1d2e4f5a6b7c.png'",
        "b.html: <img src=z.png> alt=None",
        "b.html: 2 <h1> (each page has exactly one)",
    ]


def test_a_figure_without_recorded_alt_gets_one_from_its_cell():
    source = (
        "# validation loss of each schedule\n"
        'fig, ax = plt.subplots()\nax.set(title=f"{name}: {n} epochs", xlabel="epoch")\n'
        'ax.set_ylabel("$\\\\lambda$ loss")\nplt.show()'
    )
    assert pages.fallback_alt(source, "Schedules") == (
        'Figure in the section "Schedules": validation loss of each schedule'
        "; x axis: epoch; y axis: lambda loss."
    ), 'an f-string title with one word ("…: … epochs") says too little to keep'
    titled = 'ax.set_title("training loss per epoch")'
    assert 'titled "training loss per epoch"' in pages.fallback_alt(titled, "")
    assert pages.fallback_alt("plt.plot(x)", "Intro") == (
        'Figure in the section "Intro", drawn by the code cell above it.'
    )


def test_the_ledger_page_is_grouped_filterable_and_readable(site):
    page = (site / "claims.html").read_text()
    assert page.count("<h1") == 1
    results = sorted((book.NOTEBOOKS / "results").glob("*.json"))
    for stem in (p.stem for p in results):
        assert f'id="{ledger_page.section_id(stem)}"' in page, f"{stem}: a section with an anchor"
        assert f'href="#{ledger_page.section_id(stem)}"' in page, f"{stem}: linked from the top"
    assert 'class="ledger-filter" hidden' in page and "ledger-filter.js" in page
    ids = set(re.findall(r'<tr id="([^"]+)"', page))
    targets = set(re.findall(r'href="#(claim-[^"]+)"', page))
    assert ids and targets == ids, "the by-verdict lists link every claim's row"
    charts = re.findall(r'<img src="_static/(claims-\d\d\.png)" alt="([^"]+)"', page)
    assert len(charts) >= 10 and all(alt.startswith("Forest plot") for _, alt in charts)
    assert all((site / "_static" / c.replace(".png", "-phone.png")).is_file() for c, _ in charts)
    rows = re.findall(r"(?s)<tr id=.*?</tr>", page)
    assert not any("_tensors_devices</td>" in r or ">00_setup" in r for r in rows)
    badges = re.findall(
        r'<span class="verdict verdict-(\w+)"><span aria-hidden="true">(.)</span> <span class="verdict-word">(\w+)',
        page,
    )
    assert badges and all(kind == word for kind, _, word in badges), "a word in every badge"
    assert {symbol for _, symbol, _ in badges} >= {"✓", "✗", "?"}
    assert "0.0953102" not in page and "1.60944" not in page, "min effects are rounded"


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.005, "accuracy", "0.5 points"),
        (0.5, "accuracy points", "0.5 points"),
        (0.02, "nats", "0.02 nats"),
        (0.01, "val loss", "0.01 nats (val loss)"),
        (math.log(1.1), "log time ratio", "10 % (log 1.1)"),
        (math.log(5), "log speed ratio", "5x (log 5)"),
        (0.02, "log10 loss ratio", "4.7 % (log10 1.05)"),
        (1.0, "ECE points", "1 ECE points"),
        (None, None, "-"),
    ],
)
def test_min_effects_are_rounded_with_their_units(value, unit, text):
    assert ledger_page.format_min_effect(value, unit) == text


def test_an_accuracy_effect_is_shown_in_points():
    row = {"samples": [0.01, 0.012, 0.011], "unit": "accuracy", "low": 0.0085, "high": 0.0135}
    assert ledger_page.format_site_effect(row) == (
        "+1.1 ± 0.0577 points (n=3); 95 % interval [0.85, 1.35]"
    )


def test_exercise_lines_become_time_and_difficulty_badges():
    text = "**Exercise 2** · about 10 min · ★★☆ medium\n\nWrite `my_target`.\n"
    html = pages.exercise_badges(text)
    assert '<p class="exercise-meta"><strong>Exercise 2</strong>' in html
    assert "about 10 min</span>" in html and '<span aria-hidden="true">★★☆</span> medium' in html
    assert html.endswith("\n\nWrite `my_target`.\n"), "the exercise's text is left as it was"
    assert pages.exercise_badges("**Exercise 1.** Compute a.") == "**Exercise 1.** Compute a."
    with pytest.raises(pages.ExerciseLineError, match="★☆☆ has 1 filled stars but says 'hard'"):
        pages.exercise_badges("**Exercise 3 (open)** · about 20 min · ★☆☆ hard\n")


def test_every_exercise_of_every_notebook_shows_its_time_and_difficulty_on_the_site(site):
    for stem in stems():
        notebook = nbformat.read(book.NOTEBOOKS / f"{stem}.ipynb", as_version=4)
        markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
        exercises = re.findall(r"^\*\*Exercise \d+", markdown, re.MULTILINE)
        page = (site / "notebooks" / f"{stem}.html").read_text()
        badges = re.findall(r'<p class="exercise-meta"><strong>Exercise \d+', page)
        assert exercises, f"{stem}: no exercise"
        assert len(badges) == len(exercises), (
            f"{stem}: {len(badges)} badges, {len(exercises)} exercises"
        )
        assert page.count("exercise-time") == len(exercises), f"{stem}: a time on every exercise"


def test_the_readme_course_map_becomes_links():
    text = "| 07 | `07_label_smoothing` | smoothing |"
    assert "{doc}`07_label_smoothing <notebooks/07_label_smoothing>`" in book.link_course_map(
        text, ["07_label_smoothing"]
    )
