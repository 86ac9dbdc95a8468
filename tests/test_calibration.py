"""Unit tests for course_utils.calibration (ECE, reliability bins, NLL)."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from course_utils.calibration import (  # noqa: E402
    expected_calibration_error,
    mean_confidence,
    negative_log_likelihood,
    plot_reliability,
    reliability,
)
from course_utils.validation import ParameterError  # noqa: E402


def loop_ece(probs: np.ndarray, labels: np.ndarray, n_bins: int) -> float:
    """Reference implementation, one prediction at a time."""
    total = [[0.0, 0.0, 0] for _ in range(n_bins)]
    for p, y in zip(probs, labels):
        conf = p.max()
        b = min(n_bins - 1, max(0, math.ceil(conf * n_bins) - 1))
        total[b][0] += conf
        total[b][1] += float(p.argmax() == y)
        total[b][2] += 1
    n = len(labels)
    return sum(c / n * abs(a / c - s / c) for s, a, c in total if c)


def test_ece_matches_a_loop_reference():
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(2000, 10, generator=g, dtype=torch.float64) * 2, 1)
    labels = torch.randint(0, 10, (2000,), generator=g)
    for n_bins in (1, 10, 15):
        assert expected_calibration_error(probs, labels, n_bins) == pytest.approx(
            loop_ece(probs.numpy(), labels.numpy(), n_bins), abs=1e-12
        )


def test_hand_example():
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 1])
    rel = reliability(probs, labels, n_bins=10)
    assert (
        rel.counts.sum() == 4 and rel.counts[8] == 2 and rel.counts[5] == 1 and rel.counts[6] == 1
    )
    assert rel.accuracy[8] == pytest.approx(0.5) and rel.confidence[8] == pytest.approx(0.9)
    assert np.isnan(rel.accuracy[0])  # empty bin
    # bins: 0.9 -> |0.5-0.9|*2/4, 0.6 -> |1-0.6|/4, 0.7 -> |1-0.7|/4
    assert rel.ece == pytest.approx(0.2 + 0.1 + 0.075)
    assert negative_log_likelihood(probs, labels) == pytest.approx(
        -(math.log(0.9) + math.log(0.1) + math.log(0.6) + math.log(0.7)) / 4
    )
    assert mean_confidence(probs) == pytest.approx((0.9 + 0.9 + 0.6 + 0.7) / 4)


def test_calibrated_predictions_have_small_ece_and_overconfident_large():
    g = torch.Generator().manual_seed(1)
    n = 50_000
    conf = torch.rand(n, generator=g, dtype=torch.float64) * 0.5 + 0.5
    correct = torch.rand(n, generator=g, dtype=torch.float64) < conf
    probs = torch.stack([conf, 1 - conf], 1)
    labels = torch.where(correct, 0, 1)
    assert expected_calibration_error(probs, labels) < 0.02
    # the same predictions claimed with certainty 0.99: ECE = 0.99 - accuracy
    sure = torch.stack(
        [torch.full((n,), 0.99, dtype=torch.float64), torch.full((n,), 0.01, dtype=torch.float64)],
        1,
    )
    acc = correct.double().mean().item()
    assert expected_calibration_error(sure, labels) == pytest.approx(0.99 - acc, abs=1e-9)


def test_bad_inputs_refused_and_plot_runs():
    with pytest.raises(ParameterError):
        reliability(torch.ones(3, 2) / 2, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ParameterError, match="n_bins"):
        reliability(torch.ones(3, 2) / 2, torch.zeros(3, dtype=torch.long), n_bins=0)
    ax = plot_reliability({"a": reliability(torch.tensor([[0.8, 0.2]]), torch.tensor([0]))})
    assert len(ax.lines) == 2
