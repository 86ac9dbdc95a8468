"""Accessibility of the course website and its figures.

axe-core 4.x (selenium-axe-python's bundled ``axe.min.js``) runs in headless Debian Chromium
(``/usr/bin/chromedriver``, nothing downloaded) on the landing page, two notebook pages and the
claims ledger of the site ``test_book`` builds, served from a local port: 0 critical and 0 serious
violations (moderate and minor counts are printed). The same browser checks what a learner does
with the site: search finds a notebook by a word, the ledger's filter, dark mode's contrast, a
phone's width. Without the browser, the figures' alt text: a kernel that imported course_utils
records a description with every figure it shows, and the website puts it into ``<img alt>``.
"""

from __future__ import annotations

import functools
import http.server
import importlib
import json
import re
import shutil
import threading
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbclient  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from conftest import require  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402
from sphinx.cmd.build import build_main  # noqa: E402
from test_book import built_site  # noqa: E402

import course_utils as cu  # noqa: E402
from course_utils import alt_text  # noqa: E402
from course_utils.tools import ledger  # noqa: E402
from course_utils.tools import website as book  # noqa: E402
from course_utils.tools import website_notebooks as pages  # noqa: E402


def axe_script() -> Path:
    """axe-core's axe.min.js, as selenium-axe-python bundles it (axe 4.x)."""
    try:
        package = Path(importlib.import_module("selenium_axe_python").__file__).parent
    except ImportError:
        package = None
    found = sorted(package.rglob("axe.min.js")) if package else []
    if found:
        return found[0]
    raise FileNotFoundError("axe.min.js: install the dev extra (pip install -e .[dev])")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
AXE_PAGES = (
    "index.html",
    "notebooks/02_overfitting_and_validation.html",
    "notebooks/07_label_smoothing.html",
    "claims.html",
)
OKABE_ITO = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output for the test's own lines
        pass


@pytest.fixture(scope="module")
def base_url():
    """The built site on a free local port (stopped after the module)."""
    site = built_site()
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through its own chromedriver (skipped without them, failed under
    CI=true: ``make setup`` installs both)."""
    require(
        CHROMIUM is not None and Path(CHROMEDRIVER).is_file(),
        "Debian's chromium and chromium-driver are not installed "
        "(make browser, or apt-get install chromium chromium-driver)",
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(240)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def open_page(driver, url: str) -> None:
    """Load a page and wait for MathJax to finish typesetting it (where it has formulas)."""
    driver.get(url)
    driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "if (window.MathJax && MathJax.Hub) { MathJax.Hub.Queue(function () { done(1); }); }"
        "else { done(0); }"
    )


def axe_violations(driver, rules: list[str] | None = None) -> list[dict]:
    """axe-core's violations on the loaded page (``rules``: only those rules)."""
    driver.execute_script(axe_script().read_text(encoding="utf-8"))
    options: dict = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    result = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        f"axe.run(document, {json.dumps(options)})"
        ".then(function (r) { done({violations: r.violations, version: axe.version}); })"
        ".catch(function (e) { done({error: String(e)}); });"
    )
    assert "error" not in result, f"axe-core failed: {result['error']}"
    return result["violations"]


def by_impact(violations: list[dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for v in violations:
        found.setdefault(v["impact"] or "unknown", []).append(f"{v['id']} ({len(v['nodes'])})")
    return found


@pytest.mark.parametrize("page", AXE_PAGES)
def test_axe_finds_no_critical_or_serious_violation(browser, base_url, page):
    start = time.perf_counter()
    open_page(browser, base_url + page)
    found = by_impact(axe_violations(browser))
    counts = {impact: len(found.get(impact, [])) for impact in ("critical", "serious")}
    print(
        f"axe {page}: critical {counts['critical']}, serious {counts['serious']}, "
        f"moderate {len(found.get('moderate', []))} {found.get('moderate', [])}, "
        f"minor {len(found.get('minor', []))} {found.get('minor', [])} "
        f"(axe {browser.execute_script('return axe.version')}, "
        f"{time.perf_counter() - start:.0f} s)"
    )
    assert counts == {"critical": 0, "serious": 0}, found


def test_dark_mode_keeps_the_contrast(browser, base_url):
    for page in ("claims.html", "notebooks/07_label_smoothing.html"):
        browser.get(base_url + page)
        browser.execute_script(
            "localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');"
        )
        open_page(browser, base_url + page)
        assert browser.execute_script("return document.documentElement.dataset.theme") == "dark"
        violations = axe_violations(browser, ["color-contrast"])
        assert violations == [], by_impact(violations)
    browser.execute_script("localStorage.removeItem('mode'); localStorage.removeItem('theme');")


def test_search_finds_a_notebook_by_a_word(browser, base_url):
    browser.get(base_url + "search.html?q=smoothing")
    links = WebDriverWait(browser, 60).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results li a")
    )
    hrefs = [a.get_attribute("href") for a in links]
    assert any("notebooks/07_label_smoothing.html" in h for h in hrefs), hrefs


def test_the_ledger_filter_shows_one_notebook_or_one_verdict(browser, base_url):
    browser.get(base_url + "claims.html")
    form = browser.find_element(By.CSS_SELECTOR, "form.ledger-filter")
    assert form.is_displayed(), "the script shows the filter"
    rows = browser.find_elements(By.CSS_SELECTOR, "table.ledger-table tr[data-verdict]")
    Select(browser.find_element(By.ID, "ledger-notebook")).select_by_value("07_label_smoothing")
    shown = [r for r in rows if r.is_displayed()]
    assert shown and all(r.get_attribute("data-notebook") == "07_label_smoothing" for r in shown)
    count = browser.find_element(By.CSS_SELECTOR, ".ledger-filter-count").text
    assert count == f"{len(shown)} of {len(rows)} claims shown"
    Select(browser.find_element(By.ID, "ledger-notebook")).select_by_value("")
    Select(browser.find_element(By.ID, "ledger-verdict")).select_by_value("refuted")
    shown = [r for r in rows if r.is_displayed()]
    assert shown and all(r.get_attribute("data-verdict") == "refuted" for r in shown)
    assert len(shown) < len(rows)


def test_mathjax_typesets_the_formulas(browser, base_url):
    open_page(browser, base_url + "notebooks/07_label_smoothing.html")
    assert browser.find_elements(By.CSS_SELECTOR, ".MathJax_CHTML, mjx-container"), "no formula"


def test_a_phone_gets_the_page_at_its_width(browser, base_url):
    browser.set_window_size(400, 900)
    try:
        for page in ("notebooks/07_label_smoothing.html", "claims.html"):
            open_page(browser, base_url + page)
            width, inner, h1_top = browser.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth,"
                " document.querySelector('h1').getBoundingClientRect().top]"
            )
            assert width <= inner, f"{page}: the page is {width} px wide on a {inner} px screen"
            assert h1_top < 300, f"{page}: the title starts {h1_top} px down (sidebar first?)"
    finally:
        browser.set_window_size(1280, 900)


