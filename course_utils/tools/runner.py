"""The course runner: execute notebooks into a new run folder and say how the run ended.

A run folder holds the executed notebooks, ``results/<notebook>.json``, ``report.md``,
``status.json`` and one marker: ``INCOMPLETE`` while it runs, then exactly one of ``OK``,
``FAILED``, ``INTERRUPTED`` or ``TIMED_OUT``.
"""

from __future__ import annotations

import errno
import json
import os
import time
import traceback
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import papermill as pm
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from tqdm.auto import tqdm

from ..config import profile_from_env, resolve_profile
from ..datafiles import DATA_ENV, find_files
from ..validation import ParameterError
from .catalogue import (
    NOTEBOOKS,
    RUNS,
    CLIError,
    course_notebooks,
    notebook_parameters,
    parse_overrides,
    resolve_notebook,
)
from .execution import (
    CellStopped,
    RunStopped,
    atomic_write,
    cell_timeout_for,
    execute_notebook,
    stop_on_signals,
)
from .ledger import (
    collect,
    counts_line,
    ledger_rows,
    markdown_table,
    plot_claims,
    summarize_claims,
    summarize_metrics,
)

MARKERS = {"ok": "OK", "failed": "FAILED", "interrupted": "INTERRUPTED", "timed_out": "TIMED_OUT"}
EXIT_CODES = {"ok": 0, "failed": 1, "interrupted": 130, "timed_out": 124}
STATE_WORDS = {
    "ok": "ok",
    "failed": "failed",
    "interrupted": "interrupted",
    "timed_out": "timed out",
}
INCOMPLETE = "INCOMPLETE"


def new_run_folder(out: str | None, profile: str | None) -> Path:
    """A new folder for this run (an existing non-empty folder is never reused), holding an
    ``INCOMPLETE`` marker until the run ends (then exactly one of OK, FAILED, INTERRUPTED,
    TIMED_OUT replaces it)."""
    if out is not None:
        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            raise CLIError(
                f"--out {out!r} is a file, not a folder; give the path of a new (or empty) folder"
            )
        try:
            if folder.is_dir() and any(folder.iterdir()):
                raise CLIError(
                    f"--out {out!r} already exists and is not empty; choose a new folder "
                    "(nothing was overwritten)"
                )
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CLIError(
                f"--out {out!r}: cannot create the run folder ({exc.strerror or exc}); "
                "choose a folder you can write to"
            ) from None
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for i in range(1000):
            folder = RUNS / (f"{stamp}-{profile or 'auto'}" + (f"-{i}" if i else ""))
            try:
                folder.mkdir(parents=True, exist_ok=False)
                break
            except FileExistsError:
                continue
            except OSError as exc:
                raise CLIError(
                    f"cannot create a run folder under {RUNS} ({exc.strerror or exc}); "
                    "choose one with --out"
                ) from None
        else:
            raise CLIError(f"could not create a new run folder under {RUNS}")
    try:
        (folder / INCOMPLETE).write_text(
            f"run started {datetime.now().isoformat(timespec='seconds')} (pid {os.getpid()}); "
            "while this file is here the run has not ended (or was killed)\n"
        )
    except OSError as exc:
        raise CLIError(
            f"the run folder {folder} is not writable ({exc.strerror or exc}); choose another --out"
        ) from None
    return folder


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: ``state`` is ok, failed, interrupted or timed_out; ``message`` the one line."""

    folder: Path
    state: str
    message: str

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.state]

    def __iter__(self):  # ``folder, ok = run_course(...)`` keeps working
        return iter((self.folder, self.ok))


def check_before_running(
    notebooks: list[Path],
    pairs: list[list[str]],
    overrides: dict[Path, dict[str, Any]],
    kernel: str = "python3",
) -> None:
    """Refuse what can be checked before a kernel starts: ``$COURSE_PROFILE``, ``results_path``,
    the kernel name, and an explicit data folder (``-p data_dir`` or ``$COURSE_DATA_DIR``)
    lacking the dataset's files."""
    profile_from_env()
    specs = KernelSpecManager()
    try:
        specs.get_kernel_spec(kernel)
    except NoSuchKernel:
        known = ", ".join(sorted(specs.find_kernel_specs())) or "none"
        raise CLIError(
            f"--kernel {kernel!r} is not an installed Jupyter kernel; known: {known}"
        ) from None
    if any(name == "results_path" for name, _ in pairs):
        raise CLIError(
            "-p results_path cannot be set here: the runner writes each notebook's results to "
            "<run folder>/results/<notebook>.json (choose the run folder with --out); to write "
            "them elsewhere, run the notebook with papermill directly"
        )
    checked: set[tuple[str, str | None]] = set()
    for nb in notebooks:
        declared = {p.name: p.default for p in notebook_parameters(nb)}
        if "dataset" not in declared:
            continue
        values = overrides[nb]
        if values.get("data_dir") is not None:
            values["data_dir"] = str(Path(values["data_dir"]).expanduser().resolve())
        data_dir = values.get("data_dir", declared.get("data_dir"))
        dataset = values.get("dataset", declared["dataset"])
        if (data_dir is None and not os.environ.get(DATA_ENV)) or (dataset, data_dir) in checked:
            continue
        checked.add((dataset, data_dir))
        if data_dir is not None and not Path(data_dir).is_dir():
            raise ParameterError(
                f"parameter 'data_dir' got {data_dir!r}; allowed: an existing folder or None"
            )
        find_files(dataset, data_dir)  # a DatasetUnavailableError names the missing files


