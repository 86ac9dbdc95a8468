"""Shared fixtures. The course notebooks are executed once per test session (smoke profile, nbval)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_utils import data as data_module

REPO = Path(__file__).resolve().parent.parent
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
PAPERMILL_BANNER = "papermill-error-cell-tag"  # papermill's red "the exception is here" cells
STARTUP_MODULE = REPO / "tests" / "nbval_startup.py"
STARTUP_LOADER = """def _course_tests():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_course_nbval_startup", {path!r})
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


_course_tests()
del _course_tests
"""


NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def selected_notebooks() -> list[Path]:
    """The course notebooks, or those named in ``COURSE_TEST_NOTEBOOKS=00,07`` (quick iterations).

    A name that matches no notebook is an error, not an empty (and so passing) selection."""
    only = [n for n in os.environ.get("COURSE_TEST_NOTEBOOKS", "").split(",") if n]
    unknown = [n for n in only if not any(n in (nb.stem[:2], nb.stem) for nb in NOTEBOOKS)]
    if unknown:
        raise ValueError(
            f"COURSE_TEST_NOTEBOOKS names no notebook: {unknown}; known: "
            + ", ".join(nb.stem for nb in NOTEBOOKS)
        )
    return [nb for nb in NOTEBOOKS if not only or nb.stem[:2] in only or nb.stem in only]


def require(present: bool, what: str) -> None:
    """Skip a test whose tool is missing, but fail it under ``CI=true``: there ``make setup``
    installed it (PostgreSQL, Fashion-MNIST's Debian package, MathJax), so missing is a bug."""
    if present:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: make setup installs it, so this test must run)")
    pytest.skip(what)


@pytest.fixture(autouse=True)
def isolated_state():
    """Each test starts from the same environment variables, dataset cache and torch thread count:
    in-process CLI calls set ``COURSE_BATCH`` / ``COURSE_PROGRESS``, tests set strict mode."""
    environ, cache = dict(os.environ), dict(data_module._CACHE)
    threads = torch.get_num_threads()
    yield
    os.environ.clear()
    os.environ.update(environ)
    data_module._CACHE.clear()
    data_module._CACHE.update(cache)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def pytest_collection_modifyitems(items) -> None:
    """A test that uses a notebook-running fixture is a ``notebooks`` test wherever it lives."""
    heavy = {"nbval_run", "smoke_results", "notebook_result", "refused_run"}
    for item in items:
        if heavy & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.notebooks)


@pytest.fixture(scope="session")
def nbval_run(tmp_path_factory) -> Path:
    """Execute every selected notebook once, under nbval with the smoke profile; returns the folder.

    The folder holds ``nbval.xml`` (JUnit: one test per cell), ``nbval.log``,
    ``results/<notebook>.json`` (each notebook's results JSON, via ``$COURSE_RESULTS_DIR``), and
    from the kernels' IPython startup file ``tests/nbval_startup.py`` ``panels.jsonl`` (every
    panel function called across its controls' values) and ``checks.jsonl`` (every exercise
    check with the source of its cell), so nbval's output checks, the smoke assertions and the
    panel and solution checks share one execution per notebook.
    """
    out = tmp_path_factory.mktemp("nbval")
    startup = out / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    # a loader, so that the module's names stay out of the notebooks' namespace (IPython runs
    # startup files in it, and a notebook may define its own `sweep` or `write`)
    (startup / "50-course-tests.py").write_text(STARTUP_LOADER.format(path=str(STARTUP_MODULE)))
    env = {
        **os.environ,
        "COURSE_PROFILE": "smoke",
        "COURSE_BATCH": "1",
        "COURSE_PROGRESS": "0",
        "COURSE_STRICT_EXERCISES": "1",  # a wrong solution fails its cell
        "COURSE_RESULTS_DIR": str(out / "results"),
        "IPYTHONDIR": str(out / "ipython"),
        "COURSE_PANEL_LOG": str(out / "panels.jsonl"),
        "COURSE_CHECK_LOG": str(out / "checks.jsonl"),
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


def executed_cells(notebook: Path) -> list:
    """The cells as they were executed: without the banner cells papermill adds to a failed
    run's output, so that indexes are those of a failure record's ``cell_index``."""
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    return [c for c in cells if PAPERMILL_BANNER not in c.get("metadata", {}).get("tags", [])]


def first_training_cell(notebook: Path) -> int:
    """Index (among ``executed_cells``, as in a failure record) of the first code cell that trains.

    A ``def train_model(...)`` line is not a call; a function body that calls ``fit`` counts where
    it is defined (a stricter bound than where it is first called).
    """
    for index, cell in enumerate(executed_cells(notebook)):
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
        check_refused_before_training(failure)
        return failure

    return run


def check_refused_before_training(failure: dict) -> None:
    """The failed cell (``cell_index``) comes before the first cell that trains, counted in the
    executed notebook without papermill's banner cells."""
    output = Path(failure["output"])
    cell = executed_cells(output)[failure["cell_index"]]
    assert "ParameterError" in json.dumps(cell.get("outputs", [])), (
        f"cell {failure['cell_index']} of {output.name} is not the one that raised"
    )
    first = first_training_cell(output)
    assert failure["cell_index"] < first, (
        f"refused only at cell {failure['cell_index']}, not before cell {first}, the first "
        "that trains"
    )