def test_course_figures_use_a_colour_blind_safe_palette():
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    assert {c.upper() for c in colours} <= OKABE_ITO and len(colours) == 7
    assert set(ledger.VERDICT_MARKERS) == set(ledger.VERDICT_COLOURS)
    assert len(set(ledger.VERDICT_MARKERS.values())) == len(ledger.VERDICT_MARKERS)


def test_a_figure_is_described_from_its_titles_labels_legend_and_artists():
    fig, (loss, bars) = plt.subplots(1, 2)
    loss.plot([1, 2, 3], [1.0, 0.7, 0.6], label="train")
    loss.plot([1, 2, 3], [1.1, 0.9, 1.0], label="validation")
    loss.set(title="loss per epoch", xlabel="epoch", ylabel="loss", yscale="log")
    loss.legend()
    bars.bar(["SGD", "Adam"], [0.8, 0.9])
    bars.set(title="accuracy", ylabel="test accuracy")
    fig.suptitle("training curves")
    text = alt_text.describe_figure(fig)
    assert text == (
        'Figure "training curves", 2 panels: (1) "loss per epoch": 2 lines; legend train and '
        'validation; x: epoch; y: loss (log scale) (2) "accuracy": 2 bars; y: test accuracy.'
    )
    grid = cu.plots.show_images(
        torch.zeros(4, 1, 8, 8), labels=[0, 1, 1, 0], classes=["cat", "dog"], n=4, cols=4
    )
    assert alt_text.describe_figure(grid) == "Figure, 4 images, titled cat and dog."
    assert alt_text.describe_figure(cu.plots.describe(fig, "two panels")) == "two panels"
    with pytest.raises(ValueError, match="parameter 'text' got ''"):
        cu.plots.describe(fig, "")
    plt.close("all")


def test_a_kernel_records_each_figures_alt_text_and_the_site_shows_it(tmp_path, monkeypatch):
    """A real kernel (smoke profile) shows two figures; their outputs carry the descriptions and
    a small site built by the course's builder puts them into <img alt>."""
    cells = [
        "import course_utils as cu\nimport matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots()\nax.plot([1, 2, 3], [3, 2, 1], label='train')\n"
        "ax.set(title='loss per epoch', xlabel='epoch')\nax.legend()\nplt.show()",
        "fig, ax = plt.subplots()\nax.bar([1, 2], [3, 4])\n"
        "cu.plots.describe(fig, 'two bars: accuracy of SGD and Adam')\nplt.show()",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# A tiny notebook"))
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    alts = [
        o.metadata["image/png"]["alt"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert alts == [
        'Figure, a chart: "loss per epoch": 1 line; legend train; x: epoch.',
        "two bars: accuracy of SGD and Adam",
    ]
    src = tmp_path / "src"
    (src / "notebooks").mkdir(parents=True)
    shutil.copytree(book.STATIC, src / "_static")
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    staged = pages.stage_notebook(path, src / "notebooks" / "tiny.ipynb")
    assert sorted(staged.values()) == sorted(alts)
    (src / pages.ALTS_FILE).write_text(json.dumps(staged))
    (src / "conf.py").write_text(book.conf_py("2000-01-01"))
    (src / "index.md").write_text("# Tiny\n\n```{toctree}\nnotebooks/tiny\n```\n")
    assert build_main(["-b", "html", "-q", str(src), str(tmp_path / "html")]) == 0
    html = (tmp_path / "html" / "notebooks" / "tiny.html").read_text()
    shown = [a.replace("&quot;", '"') for a in re.findall(r'<img alt="([^"]*)"', html)]
    assert shown == alts
