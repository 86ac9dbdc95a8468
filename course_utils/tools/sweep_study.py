"""A sweep's study: its storage, the claim lock, one trial, and the worker loop.

The study lives in an Optuna RDB storage: SQLite in the sweep folder by default (``study.db``), or
a shared ``postgresql://user@host:port/db`` URL so that workers on many machines join one study.
A trial whose worker died (same host: its process is gone; any host: no Optuna heartbeat for
``GRACE_S`` s) is marked FAIL and its grid point runs again; a trial whose notebook failed stays
FAIL with the notebook and cell.

Exactly-once grid points: GridSampler picks a point per trial, but two workers asking at the same
moment can get the same point, and it counts a FAIL point as visited forever. So every claim (ask
plus the suggestions) happens under a lock held across workers (a file lock next to the SQLite
file; a PostgreSQL advisory lock), and a grid point whose worker died is enqueued again
(``Study.enqueue_trial``, GridSampler's documented way to fix a trial's parameters).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import math
import os
import socket
import time
import warnings
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import optuna
import papermill as pm
import sqlalchemy
from optuna.trial import TrialState

from ..config import resolve_profile
from .catalogue import CLIError
from .execution import cell_timeout_for, execute_notebook
from .sweep_space import Space

SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg2", "postgresql+psycopg")
HEARTBEAT_S = 10  # Optuna records a running trial's heartbeat this often
GRACE_S = 60  # a RUNNING trial without a heartbeat for this long belongs to a dead worker
DEAD = "worker died"


class TrialFailed(Exception):
    """The trial's notebook failed or did not record the metric (recorded as FAIL)."""


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
    kwargs = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat
        return optuna.storages.RDBStorage(
            url, engine_kwargs=kwargs, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S
        )


def make_sampler(space: Space, seed: int):
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
    if trial.state == TrialState.FAIL:  # no "failure": failed by Optuna's heartbeat check
        return trial.user_attrs.get("failure") not in (DEAD, "duplicate", None)
    return trial.state in (TrialState.COMPLETE, TrialState.RUNNING, TrialState.PRUNED)


def stop_reason(study) -> str | None:
    return study.user_attrs.get("stopped")


# ---------------------------------------------------------------- one trial
def _suggest(trial, space: Space) -> dict[str, Any]:
    """The trial's parameters: a grid point or categorical choice, and a value in each range."""
    params = {}
    for name, values in space.grid.items():
        params[name] = trial.suggest_categorical(name, values)
    for name, r in space.ranges.items():
        if r["int"]:
            params[name] = trial.suggest_int(name, r["low"], r["high"], log=r["log"])
        else:
            params[name] = trial.suggest_float(name, r["low"], r["high"], log=r["log"])
    return params


def _execute(trial, manifest: Manifest, notebook: Path, params: dict[str, Any]) -> None:
    """Run the trial's notebook; a failure is recorded on the trial and raised as TrialFailed."""
    start = time.perf_counter()
    try:
        execute_notebook(
            manifest.notebook,
            str(notebook),
            params,
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


def _metric(trial, manifest: Manifest, results: Path) -> float:
    """The trial's value from its results JSON; a missing metric stops the whole study."""
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


def run_trial(trial, manifest: Manifest, folder: Path, release) -> float:
    """Suggest the parameters, release the claim lock, run the notebook, return the metric.

    The notebook runs through the course engine (``execution.execute_notebook``): every cell has
    the profile's time limit, so a stuck trial fails instead of hanging its worker."""
    space = manifest.search
    params = _suggest(trial, space)
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
    profile = {"profile": manifest.profile} if manifest.profile else {}
    _execute(
        trial,
        manifest,
        notebook,
        {**space.fixed, **params, **profile, "results_path": str(results)},
    )
    return _metric(trial, manifest, results)


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


def _open_study(manifest: Manifest, index: int):
    """``(study, storage)`` for worker ``index``, each worker with its own sampler seed."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # parameters were checked against the annotated cell; papermill cannot read `float | None`
    logging.getLogger("papermill").setLevel(logging.ERROR)
    os.environ.setdefault("COURSE_PROGRESS", "0")
    os.environ.setdefault("COURSE_BATCH", "1")
    storage = open_storage(manifest.storage)
    seed = zlib.crc32(manifest.study.encode()) + 7919 * index
    study = optuna.load_study(
        study_name=manifest.study, storage=storage, sampler=make_sampler(manifest.search, seed)
    )
    return study, storage


def _claim_grid_point(study, all_trials, points, release: Release, force_enqueue: bool) -> bool:
    """Under the lock: note the free grid points; False when none is left.

    GridSampler's own pick counts every finished point (FAIL too) and every running one as
    visited; when all it could pick is taken, a dead worker's point is queued again.
    """
    taken = {_key(t.params) for t in all_trials if counted(t)}
    free = [p for p in points if _key(p) not in taken]
    if not free:
        return False
    release.free = {_key(p) for p in free}
    sampler_seen = {
        _key(t.params)
        for t in all_trials
        if "grid_id" in t.system_attrs and t.state.name != "WAITING"
    }
    if force_enqueue or all(_key(p) in sampler_seen for p in free):
        study.enqueue_trial(free[0])
    return True


def worker(folder: Path, trials: int, index: int) -> int:
    """One worker: claim a trial under the lock, run it, repeat until the budget or grid is done."""
    manifest = Manifest.load(folder)
    study, storage = _open_study(manifest, index)
    points = manifest.search.grid_points() if manifest.search.sampler_name == "grid" else []
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
            if points and not _claim_grid_point(study, all_trials, points, release, force_enqueue):
                return 0
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