def classify(exc: BaseException, nb: Path, folder: Path) -> tuple[str, dict[str, Any]]:
    """``(state, failure record)`` for an exception that ended a notebook's execution."""
    failure: dict[str, Any] = {
        "notebook": nb.stem,
        "cell_index": None,
        "execution_count": None,
        "error": "",
        "output": str(folder / nb.name),
    }
    if isinstance(exc, pm.PapermillExecutionError):
        failure.update(
            cell_index=exc.cell_index,
            execution_count=exc.exec_count,
            error=f"{exc.ename}: {exc.evalue}",
        )
        return "failed", failure
    if isinstance(exc, CellStopped):
        failure.update(
            cell_index=exc.cell_index, execution_count=exc.execution_count, error=str(exc)
        )
        return ("timed_out" if exc.kind == "timeout" else "failed"), failure
    if isinstance(exc, KeyboardInterrupt):
        cell = getattr(exc, "course_cell", (None, None))
        signame = exc.signame if isinstance(exc, RunStopped) else "SIGINT"
        failure.update(cell_index=cell[0], execution_count=cell[1], error=f"stopped by {signame}")
        return "interrupted", failure
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        failure["error"] = str(exc)
        return "failed", failure
    if isinstance(exc, RuntimeError) and "didn't respond" in str(exc):
        failure["error"] = f"the kernel did not start: {exc} (is the machine overloaded?)"
        return "failed", failure
    failure["error"] = f"the runner failed: {type(exc).__name__}: {exc}"
    with suppress(OSError):
        (folder / "runner-error.txt").write_text("".join(traceback.format_exception(exc)))
        failure["error"] += f" (traceback in {folder / 'runner-error.txt'})"
    return "failed", failure


def summary_line(
    state: str, failure: dict[str, Any] | None, folder: Path, statuses: list[dict[str, Any]]
) -> str:
    """The one line the user sees: what happened, which notebook and cell, where the folder is."""
    where = f"run folder {folder} (report.md)"
    if state == "ok" or failure is None:
        seconds = sum(s["seconds"] for s in statuses)
        return f"OK: {len(statuses)} notebook(s) ran in {seconds:.0f} s; {where}"
    cell = ""
    if failure.get("cell_index") is not None:
        cell = f", cell {failure['cell_index']}"
        if failure.get("execution_count") is not None:
            cell += f" (execution count {failure['execution_count']})"
    if state == "timed_out":
        return (
            f"TIMED OUT: notebook {failure['notebook']}: {failure['error']} "
            f"(change the limit with --cell-timeout S); {where}"
        )
    if state == "interrupted":
        return (
            f"INTERRUPTED ({failure['error']}): notebook {failure['notebook']}{cell} was running; "
            f"what finished is in the {where}"
        )
    return f"FAILED: notebook {failure['notebook']}{cell}: {failure['error']}; {where}"


