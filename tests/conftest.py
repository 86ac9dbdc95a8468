"""Shared fixtures. The course notebooks are executed once per test session (smoke profile, nbval)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def selected_notebooks() -> list[Path]:
    """The course notebooks, or those named in ``COURSE_TEST_NOTEBOOKS=00,07`` (quick iterations)."""
    only = [n for n in os.environ.get("COURSE_TEST_NOTEBOOKS", "").split(",") if n]
    return [nb for nb in NOTEBOOKS if not only or nb.stem[:2] in only or nb.stem in only]


@pytest.fixture(scope="session")
def nbval_run(tmp_path_factory) -> Path:
    """Execute every selected notebook once, under nbval with the smoke profile; returns the folder.

    The folder holds ``nbval.xml`` (JUnit: one test per cell), ``nbval.log`` and
    ``results/<notebook>.json`` (each notebook's results JSON, via ``$COURSE_RESULTS_DIR``), so
    nbval's output checks and the smoke assertions share one execution per notebook.
    """
    out = tmp_path_factory.mktemp("nbval")
    env = {
        **os.environ,
        "COURSE_PROFILE": "smoke",
        "COURSE_BATCH": "1",
        "COURSE_PROGRESS": "0",
        "COURSE_STRICT_EXERCISES": "1",  # a wrong solution fails its cell
        "COURSE_RESULTS_DIR": str(out / "results"),
    }
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
        "--nbval-sanitize-with", str(REPO / "tests" / "nbval_sanitize.cfg"),
        "--nbval-cell-timeout", "300", f"--junitxml={out / 'nbval.xml'}",
        *map(str, selected_notebooks()),
    ]  # fmt: skip
    log = subprocess.run(command, cwd=REPO / "notebooks", env=env, capture_output=True, text=True)
    (out / "nbval.log").write_text(log.stdout + log.stderr)
    assert (out / "nbval.xml").is_file(), log.stdout[-4000:] + log.stderr[-2000:]
    return out


@pytest.fixture(scope="session")
def smoke_results(nbval_run) -> dict[str, dict]:
    """Results JSON of every notebook of the nbval run, keyed by notebook stem."""
    return {p.stem: json.loads(p.read_text()) for p in (nbval_run / "results").glob("*.json")}


@pytest.fixture(scope="session")
def notebook_result(smoke_results):
    """``notebook_result("07_label_smoothing")`` -> that notebook's results JSON.

    Skips when ``COURSE_TEST_NOTEBOOKS`` left the notebook out; fails when it ran but saved none.
    """

    def get(stem: str) -> dict:
        if stem not in {nb.stem for nb in selected_notebooks()}:
            pytest.skip(f"{stem} was not part of this run (COURSE_TEST_NOTEBOOKS)")
        assert stem in smoke_results, f"{stem} ran but saved no results JSON"
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
