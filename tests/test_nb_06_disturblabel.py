"""Notebook 06 (DisturbLabel and DisturbValue): smoke-run results and refused parameters."""

from __future__ import annotations

import math

import pytest

from course_utils.regularizers import DisturbLabel, DisturbValue, noisy_label_entropy
from course_utils.results import VERDICTS
from course_utils.validation import ParameterError

STEM = "06_disturblabel"


def test_metrics_present_and_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    for regime in ("small", "large"):
        for key in ("test_acc_plain", "test_acc_best_alpha", "best_alpha"):
            assert f"{regime}_{key}" in m, f"{regime}_{key}"
        assert m[f"{regime}_test_acc_plain"] > 0.3  # chance is 0.1
        assert m[f"{regime}_test_acc_best_alpha"] > 0.2
        assert 0 < m[f"{regime}_best_alpha"] <= 1
    assert m["noise_floor"] == pytest.approx(noisy_label_entropy(m["alpha"], 10))
    # the loss against disturbed labels cannot be far below the noise floor (its expectation is >= the floor)
    assert m["small_noisy_train_loss"] > m["noise_floor"] - 0.1
    assert m["small_clean_train_loss"] < m["small_noisy_train_loss"]
    assert 0 < m["diabetes_test_mse_plain"] < 3 and 0 < m["diabetes_test_mse_disturbvalue"] < 3
    assert (
        m["noise_floor"] > 0.207 > 0.083
    )  # the source's numbers lie below the floor of alpha = 0.3


def test_every_claim_has_a_computed_verdict(notebook_result) -> None:
    claims = notebook_result(STEM)["claims"]
    texts = " ".join(c["claim"] for c in claims)
    assert len(claims) == 5
    assert (
        "regularizes" in texts
        and "noise floor" in texts
        and "0.207" in texts
        and "DisturbValue" in texts
    )
    for c in claims:
        assert c["verdict"] in VERDICTS and c["measured"]
    floor_claim = next(c for c in claims if "noise floor" in c["claim"])
    assert floor_claim["verdict"] == "confirmed"


def test_percentage_alpha_is_refused_with_a_hint() -> None:
    with pytest.raises(ParameterError, match=r"parameter 'alpha' got 30.*use 0\.3 instead"):
        DisturbLabel(30, 10)
    with pytest.raises(ParameterError, match="value_fraction|fraction"):
        DisturbValue(1.5, 1.0)
    assert not math.isnan(noisy_label_entropy(1.0, 10))


@pytest.mark.notebooks
def test_notebook_refuses_alpha_30_before_training(refused_run) -> None:
    assert "0.3" in refused_run("06", "alpha", "30")["error"]
