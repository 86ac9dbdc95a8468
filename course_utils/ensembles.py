"""Voting, test-time augmentation and a k-fold check: the canonical copies of notebook 09's code.

Notebook ``09_ensembles_kfold_tta`` writes hard and soft voting and TTA in a few lines and shows
that they agree with the functions here, which later notebooks and the tests reuse.

- :func:`hard_vote` -- majority of the members' predicted labels; **ties go to the lowest class
  index** among the tied classes (whatever the member order).
- :func:`soft_vote` -- argmax of the (optionally weighted) mean of the members' probabilities.
- :func:`tta_predict` -- mean softmax over augmented copies of a batch (eval mode, no gradients,
  the model's train/eval mode restored afterwards).
- :data:`TTA_GROUPS` / :func:`tta_transforms` -- the transforms the ``tta`` parameter names.
- :func:`check_folds` -- refuse a k that stratified k-fold cannot honour on the given labels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .validation import ParameterError

Transform = Callable[[torch.Tensor], torch.Tensor]


def hard_vote(labels: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Majority vote of ``labels`` ``(M, N)`` (M members, N examples) -> ``(N,)`` labels.

    Tie rule: when several classes get the same, largest number of votes, the **lowest class
    index** among them wins (``argmax`` returns the first maximum), independent of member order.
    ``num_classes`` defaults to ``labels.max() + 1``. Taught in notebook 09.
    """
    if not isinstance(labels, torch.Tensor) or labels.ndim != 2 or labels.shape[0] < 1:
        shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ParameterError(
            f"parameter 'labels' got shape {shape}; allowed: an integer tensor (members, examples)"
            " with at least one member"
        )
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ParameterError(
            f"parameter 'labels' got dtype {labels.dtype}; allowed: an integer tensor of class "
            "indices (use soft_vote for probabilities)"
        )
    if labels.numel() and labels.min() < 0:
        raise ParameterError("parameter 'labels' holds a negative class index")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.numel() else 1
    counts = F.one_hot(labels.long(), num_classes).sum(0)  # (N, C): votes per class
    return counts.argmax(1)


