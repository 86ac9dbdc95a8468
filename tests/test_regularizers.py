"""Unit tests for course_utils.regularizers: sampler statistics, DisturbValue, smoothing equivalence."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

import course_utils as cu
from course_utils.regularizers import (
    DisturbLabel,
    DisturbValue,
    check_smoothing,
    disturb_label_probs,
    smoothed_targets,
    smoothing_loss,
    smoothing_to_torch,
)
from course_utils.validation import ParameterError

N = 1_000_000


@pytest.mark.parametrize("alpha,classes", [(0.3, 10), (0.1, 10), (0.8, 3)])
def test_keep_rate_matches_within_three_standard_errors(alpha, classes):
    labels = torch.randint(0, classes, (N,), generator=torch.Generator().manual_seed(1))
    out = DisturbLabel(alpha, classes, seed=2)(labels)
    p = 1 - alpha * (classes - 1) / classes
    se = math.sqrt(p * (1 - p) / N)
    assert abs((out == labels).double().mean().item() - p) < 3 * se


def test_replaced_labels_are_uniform_over_the_other_classes():
    classes = 10
    labels = torch.randint(0, classes, (N,), generator=torch.Generator().manual_seed(3))
    out = DisturbLabel(0.3, classes, seed=4)(labels)
    changed = out != labels
    # the offset (new - true) mod C is uniform over 1..C-1 when every other class is equally likely
    offsets = ((out[changed] - labels[changed]) % classes).numpy()
    counts = np.bincount(offsets, minlength=classes)
    assert counts[0] == 0
    assert stats.chisquare(counts[1:]).pvalue > 1e-3
    # and, for one true class, the new classes are uniform over the other nine
    of_zero = out[changed & (labels == 0)].numpy()
    counts0 = np.bincount(of_zero, minlength=classes)
    assert counts0[0] == 0 and stats.chisquare(counts0[1:]).pvalue > 1e-3


def test_chi_square_would_catch_a_biased_sampler():
    rng = np.random.default_rng(0)
    biased = rng.choice(9, size=100_000, p=[0.2] + [0.1] * 8)
    assert stats.chisquare(np.bincount(biased, minlength=9)).pvalue < 1e-6


def test_disturb_label_edge_cases_and_reproducibility():
    y = torch.arange(10).repeat(100)
    assert torch.equal(DisturbLabel(0.0, 10)(y), y)
    assert torch.equal(DisturbLabel(0.5, 10, seed=7)(y), DisturbLabel(0.5, 10, seed=7)(y))
    assert not torch.equal(DisturbLabel(0.5, 10, seed=7)(y), DisturbLabel(0.5, 10, seed=8)(y))
    g = torch.Generator().manual_seed(5)
    d = DisturbLabel(1.0, 10, generator=g)
    first, second = d(y), d(y)
    assert not torch.equal(first, second)  # fresh noise every batch
    assert first.dtype == y.dtype and first.shape == y.shape
    assert first.min() >= 0 and first.max() < 10
    assert DisturbLabel(0.3, 10).keep_probability == pytest.approx(0.73)
    assert disturb_label_probs(0.3, 10) == pytest.approx((0.73, 0.03))


def test_disturb_label_refuses_bad_alpha():
    with pytest.raises(ParameterError, match=r"parameter 'alpha' got 30; allowed: .*\[0, 1\]"):
        DisturbLabel(30, 10)
    for bad in (-0.1, 1.5, float("nan"), "0.3", True):
        with pytest.raises(ParameterError):
            DisturbLabel(bad, 10)


@pytest.mark.parametrize("refuse", [DisturbLabel, disturb_label_probs])
def test_disturb_label_alpha_in_percent_is_translated(refuse):
    # the source notes write alpha = 30 for 30 %: the message says that is 0.3 here
    with pytest.raises(
        ParameterError, match=r"in percent: their alpha = 30 \(30 %\) is alpha = 0\.3"
    ):
        refuse(30, 10)
    for not_percent in (-0.1, 250, float("inf"), True):  # no percent reading of these
        with pytest.raises(ParameterError) as refused:
            refuse(not_percent, 10)
        assert "percent" not in str(refused.value)
    with pytest.raises(ParameterError, match="num_classes"):
        DisturbLabel(0.3, 1)
    with pytest.raises(ParameterError, match="integer class labels"):
        DisturbLabel(0.3, 10)(torch.zeros(3))


def test_disturbed_labels_average_to_torchs_smoothed_target():
    """The link notebooks 06 and 07 teach: E[one_hot(DisturbLabel(alpha))] is torch's smoothed target."""
    labels = torch.zeros(200_000, dtype=torch.long)
    noisy = DisturbLabel(0.3, 10, seed=0)(labels)
    mean_one_hot = F.one_hot(noisy, 10).double().mean(0)
    smoothed = 0.7 * F.one_hot(labels[:1], 10).double()[0] + 0.3 / 10
    assert torch.allclose(mean_one_hot, smoothed, atol=4e-3)
    # so the average loss against disturbed labels is torch's label-smoothed loss
    logits = torch.randn(1, 10, generator=torch.Generator().manual_seed(1)).expand(len(labels), 10)
    assert F.cross_entropy(logits, noisy).item() == pytest.approx(
        F.cross_entropy(logits[:1], labels[:1], label_smoothing=0.3).item(), abs=0.02
    )


