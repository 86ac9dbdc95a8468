"""``python -m course_utils sweep``: grids run exactly once with 2 workers, killed workers resume,
bad input is refused before any trial, and a real PostgreSQL server holds a shared study."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from conftest import require

from course_utils.tools import cli

optuna = pytest.importorskip("optuna")

PARAMS = """profile: str = "auto"  # which profile
seed: int = 0  # the seed
x: float = 0.0  # the swept value
n: int = 1  # an integer
pause: float = 0.0  # seconds the notebook sleeps (to be caught while running)
flag: str = ""  # the first trial writes this file, then waits for FLAG.done (to be killed)
barrier: str = ""  # a folder: each trial waits there until two trials run at once
results_path: str | None = None  # where results go"""

# The notebook declares its specs like a course notebook (the CLI reads the declaration
# statically) but does not import course_utils, so each trial takes a kernel start, not a torch import.
BODY = """import json, os, time
def setup(namespace, **specs): pass  # stands in for cu.setup
def number(*args, **kwargs): pass
def integer(*args, **kwargs): pass
setup(globals(), x=number(-10, 10), n=integer(1, 9))
time.sleep(pause)
def wait_until(done):
    end = time.time() + 120
    while not done() and time.time() < end:
        time.sleep(0.1)
if flag:  # the first trial (and only it: os.link never replaces a file) names its worker
    mine = f"{flag}.{os.getpid()}"
    with open(mine, "w") as f:
        json.dump({"x": x, "worker": os.getppid()}, f)
    try:
        os.link(mine, flag)
        wait_until(lambda: os.path.exists(flag + ".done"))
    except FileExistsError:
        pass
if barrier:
    os.makedirs(barrier, exist_ok=True)
    open(os.path.join(barrier, str(x)), "w").close()
    wait_until(lambda: len(os.listdir(barrier)) >= 2)
metrics = {"score": -((x - 1.0) ** 2) + 0.01 * n}
if results_path:
    with open(results_path, "w") as f:
        json.dump({"notebook": "tiny", "profile": profile, "metrics": metrics, "claims": []}, f)"""


def write_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"), params, nbformat.v4.new_code_cell(BODY)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def sweep_args(nb: Path, out: Path, *extra: str, study: str = "s") -> list[str]:
    return ["sweep", str(nb), "--study", study, "--metric", "score", "--out", str(out), *extra]


def load(out: Path, study: str = "s", storage: str | None = None):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=study, storage=storage or f"sqlite:///{out}/study.db")


def peek_trials(out: Path) -> list[tuple[int, str, int | None]]:
    """(number, state, pid) of the trials, read through a read-only SQLite connection.

    Polling with ``optuna.load_study`` while the sweep creates its storage races with it: both
    would create the schema. A read-only connection never writes; before the tables exist -> []."""
    import sqlite3

    db = out / "study.db"
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            rows = con.execute("SELECT trial_id, number, state FROM trials").fetchall()
            pids = dict(
                con.execute(
                    "SELECT trial_id, value_json FROM trial_user_attributes WHERE key = 'pid'"
                ).fetchall()
            )
    except sqlite3.OperationalError:  # tables not created yet, or busy
        return []
    return [(number, state, pids.get(tid) and int(pids[tid])) for tid, number, state in rows]


def complete_points(study) -> list[float]:
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    return sorted(t.params["x"] for t in done)


def test_two_workers_run_every_grid_point_exactly_once(tmp_path, capsys):
    nb, out = write_notebook(tmp_path), tmp_path / "sweep"
    barrier = ["-p", "barrier", str(tmp_path / "barrier")]  # the first two trials run at once
    args = sweep_args(nb, out, "-p", "x", "0,0.5,1,2", "-p", "n", "2", "--workers", "2", *barrier)
    assert cli.main(args) == 0, capsys.readouterr().err
    study = load(out)
    assert len(study.trials) == 4 and complete_points(study) == [0.0, 0.5, 1.0, 2.0]
    assert len({t.user_attrs["pid"] for t in study.trials}) == 2  # both workers took trials
    assert study.best_trial.params["x"] == 1.0
    for t in study.trials:  # attributes: parameters, results JSON, executed notebook
        assert Path(t.user_attrs["results_path"]).is_file() and t.params["x"] in (0, 0.5, 1, 2)
        assert Path(t.user_attrs["notebook"]).is_file()
    report = (out / "sweep.md").read_text()
    assert "**Best trial**: " in report and report.count("| COMPLETE |") == 4
    assert (out / "sweep.png").is_file() and "trials/trial-0000.ipynb" in report
    # the same command again resumes: nothing left to run, nothing counted twice
    assert cli.main(args) == 0
    assert len(load(out).trials) == 4


