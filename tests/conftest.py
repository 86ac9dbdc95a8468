"""Shared fixtures. The course notebooks are executed once per test session (smoke profile)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """Run the course CLI over the notebooks with ``--profile smoke`` once; returns the run folder.

    ``COURSE_TEST_NOTEBOOKS=00,07`` restricts the run (for quick local iterations).
    """
    from course_utils.tools.cli import main

    os.environ.setdefault("COURSE_STRICT_EXERCISES", "1")  # a wrong solution fails the run
    only = [n for n in os.environ.get("COURSE_TEST_NOTEBOOKS", "").split(",") if n]
    out = tmp_path_factory.mktemp("smoke") / "run"
    code = main(["run", *only, "--profile", "smoke", "--out", str(out)])
    assert code == 0, (
        (out / "report.md").read_text() if (out / "report.md").exists() else "no report"
    )
    return out


@pytest.fixture(scope="session")
def smoke_results(smoke_run) -> dict[str, dict]:
    """Results JSON of every notebook of the smoke run, keyed by notebook stem."""
    return {p.stem: json.loads(p.read_text()) for p in (smoke_run / "results").glob("*.json")}


@pytest.fixture(scope="session")
def notebook_result(smoke_results):
    """``notebook_result("07_label_smoothing")`` -> that notebook's results JSON.

    Skips when the smoke run was restricted to other notebooks.
    """

    def get(stem: str) -> dict:
        if stem not in smoke_results:
            pytest.skip(f"{stem} was not part of this smoke run (COURSE_TEST_NOTEBOOKS)")
        return smoke_results[stem]

    return get


# A call that trains: fit(...), train_<something>(...) (not train_val_split) or .backward(...).
TRAINING_CALL = re.compile(r"(?<![\w.])(?:cu\.)?fit\(|\btrain_(?!val_split)\w*\(|\.backward\(")


def first_training_cell(notebook: Path) -> int:
    """Index (in ``notebook.cells``, as in a failure record) of the first code cell that trains.

    A ``def train_model(...)`` line is not a call; a function body that calls ``fit`` counts where
    it is defined (a stricter bound than where it is first called).
    """
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    for index, cell in enumerate(nb.cells):
        calls = [
            line for line in cell.source.splitlines() if not re.match(r"\s*(def|class) ", line)
        ]
        if cell.cell_type == "code" and TRAINING_CALL.search("\n".join(calls)):
            return index
    raise AssertionError(f"{notebook.name}: no cell trains (fit, train_..., .backward)")


@pytest.fixture
def refused_run(tmp_path):
    """``refused_run("07", "smoothing", "1.0")``: run a notebook under smoke with one bad ``-p``.

    Asserts the run failed with a ParameterError naming the parameter before any training (in a
    cell before the first one that trains, see ``first_training_cell``) and returns the failure
    record from ``status.json``.
    """
    from course_utils.tools.cli import main

    def run(notebook: str, name: str, value: str) -> dict:
        out = tmp_path / f"run-{notebook}-{name}"
        assert (
            main(["run", notebook, "--profile", "smoke", "-p", name, value, "--out", str(out)]) == 1
        )
        failure = json.loads((out / "status.json").read_text())["failure"]
        assert "ParameterError" in failure["error"] and repr(name) in failure["error"], failure
        first = first_training_cell(Path(failure["output"]))
        assert failure["cell_index"] < first, (
            f"refused only at cell {failure['cell_index']}, not before cell {first}, the first "
            "that trains"
        )
        return failure

    return run
