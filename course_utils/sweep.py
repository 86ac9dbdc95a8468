"""``python -m course_utils sweep``: run a notebook over a grid, or search its parameters, with Optuna.

Each trial is one papermill run of the notebook into the sweep folder (``trials/trial-N.ipynb``,
results in ``results/trial-N.json``); its value is ``--metric`` from that results JSON. The study
lives in an Optuna RDB storage: SQLite in the sweep folder by default (``study.db``), or a shared
``postgresql://user@host:port/db`` URL so that workers on many machines join one study.

- ``-p NAME VALUE``: fixed for every trial. ``-p NAME a,b,c``: a grid (Optuna's ``GridSampler``;
  for a comma-separated ``names`` parameter separate the alternatives with ``|``).
  ``-p NAME low:high[:log][:int]``: a range, searched with TPE (any grid parameters then become
  TPE categorical choices).
- ``--workers W`` starts W worker processes on the same study.
- Rerunning the same command (same ``--out``, ``--study`` and ``--storage``; ``--out`` defaults to
  ``runs/sweep-<study>``) resumes: finished trials are kept; trials whose worker died (same host:
  its process is gone; any host: no Optuna heartbeat for ``GRACE_S`` s) are marked FAIL and their
  grid points run again; trials whose notebook failed stay FAIL with the notebook and cell.

Exactly-once grid points: GridSampler picks a point per trial, but two workers asking at the same
moment can get the same point, and it counts a FAIL point as visited forever. So every claim (ask
plus the suggestions) happens under a lock held across workers (a file lock next to the SQLite
file; a PostgreSQL advisory lock), and a grid point whose worker died is enqueued again
(``Study.enqueue_trial``, GridSampler's documented way to fix a trial's parameters).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import json
import logging
import math
import multiprocessing
import os
import signal
import socket
import sys
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .cli import (
    RUNS,
    CLIError,
    coerce,
    notebook_parameters,
    notebook_specs,
    parse_overrides,
    resolve_notebook,
)
from .results import markdown_table

SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg2", "postgresql+psycopg")
HEARTBEAT_S = 10  # Optuna records a running trial's heartbeat this often
GRACE_S = 60  # a RUNNING trial without a heartbeat for this long belongs to a dead worker
DEAD = "worker died"


class TrialFailed(Exception):
    """The trial's notebook failed or did not record the metric (recorded as FAIL)."""


# ---------------------------------------------------------------- the search space
@dataclass
class Space:
    """Fixed values, grids and ranges of the sweep's parameters (JSON-serializable)."""

    fixed: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, dict[str, Any]] = field(default_factory=dict)  # low, high, log, int

    @property
    def sampler_name(self) -> str:
        return "tpe" if self.ranges else "grid"

    def grid_points(self) -> list[dict[str, Any]]:
        import itertools

        names = sorted(self.grid)
        return [dict(zip(names, v)) for v in itertools.product(*(self.grid[n] for n in names))]


def _parse_range(name: str, raw: str, annotation: str, notebook: str) -> dict[str, Any]:
    parts = raw.split(":")
    flags = [p.strip().lower() for p in parts[2:]]
    bad = [f for f in flags if f not in ("log", "int")]
    if len(parts) < 2 or bad or len(set(flags)) != len(flags):
        raise CLIError(
            f"malformed range {raw!r} for parameter {name!r}: write LOW:HIGH, LOW:HIGH:log, "
            "LOW:HIGH:int or LOW:HIGH:int:log (e.g. 1e-4:1e-1:log, 2:8:int)"
        )
    try:
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise CLIError(
            f"malformed range {raw!r} for parameter {name!r}: {parts[0]!r} and {parts[1]!r} "
            "must be numbers"
        ) from None
    is_int, is_log = "int" in flags, "log" in flags
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise CLIError(f"malformed range {raw!r} for parameter {name!r}: need LOW < HIGH, finite")
    if is_log and low <= 0:
        raise CLIError(f"malformed range {raw!r} for parameter {name!r}: a log range needs LOW > 0")
    types = {t.strip() for t in annotation.split("|")}
    if is_int:
        if low != int(low) or high != int(high):
            raise CLIError(f"malformed range {raw!r} for parameter {name!r}: :int needs integers")
        if "int" not in types:
            raise CLIError(
                f"parameter {name!r} of {notebook} is declared as {annotation}; "
                f"an :int range needs an int parameter"
            )
        low, high = int(low), int(high)
    elif "float" not in types:
        hint = " (add :int, e.g. 2:8:int)" if "int" in types else ""
        raise CLIError(
            f"parameter {name!r} of {notebook} is declared as {annotation}; "
            f"a range {raw!r} needs a float parameter{hint}"
        )
    return {"low": low, "high": high, "log": is_log, "int": is_int}


