"""Notebook 02 (overfitting and validation): smoke-run results and refused parameters."""

from __future__ import annotations

import pytest

from course_utils.results import VERDICTS

STEM = "02_overfitting_and_validation"


def test_metrics_present_and_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    for key in (
        "sweet_spot_epoch",
        "best_val_loss",
        "best_val_acc",
        "final_train_loss",
        "final_val_loss",
        "final_train_acc",
        "final_val_acc",
        "test_acc_at_sweet_spot",
        "test_selection_optimism",
        "stratified_share_diff",
    ):
        assert key in m, key
    assert 1 <= m["sweet_spot_epoch"] <= m["epochs"]
    assert m["best_val_acc"] > 0.3 and m["test_acc_at_sweet_spot"] > 0.3  # chance is 0.1
    assert m["final_train_loss"] > 0 and m["best_val_loss"] <= m["final_val_loss"] + 1e-12
    assert m["stratified_share_diff"] < 1e-3  # stratified 8:2 split keeps class shares
    assert -1 < m["test_selection_optimism"] < 1


def test_every_claim_has_a_computed_verdict(notebook_result) -> None:
    claims = notebook_result(STEM)["claims"]
    texts = " ".join(c["claim"] for c in claims)
    assert len(claims) == 3
    assert "sweet spot" in texts and "fluctuates" in texts and "test set" in texts
    for c in claims:
        assert c["verdict"] in VERDICTS and c["measured"]


@pytest.mark.parametrize("name, value", [("train_size", "100000"), ("val_fraction", "1.0")])
def test_bad_hyperparameters_are_refused_before_training(refused_run, name, value) -> None:
    refused_run("02", name, value)
