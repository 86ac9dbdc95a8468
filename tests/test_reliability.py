"""Runs never hang and always say how they ended (issue 13).

Tiny notebooks written into tmp folders (never the course notebooks), so each test takes seconds:
SIGINT/SIGTERM of a running ``python -m course_utils run``, a killed kernel, a cell over its time
limit, refusals before a kernel starts, atomic writes, and a download from a silent server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from fixture_files import write_mnist_like
from test_cli import write_notebook

from course_utils.tools import cli, execution, runner
from course_utils.validation import ParameterError

REPO = Path(__file__).resolve().parent.parent
MARKERS = {"OK", "FAILED", "INTERRUPTED", "TIMED_OUT", "INCOMPLETE"}
DATA_PARAMS = """dataset: str = "mnist"  # which dataset
data_dir: str | None = None  # where its files are
results_path: str | None = None  # where results go"""


def sleepy(flag: Path) -> str:
    """A cell that writes its kernel's pid and connection file to ``flag``, then sleeps."""
    return f"""import json, os, time
from ipykernel import get_connection_file
info = {{"pid": os.getpid(), "connection_file": get_connection_file()}}
with open({str(flag)!r} + ".tmp", "w") as f:
    json.dump(info, f)
os.replace({str(flag)!r} + ".tmp", {str(flag)!r})
time.sleep(120)"""


def wait_for(flag: Path, seconds: float = 120) -> dict | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if flag.exists():
            return json.loads(flag.read_text())
        time.sleep(0.2)
    return None


def process_gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "\nState:\tZ" in state:  # a zombie has exited
            return True
        time.sleep(0.2)
    return False


def ended(out: Path, marker: str) -> dict:
    """Exactly one marker (``marker``), a report and a status.json; returns the status."""
    assert MARKERS & set(os.listdir(out)) == {marker}
    assert (out / "report.md").is_file()
    return json.loads((out / "status.json").read_text())


def cell_statuses(path: Path) -> list[str]:
    return [c.metadata.papermill["status"] for c in nbformat.read(path, as_version=4).cells]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_run_and_says_so(tmp_path, sig):
    flag = tmp_path / "kernel.json"
    nb = write_notebook(tmp_path / "sleepy.ipynb", sleepy(flag))
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "course_utils", "run", str(nb), "--out", str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        kernel = wait_for(flag)
        assert kernel is not None, "the sleeping cell never started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert f"INTERRUPTED (stopped by {sig.name}): notebook sleepy, cell 3" in err
    assert str(out) in err
    status = ended(out, "INTERRUPTED")
    assert status["status"] == "interrupted" and status["exit_code"] == 130
    assert status["notebooks"][0]["status"] == "interrupted"
    assert "**interrupted**" in (out / "report.md").read_text()
    # the running cell is not "completed"; the kernel is gone with its connection file
    assert cell_statuses(out / "sleepy.ipynb") == ["completed"] * 3 + ["interrupted"]
    assert process_gone(kernel["pid"])
    assert not Path(kernel["connection_file"]).exists()


def test_a_killed_kernel_fails_the_run_and_the_finished_notebook_is_reported(tmp_path, capsys):
    flag = tmp_path / "kernel.json"
    first = write_notebook(tmp_path / "first.ipynb", "print('done')")
    second = write_notebook(tmp_path / "second.ipynb", sleepy(flag))
    out = tmp_path / "run"

    def kill_kernel() -> None:
        kernel = wait_for(flag)
        if kernel is not None:
            os.kill(kernel["pid"], signal.SIGKILL)

    killer = threading.Thread(target=kill_kernel, daemon=True)
    killer.start()
    assert cli.main(["run", str(first), str(second), "--out", str(out)]) == 1
    killer.join(5)
    status = ended(out, "FAILED")
    assert [s["status"] for s in status["notebooks"]] == ["ok", "failed"]
    assert status["failure"]["notebook"] == "second" and status["failure"]["cell_index"] == 3
    assert "kernel died" in status["failure"]["error"]
    report = (out / "report.md").read_text()
    assert "| first | ok |" in report and "| second | failed |" in report
    assert "kernel died" in report
    err = capsys.readouterr().err
    assert "FAILED: notebook second, cell 3" in err and "Traceback" not in err
    assert cell_statuses(out / "second.ipynb")[-1] == "failed"