def set_marker(folder: Path, state: str, line: str) -> None:
    """Replace ``INCOMPLETE`` by the marker of ``state`` (OK, FAILED, INTERRUPTED, TIMED_OUT)."""
    marker, incomplete = folder / MARKERS[state], folder / INCOMPLETE
    try:
        atomic_write(marker, line + "\n")
    except OSError:  # a full disk: at least the name says how the run ended
        with suppress(OSError):
            os.replace(incomplete, marker)
        return
    with suppress(FileNotFoundError):
        incomplete.unlink()


def _plan(
    names: list[str],
    profile: str | None,
    pairs: list[list[str]],
    kernel: str,
    cell_timeout: int | None,
) -> tuple[list[Path], dict[Path, dict[str, Any]], dict[Path, int | None]]:
    """Resolve and check everything before a kernel starts: notebooks, overrides, cell limits."""
    notebooks = [resolve_notebook(n) for n in names] if names else course_notebooks()
    if not notebooks:
        raise CLIError(f"no notebooks found in {NOTEBOOKS}")
    overrides = parse_overrides(notebooks, pairs + ([["profile", profile]] if profile else []))
    check_before_running(notebooks, pairs, overrides, kernel)
    timeouts = {}
    for nb in notebooks:
        declared = {p.name: p.default for p in notebook_parameters(nb)}
        nb_profile = resolve_profile(overrides[nb].get("profile", declared.get("profile", "auto")))
        timeouts[nb] = cell_timeout_for(nb_profile, cell_timeout)
    return notebooks, overrides, timeouts


def _run_one(
    nb: Path,
    folder: Path,
    params: dict[str, Any],
    kernel: str,
    timeout: int | None,
    status: dict[str, Any],
) -> tuple[str, dict[str, Any] | None]:
    """Execute one notebook into the run folder, filling in its ``status`` row."""
    if "results_path" in {p.name for p in notebook_parameters(nb)}:
        params = {**params, "results_path": str((folder / "results" / f"{nb.stem}.json").resolve())}
    status["status"] = "running"
    start = time.perf_counter()
    state, failure = "ok", None
    try:
        execute_notebook(
            nb,
            folder / nb.name,
            params,
            cwd=nb.parent,
            kernel=kernel,
            cell_timeout=timeout,
            kernel_log=folder / "kernel.log",
        )
    except BaseException as exc:  # noqa: BLE001 - every end is recorded
        state, failure = classify(exc, nb, folder)
    finally:
        status["seconds"] = round(time.perf_counter() - start, 1)
    status["status"] = STATE_WORDS[state]
    return state, failure


def _stopped_between(
    exc: RunStopped, folder: Path, statuses: list[dict[str, Any]]
) -> dict[str, Any]:
    """The failure record of a signal that arrived between two notebooks."""
    stopped = next((s for s in statuses if s["status"] == "running"), statuses[0])
    stopped["status"] = "interrupted"
    return {
        "notebook": stopped["notebook"],
        "cell_index": None,
        "execution_count": None,
        "error": f"stopped by {exc.signame}",
        "output": str(folder / f"{stopped['notebook']}.ipynb"),
    }


def run_course(
    names: list[str],
    profile: str | None,
    pairs: list[list[str]],
    out: str | None,
    kernel: str = "python3",
    cell_timeout: int | None = None,
) -> RunOutcome:
    """Execute notebooks with papermill into a new run folder and say how the run ended.

    Everything checkable is refused before a kernel starts (CLIError, ParameterError, a data
    error). Then every end, normal or not (a cell error, a cell over its time limit, a dead
    kernel, SIGINT/SIGTERM, a full disk, a runner error), leaves ``report.md``, ``status.json``
    and one marker file, and the kernel shut down.
    """
    os.environ.setdefault("COURSE_PROGRESS", "0")  # no per-epoch widgets in executed notebooks
    os.environ.setdefault("COURSE_BATCH", "1")  # panels render as static text (no widget comms)
    notebooks, overrides, timeouts = _plan(names, profile, pairs, kernel, cell_timeout)
    folder = new_run_folder(out, profile)
    statuses = [{"notebook": nb.stem, "status": "not run", "seconds": 0.0} for nb in notebooks]
    state, failure = "ok", None
    with stop_on_signals() as signals:
        try:
            (folder / "results").mkdir()
            for nb, status in zip(tqdm(notebooks, desc="notebooks", unit="nb"), statuses):
                state, failure = _run_one(nb, folder, overrides[nb], kernel, timeouts[nb], status)
                if state != "ok":
                    break
        except RunStopped as exc:
            state, failure = "interrupted", _stopped_between(exc, folder, statuses)
        except OSError as exc:  # the results folder could not be made
            state, failure = classify(exc, notebooks[0], folder)
        signals["signal"] = signals["signal"] or "(finishing)"  # later signals: finish first
        line = summary_line(state, failure, folder, statuses)
        try:
            write_report(folder, statuses, failure, profile, state=state, message=line)
        except Exception as exc:  # noqa: BLE001 - a full disk must not hide how the run ended
            line += f" [report.md/status.json could not be written: {exc}]"
        set_marker(folder, state, line)
    return RunOutcome(folder, state, line)