def wait_for_file(path: Path, seconds: float = 180) -> dict | None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.2)
    return None


def test_killed_worker_then_rerun_completes_with_no_point_lost_or_repeated(tmp_path):
    """The first trial writes a flag file naming its worker and waits until the worker is
    killed, so the kill always lands mid-trial (no race with a trial that finishes first)."""
    nb, out, flag = write_notebook(tmp_path), tmp_path / "sweep", tmp_path / "flag.json"
    args = sweep_args(nb, out, "-p", "x", "0,1,2,3", "-p", "flag", str(flag), "--workers", "2")
    cmd = [sys.executable, "-m", "course_utils", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = wait_for_file(flag)
        assert started is not None, "no trial started"
        running = {pid: number for number, state, pid in peek_trials(out) if state == "RUNNING"}
        assert started["worker"] in running, (started, peek_trials(out))
        number = running[started["worker"]]
        os.kill(started["worker"], signal.SIGKILL)  # one worker dies mid-trial
    finally:
        Path(f"{flag}.done").touch()  # its orphaned kernel stops waiting
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "rerun the same command" in err
    assert cli.main(args) == 0  # rerun: resumes
    study = load(out)
    assert complete_points(study) == [0.0, 1.0, 2.0, 3.0]  # each point once, none lost
    killed = study.trials[number]
    assert killed.state.name == "FAIL" and "worker died" in killed.user_attrs["error"]
    assert "worker died" in (out / "sweep.md").read_text()


def test_a_whole_sweep_killed_resumes_on_rerun(tmp_path):
    nb, out = write_notebook(tmp_path), tmp_path / "sweep"
    args = sweep_args(nb, out, "-p", "x", "0,1,2", "-p", "pause", "1", "--workers", "1")
    cmd = [sys.executable, "-m", "course_utils", *args]
    log = tmp_path / "sweep-stderr.txt"
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, start_new_session=True, stderr=err)
    states, deadline = [], time.time() + 180
    while "COMPLETE" not in states and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
        states = [state for _, state, _ in peek_trials(out)]
    still_running = proc.poll() is None
    assert "COMPLETE" in states and still_running, (
        f"never caught mid-sweep: states {states}, exit {proc.poll()}, stderr:\n{log.read_text()[-2000:]}"
    )
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and its worker, as in a crash
    proc.wait()
    assert cli.main(args) == 0
    study = load(out)
    assert complete_points(study) == [0.0, 1.0, 2.0]  # every point once, none lost
    assert (
        sum(t.state.name == "FAIL" for t in study.trials) <= 1
    )  # the one killed mid-trial, if any


def test_ranges_run_through_tpe_and_stop_at_the_trial_budget(tmp_path):
    nb, out = write_notebook(tmp_path), tmp_path / "tpe"
    args = sweep_args(nb, out, "-p", "x", "0.1:3:log", "-p", "n", "1:4:int", "--trials", "3")
    assert cli.main(args) == 0
    study = load(out)
    assert len(study.trials) == 3 and all(t.state.name == "COMPLETE" for t in study.trials)
    assert all(0.1 <= t.params["x"] <= 3 and t.params["n"] in range(1, 5) for t in study.trials)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--storage", "mysql://u@h/db"], "unknown storage scheme 'mysql'"),
        (["--storage", "study.db"], "unknown storage scheme"),
        (["-p", "x", "1:0"], "malformed range '1:0'"),
        (["-p", "x", "1:2:cubic"], "malformed range '1:2:cubic'"),
        (["-p", "x", "a:b"], "must be numbers"),
        (["-p", "n", "1:4"], "add :int"),
        (["-p", "x", "0,,1"], "malformed grid '0,,1'"),
        (["-p", "x", "0,fast"], "declared as float but got 'fast'"),
        (["-p", "x", "1,20"], "parameter 'x' got 20.0; allowed: a finite number in [-10, 10]"),
        (["-p", "x", "0:50"], "parameter 'x' got 50.0"),
        (["-p", "y", "0,1"], "does not declare a parameter 'y'"),
        (["-p", "x", "0,1", "--trials", "0"], "--trials got 0"),
        (["-p", "x", "0,1", "--workers", "0"], "--workers got 0"),
        (["-p", "x", "0.1:2"], "needs --trials"),
    ],
)
def test_bad_input_is_refused_before_any_trial(tmp_path, capsys, extra, message):
    nb, out = write_notebook(tmp_path), tmp_path / "sweep"
    assert cli.main(sweep_args(nb, out, *extra)) == 2
    assert message in capsys.readouterr().err
    assert not (out / "trials").exists()


