"""Every notebook ran under the smoke profile (once, in the nbval run) and recorded metrics and
claims whose verdicts follow from their samples; the course CLI runs a real notebook end to end
into a run folder."""

import json

import pytest
from conclusions import verdict_problems
from conftest import selected_notebooks

from course_utils.tools.cli import main

pytestmark = pytest.mark.notebooks


def test_every_selected_notebook_recorded_results(smoke_results):
    stems = [nb.stem for nb in selected_notebooks()]
    assert stems, "no notebook selected"
    missing = [stem for stem in stems if stem not in smoke_results]
    assert not missing, f"these notebooks saved no results JSON: {missing}"
    for stem in stems:
        result = smoke_results[stem]
        assert result["profile"] == "smoke" and result["metrics"], stem
        assert all(claim["measured"] for claim in result["claims"]), stem


def test_every_smoke_verdict_follows_from_its_samples(smoke_results):
    """With one seed every comparison must be inconclusive and every exact claim decided by its
    error: the same replay as for the committed results (tests/test_conclusions.py)."""
    problems = [p for stem in sorted(smoke_results) for p in verdict_problems(smoke_results[stem])]
    assert not problems, "\n".join(problems)


def test_the_cli_runs_a_notebook_into_a_run_folder_and_marks_it_ok(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "07", "--profile", "smoke", "--out", str(out)]) == 0
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "ok" and status["notebooks"][0]["status"] == "ok"
    assert (out / "OK").is_file() and not (out / "INCOMPLETE").exists()
    assert "| 07_label_smoothing | ok |" in (out / "report.md").read_text()
    result = json.loads((out / "results" / "07_label_smoothing.json").read_text())
    assert result["profile"] == "smoke" and result["claims"]
