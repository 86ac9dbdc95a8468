"""The course in JupyterLab, driven in headless Chromium as a learner uses it (issue 24).

One JupyterLab server (``tests/lab_driver.py``: a free local port, token off, a copy of
``notebooks/``, ``COURSE_PROFILE=smoke``, the repository's ``jupyter_server_config.json``) serves
notebooks 01, 07 and 11. Each is opened, its outputs cleared and Run All Cells run from the menu;
the kernel must be idle within ``RUN_LIMIT_S`` and no cell may show an error. Then every panel is
used: a slider moved with the arrow key (or a box ticked) must redraw its panel, a Run button must
show "training..." while disabled and then a new result, and a wrong answer typed into an exercise
must get its hint and not the expected value. Where chromium is missing it is skipped (under
``CI=true`` it fails: ``make setup`` installs it).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from conftest import require
from lab_driver import (
    CHROMEDRIVER,
    CHROMIUM,
    GET_STARTED,
    KERNEL,
    Keys,
    Lab,
    chrome,
    lab_server,
    wait_until,
)

pytestmark = pytest.mark.notebooks

RUN_LIMIT_S = 180  # per notebook: a kernel still busy after this fails the test
REDRAW_LIMIT_S = 60  # a slider's redraw, a Run button's training, a checked answer
SMOKE_NOTE = "these numbers test that the code runs and say nothing about the method"


def _kernel_registered() -> bool:
    spec = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL / "kernel.json"
    return spec.is_file() and json.loads(spec.read_text()).get("argv", [""])[0] != ""


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    """A JupyterLab server and one headless Chromium page on it; both stopped at the end."""
    require(
        bool(CHROMIUM and CHROMEDRIVER),
        f"no chromium or chromedriver for the JupyterLab browser test: run {GET_STARTED}",
    )
    require(_kernel_registered(), f"the Jupyter kernel {KERNEL!r} is not registered: make setup")
    home = tmp_path_factory.mktemp("lab")
    env = {"COURSE_PROFILE": "smoke", "COURSE_PROGRESS": "0"}
    with lab_server(home, env=env) as url:
        driver = chrome()
        try:
            yield Lab(driver, url, home / "notebooks")
        finally:
            driver.quit()


@contextlib.contextmanager
def notebook(lab: Lab, name: str) -> Iterator[Lab]:
    """``name`` opened and run top to bottom (Run All Cells), clean; its kernel shut down after."""
    try:
        lab.open(name)
        assert lab.kernel_names() == [KERNEL]
        lab.run_all(RUN_LIMIT_S)
        assert not lab.errors(), f"{name}: error output after Run All Cells:\n" + "\n".join(
            e[-2000:] for e in lab.errors()
        )
        assert not lab.not_run(), f"{name}: cells that did not run: {lab.not_run()}"
        setup = lab.cell_with("cu.setup(")
        assert SMOKE_NOTE in lab.output_text(setup), lab.output_text(setup)
        yield lab
        assert not lab.errors(), f"{name}: error output after using it:\n" + "\n".join(
            e[-2000:] for e in lab.errors()
        )
    finally:
        lab.shut_down_kernels()


def moves_redraw(lab: Lab, *parts: str) -> None:
    """The live panel made in the cell containing ``parts`` redraws when its first slider is
    moved by one step with the arrow key (or, with no slider, its first box is ticked)."""
    cell = lab.cell_with("cu.widgets.panel(", *parts)
    assert not lab.controls(cell, "run"), f"{parts}: a Run panel, not a live one"
    wait_until(f"{parts}: the panel's first drawing", lambda: lab.panel_output(cell), 30)
    before = lab.panel_output(cell)
    sliders = lab.controls(cell, "slider")
    if sliders:
        lab.press(sliders[0], Keys.ARROW_RIGHT)
    else:
        lab.controls(cell, "checkbox")[0].click()
    wait_until(
        f"{parts}: the panel to redraw",
        lambda: lab.panel_output(cell) != before and lab.idle(),
        REDRAW_LIMIT_S,
    )
    assert not lab.errors()


def run_trains(lab: Lab, *parts: str) -> str:
    """Pressing Run on the panel made in the cell containing ``parts`` disables the button,
    which reads "training...", then shows a new result and a clickable "Run" again."""
    cell = lab.cell_with("cu.widgets.panel(", *parts)
    [button] = lab.controls(cell, "run")
    before = lab.panel_output(cell)
    lab.watch_button(button)
    button.click()

    def trained() -> bool:
        ready = button.is_enabled() and button.get_attribute("textContent").strip() == "Run"
        return ready and lab.panel_output(cell) != before and lab.idle()

    wait_until(f"{parts}: Run to train and show its result", trained, REDRAW_LIMIT_S)
    assert [True, "training..."] in lab.button_states(button), lab.button_states(button)
    assert not lab.errors()
    return lab.panel_output(cell)


def wrong_answer(lab: Lab, parts: tuple[str, ...], line: str, typed: str) -> str:
    """Type ``typed`` over the ``line`` of the exercise cell containing ``parts``, run it and
    return the check's line."""
    cell = lab.cell_with(*parts)
    before = lab.output_text(cell)
    assert "no answer yet" in before, before
    lab.replace_line(cell, line, typed)
    wait_until(
        f"{parts}: the check of {typed.strip()!r}",
        lambda: lab.output_text(cell) not in ("", before) and lab.idle(),
        REDRAW_LIMIT_S,
    )
    return lab.output_text(cell).strip()


