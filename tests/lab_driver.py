"""JupyterLab driven in headless Chromium, for ``tests/test_lab_browser.py``.

``lab_server`` starts JupyterLab from this Python on a free local port (token and password off,
no browser) over a copy of ``notebooks/``, with the repository's ``jupyter_server_config.json``
(the one ``make lab`` uses: each notebook shows once in the file browser) and a few test-only
settings (no update check or news feed: nothing leaves the machine; every cell kept in the page);
it always stops the server and its kernels. ``chrome`` opens the system chromium through the
system chromedriver (no Selenium Manager, no browser download). ``Lab`` does what a learner does:
open a notebook, Run All Cells, wait for the kernel, read the outputs, move a slider, tick a box,
press Run, type an answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
KERNEL = "nn-training-course"
GET_STARTED = "make browser (as root: apt-get install chromium chromium-driver)"

# test-only settings, beside the repository's config: nothing is fetched from the network
SERVER_CONFIG = {
    "LabApp": {
        "news_url": None,
        "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "extension_manager": "readonly",
    },
    "ServerApp": {"disable_check_xsrf": True},  # the fixture's REST calls carry no cookie
}
LAB_SETTINGS = {
    # every cell stays in the page (the default may leave cells far below out of the DOM)
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
}
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",  # root in containers
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # only the local server
)

CELLS = ".jp-Notebook .jp-CodeCell"
SOURCES_JS = """return Array.from(document.querySelectorAll(arguments[0]), cell =>
    Array.from(cell.querySelectorAll('.jp-InputArea .cm-line'), l => l.textContent).join('\\n'));"""
PROMPTS_JS = """return Array.from(document.querySelectorAll(arguments[0]), cell =>
    (cell.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent);"""
ERROR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'


def free_port() -> int:
    """A local TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        return json.loads(reply.read() or b"null")


def _write_settings(home: Path) -> dict[str, str]:
    """Config and settings folders for the server; returns the environment that points at them."""
    config = home / "config"
    config.mkdir(parents=True)
    (config / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG))
    for plugin, values in LAB_SETTINGS.items():
        path = home / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return {
        "JUPYTER_CONFIG_DIR": str(config),  # the test's own settings, not the user's
        "JUPYTER_CONFIG_PATH": str(REPO),  # the repository's jupyter_server_config.json
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }


def shut_down_kernels(url: str) -> None:
    """Shut down every kernel of the server at ``url`` (REST: DELETE /api/kernels/<id>)."""
    for kernel in _get(f"{url}api/kernels"):
        request = urllib.request.Request(f"{url}api/kernels/{kernel['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def _stop(process: subprocess.Popen, url: str) -> None:
    """Shut down the server's kernels, then the server (its process group, killed if need be)."""
    with contextlib.suppress(OSError, ValueError):
        shut_down_kernels(url)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def lab_server(home: Path, env: dict[str, str] | None = None, start_s: float = 90) -> Iterator[str]:
    """JupyterLab over a copy of ``notebooks/`` in ``home/notebooks``; yields its base URL.

    The server's log is ``home/lab.log``; its environment is this one without any ``COURSE_*``
    variable, plus ``env``. It is stopped, kernels first, however the body ends.
    """
    root = home / "notebooks"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".*"))
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    # the course's variables come from ``env`` only: an inherited COURSE_BATCH=1 (set by the
    # suite's in-process CLI runs) would turn every panel into static text
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
    full_env = {**inherited, **_write_settings(home), **(env or {})}
    log = (home / "lab.log").open("w")
    process = subprocess.Popen(
        command,
        cwd=root,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_server(process, url, home / "lab.log", start_s)
        yield url
    finally:
        _stop(process, url)
        log.close()


def _wait_for_server(process: subprocess.Popen, url: str, log: Path, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError, ValueError):
            _get(f"{url}api/status", timeout=2)
            return
        time.sleep(0.5)
    raise TimeoutError(
        f"JupyterLab did not answer within {limit_s:g} s:\n{log.read_text()[-3000:]}"
    )


def chrome() -> webdriver.Chrome:
    """Headless system chromium through the system chromedriver (paths given: no download)."""
    options = Options()
    options.binary_location = CHROMIUM or ""
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def wait_until(
    what: str, condition: Callable[[], Any], limit_s: float, every_s: float = 0.25
) -> Any:
    """Poll ``condition`` until it returns something true; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + limit_s
    while True:
        with contextlib.suppress(StaleElementReferenceException):
            value = condition()
            if value:
                return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {limit_s:g} s")
        time.sleep(every_s)


class Lab:
    """One JupyterLab page in the browser, doing what a learner does."""

    def __init__(self, driver: webdriver.Chrome, url: str, root: Path | None = None) -> None:
        self.driver, self.url, self.root = driver, url, root  # root: the server's folder

    # ------------------------------------------------------------------ pages and files
    def file_browser_names(self) -> list[str]:
        """The names the file browser lists in the root folder."""
        self.driver.get(f"{self.url}lab/tree")
        items = ".jp-DirListing-content .jp-DirListing-itemText"
        wait_until(
            "the file browser", lambda: self.driver.find_elements(By.CSS_SELECTOR, items), 60
        )
        return [
            e.get_attribute("textContent")
            for e in self.driver.find_elements(By.CSS_SELECTOR, items)
        ]

    def open(self, notebook: str, limit_s: float = 90) -> None:
        """Open ``notebook`` (a file name in the root) in a workspace of its own (so no other
        notebook is restored beside it) and wait for its kernel to be idle."""
        workspace = Path(notebook).stem.replace("_", "-")
        self.driver.get(f"{self.url}lab/workspaces/{workspace}/tree/{notebook}")
        wait_until(f"{notebook}: the notebook", lambda: self.cells(), limit_s)
        wait_until(
            f"{notebook}: the kernel to start", lambda: self.kernel_state() == "idle", limit_s
        )

    def kernel_state(self) -> str | None:
        """The execution state of the server's only kernel (None before it exists)."""
        kernels = _get(f"{self.url}api/kernels")
        return kernels[0]["execution_state"] if len(kernels) == 1 else None

    def kernel_names(self) -> list[str]:
        """The kernel names of the server's running kernels."""
        return [k["name"] for k in _get(f"{self.url}api/kernels")]

    def shut_down_kernels(self) -> None:
        shut_down_kernels(self.url)

    # ------------------------------------------------------------------ cells
    def cells(self) -> list[WebElement]:
        """The notebook's code cells, in order."""
        return self.driver.find_elements(By.CSS_SELECTOR, CELLS)

    def sources(self) -> list[str]:
        """Every code cell's source as the editor shows it (one browser call for all cells)."""
        return self.driver.execute_script(SOURCES_JS, CELLS)

    def prompts(self) -> list[str]:
        """Every code cell's input prompt, e.g. "[3]:", "[*]:" or "" (input hidden)."""
        return self.driver.execute_script(PROMPTS_JS, CELLS)

    @staticmethod
    def source(cell: WebElement) -> str:
        lines = cell.find_elements(By.CSS_SELECTOR, ".jp-InputArea .cm-line")
        return "\n".join(line.get_attribute("textContent") for line in lines)

    def cell_with(self, *parts: str) -> WebElement:
        """The first code cell whose source contains every one of ``parts``."""
        found = [i for i, s in enumerate(self.sources()) if all(p in s for p in parts)]
        assert found, f"no code cell contains {parts}"
        return self.cells()[found[0]]

    @staticmethod
    def output_text(cell: WebElement) -> str:
        outputs = cell.find_elements(By.CSS_SELECTOR, ".jp-OutputArea")
        return outputs[0].get_attribute("textContent") if outputs else ""

    def run_all(self, limit_s: float) -> float:
        """Edit > Clear Outputs of All Cells, then Run > Run All Cells; wait until no cell is
        queued or running and the kernel is idle (TimeoutError past ``limit_s``). Returns the
        seconds the run took."""
        self.menu("Edit", "Clear Outputs of All Cells")
        wait_until("Clear Outputs: every prompt cleared", lambda: not self.numbered(), 10, 0.05)
        start = time.monotonic()
        self.menu("Run", "Run All Cells")
        # A short notebook can finish between two polls, so a numbered prompt counts too.
        started = lambda: self.queued() or self.numbered()  # noqa: E731
        wait_until("Run All Cells: a cell queued or run", started, 10, 0.05)

        def done() -> bool:
            return not self.queued() and self.idle()

        wait_until("Run All Cells: every cell run and the kernel idle", done, limit_s, 1.0)
        return time.monotonic() - start

    def queued(self) -> bool:
        """A code cell is queued or running (its prompt reads ``[*]``)."""
        return any("*" in p for p in self.prompts())

    def numbered(self) -> bool:
        """A code cell's prompt carries an execution count (it has run since the last clear)."""
        return any(any(ch.isdigit() for ch in p) for p in self.prompts())

    def not_run(self) -> list[str]:
        """The first line of every code cell (with a visible input) that has not run."""
        pairs = zip(self.prompts(), self.sources())
        return [s.split("\n")[0] for p, s in pairs if p.strip() and not p.strip("[]: ")]

    def idle(self) -> bool:
        """The kernel is idle now and still idle a moment later (not between two queued cells)."""
        if self.kernel_state() != "idle":
            return False
        time.sleep(0.5)
        return self.kernel_state() == "idle"

    def menu(self, title: str, label: str) -> None:
        """Click ``title`` in the menu bar, then its item ``label`` (e.g. "Run All Cells")."""
        bar = self.driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")
        [item] = [b for b in bar if b.get_attribute("textContent").strip() == title]
        item.click()

        def entry() -> list[WebElement]:
            items = self.driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-menu .lm-Menu-item")
            return [i for i in items if i.get_attribute("textContent").startswith(label)]

        [found] = wait_until(f"menu {title} > {label}", entry, 10)
        found.click()

    def errors(self) -> list[str]:
        """Error outputs anywhere in the notebook (tracebacks, also inside panels)."""
        found = self.driver.find_elements(By.CSS_SELECTOR, ERROR_OUTPUT)
        texts = [e.get_attribute("textContent") for e in found]
        return [t for t in texts if "Traceback" in t or "Error" in t.split("\n", 1)[0]]

    # ------------------------------------------------------------------ typing an answer
    def replace_line(self, cell: WebElement, starts: str, new: str) -> None:
        """In ``cell``, replace the first line that starts with ``starts`` (after indentation)
        by ``new``, typing it as a learner would, then run the cell (Shift+Enter)."""
        lines = self.source(cell).split("\n")
        matches = [i for i, line in enumerate(lines) if line.strip().startswith(starts)]
        assert matches, f"no line starts with {starts!r} in:\n" + "\n".join(lines)
        index = matches[0]
        editor = cell.find_element(By.CSS_SELECTOR, ".jp-InputArea .cm-content")
        editor.click()
        keys = [Keys.CONTROL + Keys.HOME] + [Keys.ARROW_DOWN] * index
        editor.send_keys(*keys)
        editor.send_keys(Keys.SHIFT + Keys.END)
        editor.send_keys(new)
        assert self.source(cell).split("\n")[index] == new, self.source(cell)
        editor.send_keys(Keys.SHIFT + Keys.ENTER)

    # ------------------------------------------------------------------ panels
    @staticmethod
    def panel_output(cell: WebElement) -> str:
        """The HTML of the panel's output area (its figure or printed text)."""
        area = cell.find_element(By.CSS_SELECTOR, ".jp-OutputArea .widget-output")
        return area.get_attribute("innerHTML")

    @staticmethod
    def controls(cell: WebElement, kind: str) -> list[WebElement]:
        """The panel's slider handles, checkboxes or Run button (``kind``) in ``cell``."""
        selector = {
            "slider": ".widget-slider .noUi-handle",
            "checkbox": ".widget-checkbox input[type=checkbox]",
            "run": "button.jupyter-button",
        }[kind]
        return cell.find_elements(By.CSS_SELECTOR, f".jp-OutputArea {selector}")

    def press(self, element: WebElement, key: str) -> None:
        """Focus ``element`` (a slider handle) and press ``key``, as from the keyboard."""
        element.click()
        element.send_keys(key)

    def watch_button(self, button: WebElement) -> None:
        """Record every state the button takes from now on (read by ``button_states``)."""
        self.driver.execute_script(
            """
            const b = arguments[0];
            b._states = [];
            const note = () => b._states.push([b.disabled, b.textContent.trim()]);
            new MutationObserver(note).observe(b, {attributes: true, childList: true,
                subtree: true, characterData: true});
            """,
            button,
        )

    def button_states(self, button: WebElement) -> list[list]:
        """[disabled, text] after every change of the button since ``watch_button``."""
        return self.driver.execute_script("return arguments[0]._states", button)