def parse_space(notebook: Path, pairs: list[list[str]]) -> Space:
    """Sort every ``-p NAME VALUES`` into fixed / grid / range and check it against the notebook.

    Names and types come from the parameters cell, allowed values from the notebook's
    ``setup(...)`` declaration (both ends of a range are checked), all before any trial runs.
    """
    declared = {p.name: p for p in notebook_parameters(notebook)}
    specs = notebook_specs(notebook)
    space, seen = Space(), set()
    for name, raw in pairs:
        if name in seen:
            raise CLIError(f"parameter {name!r} is given twice")
        seen.add(name)
        if name not in declared:
            raise CLIError(
                f"notebook {notebook.stem} does not declare a parameter {name!r}; "
                f"it declares: {', '.join(declared)}"
            )
        if name == "results_path":
            raise CLIError("results_path is set by the sweep for every trial")
        param, spec = declared[name], specs.get(name)
        sep = "|" if spec is not None and spec.kind == "names" else ","
        numeric = any(t in param.allowed for t in (int, float))
        if sep in raw:
            items = [s.strip() for s in raw.split(sep)]
            if len(items) < 2 or not all(items):
                raise CLIError(f"malformed grid {raw!r} for parameter {name!r}: empty value")
            values = [coerce(param, s, notebook.stem) for s in items]
            if len(set(map(repr, values))) != len(values):
                raise CLIError(f"malformed grid {raw!r} for parameter {name!r}: repeated value")
            space.grid[name] = values
        elif ":" in raw and numeric:
            space.ranges[name] = _parse_range(name, raw, param.annotation, notebook.stem)
            values = [space.ranges[name]["low"], space.ranges[name]["high"]]
        else:
            values = [coerce(param, raw, notebook.stem)]
            space.fixed[name] = values[0]
        if spec is not None:
            for v in values:
                spec.check(name, v)
    return space


