"""Notebook 09 (ensembles, k-fold, TTA): smoke-run results and refused parameters."""

from __future__ import annotations

import pytest

from course_utils.claims import VERDICTS
from course_utils.tools.cli import main

STEM = "09_ensembles_kfold_tta"
METHODS = ("one", "ensemble", "kfold", "tta", "ensemble_tta")
CLAIMS = (
    "Soft voting usually beats hard voting",
    "An ensemble of different models beats its best member",
    "Bagging reduces variance",
    "Boosting reduces bias",
    "k-fold: a small k (3) wastes training data",
    "k-fold: a large k (5) multiplies training time",
    "TTA improves accuracy",
    "TTA with a transform never seen in training (vertical flip) can hurt accuracy",
    "Ensembles cost training time",
    "TTA costs inference time",
)


def test_cost_table_metrics_present_and_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    assert m["members"] >= 2 and m["folds"] >= 2
    for key in METHODS:
        assert 0.1 < m[f"{key}_test_acc"] <= 1, key  # better than chance (10 classes)
        assert m[f"{key}_train_s"] > 0 and m[f"{key}_inference_s"] > 0, key
    # the same models: TTA reuses member 0's training, the ensemble adds members to it
    assert m["tta_train_s"] == m["one_train_s"]
    assert m["ensemble_train_s"] > m["one_train_s"]
    assert m["ensemble_tta_inference_s"] > m["ensemble_inference_s"]
    assert 0 <= m["mean_disagreement"] <= 1
    assert m["fold_class_count_spread"] <= 1  # stratified folds keep class counts
    assert 0.1 < m["stacking_acc"] <= 1 and 0.1 < m["stacking_soft_vote_acc"] <= 1


def test_every_claim_is_recorded_with_a_computed_verdict(notebook_result) -> None:
    claims = {c["claim"]: c for c in notebook_result(STEM)["claims"]}
    assert set(claims) == set(CLAIMS)
    for c in claims.values():
        assert c["verdict"] in VERDICTS and c["measured"]
        assert c["min_effect"] > 0 and len(c["samples"]) >= 1
    if all(len(c["samples"]) == 1 for c in claims.values()):  # one seed (smoke) decides nothing
        assert {c["verdict"] for c in claims.values()} == {"inconclusive"}
    assert set(claims[CLAIMS[7]]["groups"]) == {"identity+vflip", "hflip+vflip"}


@pytest.mark.parametrize("name, value", [("folds", "1"), ("members", "1"), ("tta", "rotate")])
def test_cli_refuses_out_of_range_parameters_before_running(tmp_path, name, value) -> None:
    out = tmp_path / "r"
    assert main(["run", "09", "--profile", "smoke", "-p", name, value, "--out", str(out)]) == 2
    assert not out.exists()  # refused before a run folder (or a kernel) was made


@pytest.mark.notebooks
def test_notebook_refuses_more_folds_than_the_smallest_class(refused_run) -> None:
    failure = refused_run("09", "folds", "45")  # smoke: 400 training images, 40 per class
    assert "smallest class" in failure["error"]
