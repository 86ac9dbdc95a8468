"""Notebook 05 (early stopping): smoke-run results and refused hyperparameters."""

from __future__ import annotations

import pytest

from course_utils.claims import VERDICTS

STEM = "05_early_stopping"
CHECKPOINT = (
    "The early-stopped (best-validation-loss) checkpoint is better on the test set than the "
    "last epoch (source: 75.57% -> 76.22%)"
)
EAGER = "Validation loss fluctuates, so stopping at the first increase is premature"
RESUME = (
    "A run resumed from weights + optimizer + scheduler + RNG state continues exactly "
    "like an uninterrupted one"
)
RETRAIN = (
    "Retraining on training + validation data for the chosen epoch count beats the "
    "early-stopped checkpoint"
)


@pytest.mark.notebooks
def test_metrics_are_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    for key in ("test_acc_last", "test_acc_best", "early_stopped_test_acc", "retrained_test_acc"):
        assert 0.1 < m[key] <= 1.0, key
    assert 1 <= m["best_epoch"] <= m["epochs"]
    assert 1 <= m["stop_epoch"] <= m["epochs"]
    assert m["epochs_saved"] == m["epochs"] - m["stop_epoch"]
    assert m["best_val_loss"] > 0


@pytest.mark.notebooks
def test_claims_are_paired_comparisons_with_samples(notebook_result) -> None:
    data = notebook_result(STEM)
    claims = {c["claim"]: c for c in data["claims"]}
    assert set(claims) == {CHECKPOINT, EAGER, RESUME, RETRAIN}
    for c in claims.values():
        assert c["verdict"] in VERDICTS and c["measured"], c
    for name in (CHECKPOINT, EAGER, RETRAIN):  # one sample per seed, accuracy points
        c = claims[name]
        assert len(c["samples"]) == c["n"] >= 1 and c["min_effect"] == 0.5
        assert all(-100 <= s <= 100 for s in c["samples"])
        if c["n"] == 1:
            assert c["verdict"] == "inconclusive"  # one seed never decides
    assert claims[RESUME]["verdict"] == "confirmed"  # a resumed run is the same run


@pytest.mark.notebooks
def test_patience_that_can_never_trigger_is_refused_in_the_setup_cell(refused_run) -> None:
    refused_run("05", "patience", "10")  # smoke trains 5 epochs


@pytest.mark.parametrize(
    ("name", "value"), [("patience", "0"), ("min_delta", "-0.01"), ("model_name", "vgg")]
)
def test_cli_refuses_bad_values_before_a_kernel_starts(tmp_path, capsys, name, value) -> None:
    from course_utils.tools.cli import main

    out = tmp_path / "run"
    assert main(["run", "05", "--profile", "smoke", "-p", name, value, "--out", str(out)]) == 2
    assert f"parameter {name!r} got" in capsys.readouterr().err
    assert not out.exists()