def test_a_cell_over_its_time_limit_times_the_run_out(tmp_path, capsys):
    nb = write_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(60)\nprint('late')")
    nbformat.write(nb_with_cell_after(nb), nb)
    out = tmp_path / "run"
    assert cli.main(["run", str(nb), "--out", str(out), "--cell-timeout", "2"]) == 124
    status = ended(out, "TIMED_OUT")
    assert status["status"] == "timed_out" and status["failure"]["cell_index"] == 3
    err = capsys.readouterr().err
    assert "TIMED OUT: notebook slow: cell 3 (`import time`)" in err
    assert "no progress for the cell timeout of 2 s" in err and "Traceback" not in err
    assert (out / "TIMED_OUT").read_text().startswith("TIMED OUT: notebook slow")
    # the stopped cell failed, the one after it never ran
    assert cell_statuses(out / "slow.ipynb") == ["completed"] * 3 + ["failed", "pending"]


@pytest.mark.parametrize(
    "body",
    [
        "import time\nend = time.time() + 6\nwhile time.time() < end:\n    sum(range(10_000))",
        "import time\nfor i in range(12):\n    print(i, flush=True)\n    time.sleep(0.5)",
    ],
    ids=["computing-silently", "printing-while-waiting"],
)
def test_a_slow_but_working_cell_outlives_its_stall_limit(tmp_path, capsys, body):
    """The limit is 2 s without progress; these cells run 6 s while computing or printing."""
    nb = write_notebook(tmp_path / "slow.ipynb", body)
    out = tmp_path / "run"
    assert cli.main(["run", str(nb), "--out", str(out), "--cell-timeout", "2"]) == 0
    assert ended(out, "OK")["status"] == "ok"
    assert set(cell_statuses(out / "slow.ipynb")) == {"completed"}


def test_a_cell_that_works_then_hangs_is_still_stopped(tmp_path, capsys):
    body = "import time\nfor i in range(6):\n    print(i, flush=True)\n    time.sleep(0.5)\ntime.sleep(60)"
    nb = write_notebook(tmp_path / "stuck.ipynb", body)
    out = tmp_path / "run"
    start = time.monotonic()
    assert cli.main(["run", str(nb), "--out", str(out), "--cell-timeout", "2"]) == 124
    assert time.monotonic() - start < 40, "stopped within a few stall windows, not after 60 s"
    assert ended(out, "TIMED_OUT")["failure"]["cell_index"] == 3
    assert "looks hung" in capsys.readouterr().err