def test_disturb_value_hits_the_right_fraction():
    y = torch.zeros(200_000, 1, dtype=torch.float64)
    out = DisturbValue(0.25, 2.0, seed=1)(y)
    hit = out[:, 0] != 0
    assert hit.double().mean().item() == pytest.approx(
        0.25, abs=3 * math.sqrt(0.25 * 0.75 / len(y))
    )
    assert out[hit].std().item() == pytest.approx(2.0, rel=0.02)
    assert out.dtype == y.dtype and out.shape == y.shape
    assert torch.equal(DisturbValue(0.0, 5.0)(y), y)
    with pytest.raises(ParameterError, match="parameter 'fraction' got 20"):
        DisturbValue(20, 1.0)
    with pytest.raises(ParameterError, match="noise_std"):
        DisturbValue(0.2, -1.0)


@pytest.mark.parametrize("alpha,classes", [(0.0, 10), (0.1, 10), (0.2, 10), (0.5, 3), (0.9, 10)])
def test_notes_smoothing_equals_torch_label_smoothing(alpha, classes):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(64, classes, generator=g, dtype=torch.float64) * 3
    labels = torch.randint(0, classes, (64,), generator=g)
    notes = smoothing_loss(logits, labels, alpha)
    torch_loss = F.cross_entropy(logits, labels, label_smoothing=smoothing_to_torch(alpha, classes))
    assert abs(notes.item() - torch_loss.item()) < 1e-6
    # the same a = alpha without the conversion gives a different loss (unless alpha = 0)
    if alpha > 0:
        assert (
            abs(F.cross_entropy(logits, labels, label_smoothing=alpha).item() - notes.item()) > 1e-4
        )


def test_smoothed_targets_and_conversion():
    t = smoothed_targets(torch.tensor([2, 0]), 4, 0.3)
    assert torch.allclose(t.sum(1), torch.ones(2))
    assert torch.allclose(t[0], torch.tensor([0.1, 0.1, 0.7, 0.1]))
    assert smoothing_to_torch(0.2, 10) == pytest.approx(2 / 9)


def test_bad_smoothing_is_refused():
    with pytest.raises(ParameterError, match="smoothing"):
        check_smoothing(1.0)
    with pytest.raises(ParameterError, match="parameter 'smoothing' got 20"):
        check_smoothing(20)
    with pytest.raises(ParameterError, match="smoothing"):
        check_smoothing(-0.1)
    with pytest.raises(ParameterError, match=r"\(K-1\)/K"):
        smoothing_to_torch(0.95, 10)


def test_noisy_labels_replace_the_asked_fraction_by_random_classes() -> None:
    y = torch.arange(10).repeat(2000)  # 20,000 labels, 10 classes
    assert cu.noisy_labels(y, 0.0, 10, seed=0) is y
    noisy = cu.noisy_labels(y, 0.4, 10, seed=3)
    assert torch.equal(noisy, cu.noisy_labels(y, 0.4, 10, seed=3))  # one stream per seed
    assert not torch.equal(noisy, cu.noisy_labels(y, 0.4, 10, seed=4))
    # a replaced label is uniform over the 10 classes, so 0.4 * 9/10 = 36 % end up wrong
    assert (noisy != y).float().mean().item() == pytest.approx(0.36, abs=0.01)
    assert torch.bincount(noisy, minlength=10).min() > 1800  # classes stay balanced
    with pytest.raises(ParameterError, match="'rate'"):
        cu.noisy_labels(y, 1.5, 10, seed=0)
