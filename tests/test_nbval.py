"""nbval --nbval-lax over every notebook with COURSE_PROFILE=smoke, all in one pytest run
(the ``nbval_run`` fixture), each notebook in a fresh kernel.

Every cell must run; cells marked ``# NBVAL_CHECK_OUTPUT`` must reproduce their stored
(cpu-profile) outputs, so they hold only results that do not depend on the profile. In the same
run every panel's function is called across its controls' values and every solution cell's
check must say "correct" (``tests/nbval_startup.py`` logs both from inside the kernels).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from conftest import NOTEBOOKS, REPO, selected_notebooks

from course_utils.tools.build import in_sync


def cell_reports(nbval_run: Path, notebook: Path) -> list[ET.Element]:
    """The JUnit test cases of one notebook's cells."""
    cases = ET.parse(nbval_run / "nbval.xml").getroot().iter("testcase")
    return [c for c in cases if notebook.name in (c.get("file", "") + c.get("classname", ""))]


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_passes_nbval(nbval_run: Path, notebook: Path) -> None:
    if notebook not in selected_notebooks():
        pytest.skip("restricted by COURSE_TEST_NOTEBOOKS")
    cases = cell_reports(nbval_run, notebook)
    code_cells = sum(c.cell_type == "code" for c in nbformat.read(notebook, as_version=4).cells)
    assert len(cases) == code_cells, (
        f"nbval ran {len(cases)} of {code_cells} code cells of {notebook.name}:\n"
        + (nbval_run / "nbval.log").read_text()[-4000:]
    )
    problems = [
        (case.get("name"), found.get("message", "") + (found.text or "")[-3000:])
        for case in cases
        for found in (case.find("failure"), case.find("error"))
        if found is not None  # an Element without children is falsy: compare with None
    ]
    assert not problems, "\n".join(f"{name}: {text}" for name, text in problems)


PANEL_CALL = re.compile(r"\bcu\.(?:widgets\.)?(?:panel|Panel)\(")


def code_cells(notebook: Path) -> list:
    return [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]


def kernel_log(nbval_run: Path, name: str, notebook: Path) -> list[dict]:
    """One notebook's lines of a log written from inside the kernels (``nbval_startup.py``)."""
    path = nbval_run / name
    lines = path.read_text().splitlines() if path.is_file() else []
    return [r for r in map(json.loads, lines) if r["notebook"] == notebook.stem]


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_every_panel_function_runs_across_its_controls_values(nbval_run, notebook) -> None:
    if notebook not in selected_notebooks():
        pytest.skip("restricted by COURSE_TEST_NOTEBOOKS")
    made = sum(len(PANEL_CALL.findall(c.source)) for c in code_cells(notebook))
    calls = kernel_log(nbval_run, "panels.jsonl", notebook)
    assert {r["panel"] for r in calls} == set(range(made)), (
        f"{made} panels in the source, swept: {sorted({r['function'] for r in calls})}"
    )
    errors = [f"{r['function']}({r['call']}):\n{r['error']}" for r in calls if r["error"]]
    assert not errors, "\n".join(errors)
    for index in range(made):  # each control took each of its values (call i: the i-th value)
        mine = [r for r in calls if r["panel"] == index]
        assert len(mine) == max(mine[0]["controls"].values()) >= 2, mine[0]["function"]


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_every_solution_cell_says_correct(nbval_run, notebook) -> None:
    """Strict mode fails a wrong or empty solution; this also fails one that checks nothing."""
    if notebook not in selected_notebooks():
        pytest.skip("restricted by COURSE_TEST_NOTEBOOKS")
    checks = kernel_log(nbval_run, "checks.jsonl", notebook)
    solutions = [c for c in code_cells(notebook) if "solution" in c.metadata.get("tags", [])]
    assert solutions, f"{notebook.stem} has no solution cell"
    for cell in solutions:
        made = [r for r in checks if r["source"].strip() == cell.source.strip()]
        last = cell.source.strip().splitlines()[-1]
        assert made, f"the solution cell ending {last!r} ran no exercise check"
        assert all(r["ok"] for r in made), [r["name"] for r in made if not r["ok"]]


def test_every_notebook_has_an_ipynb_and_py_twin_in_sync() -> None:
    sources = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))
    assert sources, "no notebook sources found"
    assert [p.stem for p in sources] == [p.stem for p in NOTEBOOKS], (
        "every NN_topic.py needs its NN_topic.ipynb and back"
    )
    stale = [p.name for p in sources if not in_sync(p)]
    assert not stale, f"regenerate with `make notebooks NB=...`: {stale}"
