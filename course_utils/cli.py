"""``python -m course_utils``: run notebooks with papermill into a fresh run folder, list parameters, fetch data."""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat

from .data import DataFileError, DatasetUnavailableError
from .params import Spec, choice, declared_specs, integer
from .results import collect, format_effect, markdown_table, summarize_claims, summarize_metrics
from .validation import ParameterError

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
RUNS = REPO / "runs"
TYPES = {"int": int, "float": float, "str": str, "bool": bool, "None": type(None)}


class CLIError(Exception):
    """A problem with the command line, reported before anything is executed."""


@dataclass(frozen=True)
class Parameter:
    name: str
    annotation: str
    default: Any
    help: str

    @property
    def allowed(self) -> list[type]:
        """Python types the annotation allows (``float | None`` -> [float, NoneType])."""
        return [TYPES[t.strip()] for t in self.annotation.split("|") if t.strip() in TYPES]


def course_notebooks(suffix: str = ".ipynb") -> list[Path]:
    """The course's notebooks in order (``NN_topic.ipynb``, or their ``.py`` twins)."""
    return sorted(NOTEBOOKS.glob(f"[0-9][0-9]_*{suffix}"))


def resolve_notebook(name: str, suffix: str = ".ipynb") -> Path:
    """Accept a path, a file name, a stem or just the number (``07``)."""
    path = Path(name)
    if path.suffix == suffix and path.is_file():
        return path.resolve()
    for nb in course_notebooks(suffix):
        if path.stem in (nb.stem, nb.stem[:2]):
            return nb
    known = ", ".join(nb.stem for nb in course_notebooks(suffix))
    raise CLIError(f"notebook {name!r} not found; known notebooks: {known}")


def notebook_parameters(path: Path) -> list[Parameter]:
    """Parameters declared in the cell tagged ``parameters`` (``name: type = default  # help``)."""
    nb = nbformat.read(path, as_version=4)
    cells = [
        c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])
    ]
    if not cells:
        raise CLIError(f"{path.name} has no cell tagged 'parameters'")
    source = cells[0].source
    lines = source.splitlines()
    params = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, annotation = node.target.id, ast.unparse(node.annotation)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name, annotation = node.targets[0].id, ""
        else:
            continue
        default = ast.literal_eval(node.value) if node.value is not None else None
        if not annotation:
            annotation = type(default).__name__
        line = lines[node.lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line else ""
        params.append(Parameter(name, annotation, default, comment))
    return params


def notebook_specs(path: Path) -> dict[str, Spec]:
    """Allowed values of every parameter: the common ones, plus the notebook's ``setup(...)`` declaration."""
    from .config import DATASETS, PROFILE_CHOICES

    nb = nbformat.read(path, as_version=4)
    specs: dict[str, Spec] = {
        "profile": choice(*PROFILE_CHOICES),
        "dataset": choice(*DATASETS),
        "seed": integer(0),
    }
    for cell in nb.cells:
        if cell.cell_type == "code" and "setup(" in cell.source:
            try:
                specs.update(declared_specs(cell.source))
            except SyntaxError:
                continue
    return specs


def coerce(param: Parameter, raw: str, notebook: str) -> Any:
    """Parse a command-line value and check it against the parameter's declared type."""
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw  # a bare word is a string
    allowed = param.allowed
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and float in allowed
        and int not in allowed
    ):
        value = float(value)
    if str in allowed and not isinstance(value, str) and type(value) not in allowed:
        value = raw
    if type(value) not in allowed:
        raise CLIError(
            f"parameter {param.name!r} of {notebook} is declared as {param.annotation} "
            f"but got {raw!r} (parsed as {type(value).__name__})"
        )
    return value