def test_the_file_browser_lists_each_notebook_once(lab):
    names = lab.file_browser_names()
    assert "01_optimizers_from_scratch.ipynb" in names, names
    assert not [n for n in names if n.endswith(".py")], names  # the py:percent twins are hidden


def test_an_error_in_a_cell_is_seen(lab):
    """The check that fails the notebooks below on an error output can fail."""
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": KERNEL, "display_name": KERNEL, "language": "python"}}
    )
    nb.cells = [nbformat.v4.new_code_cell(c) for c in ("x = 1", "1 / 0", "print('after')")]
    nbformat.write(nb, lab.root / "broken.ipynb")
    try:
        lab.open("broken.ipynb")
        lab.run_all(60)
        [error] = lab.errors()
        assert "ZeroDivisionError" in error
        assert lab.not_run() == ["print('after')"]  # Run All Cells stops at the error
    finally:
        lab.shut_down_kernels()


def test_01_optimizers_in_jupyterlab(lab):
    with notebook(lab, "01_optimizers_from_scratch.ipynb"):
        moves_redraw(lab, "try_bowl")
        assert "<img" in run_trains(lab, "try_training")
        check = wrong_answer(lab, ("def max_stable_lr",), "return None", "    return 1.0")
        assert check.startswith("❌ not yet: largest stable learning rate"), check
        assert "hint: each coordinate is multiplied by (1 - lr*curvature)" in check
        assert "0.333" not in check and "0.05" not in check  # the expected values


def test_07_label_smoothing_in_jupyterlab(lab):
    with notebook(lab, "07_label_smoothing.ipynb"):
        moves_redraw(lab, "smoothing_view")
        check = wrong_answer(
            lab, ("a_for_colleague = None",), "a_for_colleague = None", "a_for_colleague = 0.1"
        )
        assert check.startswith("❌ not yet: torch's label_smoothing for alpha=0.1, K=5"), check
        assert "got 0.1: not the expected value" in check and "a/K = alpha/(K-1)" in check
        assert "0.125" not in check


def test_11_capstone_in_jupyterlab(lab):
    with notebook(lab, "11_capstone.ipynb"):
        moves_redraw(lab, "recombine")  # a panel of checkboxes
        assert "validation accuracy" in run_trains(lab, "run_short")
        check = wrong_answer(lab, ("def mean_lr_fraction",), "return None", "    return 0.5")
        assert check.startswith("❌ not yet: mean_lr_fraction — got 0.5"), check
