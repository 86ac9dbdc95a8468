"""The rule behind ``refused_run``: a bad value is refused before the first cell that trains."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import check_refused_before_training, first_training_cell

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


def failed_run(tmp_path: Path, failing: int, *sources: str) -> dict:
    """The failure record of a run whose code cell ``failing`` (1-based among ``sources``) raised
    a ParameterError, with the executed notebook written by papermill (its banner cells added)."""
    from papermill.exceptions import PapermillExecutionError
    from papermill.execute import raise_for_execution_errors

    nb = nbformat.read(notebook(tmp_path, *sources), as_version=4)
    nb.cells[failing].outputs = [
        nbformat.v4.new_output("error", ename="ParameterError", evalue="bad", traceback=[])
    ]
    output = tmp_path / "executed.ipynb"
    with pytest.raises(PapermillExecutionError) as raised:
        raise_for_execution_errors(nb, str(output))
    return {"cell_index": raised.value.cell_index, "output": str(output)}


SOURCES = ("import course_utils as cu", "cfg = cu.setup(globals())", "history = cu.fit(net, data)")


def test_a_refusal_in_a_set_up_cell_passes_with_papermills_banners(tmp_path: Path) -> None:
    failure = failed_run(tmp_path, 2, *SOURCES)
    assert len(nbformat.read(failure["output"], as_version=4).cells) == len(SOURCES) + 3
    check_refused_before_training(failure)


def test_a_refusal_inside_the_first_training_cell_fails_despite_the_banners(tmp_path) -> None:
    """papermill's two banner cells shift the executed notebook by up to two cells: counted in
    the raw output, a refusal inside the training cell would look early."""
    failure = failed_run(tmp_path, 3, *SOURCES)
    with pytest.raises(AssertionError, match="refused only at cell 3, not before cell 3"):
        check_refused_before_training(failure)


def test_the_failed_cell_must_be_the_one_that_raised(tmp_path: Path) -> None:
    failure = failed_run(tmp_path, 2, *SOURCES)
    with pytest.raises(AssertionError, match="is not the one that raised"):
        check_refused_before_training({**failure, "cell_index": failure["cell_index"] - 1})