def _failure_lines(state: str, failure: dict[str, Any]) -> list[str]:
    """The report's paragraph on how a run that did not succeed ended."""
    cell = "" if failure["cell_index"] is None else f", cell {failure['cell_index']}"
    if failure["cell_index"] is not None and failure["execution_count"] is not None:
        cell += f" (execution count {failure['execution_count']})"
    error = failure["error"] if "`" in failure["error"] else f"`{failure['error']}`"
    return [
        f"**{STATE_WORDS[state].capitalize()}**: notebook `{failure['notebook']}`{cell}: "
        f"{error}. Executed notebook (as far as it ran): `{failure['output']}`",
        "",
    ]


def _ledger_lines(results: list[dict[str, Any]], folder: Path) -> list[str]:
    """The report's claims ledger: the counts (with Benjamini-Hochberg), the forest plot and one
    row per claim with its q-value across the run."""
    ledger = ledger_rows(results)
    if not ledger:
        return []
    lines = ["## Claims ledger", "", counts_line(ledger), ""]
    if plot_claims(ledger, folder / "claims.png"):
        lines += [
            "Forest plot of the comparative claims: [claims.png](claims.png)",
            "",
            "![claims](claims.png)",
            "",
        ]
    columns = [
        "notebook",
        "claim",
        "effect (mean +- SE, n)",
        "min effect",
        "verdict",
        "q",
        "measured",
    ]
    return lines + [markdown_table(ledger, columns), ""]


def write_report(
    folder: Path,
    statuses: list[dict[str, Any]],
    failure: dict[str, Any] | None,
    profile: str | None,
    state: str | None = None,
    message: str = "",
) -> Path:
    """``report.md`` (status, run time, metrics, claims per notebook, then the claims ledger) and
    ``status.json``, both written atomically; ``state`` defaults to failed/ok from ``failure``."""
    by_name = {r["notebook"]: r for r in collect(folder / "results")}
    results = [by_name[s["notebook"]] for s in statuses if s["notebook"] in by_name]
    rows = []
    for s in statuses:
        r = by_name.get(s["notebook"], {"metrics": {}, "claims": []})
        rows.append(
            {
                "notebook": s["notebook"],
                "status": s["status"],
                "run time (s)": s["seconds"],
                "key metrics": summarize_metrics(r["metrics"]),
                "claims": summarize_claims(r["claims"]),
            }
        )
    state = state or ("failed" if failure else "ok")
    lines = [
        f"# Course run {folder.name}",
        "",
        f"- status: **{STATE_WORDS[state]}**",
        f"- profile: {profile or 'notebook default (auto)'}",
        f"- total run time: {sum(s['seconds'] for s in statuses):.1f} s",
        "",
    ]
    lines += _failure_lines(state, failure) if failure else []
    lines += [
        markdown_table(rows, ["notebook", "status", "run time (s)", "key metrics", "claims"]),
        "",
    ]
    lines += _ledger_lines(results, folder)
    status = {
        "status": state,
        "exit_code": EXIT_CODES[state],
        "message": message,
        "failure": failure,
        "notebooks": statuses,
    }
    atomic_write(folder / "status.json", json.dumps(status, indent=2))
    return atomic_write(folder / "report.md", "\n".join(lines))
