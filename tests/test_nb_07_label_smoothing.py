"""Notebook 07 (label smoothing): smoke-run results and refused parameters."""

from __future__ import annotations

import pytest

from course_utils.regularizers import check_smoothing
from course_utils.results import VERDICTS
from course_utils.validation import ParameterError

STEM = "07_label_smoothing"


def test_metrics_present_and_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    assert m["torch_label_smoothing"] == pytest.approx(m["smoothing"] * 10 / 9)
    for tag in ("alpha0", "alpha" + f"{m['smoothing']:g}".replace(".", "p")):
        for key in ("test_acc", "train_acc", "nll", "ece", "confidence"):
            assert f"{tag}_{key}" in m, f"{tag}_{key}"
        assert m[f"{tag}_test_acc"] > 0.3  # chance is 0.1
        assert 0 <= m[f"{tag}_ece"] <= 1
        assert 0.1 <= m[f"{tag}_confidence"] <= 1
        assert 0 < m[f"{tag}_nll"] < 2.3  # better than a uniform prediction (log 10)


def test_every_claim_has_a_computed_verdict(notebook_result) -> None:
    claims = notebook_result(STEM)["claims"]
    texts = " ".join(c["claim"] for c in claims)
    assert len(claims) == 3
    assert "overfitting" in texts and "over-confidence" in texts and "label_smoothing" in texts
    for c in claims:
        assert c["verdict"] in VERDICTS and c["measured"]
    equivalence = next(c for c in claims if "label_smoothing" in c["claim"])
    assert equivalence["verdict"] == "confirmed"


@pytest.mark.parametrize("bad", [1.0, 20, -0.1, 0.95])
def test_bad_smoothing_is_refused(bad) -> None:
    with pytest.raises(ParameterError, match="smoothing"):
        check_smoothing(bad, 10)


@pytest.mark.notebooks
def test_notebook_refuses_smoothing_1_before_training(refused_run) -> None:
    refused_run("07", "smoothing", "1.0")
