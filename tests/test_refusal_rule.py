"""The rule behind ``refused_run``: a bad value is refused before the first cell that trains."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import first_training_cell

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def notebook(tmp_path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# title")]
        + [nbformat.v4.new_code_cell(s) for s in sources]
    )
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    return path


def test_training_calls_count_and_def_lines_and_splits_do_not(tmp_path: Path) -> None:
    path = notebook(
        tmp_path,
        "cfg = cu.setup(globals())",
        "train_x, train_y, val_x, val_y = cu.train_val_split(x, y, 0.2)",
        "def train_model(net):\n    return net",
        "net = train_model(build())",
        "loss.backward()",
    )
    assert first_training_cell(path) == 4  # the call of train_model, not its definition
    # a function whose body trains counts already where it is defined (the stricter bound)
    body = notebook(tmp_path, "x = 1", "def go(net):\n    return cu.fit(net, loader)", "go(n)")
    assert first_training_cell(body) == 2
    assert first_training_cell(notebook(tmp_path, "x = 1", "history = cu.fit(net, loader)")) == 2
    assert first_training_cell(notebook(tmp_path, "x = 1", "loss.backward()")) == 2


def test_a_notebook_that_never_trains_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="no cell trains"):
        first_training_cell(notebook(tmp_path, "x = 1"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_course_notebook_trains_after_its_setup_cells(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    setup = next(i for i, c in enumerate(nb.cells) if "cu.setup(" in c.source)
    assert first_training_cell(path) > setup + 1  # room for the data-dependent checks
