"""``python -m course_utils``: run notebooks into a fresh run folder, list parameters, fetch data,
build the committed notebooks and the website, sweep a notebook's parameters with Optuna, and
print or compare runs' claims ledgers."""

from __future__ import annotations

import argparse
import sys

from ..data import load_dataset
from ..datafiles import DataFileError, DatasetUnavailableError
from ..validation import ParameterError
from . import website
from .build import build_notebooks
from .catalogue import CLIError, add_parameter_option, notebook_parameters, resolve_notebook
from .ledger import markdown_table
from .ledger_command import cmd_ledger
from .runner import run_course
from .sweep_command import add_sweep_parser, cmd_sweep


def cmd_params(name: str) -> None:
    """Print a notebook's parameters: name, type, default and help."""
    nb = resolve_notebook(name)
    rows = [
        {"name": p.name, "type": p.annotation, "default": repr(p.default), "help": p.help}
        for p in notebook_parameters(nb)
    ]
    print(f"{nb.stem}\n" + markdown_table(rows, ["name", "type", "default", "help"]))


def cmd_data(names: list[str]) -> None:
    """Find (or download) each dataset and describe it."""
    for name in names:
        print(load_dataset(name))


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
    "stop the run when a cell makes no progress for S seconds: no output and the kernel using "
    "under 5%% of a core (a hang; a slow cell that computes or prints is never stopped). "
    "Default per profile: smoke 120, cpu 300, gpu 600, or $COURSE_CELL_TIMEOUT; 0: no limit"
)


def _add_run_parser(sub) -> None:
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
    add_parameter_option(run, "VALUE", "set a notebook parameter")
    run.add_argument(
        "--out", default=None, help="run folder (new or empty); default runs/<timestamp>-<profile>"
    )
    run.add_argument("--kernel", default="python3", help="Jupyter kernel name")
    run.add_argument(
        "--cell-timeout", type=seconds_arg, default=None, metavar="S", help=CELL_TIMEOUT_HELP
    )


def _add_build_parser(sub) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    """The command line: run, params, data, build, book, sweep and ledger."""
    parser = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run_parser(sub)
    params = sub.add_parser("params", help="list a notebook's parameters with defaults and types")
    params.add_argument("notebook")
    data = sub.add_parser(
        "data", help="make sure datasets are available locally (offline first) and describe them"
    )
    data.add_argument("datasets", nargs="*", default=["fashion_mnist"])
    _add_build_parser(sub)
    book = sub.add_parser("book", help=website.__doc__.split("\n")[0])
    book.add_argument(
        "--out", default=None, help="build folder (the site goes to OUT/html; default book/_build)"
    )
    add_sweep_parser(sub)
    ledger = sub.add_parser(
        "ledger",
        help="print a run's claims ledger with q-values; with RUN2, the claims whose verdict "
        "differs (exit 1 when one is confirmed in one run and refuted in the other)",
    )
    ledger.add_argument(
        "runs",
        nargs="+",
        metavar="RUN",
        help="a run folder (with results/) or a folder of results JSON; a second RUN to compare "
        "with; with --pool, two or more runs at disjoint seed blocks",
    )
    ledger.add_argument(
        "--pool",
        action="store_true",
        help="decide every claim on the per-seed samples of all the RUNs together (same "
        "parameters, disjoint seeds)",
    )
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "params":
        cmd_params(args.notebook)
        return 0
    if args.command == "data":
        cmd_data(args.datasets)
        return 0
    if args.command == "build":
        return build_notebooks(args.notebooks, args.profile, not args.no_execute, args.cell_timeout)
    if args.command == "book":
        return website.cmd_book(args.out)
    if args.command == "sweep":
        return cmd_sweep(args)
    if args.command == "ledger":
        return cmd_ledger(args.runs, pool=args.pool)
    outcome = run_course(
        args.notebooks, args.profile, args.parameter, args.out, args.kernel, args.cell_timeout
    )
    print(outcome.message, file=sys.stdout if outcome.ok else sys.stderr)
    return outcome.exit_code


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run it; the exit code (0 ok, 1 failed, 2 refused, 124, 130)."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except (CLIError, ParameterError, DataFileError, DatasetUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before any notebook ran (e.g. while checking parameters)
        print("interrupted before any notebook ran; nothing was written", file=sys.stderr)
        return 130
