"""Notebook 04 (dropout and batch norm): smoke-run results and refused hyperparameters."""

from __future__ import annotations

import pytest

from course_utils.models import SmallCNN
from course_utils.validation import ParameterError, check_fraction

STEM = "04_dropout_and_batchnorm"
VARIANTS = ("none", "dropout", "bn", "bn_dropout")


def test_every_variant_has_a_test_accuracy_better_than_chance(notebook_result) -> None:
    metrics = notebook_result(STEM)["metrics"]
    for name in VARIANTS:
        assert 0.1 < metrics[f"test_acc_{name}"] <= 1.0, name
    assert metrics["bn_gain"] == pytest.approx(metrics["test_acc_bn"] - metrics["test_acc_none"])
    assert metrics["dropout_gain"] == pytest.approx(
        metrics["test_acc_dropout"] - metrics["test_acc_none"]
    )
    err_none, err_bn = 1 - metrics["test_acc_none"], 1 - metrics["test_acc_bn"]
    assert metrics["bn_error_reduction"] == pytest.approx((err_none - err_bn) / err_none)


def test_claims_have_computed_verdicts(notebook_result) -> None:
    data = notebook_result(STEM)
    claims = {c["claim"]: c for c in data["claims"]}
    assert len(claims) == 3
    for c in claims.values():
        assert c["verdict"] in (
            "confirmed",
            "refuted",
            "partly confirmed",
            "depends",
            "inconclusive",
        )
        assert c["measured"]
    bn_claim = claims["Batch norm generally improves results more than dropout"]
    m = data["metrics"]
    assert bn_claim["verdict"] == ("confirmed" if m["bn_gain"] > m["dropout_gain"] else "refuted")


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, 50, True, "0.5"])
def test_bad_dropout_is_refused(p) -> None:
    with pytest.raises(ParameterError, match="dropout"):
        check_fraction("dropout", p, high_open=True)
    with pytest.raises(ParameterError, match="dropout"):
        SmallCNN((1, 28, 28), 10, dropout=p)


def test_notebook_refuses_bad_dropout_before_training(refused_run) -> None:
    refused_run("04", "dropout", "1.0")
