"""``python -m course_utils``: run notebooks with papermill into a fresh run folder, list parameters, fetch data."""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
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


def new_run_folder(out: str | None, profile: str | None) -> Path:
    """A new folder for this run; an existing non-empty folder is never reused."""
    if out is not None:
        folder = Path(out)
        if folder.exists() and any(folder.iterdir()):
            raise CLIError(
                f"--out {out!r} already exists and is not empty; choose a new folder (nothing was overwritten)"
            )
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        folder = (
            RUNS / f"{stamp}-{profile or 'auto'}"
            if i == 0
            else RUNS / f"{stamp}-{profile or 'auto'}-{i}"
        )
        try:
            folder.mkdir(parents=True, exist_ok=False)
            return folder
        except FileExistsError:
            continue
    raise CLIError("could not create a new run folder under runs/")


def run_course(
    names: list[str],
    profile: str | None,
    pairs: list[list[str]],
    out: str | None,
    kernel: str = "python3",
) -> tuple[Path, bool]:
    """Execute notebooks with papermill into a new run folder; returns ``(folder, all_ok)``."""
    import logging

    import papermill as pm
    from tqdm.auto import tqdm

    # Parameters are checked above against the annotated parameters cell; papermill's own
    # inspector cannot read ``float | None`` annotations and would warn about them.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    os.environ.setdefault("COURSE_PROGRESS", "0")  # no per-epoch widgets in executed notebooks
    os.environ.setdefault("COURSE_BATCH", "1")  # panels render as static text (no widget comms)

    notebooks = [resolve_notebook(n) for n in names] if names else course_notebooks()
    if not notebooks:
        raise CLIError(f"no notebooks found in {NOTEBOOKS}")
    overrides = parse_overrides(notebooks, pairs + ([["profile", profile]] if profile else []))
    folder = new_run_folder(out, profile)
    results_dir = folder / "results"
    results_dir.mkdir()
    statuses: list[dict[str, Any]] = []
    failure: dict[str, Any] | None = None
    for nb in tqdm(notebooks, desc="notebooks", unit="nb"):
        params = dict(overrides[nb])
        if "results_path" in {p.name for p in notebook_parameters(nb)}:
            params["results_path"] = str((results_dir / f"{nb.stem}.json").resolve())
        start = time.perf_counter()
        status = {"notebook": nb.stem, "status": "ok", "seconds": 0.0}
        try:
            pm.execute_notebook(
                str(nb),
                str(folder / nb.name),
                parameters=params,
                cwd=str(nb.parent),
                kernel_name=kernel,
                progress_bar=False,
                log_output=False,
            )
        except pm.PapermillExecutionError as exc:
            status["status"] = "failed"
            failure = {
                "notebook": nb.stem,
                "cell_index": exc.cell_index,
                "execution_count": exc.exec_count,
                "error": f"{exc.ename}: {exc.evalue}",
                "output": str(folder / nb.name),
            }
        status["seconds"] = round(time.perf_counter() - start, 1)
        statuses.append(status)
        if failure:
            break
    write_report(folder, statuses, failure, profile)
    return folder, failure is None


def write_report(
    folder: Path,
    statuses: list[dict[str, Any]],
    failure: dict[str, Any] | None,
    profile: str | None,
) -> Path:
    """``report.md`` (status, run time, metrics, claims per notebook, then the claims ledger) and ``status.json``."""
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
    state = "failed" if failure else "ok"
    lines = [
        f"# Course run {folder.name}",
        "",
        f"- status: **{state}**",
        f"- profile: {profile or 'notebook default (auto)'}",
        f"- total run time: {sum(s['seconds'] for s in statuses):.1f} s",
        "",
    ]
    if failure:
        lines += [
            f"**Failed**: notebook `{failure['notebook']}`, cell {failure['cell_index']} "
            f"(execution count {failure['execution_count']}): `{failure['error']}`. "
            f"Executed notebook: `{failure['output']}`",
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
    report = folder / "report.md"
    report.write_text("\n".join(lines))
    (folder / "status.json").write_text(
        json.dumps({"status": state, "failure": failure, "notebooks": statuses}, indent=2)
    )
    if failure:
        (folder / "FAILED").write_text(
            f"{failure['notebook']} cell {failure['cell_index']}: {failure['error']}\n"
        )
    return report


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
        ax.plot([max(low / scale, -10), min(high / scale, 10)], [i, i], color=colour, lw=2)
        ax.plot(c["mean"] / scale, i, "o", color=colour)
    labels = [f"{c['notebook'][:2]} {c['claim'][:60]}" for c in reversed(rows)]
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    for x, style in ((0, "-"), (1, "--"), (-1, "--")):
        ax.axvline(x, color="black", lw=0.8, ls=style)
    ax.set_xlim(-10, 10)
    ax.set_xlabel("mean paired difference / min effect (95% interval; clipped at +-10)")
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


def cmd_build(names: list[str], profile: str, execute: bool) -> None:
    from .notebooks import build

    sources = [resolve_notebook(n, ".py") for n in names] if names else course_notebooks(".py")
    for py in sources:
        print(
            f"building {py.with_suffix('.ipynb').name} (profile {profile if execute else 'none: not executed'}) ...",
            flush=True,
        )
        print(f"  done in {build(py, profile, execute):.1f} s", flush=True)


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "params":
            cmd_params(args.notebook)
        elif args.command == "data":
            cmd_data(args.datasets)
        elif args.command == "build":
            cmd_build(args.notebooks, args.profile, not args.no_execute)
        else:
            folder, ok = run_course(
                args.notebooks, args.profile, args.parameter, args.out, args.kernel
            )
            print(f"run folder: {folder}\nreport: {folder / 'report.md'}")
            if not ok:
                status = json.loads((folder / "status.json").read_text())["failure"]
                print(
                    f"FAILED: notebook {status['notebook']}, cell {status['cell_index']} "
                    f"(execution count {status['execution_count']}): {status['error']}",
                    file=sys.stderr,
                )
                return 1
    except (CLIError, ParameterError, DataFileError, DatasetUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
