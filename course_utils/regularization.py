"""Helpers for the overfitting / regularization lectures (notebooks 02 and 03).

Measuring overfitting (the train/validation gap, the size of the weights, how a validation
curve wiggles, how optimistic a test-set-picked result is), checking hyperparameters before
training, and checking what an augmentation produced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

from .train import evaluate
from .validation import ParameterError, check_choice, check_number

OPTIMIZERS = ("adam", "adamw")


# ---------------------------------------------------------------- checks before training
def check_subset_size(name: str, value: object, available: int, minimum: int = 1) -> int:
    """Refuse a subset size that is not an integer in ``[minimum, available]``."""
    return check_number(
        name,
        value,
        low=minimum,
        high=available,
        integer=True,
        hint=f"the data it is drawn from has {available} examples",
    )


def check_weight_decay(name: str, value: object) -> float:
    """Refuse a negative (or non-finite) weight decay: it would push weights away from zero."""
    return check_number(
        name, value, low=0, hint="weight decay is a penalty strength; 0 switches it off"
    )


def check_training(width: object, epochs: object, lr: object, batch_size: object) -> None:
    """Refuse a non-positive MLP width, epoch count, learning rate or batch size (the lectures' common knobs)."""
    check_number("width", width, low=1, integer=True)
    check_number("epochs", epochs, low=1, integer=True)
    check_number("lr", lr, low=0, low_open=True)
    check_number("batch_size", batch_size, low=1, integer=True)


def make_optimizer(
    kind: str, params: Iterable[nn.Parameter], lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    """``adam``: L2 added to the gradient (``Adam(weight_decay=...)``); ``adamw``: decoupled decay."""
    check_choice("optimizer", kind, OPTIMIZERS)
    check_number("lr", lr, low=0, low_open=True)
    check_weight_decay("weight_decay", weight_decay)
    cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    return cls(params, lr=lr, weight_decay=weight_decay)


# ---------------------------------------------------------------- measuring overfitting
def weight_norm(model: nn.Module, include_bias: bool = False) -> float:
    """L2 norm of all weight matrices/kernels (biases and 1-d parameters only with ``include_bias``)."""
    total = 0.0
    for p in model.parameters():
        if p.ndim > 1 or include_bias:
            total += float(p.detach().double().pow(2).sum())
    return total**0.5


def generalization_gap(model: nn.Module, train: Iterable, val: Iterable) -> dict[str, float]:
    """Loss and accuracy on (un-augmented) training and validation data, and the gaps between them.

    ``gap_acc = train_acc - val_acc`` and ``gap_loss = val_loss - train_loss``; both in eval mode.
    """
    tr, va = evaluate(model, train), evaluate(model, val)
    return {
        "train_loss": tr["loss"],
        "train_acc": tr["acc"],
        "val_loss": va["loss"],
        "val_acc": va["acc"],
        "gap_loss": va["loss"] - tr["loss"],
        "gap_acc": tr["acc"] - va["acc"],
    }


def false_alarms(values: Sequence[float]) -> list[int]:
    """Epochs (1-based) where the value rose, yet a later epoch got below the value before the rise.

    Stopping at such an epoch ("the first increase") would have stopped too early.
    """
    alarms = []
    for t in range(1, len(values) - 1):
        if values[t] > values[t - 1] and min(values[t + 1 :]) < values[t - 1]:
            alarms.append(t + 1)
    return alarms


def selection_optimism(
    correct: torch.Tensor, selection_size: int, repeats: int = 200, seed: int = 0
) -> dict[str, float]:
    """How much picking a candidate by its accuracy on a set overstates that accuracy.

    ``correct`` is a ``(candidates, examples)`` boolean matrix (e.g. one row per epoch). Each
    repeat splits the examples at random into a *selection* part of ``selection_size`` and a
    *fresh* part, picks the candidate with the best selection accuracy and compares its
    selection accuracy with its fresh accuracy. Returns the mean and spread of that optimism
    and the share of repeats in which it was positive.
    """
    if correct.ndim != 2:
        raise ParameterError(
            f"correct must be a (candidates, examples) matrix, got shape {tuple(correct.shape)}"
        )
    n = correct.shape[1]
    check_subset_size("selection_size", selection_size, n - 1)
    gen = torch.Generator().manual_seed(seed)
    c = correct.float()
    gaps = []
    for _ in range(repeats):
        perm = torch.randperm(n, generator=gen)
        sel, fresh = perm[:selection_size], perm[selection_size:]
        sel_acc = c[:, sel].mean(1)
        best = int(sel_acc.argmax())
        gaps.append(float(sel_acc[best] - c[best, fresh].mean()))
    g = torch.tensor(gaps)
    return {
        "mean": float(g.mean()),
        "std": float(g.std()),
        "share_positive": float((g > 0).float().mean()),
    }


# ---------------------------------------------------------------- checking augmentations
def crop_shifts(out: torch.Tensor, x: torch.Tensor, padding: int) -> list[tuple[int, int] | None]:
    """For each image of ``out``, the offset ``(dy, dx)`` of the window of its zero-padded original
    that it equals (``(padding, padding)`` = not moved), or None when it is no such window."""
    if out.shape != x.shape:
        raise ParameterError(f"out has shape {tuple(out.shape)} but x has {tuple(x.shape)}")
    p = padding
    padded = nn.functional.pad(x, (p, p, p, p))
    h, w = x.shape[-2:]
    shifts: list[tuple[int, int] | None] = []
    for o, src in zip(out, padded):
        found = [
            (dy, dx)
            for dy in range(2 * p + 1)
            for dx in range(2 * p + 1)
            if torch.equal(o, src[..., dy : dy + h, dx : dx + w])
        ]
        shifts.append(found[0] if found else None)
    return shifts


def is_shifted_crop(out: torch.Tensor, x: torch.Tensor, padding: int) -> bool:
    """True when every image of ``out`` is a window of its zero-padded original: a shifted copy."""
    return out.shape == x.shape and all(s is not None for s in crop_shifts(out, x, padding))


def is_flip_or_same(out: torch.Tensor, x: torch.Tensor) -> bool:
    """True when every image of ``out`` is its original or its left-right mirror image."""
    return out.shape == x.shape and all(
        torch.equal(o, s) or torch.equal(o, s.flip(-1)) for o, s in zip(out, x)
    )


def images_per_second(fn: Callable[[], int], repeats: int = 3) -> float:
    """Best-of-``repeats`` throughput of ``fn``, which processes images and returns how many."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        n = fn()
        best = max(best, n / (time.perf_counter() - start))
    return best
