"""The notebook build: each ``notebooks/NN_topic.ipynb`` has a jupytext ``py:percent`` twin ``NN_topic.py``.

Edit the ``.py``; ``build_notebook`` turns it into the ``.ipynb`` and executes it in place under a
profile (the committed notebooks carry the outputs of a real ``cpu``-profile run, ``make notebooks``).
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import jupytext
import nbformat
import papermill as pm

from .catalogue import course_notebooks, resolve_notebook
from .execution import (
    CellStopped,
    cell_timeout_for,
    execute_notebook,
    stop_on_signals,
    write_notebook,
)

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


@contextmanager
def _build_environment(profile: str, results_dir: Path):
    """The variables a committed build runs under, restored afterwards."""
    names = ("COURSE_PROFILE", "COURSE_PROGRESS", "COURSE_BATCH", "COURSE_RESULTS_DIR")
    old = {k: os.environ.get(k) for k in names}
    os.environ.update(COURSE_PROFILE=profile, COURSE_PROGRESS="0", COURSE_BATCH="1")
    # the committed run's results JSON: the course website's claims ledger reads them
    os.environ["COURSE_RESULTS_DIR"] = str(results_dir)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _strip_volatile(path: Path) -> None:
    """Drop run-specific metadata and the outputs of solution cells (never store the answer)."""
    executed = nbformat.read(path, as_version=4)
    for cell in executed.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if "solution" in cell.metadata.get("tags", []):
            cell.outputs = []
    executed.metadata.get("papermill", {}).pop("input_path", None)
    executed.metadata.get("papermill", {}).pop("output_path", None)
    write_notebook(executed, path)


def build_notebook(
    py_path: Path,
    profile: str = "cpu",
    execute: bool = True,
    kernel: str = "python3",
    cell_timeout: int | None = None,
) -> float:
    """Write ``NN.ipynb`` from ``NN.py`` and (by default) execute it in place; returns seconds taken.

    Runs through the course engine (``tools.execution``): each cell may run at most
    ``cell_timeout`` seconds (None: the profile's limit; 0: none), writes are atomic, and on any
    failure (an exception, a timeout, a dead kernel, an interrupt) the stored ``.ipynb`` stays
    unchanged.
    """
    nb = jupytext.read(py_path)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.pop("jupytext", None)
    out = twin(py_path)
    tmp = out.with_name(f".{out.stem}.building.ipynb")
    write_notebook(nb, tmp)
    start = time.perf_counter()
    try:
        if execute:
            with _build_environment(profile, py_path.parent / "results"):
                execute_notebook(
                    tmp,
                    tmp,
                    cwd=py_path.parent,
                    kernel=kernel,
                    cell_timeout=cell_timeout_for(profile, cell_timeout),
                )
            _strip_volatile(tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return time.perf_counter() - start


def _build_one(py: Path, profile: str, execute: bool, cell_timeout: int | None) -> int:
    """Build one notebook; a failure is one line on stderr. The exit code (0, 1, 124, 130)."""
    name = py.with_suffix(".ipynb").name
    print(
        f"building {name} (profile {profile if execute else 'none: not executed'}) ...", flush=True
    )
    unchanged = f"{name} was left unchanged"
    with stop_on_signals():
        try:
            seconds = build_notebook(py, profile, execute, cell_timeout=cell_timeout)
        except pm.PapermillExecutionError as exc:
            print(
                f"FAILED: building {name}: cell {exc.cell_index}: {exc.ename}: {exc.evalue}; "
                + unchanged,
                file=sys.stderr,
            )
            return 1
        except CellStopped as exc:
            word = "TIMED OUT" if exc.kind == "timeout" else "FAILED"
            print(f"{word}: building {name}: {exc}; {unchanged}", file=sys.stderr)
            return 124 if exc.kind == "timeout" else 1
        except KeyboardInterrupt as exc:
            how = getattr(exc, "signame", "SIGINT")
            print(f"INTERRUPTED ({how}): building {name}; {unchanged}", file=sys.stderr)
            return 130
    print(f"  done in {seconds:.1f} s", flush=True)
    return 0


def build_notebooks(
    names: list[str], profile: str, execute: bool, cell_timeout: int | None = None
) -> int:
    """``python -m course_utils build``: build the named notebooks (all when none), stopping at the
    first failure; a failed notebook's stored ``.ipynb`` is left unchanged. The exit code."""
    sources = [resolve_notebook(n, ".py") for n in names] if names else course_notebooks(".py")
    for py in sources:
        code = _build_one(py, profile, execute, cell_timeout)
        if code:
            return code
    return 0
