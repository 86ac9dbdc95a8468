"""Notebook 05 (early stopping): smoke-run results and refused hyperparameters."""

from __future__ import annotations

import pytest

from course_utils.claims import VERDICTS
from course_utils.paired import MIN_EFFECTS

STEM = "05_early_stopping"
CLEAN, NOISY, SHORT = "overfitting, clean labels", "overfitting, noisy labels", "short budget"
REGIMES = (CLEAN, NOISY, SHORT)
SLUGS = ("overfitting_clean_labels", "overfitting_noisy_labels", "short_budget")
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
ACROSS = "Early stopping improves test accuracy, whatever the regime"
NOISY_CLAIM = "Early stopping improves held-out accuracy when the model memorizes noisy labels"
CLEAN_CLAIM = "Early stopping improves held-out accuracy when the model overfits clean labels"
LOSS = "Early stopping lowers the held-out loss when the model overfits clean labels"


def claims_of(data: dict) -> dict[str, dict]:
    return {c["claim"]: c for c in data["claims"]}


@pytest.mark.notebooks
def test_metrics_are_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    for key in ("test_acc_last", "test_acc_best", "early_stopped_test_acc", "retrained_test_acc"):
        assert 0.1 < m[key] <= 1.0, key
    for slug in SLUGS:
        for key in ("test_acc_last", "test_acc_early_stopped"):
            assert 0.1 < m[f"{key}_{slug}"] <= 1.0, (key, slug)
    for slug in SLUGS[:2]:  # the SWA-style average of late epochs, overfitting regimes only
        assert 0.1 < m[f"test_acc_averaged_{slug}"] <= 1.0, slug
    assert m["test_acc_last"] == pytest.approx(m["test_acc_last_overfitting_clean_labels"])
    assert 1 <= m["best_epoch"] <= m["epochs"]
    assert 1 <= m["stop_epoch"] <= m["epochs"]
    assert m["epochs_saved"] == m["epochs"] - m["stop_epoch"]
    assert m["best_val_loss"] > 0 and 0 < m["train_acc_last"] <= 1


@pytest.mark.notebooks
def test_how_many_runs_stopped_early_is_recorded_per_regime(notebook_result) -> None:
    """The old notebook had one regime and no count: early stopping was only replayed."""
    data = notebook_result(STEM)
    m, claims = data["metrics"], claims_of(data)
    n = claims[CLEAN_CLAIM]["n"]
    for slug in SLUGS:
        assert 0 <= m[f"stopped_early_{slug}"] <= n, slug
    assert "runs stopped early" in claims[ACROSS]["measured"]
    assert (
        f"stopped early in {m['stopped_early_overfitting_clean_labels']} of {n}"
        in (claims[CLEAN_CLAIM]["measured"])
    )
    assert (
        f"stopped early in {m['stopped_early_overfitting_noisy_labels']} of {n}"
        in (claims[NOISY_CLAIM]["measured"])
    )


@pytest.mark.notebooks
def test_the_claims_name_the_three_regimes_and_are_paired(notebook_result) -> None:
    data = notebook_result(STEM)
    claims = claims_of(data)
    assert set(claims) == {
        CHECKPOINT, EAGER, RESUME, RETRAIN, ACROSS, NOISY_CLAIM, CLEAN_CLAIM, LOSS
    }  # fmt: skip
    for c in claims.values():
        assert c["verdict"] in VERDICTS and c["measured"], c
    across = claims[ACROSS]
    assert set(across["groups"]) == set(REGIMES) and "factor: regime" in across["measured"]
    assert across["target"] == "every" and set(across["group_arms"]) == set(REGIMES)
    for name, regime in ((NOISY_CLAIM, NOISY), (CLEAN_CLAIM, CLEAN), (LOSS, CLEAN)):
        arms = claims[name]["arms"]
        assert arms["treatment"] == f"early-stopped, {regime}", name
        assert arms["baseline"] == f"last epoch, {regime}", name
    # each regime's claim is the across claim's level of that regime, not another experiment
    assert claims[NOISY_CLAIM]["samples"] == across["groups"][NOISY]
    assert claims[CLEAN_CLAIM]["samples"] == across["groups"][CLEAN]
    assert claims[LOSS]["unit"] == "nats" and claims[LOSS]["arms"]["better"] == "lower"
    assert "label_noise" in claims[NOISY_CLAIM]["measured"]
    for name in (CHECKPOINT, EAGER, RETRAIN, NOISY_CLAIM, CLEAN_CLAIM, LOSS):  # one per seed
        c = claims[name]
        assert len(c["samples"]) == c["n"] >= 1 and c["min_effect"] == MIN_EFFECTS[c["unit"]]
        assert "arms" in c and all(-100 <= s <= 100 for s in c["samples"]), name
        if c["n"] == 1:
            assert c["verdict"] == "inconclusive"  # one seed never decides
    assert claims[RESUME]["verdict"] == "confirmed"  # a resumed run is the same run


@pytest.mark.notebooks
def test_patience_that_can_never_trigger_is_refused_in_the_setup_cell(refused_run) -> None:
    refused_run("05", "patience", "10")  # smoke trains 5 epochs


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("patience", "0"),
        ("min_delta", "-0.01"),
        ("model_name", "vgg"),
        ("label_noise", "1.0"),
        ("label_noise", "0"),  # the noisy-labels regime would be the clean one
    ],
)
def test_cli_refuses_bad_values_before_a_kernel_starts(tmp_path, capsys, name, value) -> None:
    from course_utils.tools.cli import main

    out = tmp_path / "run"
    assert main(["run", "05", "--profile", "smoke", "-p", name, value, "--out", str(out)]) == 2
    assert f"parameter {name!r} got" in capsys.readouterr().err
    assert not out.exists()
