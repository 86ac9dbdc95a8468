"""Notebook 04 (dropout and batch norm): the smoke run's results and refused parameters."""

from __future__ import annotations

import pytest

from course_utils.claims import VERDICTS
from course_utils.tools.cli import main

STEM = "04_dropout_and_batchnorm"
VARIANTS = ("plain", "dropout", "bn", "dropout_on_logits")
COMPARED = (
    "Batch norm generally improves results more than dropout",
    "BN lets a network reach a given accuracy in fewer epochs",
    "Dropout belongs between hidden layers, never on the output layer",
)
UNTESTABLE = "BN raised GoogLeNet from 0.5 to 0.7; in practice about 15-20% better"


def test_every_variant_has_a_test_accuracy_better_than_chance(notebook_result) -> None:
    metrics = notebook_result(STEM)["metrics"]
    for name in VARIANTS:
        assert 0.1 < metrics[f"test_acc_{name}"] <= 1.0, name
    assert -1.0 < metrics["bn_error_reduction"] < 1.0
    assert metrics["seconds_per_run"] > 0


def test_claims_are_decided_by_the_paired_rule(notebook_result) -> None:
    data = notebook_result(STEM)
    claims = {c["claim"]: c for c in data["claims"]}
    assert set(COMPARED) | {UNTESTABLE} <= set(claims)
    n = data["metrics"]["seeds"]
    for name in COMPARED:
        c = claims[name]
        assert c["verdict"] in VERDICTS and c["measured"], name
        assert len(c["samples"]) == n and c["min_effect"] > 0, name
        if n == 1:  # smoke: one seed never decides
            assert c["verdict"] == "inconclusive"
    assert claims[UNTESTABLE]["verdict"] == "inconclusive"
    assert "not testable here" in claims[UNTESTABLE]["measured"]
    groupnorm = [c for name, c in claims.items() if "GroupNorm" in name]
    assert len(groupnorm) == 1 and len(groupnorm[0]["samples"]) == n


@pytest.mark.parametrize(
    "name, value",
    [
        ("dropout", "1.0"),
        ("dropout", "-0.1"),
        ("seeds", "0"),
        ("small_batch", "1"),
        ("model_name", "vgg"),
    ],
)
def test_cli_refuses_bad_values_before_a_kernel_starts(tmp_path, name: str, value: str) -> None:
    out = tmp_path / "run"
    assert main(["run", "04", "--profile", "smoke", "-p", name, value, "--out", str(out)]) == 2
    assert not (out / "status.json").exists()
