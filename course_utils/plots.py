"""Small plotting helpers shared by the notebooks (matplotlib only), and the course's plotting
defaults: importing ``course_utils`` sets a colour-blind-safe palette (Okabe-Ito, :data:`PALETTE`)
for every figure, and in a kernel makes every figure shown carry its alt text
(``course_utils.alt_text``); :func:`describe` gives a figure an explicit description."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from cycler import cycler

from . import alt_text
from .alt_text import describe, describe_figure
from .train import History

# Okabe & Ito (2008), "Color universal design": told apart under the common colour-vision
# deficiencies; black last, as the eighth colour. The course's one palette (set once, here).
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

__all__ = ["PALETTE", "describe", "describe_figure", "plot_curves", "plot_history", "show_images"]


def use_course_style() -> None:
    """The course's plotting defaults: the Okabe-Ito colour cycle without black (kept for
    reference lines), yellow last (it is faint on white)."""
    order = [c for c in PALETTE if c not in ("#F0E442", "#000000")] + ["#F0E442"]
    mpl.rcParams["axes.prop_cycle"] = cycler(color=order)
    mpl.rcParams["image.cmap"] = "viridis"  # perceptually uniform and colour-blind safe


def _describe(fig: plt.Figure, description: str | None) -> None:
    if description is not None:
        describe(fig, description)


use_course_style()
alt_text.install()


def plot_history(
    history: History,
    *,
    title: str = "",
    mark_best: bool = True,
    axes: Sequence[plt.Axes] | None = None,
    description: str | None = None,
) -> plt.Figure:
    """Training vs validation loss and accuracy per epoch; marks the epoch of lowest validation loss.
    ``description``: the figure's alt text (default: read off the figure when shown)."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    fig = axes[0].figure
    epochs = history["epoch"]
    has_val = "val_loss" in history.rows[0]
    for ax, metric in zip(axes, ("loss", "acc")):
        ax.plot(epochs, history[f"train_{metric}"], "o-", label="train")
        if has_val:
            ax.plot(epochs, history[f"val_{metric}"], "s-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    if has_val and mark_best:
        best = history.best("val_loss")
        for ax in axes:
            ax.axvline(
                best["epoch"],
                color="gray",
                ls="--",
                lw=1,
                label=f"lowest val loss (epoch {best['epoch']})",
            )
    axes[0].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _describe(fig, description)
    return fig


def plot_curves(
    curves: Mapping[str, Sequence[float]],
    *,
    x: Sequence[float] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    title: str = "",
    logx: bool = False,
    logy: bool = False,
    ax: plt.Axes | None = None,
    marker: str = "",
    description: str | None = None,
) -> plt.Axes:
    """One line per entry of ``curves`` on a shared axis; ``description``: the figure's alt text."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for name, ys in curves.items():
        xs = x if x is not None else np.arange(1, len(ys) + 1)
        ax.plot(xs, ys, marker, label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    _describe(ax.figure, description)
    return ax


def show_images(
    x: torch.Tensor,
    labels: Sequence[int] | torch.Tensor | None = None,
    classes: Sequence[str] | None = None,
    n: int = 16,
    cols: int = 8,
    title: str = "",
    description: str | None = None,
) -> plt.Figure:
    """A grid of the first ``n`` uint8 (or [0, 1] float) images with optional class names;
    ``description``: the figure's alt text."""
    n = min(n, len(x))
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.4 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = x[i].detach().cpu().float()
        img = img / 255.0 if img.max() > 1.0 else img
        if img.shape[0] == 1:
            ax.imshow(img[0], cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(img.permute(1, 2, 0).clamp(0, 1))
        if labels is not None:
            label = int(labels[i])
            ax.set_title(classes[label] if classes else str(label), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _describe(fig, description)
    return fig