def check_storage(url: str) -> str:
    """The URL's scheme must be one the sweep knows; returns it."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SCHEMES:
        raise CLIError(
            f"unknown storage scheme {scheme or url!r} in --storage {url!r}; use "
            "sqlite:///PATH/study.db (one machine) or postgresql://USER@HOST:PORT/DB (many machines)"
        )
    if scheme == "sqlite" and url.rstrip("/") in ("sqlite:", "sqlite:///:memory:"):
        raise CLIError("--storage sqlite needs a file (workers cannot share an in-memory database)")
    if scheme.startswith("postgresql"):
        try:
            if scheme == "postgresql+psycopg2":
                import psycopg2  # noqa: F401
            else:  # SQLAlchemy 2.1's default PostgreSQL driver is psycopg (version 3)
                import psycopg  # noqa: F401
        except ImportError:
            raise CLIError(
                "PostgreSQL storage needs its Python driver: pip install 'psycopg[binary]' "
                "(make setup installs it)"
            ) from None
    return scheme


# ---------------------------------------------------------------- storage, study, lock
@dataclass
class Manifest:
    """What identifies a sweep; a rerun must match it to resume (``sweep.json``)."""

    notebook: str
    study: str
    storage: str
    metric: str
    direction: str
    profile: str | None
    kernel: str
    space: dict[str, Any]

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        return cls(**json.loads((folder / "sweep.json").read_text()))

    def save(self, folder: Path) -> None:
        (folder / "sweep.json").write_text(json.dumps(asdict(self), indent=2))

    @property
    def search(self) -> Space:
        return Space(**self.space)


def open_storage(url: str):
    import warnings

    import optuna

    kwargs = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat
        return optuna.storages.RDBStorage(
            url, engine_kwargs=kwargs, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S
        )


def make_sampler(space: Space, seed: int):
    import optuna

    if space.sampler_name == "grid":
        return optuna.samplers.GridSampler(space.grid, seed=0)  # the same order in every worker
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


@contextlib.contextmanager
def claim_lock(manifest: Manifest):
    """One worker at a time claims a trial: a file lock (SQLite), an advisory lock (PostgreSQL)."""
    if manifest.storage.startswith("sqlite"):
        path = Path(manifest.storage.split(":///", 1)[1] + ".lock")
        with open(path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    import sqlalchemy

    key = zlib.crc32(f"course_utils sweep {manifest.study}".encode())
    engine = sqlalchemy.create_engine(manifest.storage, poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
        try:
            yield
        finally:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    engine.dispose()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (killed, not yet reaped by its parent) is dead too
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


def reap_dead(study, storage) -> list[int]:
    """Mark RUNNING trials whose worker process on this host is gone as FAIL (under the lock),
    and trials whose worker died while claiming them (no pid recorded yet).

    Workers on other hosts are covered by Optuna's heartbeat: ``study.optimize`` fails trials
    without a heartbeat for ``GRACE_S`` seconds before each new trial.
    """
    import optuna
    from optuna.trial import TrialState

    host, reaped = socket.gethostname(), []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = t.user_attrs
        # A worker names itself (host, pid) before it releases the lock, so a RUNNING trial with
        # no pid, seen under the lock, was created by a worker that died while claiming it.
        if "pid" in attrs and (attrs.get("host") != host or _alive(int(attrs["pid"]))):
            continue
        where = f"pid {attrs['pid']} on {host}" if "pid" in attrs else "while claiming the trial"
        storage.set_trial_user_attr(t._trial_id, "failure", DEAD)
        storage.set_trial_user_attr(
            t._trial_id,
            "error",
            f"{DEAD} ({where}) while running {attrs.get('notebook', '?')}",
        )
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
            reaped.append(t.number)
    return reaped


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def counted(trial) -> bool:
    """Trials that use the budget: finished ones, running ones, and notebook failures."""
    from optuna.trial import TrialState

    if trial.state == TrialState.FAIL:  # no "failure": failed by Optuna's heartbeat check
        return trial.user_attrs.get("failure") not in (DEAD, "duplicate", None)
    return trial.state in (TrialState.COMPLETE, TrialState.RUNNING, TrialState.PRUNED)


def stop_reason(study) -> str | None:
    return study.user_attrs.get("stopped")


# ---------------------------------------------------------------- one trial
def run_trial(trial, manifest: Manifest, folder: Path, release) -> float:
    """Suggest the parameters, release the claim lock, run the notebook, return the metric.

    The notebook runs through the course engine (``execution.execute_notebook``): every cell has
    the profile's time limit, so a stuck trial fails instead of hanging its worker."""
    import papermill as pm

    from .config import resolve_profile
    from .execution import cell_timeout_for, execute_notebook

    space = manifest.search
    params = {}
    for name, values in space.grid.items():
        params[name] = trial.suggest_categorical(name, values)
    for name, r in space.ranges.items():
        if r["int"]:
            params[name] = trial.suggest_int(name, r["low"], r["high"], log=r["log"])
        else:
            params[name] = trial.suggest_float(name, r["low"], r["high"], log=r["log"])
    notebook = folder / "trials" / f"trial-{trial.number:04d}.ipynb"
    results = folder / "results" / f"trial-{trial.number:04d}.json"
    for key, value in (
        ("host", socket.gethostname()),
        ("pid", os.getpid()),
        ("started", time.time()),
        ("notebook", str(notebook)),
        ("results_path", str(results)),
    ):
        trial.set_user_attr(key, value)
    duplicate = space.sampler_name == "grid" and not release.fresh(params)
    release()
    if duplicate:
        trial.set_user_attr("failure", "duplicate")
        raise TrialFailed(f"grid point {params} is already taken; not run again")
    start = time.perf_counter()
    try:
        execute_notebook(
            manifest.notebook,
            str(notebook),
            {
                **space.fixed,
                **params,
                **({"profile": manifest.profile} if manifest.profile else {}),
                "results_path": str(results),
            },
            cwd=str(Path(manifest.notebook).parent),
            kernel=manifest.kernel,
            cell_timeout=cell_timeout_for(resolve_profile(manifest.profile or "auto")),
        )
    except pm.PapermillExecutionError as exc:
        trial.set_user_attr("failure", "notebook")
        trial.set_user_attr("failed_cell", exc.cell_index)
        trial.set_user_attr("error", f"{exc.ename}: {exc.evalue}"[:500])
        raise TrialFailed(f"{notebook.name} cell {exc.cell_index}: {exc.ename}") from None
    except Exception as exc:  # a dead kernel, a cell timeout, an unreadable notebook
        trial.set_user_attr("failure", "notebook")
        trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
        raise TrialFailed(f"{notebook.name}: {type(exc).__name__}") from None
    finally:
        trial.set_user_attr("seconds", round(time.perf_counter() - start, 2))
    metrics = json.loads(results.read_text())["metrics"] if results.exists() else {}
    value = metrics.get(manifest.metric)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        what = "does not record" if value is None else f"records a non-numeric {value!r} as"
        message = (
            f"notebook {Path(manifest.notebook).stem} {what} the metric {manifest.metric!r}; "
            f"metrics it records: {', '.join(sorted(metrics)) or 'none'}"
        )
        trial.set_user_attr("failure", "metric")
        trial.set_user_attr("error", message)
        trial.study.set_user_attr("stopped", message)
        raise TrialFailed(message)
    return float(value)