def test_a_metric_the_notebook_does_not_record_stops_the_study(tmp_path, capsys):
    nb, out = write_notebook(tmp_path), tmp_path / "sweep"
    args = ["sweep", str(nb), "--study", "m", "--metric", "acc", "--out", str(out)]
    assert cli.main([*args, "-p", "x", "0,1,2"]) == 1
    err = capsys.readouterr().err
    assert "does not record the metric 'acc'" in err and "metrics it records: score" in err
    assert len(load(out, "m").trials) == 1  # stopped after the first trial


def test_out_must_be_new_or_this_sweeps_folder(tmp_path, capsys):
    nb, out = write_notebook(tmp_path), tmp_path / "used"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    assert cli.main(sweep_args(nb, out, "-p", "x", "0,1")) == 2
    assert "holds no sweep" in capsys.readouterr().err


# ---------------------------------------------------------------- a real PostgreSQL server
def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with the server binaries (any version)."""
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "pg_ctl").exists()]
    return max(
        found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, default=None
    )


PG_BIN = postgres_bin()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*cmd: str) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ("runuser", "-u", "postgres", "--", *cmd)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL server on 127.0.0.1 (a temporary data folder, a free port).

    Skipped where PostgreSQL is missing, but failed under ``CI=true``: ``make setup`` installs it
    (Debian's postgresql: the server binaries and the 'postgres' user) and psycopg."""
    require(
        PG_BIN is not None,
        "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (make postgres)",
    )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        require(False, "PostgreSQL driver missing: pip install 'psycopg[binary]'")
    if os.geteuid() == 0:
        require(
            shutil.which("runuser") is not None,
            "running as root without runuser: cannot start PostgreSQL as 'postgres'",
        )
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            require(False, "running as root and there is no 'postgres' user to run the server")
    root = Path(tempfile.mkdtemp(prefix="course-pg-"))
    data, port = root / "data", _free_port()
    if os.geteuid() == 0:
        os.chown(root, pw.pw_uid, pw.pw_gid)
    init = _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    assert init.returncode == 0, init.stderr
    opts = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
    start = _as_postgres(
        str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"
    )
    assert start.returncode == 0, start.stderr + (root / "log").read_text()
    try:
        made = _as_postgres(
            str(PG_BIN.parent / "bin" / "createdb"), "-h", "127.0.0.1", "-p", str(port), "sweeps"
        )
        assert made.returncode == 0, made.stderr
        yield f"postgresql://postgres@127.0.0.1:{port}/sweeps"
    finally:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_one_study_on_a_real_postgresql_server(tmp_path, postgres_url):
    nb, out = write_notebook(tmp_path), tmp_path / "pg"
    barrier = ["-p", "barrier", str(tmp_path / "barrier")]  # the first two trials run at once
    args = sweep_args(
        nb, out, "-p", "x", "0,1,2,3", "--workers", "2", "--storage", postgres_url, *barrier
    )
    assert cli.main(args) == 0
    study = load(out, storage=postgres_url)
    assert complete_points(study) == [0.0, 1.0, 2.0, 3.0] and len(study.trials) == 4
    assert len({t.user_attrs["pid"] for t in study.trials}) == 2  # both workers took trials
    assert "postgres" not in (out / "sweep.md").read_text().split("\n")[2]  # no user in report


def test_a_trial_whose_worker_died_while_claiming_it_is_reaped(tmp_path):
    from course_utils.tools.sweep_study import DEAD, open_storage, reap_dead

    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(study_name="s", storage=storage)
    claimed = study.ask()  # RUNNING, but its worker died before naming itself (no pid)
    alive = study.ask()
    alive.set_user_attr("host", socket.gethostname())
    alive.set_user_attr("pid", os.getpid())  # this process: alive
    assert reap_dead(study, storage) == [claimed.number]
    states = {t.number: t.state.name for t in study.get_trials()}
    assert states == {claimed.number: "FAIL", alive.number: "RUNNING"}
    assert study.get_trials()[claimed.number].user_attrs["failure"] == DEAD
