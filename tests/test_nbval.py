"""nbval --nbval-lax over every notebook with COURSE_PROFILE=smoke, all in one pytest run
(the ``nbval_run`` fixture), each notebook in a fresh kernel.

Every cell must run; cells marked ``# NBVAL_CHECK_OUTPUT`` must reproduce their stored
(cpu-profile) outputs, so they hold only results that do not depend on the profile.
"""

from __future__ import annotations

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


def test_every_notebook_has_an_ipynb_and_py_twin_in_sync() -> None:
    sources = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))
    assert sources, "no notebook sources found"
    assert [p.stem for p in sources] == [p.stem for p in NOTEBOOKS], (
        "every NN_topic.py needs its NN_topic.ipynb and back"
    )
    stale = [p.name for p in sources if not in_sync(p)]
    assert not stale, f"regenerate with `make notebooks NB=...`: {stale}"
