"""Notebook 03 (weight decay and augmentation): smoke-run results and refused parameters."""

from __future__ import annotations

import pytest

from course_utils.results import VERDICTS

STEM = "03_weight_decay_and_augmentation"


def test_metrics_present_and_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    for name in ("none", "weight_decay", "augmentation", "both"):
        assert m[f"{name}_val_acc"] > 0.2, name  # chance is 0.1
        assert -1 <= m[f"{name}_gap_acc"] <= 1
    assert (
        m["adam_wd0_gap_acc"] == m["adamw_wd0_gap_acc"]
    )  # no decay: Adam and AdamW are the same run
    assert m["adam_wd1_weight_norm"] < m["adam_wd0_weight_norm"]  # strong L2 shrinks the weights
    assert (
        m["augment_speedup"] > 0
        and m["batched_images_per_s"] > 0
        and m["torchvision_images_per_s"] > 0
    )


def test_every_claim_has_a_computed_verdict(notebook_result) -> None:
    claims = notebook_result(STEM)["claims"]
    assert any("reduce the gap" in c["claim"] for c in claims)
    assert len(claims) == 2
    for c in claims:
        assert c["verdict"] in VERDICTS and c["measured"]


@pytest.mark.parametrize("name, value", [("weight_decay", "-0.01"), ("train_size", "100000")])
def test_bad_hyperparameters_are_refused_before_training(refused_run, name, value) -> None:
    refused_run("03", name, value)
