"""The course CLI: parameter listing, refusal of bad -p before anything runs, run folders and reports."""

import json
from pathlib import Path

import nbformat
import pytest

from course_utils.tools import catalogue, cli, runner

PARAMS = """profile: str = "auto"  # which profile
seed: int = 0  # the seed
lr: float | None = None  # learning rate
results_path: str | None = None  # where results go"""


def write_notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


GOOD = """from course_utils.results import Results
res = Results("good", results_path, profile)
res.metric("lr_seen", lr if lr is not None else -1.0)
res.compare("bigger is better", [0.02, 0.021, 0.019, 0.022], 0.005, unit="acc")
res.exact("the answer is 42", abs(6 * 7 - 42), 0)
res.save()"""

DECLARED = """import course_utils as cu
cfg = cu.setup(globals(), lr=cu.number(0, 1, low_open=True, optional=True))"""


def test_params_lists_names_types_defaults_and_help(tmp_path, capsys):
    nb = write_notebook(tmp_path / "n.ipynb", "pass")
    cli.main(["params", str(nb)])
    out = capsys.readouterr().out
    assert "| lr | float \\| None | None | learning rate |" in out
    assert [p.name for p in catalogue.notebook_parameters(nb)] == [
        "profile",
        "seed",
        "lr",
        "results_path",
    ]


@pytest.mark.parametrize(
    "pair, message",
    [
        (["lrr", "0.1"], "does not declare a parameter 'lrr'"),
        (["lr", "fast"], "declared as float | None but got 'fast'"),
        (["seed", "1.5"], "declared as int but got '1.5'"),
    ],
)
def test_bad_parameters_are_refused_before_anything_runs(tmp_path, capsys, pair, message):
    nb = write_notebook(tmp_path / "n.ipynb", "raise SystemExit('must not run')")
    out = tmp_path / "run"
    assert cli.main(["run", str(nb), "-p", *pair, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    "pair, message",
    [
        (["lr", "0"], "parameter 'lr' got 0.0; allowed: a finite number in (0, 1] or None"),
        (["lr", "1e999"], "parameter 'lr' got inf; allowed: a finite number in (0, 1]"),
        (["profile", "bogus"], "parameter 'profile' got 'bogus'"),
        (["seed", "-1"], "parameter 'seed' got -1; allowed: an integer >= 0"),
    ],
)
def test_out_of_range_values_are_refused_before_a_kernel_starts(tmp_path, capsys, pair, message):
    nb = write_notebook(tmp_path / "n.ipynb", DECLARED + "\nraise SystemExit('must not run')")
    out = tmp_path / "run"
    assert cli.main(["run", str(nb), "-p", *pair, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_values_are_coerced_to_the_declared_type():
    p = catalogue.Parameter("lr", "float | None", None, "")
    assert catalogue.coerce(p, "1", "nb") == 1.0 and isinstance(
        catalogue.coerce(p, "1", "nb"), float
    )
    assert catalogue.coerce(p, "None", "nb") is None
    assert (
        catalogue.coerce(catalogue.Parameter("dataset", "str", "x", ""), "mnist", "nb") == "mnist"
    )


def test_unknown_notebook_lists_the_known_ones(capsys):
    assert cli.main(["run", "99_nope"]) == 2
    assert "known notebooks: 00_setup_tensors_devices" in capsys.readouterr().err


def test_existing_run_folder_is_never_reused(tmp_path, capsys):
    nb = write_notebook(tmp_path / "n.ipynb", "pass")
    out = tmp_path / "run"
    out.mkdir()
    (out / "mine.txt").write_text("user data")
    assert cli.main(["run", str(nb), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "mine.txt").read_text() == "user data"


def test_default_run_folders_are_new_each_time(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "RUNS", tmp_path / "runs")
    first, second = runner.new_run_folder(None, "smoke"), runner.new_run_folder(None, "smoke")
    assert first != second and first.parent == second.parent == tmp_path / "runs"


def test_run_writes_executed_notebook_results_and_report(tmp_path):
    nb = write_notebook(tmp_path / "good.ipynb", GOOD)
    out = tmp_path / "run"
    assert (
        cli.main(["run", str(nb), "--profile", "smoke", "-p", "lr", "0.5", "--out", str(out)]) == 0
    )
    assert (out / "good.ipynb").is_file()
    result = json.loads((out / "results" / "good.json").read_text())
    assert result["metrics"] == {"lr_seen": 0.5} and result["profile"] == "smoke"
    report = (out / "report.md").read_text()
    assert "| good | ok |" in report and "the answer is 42" in report and "confirmed" in report
    assert "| +0.0205 +- 0.000645 acc (n=4) | 0.005 acc | confirmed |" in report
    assert (out / "claims.png").is_file() and "claims.png" in report
    assert json.loads((out / "status.json").read_text())["status"] == "ok"
    assert (out / "OK").is_file() and not (out / "INCOMPLETE").exists()  # the run's marker


def test_failure_names_notebook_and_cell_and_marks_the_folder(tmp_path, capsys):
    nb = write_notebook(tmp_path / "bad.ipynb", "x = 1\nraise ValueError('boom')")
    out = tmp_path / "run"
    assert cli.main(["run", str(nb), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "bad" in err and "ValueError: boom" in err and "cell" in err
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "failed" and status["failure"]["notebook"] == "bad"
    assert (out / "FAILED").is_file() and "**failed**" in (out / "report.md").read_text()