class Release:
    """Releases the claim lock once (inside the objective, or after ``optimize`` returns)."""

    def __init__(self, stack: contextlib.ExitStack, free: set[str]) -> None:
        self.stack, self.free, self.done = stack, free, False

    def fresh(self, params: dict[str, Any]) -> bool:
        return _key(params) in self.free

    def __call__(self) -> None:
        if not self.done:
            self.done = True
            self.stack.close()


def _worker_main(folder: Path, trials: int, index: int) -> None:
    sys.exit(worker(folder, trials, index))


def worker(folder: Path, trials: int, index: int) -> int:
    """One worker: claim a trial under the lock, run it, repeat until the budget or grid is done."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # parameters were checked against the annotated cell; papermill cannot read `float | None`
    logging.getLogger("papermill").setLevel(logging.ERROR)
    os.environ.setdefault("COURSE_PROGRESS", "0")
    os.environ.setdefault("COURSE_BATCH", "1")
    manifest = Manifest.load(folder)
    space = manifest.search
    storage = open_storage(manifest.storage)
    study = optuna.load_study(
        study_name=manifest.study,
        storage=storage,
        sampler=make_sampler(space, seed=zlib.crc32(manifest.study.encode()) + 7919 * index),
    )
    points = space.grid_points() if space.sampler_name == "grid" else []
    force_enqueue = False
    while True:
        stack = contextlib.ExitStack()
        stack.enter_context(claim_lock(manifest))
        release = Release(stack, set())
        try:
            if stop_reason(study):
                return 1
            reap_dead(study, storage)
            all_trials = study.get_trials(deepcopy=False)
            if sum(counted(t) for t in all_trials) >= trials:
                return 0
            if points:
                taken = {_key(t.params) for t in all_trials if counted(t)}
                free = [p for p in points if _key(p) not in taken]
                if not free:
                    return 0
                release.free = {_key(p) for p in free}
                # GridSampler's own pick counts every finished point (FAIL too) and every running
                # one as visited; when all it could pick is taken, re-queue a dead worker's point.
                sampler_seen = {
                    _key(t.params)
                    for t in all_trials
                    if "grid_id" in t.system_attrs and t.state.name != "WAITING"
                }
                if force_enqueue or all(_key(p) in sampler_seen for p in free):
                    study.enqueue_trial(free[0])
                    force_enqueue = False
            before = len(all_trials)
            study.optimize(
                functools.partial(run_trial, manifest=manifest, folder=folder, release=release),
                n_trials=1,
                catch=(TrialFailed,),
            )
        finally:
            release()
        last = study.get_trials(deepcopy=False)[before:]
        force_enqueue = any(t.user_attrs.get("failure") == "duplicate" for t in last)


# ---------------------------------------------------------------- the sweep command
def sweep_folder(out: str | None, study: str) -> Path:
    return Path(out) if out is not None else RUNS / f"sweep-{study}"


def prepare(args: argparse.Namespace) -> tuple[Path, Manifest, bool]:
    """Check everything (before any trial) and create or reopen the sweep folder."""
    if args.trials is not None and args.trials < 1:
        raise CLIError(f"--trials got {args.trials}; allowed: an integer >= 1")
    if args.workers < 1:
        raise CLIError(f"--workers got {args.workers}; allowed: an integer >= 1")
    if not args.study or not args.study.strip():
        raise CLIError("--study needs a name")
    nb = resolve_notebook(args.notebook)
    if "results_path" not in {p.name for p in notebook_parameters(nb)}:
        raise CLIError(f"notebook {nb.stem} has no results_path parameter: nothing to read")
    if args.profile:
        parse_overrides([nb], [["profile", args.profile]])
    space = parse_space(nb, args.parameter)
    folder = sweep_folder(args.out, args.study)
    storage = args.storage or f"sqlite:///{(folder / 'study.db').resolve()}"
    check_storage(storage)
    if storage.startswith("sqlite:///") and not storage.startswith("sqlite:////"):
        storage = f"sqlite:///{Path(storage[len('sqlite:///') :]).resolve()}"  # workers agree
    manifest = Manifest(
        notebook=str(nb),
        study=args.study,
        storage=storage,
        metric=args.metric,
        direction=args.direction,
        profile=args.profile,
        kernel=args.kernel,
        space=asdict(space),
    )
    resume = folder.exists() and any(folder.iterdir())
    if resume:
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
    return folder, manifest, resume


def run_sweep(args: argparse.Namespace) -> tuple[Path, bool, str]:
    """Create/resume the study, start the workers, write ``sweep.md``; ``(folder, ok, message)``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder, manifest, resume = prepare(args)
    space = manifest.search
    grid_size = len(space.grid_points()) if space.sampler_name == "grid" else None
    trials = args.trials or grid_size
    if trials is None:
        raise CLIError("a search over ranges needs --trials N")
    if grid_size is not None:
        trials = min(trials, grid_size)
    folder.mkdir(parents=True, exist_ok=True)
    manifest.save(folder)  # first, so that a sweep killed at any moment can be resumed
    for sub in ("trials", "results"):
        (folder / sub).mkdir(exist_ok=True)
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
    if stop_reason(study):
        return folder, False, f"study {manifest.study!r} was stopped: {stop_reason(study)}"
    with claim_lock(manifest):
        reaped = reap_dead(study, storage)
    if reaped:
        print(f"marked trials {reaped} of dead workers as FAIL; their grid points run again")
    storage.engine.dispose()  # no open database connection is inherited by the workers
    # forked workers inherit the imported modules (torch, papermill) instead of importing again
    context = multiprocessing.get_context("fork")
    procs = [
        context.Process(target=_worker_main, args=(folder, trials, i), name=f"sweep-worker-{i}")
        for i in range(args.workers)
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
    codes = [proc.exitcode for proc in procs]
    study = optuna.load_study(study_name=manifest.study, storage=storage)
    report = write_sweep_report(folder, study, manifest)
    if stop_reason(study):
        return folder, False, f"study stopped: {stop_reason(study)}"
    dead = [i for i, c in enumerate(codes) if c != 0]
    if dead:
        return folder, False, f"workers {dead} exited abnormally; rerun the same command to resume"
    return folder, True, f"report: {report}"


def write_sweep_report(folder: Path, study, manifest: Manifest) -> Path:
    """``sweep.md``: one row per trial, the best trial, and ``sweep.png`` (value against trial)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    rows = []
    for t in trials:
        nb = t.user_attrs.get("notebook", "")
        local = Path(nb).is_relative_to(folder.resolve()) if nb else False
        note = t.user_attrs.get("error", "")
        if t.state == TrialState.FAIL and not note:
            note = f"{DEAD} (no heartbeat for {GRACE_S} s)"
        if t.user_attrs.get("failed_cell") is not None:
            note = f"cell {t.user_attrs['failed_cell']}: {note}"
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name,
                "parameters": ", ".join(
                    f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in t.params.items()
                ),
                manifest.metric: t.value if t.value is not None else "-",
                "run time (s)": t.user_attrs.get("seconds", "-"),
                "notebook": str(Path(nb).relative_to(folder.resolve())) if local else nb or "-",
                "note": note.replace("|", "/")[:160],
            }
        )
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

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


def add_parser(sub) -> argparse.ArgumentParser:
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
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUES"),
        help="VALUE (fixed), a,b,c (grid) or low:high[:log][:int] (range, TPE)",
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


if __name__ == "__main__":  # a worker process: python -m course_utils.sweep FOLDER TRIALS INDEX
    sys.exit(worker(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
