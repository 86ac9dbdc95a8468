"""``python -m course_utils sweep``: run a notebook over a grid, or search its parameters, with Optuna.

Each trial is one papermill run of the notebook into the sweep folder (``trials/trial-N.ipynb``,
results in ``results/trial-N.json``); its value is ``--metric`` from that results JSON. The search
space is ``sweep_space``, the study, its storage and workers ``sweep_study``. ``--workers W``
starts W worker processes on the same study. Rerunning the same command (same ``--out``,
``--study`` and ``--storage``; ``--out`` defaults to ``runs/sweep-<study>``) resumes: finished
trials are kept, trials of dead workers run again.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # the sweep's plot is drawn to a file, never shown
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from .catalogue import (  # noqa: E402
    RUNS,
    CLIError,
    add_parameter_option,
    notebook_parameters,
    parse_overrides,
    resolve_notebook,
)
from .ledger import markdown_table  # noqa: E402
from .sweep_space import parse_space  # noqa: E402
from .sweep_study import (  # noqa: E402
    DEAD,
    GRACE_S,
    Manifest,
    check_storage,
    claim_lock,
    open_storage,
    reap_dead,
    stop_reason,
    worker,
)


def _worker_main(folder: Path, trials: int, index: int) -> None:
    sys.exit(worker(folder, trials, index))


def sweep_folder(out: str | None, study: str) -> Path:
    return Path(out) if out is not None else RUNS / f"sweep-{study}"


def _check_counts(args: argparse.Namespace) -> None:
    if args.trials is not None and args.trials < 1:
        raise CLIError(f"--trials got {args.trials}; allowed: an integer >= 1")
    if args.workers < 1:
        raise CLIError(f"--workers got {args.workers}; allowed: an integer >= 1")
    if not args.study or not args.study.strip():
        raise CLIError("--study needs a name")


def _storage_url(args: argparse.Namespace, folder: Path) -> str:
    """``--storage`` checked, or SQLite in the sweep folder; a relative SQLite path made absolute."""
    storage = args.storage or f"sqlite:///{(folder / 'study.db').resolve()}"
    check_storage(storage)
    if storage.startswith("sqlite:///") and not storage.startswith("sqlite:////"):
        storage = f"sqlite:///{Path(storage[len('sqlite:///') :]).resolve()}"  # workers agree
    return storage


def _check_resumable(folder: Path, manifest: Manifest) -> None:
    """A non-empty folder must hold this very sweep (nothing else is ever overwritten)."""
    if not (folder / "sweep.json").exists():
        raise CLIError(
            f"--out {str(folder)!r} already exists, is not empty and holds no sweep; "
            "choose a new folder (nothing was overwritten)"
        )
    old = Manifest.load(folder)
    if asdict(old) != asdict(manifest):
        diff = [k for k in asdict(old) if asdict(old)[k] != asdict(manifest)[k]]
        raise CLIError(
            f"{folder} holds a different sweep (differs in: {', '.join(diff)}); resume it "
            "with the same notebook, --study, --storage, --metric, --direction, --profile "
            "and -p values, or choose a new --out"
        )


def prepare(args: argparse.Namespace) -> tuple[Path, Manifest, bool]:
    """Check everything (before any trial) and create or reopen the sweep folder."""
    _check_counts(args)
    nb = resolve_notebook(args.notebook)
    if "results_path" not in {p.name for p in notebook_parameters(nb)}:
        raise CLIError(f"notebook {nb.stem} has no results_path parameter: nothing to read")
    if args.profile:
        parse_overrides([nb], [["profile", args.profile]])
    space = parse_space(nb, args.parameter)
    folder = sweep_folder(args.out, args.study)
    manifest = Manifest(
        notebook=str(nb),
        study=args.study,
        storage=_storage_url(args, folder),
        metric=args.metric,
        direction=args.direction,
        profile=args.profile,
        kernel=args.kernel,
        space=asdict(space),
    )
    resume = folder.exists() and any(folder.iterdir())
    if resume:
        _check_resumable(folder, manifest)
    return folder, manifest, resume


def _trial_budget(args: argparse.Namespace, manifest: Manifest) -> int:
    """``--trials``, at most the grid's size; a search over ranges must say how many."""
    space = manifest.search
    grid_size = len(space.grid_points()) if space.sampler_name == "grid" else None
    trials = args.trials or grid_size
    if trials is None:
        raise CLIError("a search over ranges needs --trials N")
    return min(trials, grid_size) if grid_size is not None else trials


def _create_study(manifest: Manifest):
    """Create the study (or load it to resume) and reap the trials of dead workers."""
    storage = open_storage(manifest.storage)  # connects (and creates the tables) now
    study = optuna.create_study(
        study_name=manifest.study,
        storage=storage,
        direction="maximize" if manifest.direction == "max" else "minimize",
        load_if_exists=True,
    )
    wanted = "MAXIMIZE" if manifest.direction == "max" else "MINIMIZE"
    if study.direction.name != wanted:
        raise CLIError(f"study {manifest.study!r} exists with direction {study.direction.name}")
    if not stop_reason(study):
        with claim_lock(manifest):
            reaped = reap_dead(study, storage)
        if reaped:
            print(f"marked trials {reaped} of dead workers as FAIL; their grid points run again")
    return study, storage


def _run_workers(folder: Path, trials: int, workers: int) -> list[int | None]:
    """Fork the workers and wait for them; SIGTERM or Ctrl-C stops them all. Their exit codes."""
    # forked workers inherit the imported modules (torch, papermill) instead of importing again
    context = multiprocessing.get_context("fork")
    procs = [
        context.Process(target=_worker_main, args=(folder, trials, i), name=f"sweep-worker-{i}")
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupted)  # a terminated sweep stops its workers
    try:
        for proc in procs:
            proc.join()
    except KeyboardInterrupt:
        for proc in procs:
            proc.terminate()
            proc.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return [proc.exitcode for proc in procs]


