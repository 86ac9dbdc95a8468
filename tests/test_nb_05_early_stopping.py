"""Notebook 05 (early stopping): smoke-run results and refused hyperparameters."""

from __future__ import annotations

import pytest

STEM = "05_early_stopping"


def test_metrics_are_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    for key in ("test_acc_last", "test_acc_best", "early_stopped_test_acc"):
        assert 0.1 < m[key] <= 1.0, key
    assert 1 <= m["best_epoch"] <= m["epochs"]
    assert 1 <= m["stop_epoch"] <= m["epochs"]
    assert m["epochs_saved"] == m["epochs"] - m["stop_epoch"]
    assert m["best_val_loss"] > 0


def test_claims_have_computed_verdicts(notebook_result) -> None:
    data = notebook_result(STEM)
    claims = {c["claim"]: c for c in data["claims"]}
    assert len(claims) == 2
    m = data["metrics"]
    main_claim = claims[
        "The early-stopped (best validation loss) checkpoint is at least as good as training to the end"
    ]
    assert main_claim["verdict"] == (
        "confirmed" if m["test_acc_best"] >= m["test_acc_last"] else "refuted"
    )
    for c in claims.values():
        assert c["verdict"] in ("confirmed", "refuted") and c["measured"]


@pytest.mark.parametrize(("name", "value"), [("patience", "0"), ("min_delta", "-0.01")])
def test_notebook_refuses_bad_settings_before_training(refused_run, name, value) -> None:
    refused_run("05", name, value)
