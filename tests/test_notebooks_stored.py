"""Stored notebooks open cleanly: JupyterLab does not mark a freshly opened notebook modified.

JupyterLab marks a notebook dirty when what it loads differs from what it would save: missing or
repeated cell ids, an nbformat minor older than 4.5 (it upgrades and adds ids), or bytes that
Jupyter's writer would lay out differently. Jupyter saves ``nbformat.writes(nb)`` (indent 1,
sorted keys, non-ASCII kept) plus a trailing newline, so every committed notebook must be exactly
that, and so must what the course's own writer produces.
"""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import nbformat
import pytest

from course_utils.tools.execution import write_notebook

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def problems(text: str) -> list[str]:
    """Why Jupyter would see ``text`` as different from what it saves (empty: opens cleanly)."""
    nb = nbformat.reads(text, as_version=4)
    found = []
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        found.append(f"nbformat {nb.nbformat}.{nb.nbformat_minor} (JupyterLab upgrades to 4.5)")
    ids = [cell.get("id") for cell in nb.cells]
    if None in ids or len(set(ids)) != len(ids):
        found.append("cell ids missing or repeated")
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        found.append(f"invalid: {str(exc).splitlines()[0]}")
    if nbformat.writes(nb) + "\n" != text:
        found.append("bytes differ from what Jupyter writes (nbformat.writes + trailing newline)")
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_committed_notebook_round_trips_byte_identically(notebook: Path) -> None:
    assert problems(notebook.read_text(encoding="utf-8")) == []


def test_the_course_writer_writes_what_jupyter_writes(tmp_path: Path) -> None:
    source = tmp_path / "n.py"
    source.write_text(
        "# %% [markdown]\n# Café: non-ASCII text stays as it is\n\n"
        '# %% tags=["parameters"]\nseed: int = 0  # the seed\n\n# %%\nprint("é")\n',
        encoding="utf-8",
    )
    out = write_notebook(jupytext.read(source), tmp_path / "n.ipynb")
    assert problems(out.read_text(encoding="utf-8")) == []


def test_the_check_fails_on_what_jupyter_would_rewrite() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    good = nbformat.writes(nb) + "\n"
    assert problems(good) == []
    assert problems(good.rstrip("\n")) != []  # no trailing newline
    assert problems(json.dumps(nb, indent=2, sort_keys=True) + "\n") != []  # another layout
    old = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    old.nbformat_minor = 4
    del old.cells[0]["id"]
    assert problems(nbformat.writes(old) + "\n") != []
