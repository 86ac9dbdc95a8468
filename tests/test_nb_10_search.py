"""Notebook 10 (hyperparameter search and tracking): smoke-run results and a refused parameter."""

from __future__ import annotations

import pytest

from course_utils.tools import cli

pytestmark = pytest.mark.notebooks  # runs the notebooks (nbval_run, refused_run)

STEM = "10_hyperparameter_search_and_tracking"
KINDS = ("tpe", "random", "grid", "tpe_noprune")


def test_searches_ran_and_chose_on_validation(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    for kind in KINDS:
        assert 0 < m[f"{kind}_best_val_loss"] < 2.3, kind  # better than uniform (log 10)
        assert m[f"{kind}_seconds"] > 0
    assert m["tpe_pick_test_acc"] > 0.3 and m["defaults_test_acc"] > 0.3  # chance is 0.1
    # no pruner: every trial runs every epoch; a pruner can only shorten trials
    assert m["tpe_noprune_epochs_run"] == m["trials"] * m["epochs"]
    assert m["tpe_epochs_run"] <= m["tpe_noprune_epochs_run"]


def test_tensorboard_events_and_the_script_agree_with_the_notebook(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    assert m["tensorboard_trials"] == m["trials"]  # one event folder per trial of the logged study
    assert m["trials"] <= m["tensorboard_val_points"] <= m["trials"] * m["epochs"]
    assert m["script_minus_notebook_val_loss"] < 1e-4  # same seed, same data: the same run


def test_every_claim_has_a_computed_verdict(notebook_result) -> None:
    claims = {c["claim"]: c for c in notebook_result(STEM)["claims"]}
    assert len(claims) == 5
    for key in ("defaults", "TPE beats random", "beats a grid", "saves time", "loses the best"):
        assert any(key in text for text in claims), key
    for c in claims.values():
        assert c["measured"]


@pytest.mark.parametrize(
    "name, value", [("trials", "2"), ("epochs", "1"), ("model_name", "resnet99")]
)
def test_bad_parameters_are_refused_before_a_kernel_starts(tmp_path, capsys, name, value) -> None:
    out = tmp_path / "run"
    assert cli.main(["run", "10", "--profile", "smoke", "-p", name, value, "--out", str(out)]) == 2
    assert f"parameter {name!r} got" in capsys.readouterr().err and not out.exists()
