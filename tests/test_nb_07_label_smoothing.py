"""Notebook 07 (label smoothing): smoke-run results and refused parameters."""

from __future__ import annotations

import pytest

from course_utils.tools.cli import main

pytestmark = pytest.mark.notebooks  # runs the notebooks (nbval_run, refused_run)

STEM = "07_label_smoothing"


def test_metrics_present_and_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    assert m["torch_label_smoothing"] == pytest.approx(m["smoothing"] * 10 / 9)
    for tag in ("plain", "smoothed"):
        assert m[f"{tag}_test_acc"] > 0.3  # chance is 0.1
        assert 0 < m[f"{tag}_train_acc"] <= 1
        assert 0 <= m[f"{tag}_test_ece"] <= 1 and 0 <= m[f"{tag}_ece_after_ts"] <= 1
        assert -1 <= m[f"{tag}_test_over"] <= 1
        # the over-confident part of the ECE: never negative, so an overshoot into
        # under-confidence earns no credit (the signed conf - acc would credit it), at least
        # the positive part of conf - acc, at most the ECE
        over, oe, ece = (m[f"{tag}_test_{k}"] for k in ("over", "oe", "ece"))
        assert max(0.0, over) - 1e-9 <= oe <= ece + 1e-9
        assert ece - oe >= max(0.0, -over) - 1e-9  # the under-confident part holds the rest
        assert 0 < m[f"{tag}_test_nll"] < 2.3  # better than a uniform prediction (log 10)
        assert 0 < m[f"{tag}_test_brier"] < 0.9  # a uniform prediction scores 0.9
        # ECE is at least |mean confidence - accuracy| (the triangle inequality over the bins)
        assert m[f"{tag}_test_ece"] >= abs(m[f"{tag}_test_over"]) - 1e-9


def test_claims_are_split_paired_and_declared(notebook_result) -> None:
    claims = {c["claim"]: c for c in notebook_result(STEM)["claims"]}
    equivalence = claims[
        "The notes' smoothing loss equals torch's label_smoothing with a = alpha*K/(K-1)"
    ]
    assert equivalence["verdict"] == "confirmed"
    expected = {
        "Label smoothing reduces overfitting (smaller train-test accuracy gap)": 1.0,
        "Label smoothing reduces overfitting (higher test accuracy)": 0.5,
        "Label smoothing reduces over-confidence (smaller over-confident part of the ECE)": 1.0,
        "Label smoothing reduces over-confidence (lower ECE)": 1.0,
        "Temperature scaling fitted on validation data lowers the test ECE (plain training)": 0.5,
    }
    for name, min_effect in expected.items():
        c = claims[name]
        if c["method"] == "untestable":  # a 1-epoch model is over-confident nowhere
            assert "over-confidence" in name and c["verdict"] == "inconclusive"
            continue
        assert c["min_effect"] == min_effect
        assert c["n"] == 1 and c["verdict"] == "inconclusive"  # smoke: one seed decides nothing
    regime = claims["Label smoothing improves test accuracy in every training regime"]
    assert regime["method"] == "across" and regime["factor"] == "regime"
    assert len(regime["groups"]) == 2 and regime["verdict"] == "inconclusive"
    assert len(claims) == 7


def test_cli_refuses_smoothing_1_before_a_kernel_starts(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert (
        main(["run", "07", "--profile", "smoke", "-p", "smoothing", "1.0", "--out", str(out)]) == 2
    )
    assert "parameter 'smoothing' got 1.0" in capsys.readouterr().err
    assert not out.exists()


def test_notebook_refuses_a_batch_larger_than_the_training_set(refused_run) -> None:
    assert "train_size=500" in refused_run("07", "batch_size", "600")["error"]
