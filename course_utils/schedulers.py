"""Learning-rate schedulers by name, with their hyperparameters checked before any training.

``build_scheduler`` makes the ``torch.optim.lr_scheduler`` object that ``course_utils.train.fit``
steps (per epoch, with the validation loss for ReduceLROnPlateau, per batch for OneCycleLR).
``lr_schedule`` replays a schedule without training, from a dummy parameter, so its curve can
be drawn instantly (ReduceLROnPlateau needs a recorded metric history for that).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.optim import lr_scheduler as sched

from .numpy_optim import parse_names
from .validation import ParameterError, check_choice, check_number

SCHEDULERS = ("constant", "step", "exponential", "plateau", "cosine", "onecycle")
PER_BATCH = ("onecycle",)
TORCH_NAMES = {
    "constant": "(none)",
    "step": "StepLR",
    "exponential": "ExponentialLR",
    "plateau": "ReduceLROnPlateau",
    "cosine": "CosineAnnealingLR",
    "onecycle": "OneCycleLR",
}
# Hyperparameters each scheduler reads (all others are ignored by it), with defaults.
DEFAULTS: dict[str, dict[str, Any]] = {
    "constant": {},
    "step": {"step_size": 3, "gamma": 0.5},
    "exponential": {"gamma": 0.8},
    "plateau": {"factor": 0.5, "patience": 1, "mode": "min"},
    "cosine": {"eta_min": 0.0},
    "onecycle": {"max_lr_factor": 1.0, "pct_start": 0.3},
}


def parse_schedulers(spec: str) -> list[str]:
    """``"step, cosine"`` -> ``["step", "cosine"]``; unknown names raise ``ParameterError``."""
    return parse_names(spec, SCHEDULERS, "schedulers")


def check_hyperparameters(name: str, **hp: Any) -> dict[str, Any]:
    """Check the scheduler name and its hyperparameters; returns them with defaults filled in.

    Raises ``ParameterError`` naming the bad parameter, its value and what is allowed.
    """
    check_choice("scheduler", name, SCHEDULERS)
    values = {
        **DEFAULTS[name],
        **{k: v for k, v in hp.items() if k in DEFAULTS[name] and v is not None},
    }
    if "step_size" in values:
        check_number("step_size", values["step_size"], low=1, integer=True)
    if "gamma" in values:
        check_number("gamma", values["gamma"], low=0, high=1, low_open=True)
    if "factor" in values:
        check_number("factor", values["factor"], low=0, high=1, low_open=True, high_open=True)
    if "patience" in values:
        check_number("patience", values["patience"], low=0, integer=True)
    if "mode" in values:
        check_choice("mode", values["mode"], ("min", "max"))
    if "eta_min" in values:
        check_number("eta_min", values["eta_min"], low=0)
    if "max_lr_factor" in values:
        check_number("max_lr_factor", values["max_lr_factor"], low=1)
    if "pct_start" in values:
        check_number("pct_start", values["pct_start"], low=0, high=1, low_open=True, high_open=True)
    return values


def build_scheduler(
    name: str, optimizer: torch.optim.Optimizer, *, epochs: int, steps_per_epoch: int = 1, **hp: Any
) -> Any:
    """The torch scheduler ``name`` for ``optimizer`` (None for ``constant``).

    - ``step``: ``StepLR(step_size, gamma)``; ``exponential``: ``ExponentialLR(gamma)``;
    - ``plateau``: ``ReduceLROnPlateau(mode, factor, patience)``, stepped with the monitored metric;
    - ``cosine``: ``CosineAnnealingLR(T_max=epochs, eta_min)``;
    - ``onecycle``: ``OneCycleLR(max_lr = max_lr_factor * lr, total_steps = epochs * steps_per_epoch,
      pct_start)``, stepped after every batch. Note that OneCycleLR *replaces* the optimizer's lr
      with ``max_lr / 25`` at the start.
    """
    values = check_hyperparameters(name, **hp)
    check_number("epochs", epochs, low=1, integer=True)
    check_number("steps_per_epoch", steps_per_epoch, low=1, integer=True)
    lr = optimizer.param_groups[0]["lr"]
    if name == "constant":
        return None
    if name == "step":
        return sched.StepLR(optimizer, step_size=values["step_size"], gamma=values["gamma"])
    if name == "exponential":
        return sched.ExponentialLR(optimizer, gamma=values["gamma"])
    if name == "plateau":
        return sched.ReduceLROnPlateau(
            optimizer, mode=values["mode"], factor=values["factor"], patience=values["patience"]
        )
    if name == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=values["eta_min"])
    return sched.OneCycleLR(
        optimizer,
        max_lr=values["max_lr_factor"] * lr,
        total_steps=epochs * steps_per_epoch,
        pct_start=values["pct_start"],
    )


@dataclass
class Schedule:
    """The learning rates a schedule gives: at the start of each epoch, and for every batch."""

    name: str
    epoch_lr: list[float]
    batch_lr: list[float] = field(default_factory=list)

    @property
    def reductions(self) -> list[int]:
        """1-based epochs whose learning rate is lower than the previous epoch's."""
        return [
            i + 1
            for i in range(1, len(self.epoch_lr))
            if self.epoch_lr[i] < self.epoch_lr[i - 1] * (1 - 1e-9)
        ]


def lr_schedule(
    name: str,
    lr: float,
    epochs: int,
    *,
    steps_per_epoch: int = 1,
    metrics: Sequence[float] | None = None,
    **hp: Any,
) -> Schedule:
    """Replay scheduler ``name`` on its own (no model, no data) the way ``fit`` steps it.

    ``metrics``: the monitored value of every epoch, required for ``plateau`` (e.g. a recorded
    validation-loss history); the schedule then has ``min(epochs, len(metrics))`` epochs.
    """
    check_number("lr", lr, low=0, low_open=True)
    check_hyperparameters(name, **hp)
    if name == "plateau":
        if metrics is None or len(metrics) == 0:
            raise ParameterError(
                "parameter 'metrics' got None; allowed: the monitored metric per epoch (ReduceLROnPlateau follows it)"
            )
        epochs = min(epochs, len(metrics))
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = build_scheduler(
        name, optimizer, epochs=epochs, steps_per_epoch=steps_per_epoch, **hp
    )
    out = Schedule(name, [])
    for epoch in range(epochs):
        out.epoch_lr.append(optimizer.param_groups[0]["lr"])
        for _ in range(steps_per_epoch):
            optimizer.step()  # no gradient: nothing changes, but the scheduler sees a step was taken
            out.batch_lr.append(optimizer.param_groups[0]["lr"])
            if name in PER_BATCH:
                scheduler.step()
        if name == "plateau":
            scheduler.step(metrics[epoch])  # type: ignore[index]
        elif scheduler is not None and name not in PER_BATCH:
            scheduler.step()
    return out