def parse_overrides(notebooks: list[Path], pairs: list[list[str]]) -> dict[Path, dict[str, Any]]:
    """Check every ``-p NAME VALUE`` against every selected notebook before anything runs."""
    per_notebook: dict[Path, dict[str, Any]] = {}
    for nb in notebooks:
        declared = {p.name: p for p in notebook_parameters(nb)}
        specs = notebook_specs(nb)
        values = {}
        for name, raw in pairs:
            if name not in declared:
                raise CLIError(
                    f"notebook {nb.stem} does not declare a parameter {name!r}; "
                    f"it declares: {', '.join(declared)}"
                )
            values[name] = coerce(declared[name], raw, nb.stem)
            if name in specs:
                specs[name].check(name, values[name])
        per_notebook[nb] = values
    return per_notebook


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
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from .config import profile_from_env
    from .data import DATA_ENV, find_files

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
    import errno
    import traceback

    import papermill as pm

    from .execution import CellStopped, RunStopped

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
    from .execution import atomic_write

    marker, incomplete = folder / MARKERS[state], folder / INCOMPLETE
    try:
        atomic_write(marker, line + "\n")
    except OSError:  # a full disk: at least the name says how the run ended
        with suppress(OSError):
            os.replace(incomplete, marker)
        return
    with suppress(FileNotFoundError):
        incomplete.unlink()


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
    from tqdm.auto import tqdm

    from .config import resolve_profile
    from .execution import RunStopped, cell_timeout_for, execute_notebook, stop_on_signals

    os.environ.setdefault("COURSE_PROGRESS", "0")  # no per-epoch widgets in executed notebooks
    os.environ.setdefault("COURSE_BATCH", "1")  # panels render as static text (no widget comms)

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
    folder = new_run_folder(out, profile)
    results_dir = folder / "results"
    statuses = [{"notebook": nb.stem, "status": "not run", "seconds": 0.0} for nb in notebooks]
    state, failure = "ok", None
    with stop_on_signals() as signals:
        try:
            results_dir.mkdir()
            for i, nb in enumerate(tqdm(notebooks, desc="notebooks", unit="nb")):
                params = dict(overrides[nb])
                if "results_path" in {p.name for p in notebook_parameters(nb)}:
                    params["results_path"] = str((results_dir / f"{nb.stem}.json").resolve())
                statuses[i]["status"] = "running"
                start = time.perf_counter()
                try:
                    execute_notebook(
                        nb,
                        folder / nb.name,
                        params,
                        cwd=nb.parent,
                        kernel=kernel,
                        cell_timeout=timeouts[nb],
                        kernel_log=folder / "kernel.log",
                    )
                    statuses[i]["status"] = "ok"
                except BaseException as exc:  # noqa: BLE001 - every end is recorded
                    state, failure = classify(exc, nb, folder)
                    statuses[i]["status"] = STATE_WORDS[state]
                finally:
                    statuses[i]["seconds"] = round(time.perf_counter() - start, 1)
                if state != "ok":
                    break
        except RunStopped as exc:  # between notebooks
            state = "interrupted"
            stopped = next((s for s in statuses if s["status"] == "running"), statuses[0])
            stopped["status"] = "interrupted"
            failure = {
                "notebook": stopped["notebook"],
                "cell_index": None,
                "execution_count": None,
                "error": f"stopped by {exc.signame}",
                "output": str(folder / f"{stopped['notebook']}.ipynb"),
            }
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
    from .execution import atomic_write

    results = {r["notebook"]: r for r in collect(folder / "results")}
    rows, ledger = [], []
    for s in statuses:
        r = results.get(s["notebook"], {"metrics": {}, "claims": []})
        rows.append(
            {
                "notebook": s["notebook"],
                "status": s["status"],
                "run time (s)": s["seconds"],
                "key metrics": summarize_metrics(r["metrics"]),
                "claims": summarize_claims(r["claims"]),
            }
        )
        ledger += [{"notebook": s["notebook"], **c} for c in r["claims"]]
    state = state or ("failed" if failure else "ok")
    lines = [
        f"# Course run {folder.name}",
        "",
        f"- status: **{STATE_WORDS[state]}**",
        f"- profile: {profile or 'notebook default (auto)'}",
        f"- total run time: {sum(s['seconds'] for s in statuses):.1f} s",
        "",
    ]
    if failure:
        cell = "" if failure["cell_index"] is None else f", cell {failure['cell_index']}"
        if failure["cell_index"] is not None and failure["execution_count"] is not None:
            cell += f" (execution count {failure['execution_count']})"
        error = failure["error"] if "`" in failure["error"] else f"`{failure['error']}`"
        lines += [
            f"**{STATE_WORDS[state].capitalize()}**: notebook `{failure['notebook']}`{cell}: "
            f"{error}. Executed notebook (as far as it ran): `{failure['output']}`",
            "",
        ]
    lines += [
        markdown_table(rows, ["notebook", "status", "run time (s)", "key metrics", "claims"]),
        "",
    ]
    if ledger:
        for c in ledger:
            c["effect (mean +- SE, n)"] = (
                format_effect(c["samples"], c.get("unit", "")) if c.get("samples") else "-"
            )
            c["min effect"] = (
                f"{c['min_effect']:g} {c.get('unit', '')}".strip() if c.get("min_effect") else "-"
            )
        lines += ["## Claims ledger", ""]
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
            "measured",
        ]
        lines += [markdown_table(ledger, columns), ""]
    status = {
        "status": state,
        "exit_code": EXIT_CODES[state],
        "message": message,
        "failure": failure,
        "notebooks": statuses,
    }
    atomic_write(folder / "status.json", json.dumps(status, indent=2))
    return atomic_write(folder / "report.md", "\n".join(lines))


VERDICT_COLOURS = {
    "confirmed": "tab:green",
    "refuted": "tab:red",
    "depends": "tab:purple",
    "inconclusive": "tab:gray",
}