def _stack_probs(probs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    if isinstance(probs, torch.Tensor):
        stacked = probs
    else:
        probs = list(probs)
        shapes = [tuple(p.shape) for p in probs]
        if not probs or len(set(shapes)) != 1:
            raise ParameterError(
                f"parameter 'probs' got members with shapes {shapes}; allowed: at least one "
                "member, all of the same shape (examples, classes)"
            )
        stacked = torch.stack(probs)
    if stacked.ndim != 3 or stacked.shape[0] < 1:
        raise ParameterError(
            f"parameter 'probs' got shape {tuple(stacked.shape)}; allowed: (members, examples, "
            "classes) with at least one member"
        )
    return stacked


def soft_vote(
    probs: torch.Tensor | Sequence[torch.Tensor], weights: Sequence[float] | None = None
) -> torch.Tensor:
    """Argmax of the mean of the members' probabilities ``(M, N, C)`` -> ``(N,)`` labels.

    ``probs`` may also be a list of ``(N, C)`` tensors; their shapes must agree. ``weights``
    (one non-negative number per member, not all zero) gives a weighted mean. Ties in the mean
    go to the lowest class index. Taught in notebook 09.
    """
    stacked = _stack_probs(probs)
    if weights is None:
        return stacked.mean(0).argmax(1)
    w = torch.as_tensor(weights, dtype=stacked.dtype)
    if w.ndim != 1 or len(w) != stacked.shape[0]:
        raise ParameterError(
            f"parameter 'weights' got {len(w) if w.ndim == 1 else tuple(w.shape)} values for "
            f"{stacked.shape[0]} members; allowed: one weight per member"
        )
    if not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ParameterError(
            f"parameter 'weights' got {w.tolist()}; allowed: finite, non-negative, not all zero"
        )
    return (w[:, None, None] * stacked).sum(0).argmax(1)


# ---------------------------------------------------------------- test-time augmentation
def identity(x: torch.Tensor) -> torch.Tensor:
    """The unchanged batch. Taught in notebook 09."""
    return x


def hflip(x: torch.Tensor) -> torch.Tensor:
    """Mirror left-right (the flip the course trains with). Taught in notebook 09."""
    return x.flip(-1)


def vflip(x: torch.Tensor) -> torch.Tensor:
    """Mirror upside down (a transform Fashion-MNIST models never see in training).

    Taught in notebook 09.
    """
    return x.flip(-2)


def shift(dx: int, dy: int) -> Transform:
    """Move the image ``dx`` pixels right and ``dy`` down; the border pixels are repeated.

    Works on normalized batches ``(B, C, H, W)``: repeating the edge (almost always background
    on Fashion-MNIST) avoids having to know which value "black" has after normalization.

    Taught in notebook 09.
    """
    if abs(dx) < 1 and abs(dy) < 1:
        return identity

    def move(x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad = (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0))
        padded = F.pad(x, pad, mode="replicate")
        top, left = max(-dy, 0), max(-dx, 0)
        return padded[..., top : top + h, left : left + w]

    move.__name__ = f"shift_{dx:+d}_{dy:+d}"
    return move


TTA_GROUPS: dict[str, dict[str, Transform]] = {
    "hflip": {"hflip": hflip},
    "shift": {
        "shift_right": shift(1, 0),
        "shift_left": shift(-1, 0),
        "shift_down": shift(0, 1),
        "shift_up": shift(0, -1),
    },
    "vflip": {"vflip": vflip},
}


def tta_transforms(names: Sequence[str], name: str = "tta") -> dict[str, Transform]:
    """``{"identity": ..., <transforms of every named group>}`` for the ``tta`` parameter.

    Groups: ``hflip``, ``shift`` (one pixel in each of four directions) and ``vflip``. An
    unknown name is a ParameterError naming the parameter and the allowed names.

    Taught in notebook 09.
    """
    unknown = [n for n in names if n not in TTA_GROUPS]
    if isinstance(names, str) or unknown:
        raise ParameterError(
            f"parameter {name!r} got {names!r}; allowed: names from "
            + ", ".join(repr(g) for g in TTA_GROUPS)
        )
    chosen: dict[str, Transform] = {"identity": identity}
    for group in names:
        chosen.update(TTA_GROUPS[group])
    return chosen


@torch.inference_mode()
def tta_predict(
    net: nn.Module,
    x: torch.Tensor,
    transforms: Sequence[Transform],
    batch_size: int = 4096,
) -> torch.Tensor:
    """Mean softmax ``(N, C)`` of ``net`` over ``transforms`` applied to the batch ``x``.

    Runs in eval mode under ``torch.inference_mode()`` and restores the mode the model was in.
    ``transforms`` are functions ``x -> x'`` on normalized batches; include :func:`identity` to
    keep the plain prediction among the averaged ones. Taught in notebook 09.
    """
    transforms = list(transforms)
    if not transforms:
        raise ParameterError("parameter 'transforms' is empty; allowed: at least one transform")
    was_training = net.training
    net.eval()
    try:
        total = None
        for transform in transforms:
            probs = torch.cat(
                [net(transform(xb)).float().softmax(1).cpu() for xb in x.split(batch_size)]
            )
            total = probs if total is None else total + probs
        return total / len(transforms)
    finally:
        net.train(was_training)


# ---------------------------------------------------------------- k-fold
def check_folds(folds: int, labels: torch.Tensor, name: str = "folds") -> int:
    """Refuse a k that stratified k-fold cannot use: k < 2, or more folds than the smallest class
    has examples (some fold would miss that class). Returns ``folds``.

    Taught in notebook 09."""
    counts = torch.bincount(torch.as_tensor(labels).long())
    smallest = int(counts[counts > 0].min()) if counts.numel() else 0
    if isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= smallest:
        raise ParameterError(
            f"parameter {name!r} got {folds!r}; allowed: an integer in [2, {smallest}] (the "
            f"smallest class of the training split has {smallest} examples, and stratified "
            "k-fold needs at least one of each class in every fold)"
        )
    return folds