def run_sweep(args: argparse.Namespace) -> tuple[Path, bool, str]:
    """Create/resume the study, start the workers, write ``sweep.md``; ``(folder, ok, message)``."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder, manifest, _ = prepare(args)
    trials = _trial_budget(args, manifest)
    folder.mkdir(parents=True, exist_ok=True)
    manifest.save(folder)  # first, so that a sweep killed at any moment can be resumed
    for sub in ("trials", "results"):
        (folder / sub).mkdir(exist_ok=True)
    study, storage = _create_study(manifest)
    if stop_reason(study):
        return folder, False, f"study {manifest.study!r} was stopped: {stop_reason(study)}"
    storage.engine.dispose()  # no open database connection is inherited by the workers
    codes = _run_workers(folder, trials, args.workers)
    study = optuna.load_study(study_name=manifest.study, storage=storage)
    report = write_sweep_report(folder, study, manifest)
    if stop_reason(study):
        return folder, False, f"study stopped: {stop_reason(study)}"
    dead = [i for i, c in enumerate(codes) if c != 0]
    if dead:
        return folder, False, f"workers {dead} exited abnormally; rerun the same command to resume"
    return folder, True, f"report: {report}"


def _trial_row(t, folder: Path, metric: str) -> dict[str, Any]:
    """One row of ``sweep.md``: the trial's state, parameters, value, time, notebook and note."""
    nb = t.user_attrs.get("notebook", "")
    local = Path(nb).is_relative_to(folder.resolve()) if nb else False
    note = t.user_attrs.get("error", "")
    if t.state == TrialState.FAIL and not note:
        note = f"{DEAD} (no heartbeat for {GRACE_S} s)"
    if t.user_attrs.get("failed_cell") is not None:
        note = f"cell {t.user_attrs['failed_cell']}: {note}"
    return {
        "trial": t.number,
        "state": t.state.name,
        "parameters": ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in t.params.items()
        ),
        metric: t.value if t.value is not None else "-",
        "run time (s)": t.user_attrs.get("seconds", "-"),
        "notebook": str(Path(nb).relative_to(folder.resolve())) if local else nb or "-",
        "note": note.replace("|", "/")[:160],
    }


def write_sweep_report(folder: Path, study, manifest: Manifest) -> Path:
    """``sweep.md``: one row per trial, the best trial, and ``sweep.png`` (value against trial)."""
    trials = study.get_trials(deepcopy=False)
    rows = [_trial_row(t, folder, manifest.metric) for t in trials]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    lines = [
        f"# Sweep `{manifest.study}` of {manifest.notebook}",
        "",
        f"- storage: `{manifest.storage.split('@')[-1]}`",
        f"- metric: `{manifest.metric}` ({'higher' if manifest.direction == 'max' else 'lower'} "
        f"is better); sampler: {manifest.search.sampler_name}",
        f"- trials: {len(complete)} complete of {len(trials)}",
        "",
    ]
    if complete:
        best = study.best_trial
        lines += [
            f"**Best trial**: {best.number}, {manifest.metric} = {best.value:.6g}, "
            f"parameters {best.params}",
            "",
        ]
        if plot_sweep(complete, study, manifest, folder / "sweep.png"):
            lines += ["![value against trial](sweep.png)", ""]
    columns = ["trial", "state", "parameters", manifest.metric, "run time (s)", "notebook", "note"]
    lines += [markdown_table(rows, columns), ""]
    path = folder / "sweep.md"
    path.write_text("\n".join(lines))
    return path


def plot_sweep(complete, study, manifest: Manifest, path: Path) -> bool:
    numbers = [t.number for t in complete]
    values = [t.value for t in complete]
    pick = max if manifest.direction == "max" else min
    best = [pick(values[: i + 1]) for i in range(len(values))]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(numbers, values, "o", label="trial")
    ax.step(numbers, best, where="post", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(manifest.metric)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def add_sweep_parser(sub) -> argparse.ArgumentParser:
    """The ``sweep`` sub-command (added by ``cli.build_parser``)."""
    p = sub.add_parser(
        "sweep",
        help="run a notebook over a grid or search its parameters with Optuna (resumable)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("notebook", help="notebook name, stem or number (e.g. 07)")
    p.add_argument("--study", required=True, help="study name (the same name resumes or joins)")
    p.add_argument(
        "--storage",
        default=None,
        help="Optuna RDB URL; default sqlite:///<out>/study.db; "
        "postgresql://USER@HOST:PORT/DB for workers on many machines",
    )
    p.add_argument("--trials", type=int, default=None, help="trials in all (default: grid size)")
    p.add_argument("--workers", type=int, default=1, help="worker processes on this machine")
    p.add_argument("--profile", choices=["auto", "smoke", "cpu", "gpu"], default=None)
    p.add_argument("--metric", required=True, help="metric in the results JSON to optimize")
    p.add_argument("--direction", choices=["max", "min"], default="max")
    add_parameter_option(
        p, "VALUES", "VALUE (fixed), a,b,c (grid) or low:high[:log][:int] (range, TPE)"
    )
    p.add_argument(
        "--out",
        default=None,
        help="sweep folder (new, empty, or this sweep's to resume); default runs/sweep-<study>",
    )
    p.add_argument("--kernel", default="python3", help="Jupyter kernel name")
    return p


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the sweep; 0 when every trial ran, 1 when the study stopped or a worker died."""
    folder, ok, message = run_sweep(args)
    print(f"sweep folder: {folder}\n{message}", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