def plot_claims(ledger: list[dict[str, Any]], path: Path) -> bool:
    """Forest plot: one row per comparative claim, its mean paired difference with its 95% interval,
    in units of the claim's min effect, coloured by verdict. False when no claim has samples."""
    rows = [c for c in ledger if c.get("samples") and c.get("min_effect")]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 0.38 * len(rows) + 1.4))
    for i, c in enumerate(reversed(rows)):
        scale = c["min_effect"]
        low = c["low"] if c.get("low") is not None else c["mean"]
        high = c["high"] if c.get("high") is not None else c["mean"]
        colour = VERDICT_COLOURS.get(c["verdict"], "black")
        ax.plot([max(low / scale, -1000), min(high / scale, 1000)], [i, i], color=colour, lw=2)
        ax.plot(c["mean"] / scale, i, "o", color=colour)
    labels = [f"{c['notebook'][:2]} {c['claim'][:60]}" for c in reversed(rows)]
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    for x, style in ((0, "-"), (1, "--"), (-1, "--")):
        ax.axvline(x, color="black", lw=0.8, ls=style)
    ax.set_xscale("symlog", linthresh=1)  # linear within +-1 min effect, logarithmic beyond
    ax.set_xlim(-1000, 1000)
    ax.set_xlabel("mean paired difference / min effect (95% interval; symmetric log scale)")
    for verdict, colour in VERDICT_COLOURS.items():
        ax.plot([], [], "o-", color=colour, label=verdict)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def cmd_params(name: str) -> None:
    nb = resolve_notebook(name)
    rows = [
        {"name": p.name, "type": p.annotation, "default": repr(p.default), "help": p.help}
        for p in notebook_parameters(nb)
    ]
    print(f"{nb.stem}\n" + markdown_table(rows, ["name", "type", "default", "help"]))


def cmd_data(names: list[str]) -> None:
    from .data import load_dataset

    for name in names:
        print(load_dataset(name))


def cmd_build(
    names: list[str], profile: str, execute: bool, cell_timeout: int | None = None
) -> int:
    """Build notebooks; a failure, a cell over its time limit or an interrupt is one line and
    leaves the stored ``.ipynb`` unchanged. Returns the exit code (0, 1, 124, 130)."""
    import papermill as pm

    from .execution import CellStopped, stop_on_signals
    from .notebooks import build

    sources = [resolve_notebook(n, ".py") for n in names] if names else course_notebooks(".py")
    for py in sources:
        name = py.with_suffix(".ipynb").name
        print(
            f"building {name} (profile {profile if execute else 'none: not executed'}) ...",
            flush=True,
        )
        unchanged = f"{name} was left unchanged"
        with stop_on_signals():
            try:
                seconds = build(py, profile, execute, cell_timeout=cell_timeout)
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


def seconds_arg(text: str) -> int:
    """``--cell-timeout``: a whole number of seconds >= 0 (0 means no limit)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give seconds >= 0 (0: no limit)")
    return value


CELL_TIMEOUT_HELP = (
    "stop the run when one cell runs longer than S seconds (default per profile: smoke 300, "
    "cpu 900, gpu none, or $COURSE_CELL_TIMEOUT when set; 0: no limit)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="execute notebooks (all, in course order, when none is named) into a new run folder",
    )
    run.add_argument("notebooks", nargs="*", help="notebook names, stems or numbers (e.g. 07)")
    run.add_argument(
        "--profile",
        choices=["auto", "smoke", "cpu", "gpu"],
        default=None,
        help="profile passed to every notebook",
    )
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a notebook parameter",
    )
    run.add_argument(
        "--out", default=None, help="run folder (new or empty); default runs/<timestamp>-<profile>"
    )
    run.add_argument("--kernel", default="python3", help="Jupyter kernel name")
    run.add_argument(
        "--cell-timeout", type=seconds_arg, default=None, metavar="S", help=CELL_TIMEOUT_HELP
    )
    params = sub.add_parser("params", help="list a notebook's parameters with defaults and types")
    params.add_argument("notebook")
    data = sub.add_parser(
        "data", help="make sure datasets are available locally (offline first) and describe them"
    )
    data.add_argument("datasets", nargs="*", default=["fashion_mnist"])
    build = sub.add_parser(
        "build",
        help="write notebooks/NN.ipynb from its .py twin and execute it in place (stored outputs)",
    )
    build.add_argument(
        "notebooks", nargs="*", help="notebook names, stems or numbers; all when none"
    )
    build.add_argument("--profile", choices=["smoke", "cpu", "gpu"], default="cpu")
    build.add_argument(
        "--no-execute", action="store_true", help="only write the .ipynb, without outputs"
    )
    build.add_argument(
        "--cell-timeout", type=seconds_arg, default=None, metavar="S", help=CELL_TIMEOUT_HELP
    )
    from .sweep import add_parser as add_sweep_parser

    add_sweep_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "params":
            cmd_params(args.notebook)
        elif args.command == "data":
            cmd_data(args.datasets)
        elif args.command == "build":
            return cmd_build(args.notebooks, args.profile, not args.no_execute, args.cell_timeout)
        elif args.command == "sweep":
            from .sweep import cmd_sweep

            return cmd_sweep(args)
        else:
            outcome = run_course(
                args.notebooks,
                args.profile,
                args.parameter,
                args.out,
                args.kernel,
                args.cell_timeout,
            )
            print(outcome.message, file=sys.stdout if outcome.ok else sys.stderr)
            return outcome.exit_code
    except (CLIError, ParameterError, DataFileError, DatasetUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before any notebook ran (e.g. while checking parameters)
        print("interrupted before any notebook ran; nothing was written", file=sys.stderr)
        return 130
    return 0