def nb_with_cell_after(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print('never')"))
    return nb


def test_cell_timeouts_per_profile_and_override(monkeypatch):
    monkeypatch.delenv("COURSE_CELL_TIMEOUT", raising=False)
    assert execution.cell_timeout_for("smoke") == 120
    assert execution.cell_timeout_for("cpu") == 300
    assert execution.cell_timeout_for("gpu") == 600
    assert execution.cell_timeout_for("gpu", 60) == 60
    assert execution.cell_timeout_for("smoke", 0) is None  # 0: no limit
    monkeypatch.setenv("COURSE_CELL_TIMEOUT", "600")  # e.g. for a heavily shared machine
    assert execution.cell_timeout_for("smoke") == 600
    assert execution.cell_timeout_for("smoke", 5) == 5  # --cell-timeout still wins
    monkeypatch.setenv("COURSE_CELL_TIMEOUT", "soon")
    with pytest.raises(ParameterError, match="COURSE_CELL_TIMEOUT is 'soon'"):
        execution.cell_timeout_for("smoke")
    nbval = (REPO / "tests" / "conftest.py").read_text()
    assert '"--nbval-cell-timeout"' in nbval  # nbval runs are bounded too


# ---------------------------------------------------------------- refused before a kernel starts
def refused(tmp_path, capsys, args: list[str], body: str = "raise SystemExit('must not run')"):
    nb = tmp_path / "n.ipynb"
    write_notebook(nb, body)
    code = cli.main(["run", str(nb), *args])
    return code, capsys.readouterr().err


def test_out_pointing_at_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    code, err = refused(tmp_path, capsys, ["--out", str(target)])
    assert code == 2 and "is a file, not a folder" in err and "Traceback" not in err
    assert target.read_text() == "mine"


def test_results_path_is_refused_not_ignored(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["-p", "results_path", str(tmp_path / "r.json"), "--out", str(out)]
    code, err = refused(tmp_path, capsys, args)
    assert code == 2 and "results_path" in err and "--out" in err
    assert not out.exists()


def test_a_bad_course_profile_variable_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "bogus")
    out = tmp_path / "run"
    code, err = refused(tmp_path, capsys, ["--out", str(out)])
    assert code == 2 and "COURSE_PROFILE is 'bogus'" in err
    assert not out.exists()


def data_notebook(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(DATA_PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("raise SystemExit('must not run')")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, tmp_path / "d.ipynb")
    return tmp_path / "d.ipynb"


def test_a_partial_data_dir_is_refused_naming_the_missing_files(tmp_path, capsys):
    write_mnist_like(tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte").unlink()
    out = tmp_path / "run"
    args = ["run", str(data_notebook(tmp_path)), "-p", "data_dir", str(tmp_path / "mnist")]
    assert cli.main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "lacks files of dataset 'mnist': t10k-labels-idx1-ubyte missing" in err
    assert "Expected files:" in err and not out.exists()


def test_an_unknown_dataset_is_refused(tmp_path, capsys):
    args = ["run", str(data_notebook(tmp_path)), "-p", "dataset", "imagenet"]
    assert cli.main([*args, "--out", str(tmp_path / "run")]) == 2
    assert "parameter 'dataset' got 'imagenet'; allowed: one of" in capsys.readouterr().err


# ---------------------------------------------------------------- atomic writes, full disks
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_atomic_write_on_a_full_disk_keeps_the_old_file_and_says_how_much_is_needed(
    tmp_path, monkeypatch
):
    path = tmp_path / "nb.ipynb"
    path.write_text('{"old": true}')

    def mkstemp_on_a_full_disk(dir, prefix, suffix):  # writes fail with ENOSPC, like a full disk
        tmp = Path(dir) / f"{prefix}full{suffix}"
        tmp.write_text("")
        return os.open("/dev/full", os.O_WRONLY), str(tmp)

    monkeypatch.setattr(execution.tempfile, "mkstemp", mkstemp_on_a_full_disk)
    with pytest.raises(execution.DiskFullError, match=r"no space left .* \(2\.0 MB needed"):
        execution.atomic_write(path, "x" * 2_000_000)
    assert path.read_text() == '{"old": true}'
    assert os.listdir(tmp_path) == ["nb.ipynb"]  # no temporary file left behind


def test_a_full_disk_during_a_run_ends_it_failed_with_the_space_needed(
    tmp_path, capsys, monkeypatch
):
    nb = write_notebook(tmp_path / "n.ipynb", "print('hi')")
    out = tmp_path / "run"

    def full_disk(notebook, path):
        raise execution.DiskFullError(Path(path), 3_000_000)

    monkeypatch.setattr(execution, "write_notebook", full_disk)
    assert cli.main(["run", str(nb), "--out", str(out)]) == 1
    status = ended(out, "FAILED")
    assert "3.0 MB needed" in status["failure"]["error"]
    err = capsys.readouterr().err
    assert "FAILED: notebook n" in err and "no space left" in err and "Traceback" not in err


# ---------------------------------------------------------------- downloads
def test_a_download_from_a_silent_server_gives_up_with_a_clear_error(tmp_path, monkeypatch, capsys):
    """A server on 127.0.0.1 that accepts connections and never answers (loopback only)."""
    import torchvision.datasets as tvd

    from course_utils import data, datafiles

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)  # connections complete in the backlog; nothing is ever sent back
    url = f"http://127.0.0.1:{server.getsockname()[1]}/"
    monkeypatch.setattr(tvd.MNIST, "mirrors", [url])
    monkeypatch.setattr(datafiles, "DOWNLOAD_TIMEOUT", 1.0)
    monkeypatch.setattr(datafiles, "PROJECT_DATA", tmp_path / "data")
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    outcome: dict = {}

    def load() -> None:
        try:
            data.load_dataset("mnist")
        except Exception as exc:  # noqa: BLE001 - checked below
            outcome["error"] = exc

    worker = threading.Thread(target=load, daemon=True)
    try:
        worker.start()
        worker.join(60)  # a guard against a hang, not a speed requirement
    finally:
        server.close()
    assert not worker.is_alive(), "the download hung"
    error = outcome.get("error")
    assert isinstance(error, datafiles.DatasetUnavailableError), error
    message = str(error)
    assert "no answer from the server within 1 s" in message and url in message
    assert "Expected files: train-images-idx3-ubyte" in message and "Ways to get it" in message
    assert f"downloading mnist from {url} into {tmp_path / 'data'}" in capsys.readouterr().out


# ---------------------------------------------------------------- build
@pytest.mark.parametrize(
    "body, code, line, limit",
    [
        ("raise ValueError('boom')", 1, "FAILED: building b.ipynb: cell 1: ValueError: boom", "60"),
        ("import time\ntime.sleep(60)", 124, "TIMED OUT: building b.ipynb: cell 1", "2"),
    ],
    ids=["error", "timeout"],
)
def test_a_failed_build_leaves_the_stored_notebook_unchanged(
    tmp_path, capsys, body, code, line, limit
):
    """Only the timeout case needs a short limit; the error case gets one that any loaded
    machine meets, so ``print('first')`` can never time out instead of the error."""
    py = tmp_path / "b.py"
    py.write_text(f"# %%\nprint('first')\n\n# %%\n{body}\n")
    stored = tmp_path / "b.ipynb"
    stored.write_text("stored outputs")
    args = ["build", str(py), "--profile", "smoke", "--cell-timeout", limit]
    assert cli.main(args) == code
    err = capsys.readouterr().err
    assert line in err and "b.ipynb was left unchanged" in err and "Traceback" not in err
    assert stored.read_text() == "stored outputs"
    assert sorted(os.listdir(tmp_path)) == ["b.ipynb", "b.py"]  # no temporary file left


def test_an_unknown_kernel_is_refused(tmp_path, capsys):
    code, err = refused(tmp_path, capsys, ["--kernel", "no-such-kernel"])
    assert code == 2 and "'no-such-kernel' is not an installed Jupyter kernel" in err


def test_an_error_in_the_runner_itself_is_recorded(tmp_path, capsys, monkeypatch):
    nb = write_notebook(tmp_path / "n.ipynb", "print('hi')")
    out = tmp_path / "run"

    def broken(*args, **kwargs):
        raise RuntimeError("runner bug")

    monkeypatch.setattr(runner, "execute_notebook", broken)
    assert cli.main(["run", str(nb), "--out", str(out)]) == 1
    status = ended(out, "FAILED")
    assert "the runner failed: RuntimeError: runner bug" in status["failure"]["error"]
    assert "Traceback" in (out / "runner-error.txt").read_text()
    err = capsys.readouterr().err
    assert "FAILED: notebook n: the runner failed" in err and "Traceback" not in err
