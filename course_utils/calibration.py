"""Calibration: does a model's confidence match its accuracy?

The confidence of a prediction is its largest softmax probability. Predictions are grouped into
``n_bins`` equal-width confidence bins ``(0, 1/n], (1/n, 2/n], ..., ((n-1)/n, 1]``; a reliability
diagram plots each bin's accuracy against its mean confidence, and the expected calibration error
(ECE) is the average gap ``|accuracy - confidence|`` weighted by the share of predictions in the bin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from .validation import ParameterError, check_number


@dataclass(frozen=True)
class Reliability:
    """Per-bin statistics of a reliability diagram (empty bins hold NaN confidence/accuracy)."""

    edges: np.ndarray  # (n_bins + 1,)
    confidence: np.ndarray  # mean confidence per bin
    accuracy: np.ndarray  # accuracy per bin
    counts: np.ndarray  # predictions per bin

    @property
    def ece(self) -> float:
        """Expected calibration error: ``sum(counts/N * |accuracy - confidence|)`` over non-empty bins."""
        filled = self.counts > 0
        weights = self.counts[filled] / self.counts.sum()
        return float(np.sum(weights * np.abs(self.accuracy[filled] - self.confidence[filled])))


def _as_tensors(probs: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    probs, labels = (
        torch.as_tensor(probs).detach().cpu().double(),
        torch.as_tensor(labels).detach().cpu().long(),
    )
    if probs.ndim != 2 or labels.shape != (probs.shape[0],) or probs.shape[0] == 0:
        raise ParameterError(
            f"need probabilities (N, classes) and labels (N,), got {tuple(probs.shape)} and {tuple(labels.shape)}"
        )
    return probs, labels


def reliability(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> Reliability:
    """Bin predictions by confidence (max probability); accuracy and mean confidence per bin."""
    check_number("n_bins", n_bins, low=1, integer=True)
    probs, labels = _as_tensors(probs, labels)
    confidence, predicted = probs.max(dim=1)
    correct = (predicted == labels).double()
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    bins = torch.bucketize(
        confidence, edges[1:-1], right=False
    )  # bin i holds (edges[i], edges[i+1]]
    counts = torch.bincount(bins, minlength=n_bins).double()
    sum_conf = torch.bincount(bins, weights=confidence, minlength=n_bins)
    sum_correct = torch.bincount(bins, weights=correct, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = (sum_conf / counts).numpy()
        acc = (sum_correct / counts).numpy()
    return Reliability(edges.numpy(), mean_conf, acc, counts.numpy().astype(int))


def expected_calibration_error(
    probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15
) -> float:
    """ECE with ``n_bins`` equal-width confidence bins (0 = perfectly calibrated)."""
    return reliability(probs, labels, n_bins).ece


def negative_log_likelihood(probs: torch.Tensor, labels: torch.Tensor, eps: float = 1e-12) -> float:
    """Mean ``-log p(true class)`` (the test cross-entropy), with probabilities clipped at ``eps``."""
    probs, labels = _as_tensors(probs, labels)
    return float(-probs.gather(1, labels[:, None]).clamp_min(eps).log().mean())


def mean_confidence(probs: torch.Tensor) -> float:
    """Average of the largest probability per prediction."""
    return float(torch.as_tensor(probs).detach().double().max(dim=1).values.mean())


def plot_reliability(
    curves: Mapping[str, Reliability],
    ax: plt.Axes | None = None,
    title: str = "reliability diagram",
    min_count: int = 10,
) -> plt.Axes:
    """Accuracy vs mean confidence per bin for each model; the diagonal is perfect calibration.

    Bins with fewer than ``min_count`` predictions are left out of the plot (their accuracy is mostly
    noise); the ECE in the legend still uses every prediction.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], ls="--", color="gray", lw=1, label="perfectly calibrated")
    for name, rel in curves.items():
        filled = rel.counts >= max(1, min_count)
        ax.plot(
            rel.confidence[filled], rel.accuracy[filled], "o-", label=f"{name} (ECE {rel.ece:.3f})"
        )
    ax.set(
        xlabel=f"confidence (mean max probability in bin; bins with >= {min_count} predictions)",
        ylabel="accuracy in bin",
        xlim=(0, 1),
        ylim=(0, 1),
        title=title,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return ax
