"""Notebook sources: each ``notebooks/NN_topic.ipynb`` has a jupytext ``py:percent`` twin ``NN_topic.py``.

Edit the ``.py``; ``build`` turns it into the ``.ipynb`` and executes it in place under a profile
(the committed notebooks carry the outputs of a real ``cpu``-profile run).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import jupytext
import nbformat

KERNELSPEC = {
    "name": "nn-training-course",
    "display_name": "NN training course (.venv)",
    "language": "python",
}
VOLATILE_CELL_METADATA = ("papermill", "execution")


def twin(path: Path) -> Path:
    """The other file of a ``.py`` / ``.ipynb`` pair."""
    return path.with_suffix(".ipynb" if path.suffix == ".py" else ".py")


def _cell_sources(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    """(type, source, tags) of every cell: what must agree between the two files of a pair."""
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", []))) for c in nb.cells]


def in_sync(py_path: Path) -> bool:
    """True when the ``.ipynb`` has exactly the cells of its ``.py`` twin."""
    ipynb = twin(py_path)
    if not ipynb.exists():
        return False
    return _cell_sources(jupytext.read(py_path)) == _cell_sources(
        nbformat.read(ipynb, as_version=4)
    )


def build(
    py_path: Path,
    profile: str = "cpu",
    execute: bool = True,
    kernel: str = "python3",
    cell_timeout: int | None = None,
) -> float:
    """Write ``NN.ipynb`` from ``NN.py`` and (by default) execute it in place; returns seconds taken.

    Runs through the course engine (``course_utils.execution``): each cell may run at most
    ``cell_timeout`` seconds (None: the profile's limit; 0: none), writes are atomic, and on any failure
    (an exception, a timeout, a dead kernel, an interrupt) the stored ``.ipynb`` stays unchanged.
    """
    from .execution import cell_timeout_for, execute_notebook, write_notebook

    nb = jupytext.read(py_path)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.pop("jupytext", None)
    out = twin(py_path)
    tmp = out.with_name(f".{out.stem}.building.ipynb")
    write_notebook(nb, tmp)
    start = time.perf_counter()
    try:
        if execute:
            names = ("COURSE_PROFILE", "COURSE_PROGRESS", "COURSE_BATCH", "COURSE_RESULTS_DIR")
            old = {k: os.environ.get(k) for k in names}
            os.environ.update(COURSE_PROFILE=profile, COURSE_PROGRESS="0", COURSE_BATCH="1")
            # the committed run's results JSON: the course website's claims ledger reads them
            os.environ["COURSE_RESULTS_DIR"] = str(py_path.parent / "results")
            try:
                execute_notebook(
                    tmp,
                    tmp,
                    cwd=py_path.parent,
                    kernel=kernel,
                    cell_timeout=cell_timeout_for(profile, cell_timeout),
                )
            finally:
                for key, value in old.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
            executed = nbformat.read(tmp, as_version=4)
            for cell in executed.cells:
                for key in VOLATILE_CELL_METADATA:
                    cell.metadata.pop(key, None)
                if "solution" in cell.metadata.get("tags", []):
                    cell.outputs = []  # never store the answer
            executed.metadata.get("papermill", {}).pop("input_path", None)
            executed.metadata.get("papermill", {}).pop("output_path", None)
            write_notebook(executed, tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return time.perf_counter() - start
