"""Training loop with a per-epoch history, callbacks (early stopping, checkpoints) and LR schedulers."""

from __future__ import annotations

import copy
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim import lr_scheduler as sched
from tqdm.auto import tqdm

from .validation import ParameterError, check_choice, check_number

PER_BATCH_SCHEDULERS = (sched.OneCycleLR, sched.CyclicLR)


@dataclass
class History:
    """What happened during ``fit``: one row per epoch plus the loss and lr of every batch.

    Taught in notebook 00.
    """

    rows: list[dict[str, float]] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    batch_lr: list[float] = field(default_factory=list)
    stopped_epoch: int | None = None  # set when a callback stopped training early
    best_epoch: int | None = None  # set by EarlyStopping / ModelCheckpoint

    def __getitem__(self, key: str) -> list[float]:
        return [row[key] for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def last(self) -> dict[str, float]:
        return self.rows[-1]

    def best(self, metric: str = "val_loss", mode: str = "min") -> dict[str, float]:
        """The row with the best value of ``metric``."""
        check_choice("mode", mode, ("min", "max"))
        pick = min if mode == "min" else max
        return pick(self.rows, key=lambda r: r[metric])

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "stopped_epoch": self.stopped_epoch,
            "best_epoch": self.best_epoch,
        }


class Callback:
    """Hooks called by ``fit``; ``on_epoch_end`` returns True to stop training.

    Taught in notebook 05.
    """

    def on_train_begin(self, model: nn.Module) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: nn.Module) -> bool:
        return False

    def on_train_end(self, model: nn.Module, history: History) -> None:
        pass


class _Monitor:
    """Tracks the best value of a metric; ``improved(value)`` applies ``min_delta``."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        check_choice("mode", mode, ("min", "max"))
        check_number("min_delta", min_delta, low=0)
        self.monitor, self.mode, self.min_delta = monitor, mode, min_delta
        self.reset()

    def reset(self) -> None:
        """Forget the best value (a new training run starts)."""
        self.best: float | None = None
        self.best_epoch: int | None = None

    def improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def value(self, logs: dict[str, float]) -> float:
        if self.monitor not in logs:
            raise KeyError(
                f"monitored metric {self.monitor!r} is not in the epoch logs {sorted(logs)}; "
                "pass validation data to fit"
            )
        return logs[self.monitor]


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    With ``restore_best`` the model gets back the weights of its best epoch at the end.

    Taught in notebook 05.
    """

    def __init__(
        self,
        patience: int = 5,
        min_delta: float = 0.0,
        monitor: str = "val_loss",
        mode: str = "min",
        restore_best: bool = True,
    ) -> None:
        check_number("patience", patience, low=1, integer=True)
        self.patience, self.restore_best = patience, restore_best
        self.tracker = _Monitor(monitor, mode, min_delta)
        self.wait = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.stopped_epoch: int | None = None

    def on_train_begin(self, model: nn.Module) -> None:
        self.tracker.reset()
        self.wait, self.best_state, self.stopped_epoch = 0, None, None

    def update(self, epoch: int, value: float) -> tuple[bool, bool]:
        """Feed one epoch's value; returns ``(improved, stop)``."""
        if self.tracker.improved(value):
            self.tracker.best, self.tracker.best_epoch, self.wait = value, epoch, 0
            return True, False
        self.wait += 1
        return False, self.wait >= self.patience

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: nn.Module) -> bool:
        improved, stop = self.update(epoch, self.tracker.value(logs))
        if improved and self.restore_best:
            self.best_state = copy.deepcopy(model.state_dict())
        if stop:
            self.stopped_epoch = epoch
        return stop

    def on_train_end(self, model: nn.Module, history: History) -> None:
        history.best_epoch = self.tracker.best_epoch
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)


def early_stopping_epoch(
    values: Sequence[float], patience: int, min_delta: float = 0.0, mode: str = "min"
) -> tuple[int, int]:
    """Replay a recorded metric history: ``(epoch training would stop at, best epoch)``, 1-based.

    Uses the same rule as ``EarlyStopping``; the stop epoch is the last epoch when it never triggers.

    Taught in notebook 05.
    """
    rule = EarlyStopping(patience=patience, min_delta=min_delta, mode=mode, restore_best=False)
    for epoch, value in enumerate(values, start=1):
        _, stop = rule.update(epoch, value)
        if stop:
            return epoch, rule.tracker.best_epoch  # type: ignore[return-value]
    return len(values), rule.tracker.best_epoch  # type: ignore[return-value]


def save_atomic(state: dict[str, Any], path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a state dict saved by ``save_atomic`` (``weights_only=True``: no arbitrary code).

    Taught in notebook 05.
    """
    state = torch.load(path, map_location=next(model.parameters()).device, weights_only=True)
    model.load_state_dict(state)
    return model


class ModelCheckpoint(Callback):
    """Save the weights whenever ``monitor`` improves (atomic write); optionally restore the best at the end.

    Taught in notebook 05.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        monitor: str = "val_loss",
        mode: str = "min",
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        self.path = Path(path)
        self.tracker = _Monitor(monitor, mode, min_delta)
        self.restore_best = restore_best
        self.saved_epochs: list[int] = []

    def on_train_begin(self, model: nn.Module) -> None:
        self.tracker.reset()
        self.saved_epochs = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: nn.Module) -> bool:
        value = self.tracker.value(logs)
        if self.tracker.improved(value):
            self.tracker.best, self.tracker.best_epoch = value, epoch
            save_atomic(model.state_dict(), self.path)
            self.saved_epochs.append(epoch)
        return False

    def on_train_end(self, model: nn.Module, history: History) -> None:
        history.best_epoch = self.tracker.best_epoch
        if self.restore_best and self.path.exists():
            load_weights(model, self.path)


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return (logits.argmax(1) == y).float().mean().item()


def _batch_targets(y: torch.Tensor) -> torch.Tensor:
    return y if y.ndim == 1 else y.argmax(1)


@torch.inference_mode()
def predict_logits(model: nn.Module, loader: Iterable) -> torch.Tensor:
    """Logits for every example of ``loader`` (in eval mode; the previous mode is restored).

    Taught in notebook 07.
    """
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(xb).float().cpu() for xb, _ in loader])
    finally:
        model.train(was_training)


def predict_proba(model: nn.Module, loader: Iterable) -> torch.Tensor:
    """Softmax probabilities ``(N, classes)`` for every example of ``loader``."""
    return predict_logits(model, loader).softmax(dim=1)


@torch.inference_mode()
def evaluate(
    model: nn.Module, loader: Iterable, loss_fn: Callable | None = None
) -> dict[str, float]:
    """Mean loss and accuracy over ``loader`` in eval mode with no gradients; the mode is restored.

    Taught in notebook 02 (eval mode and no_grad).
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    was_training = model.training
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    try:
        for xb, yb in loader:
            logits = model(xb)
            total_loss += loss_fn(logits, yb).item() * len(yb)
            correct += (logits.argmax(1) == _batch_targets(yb)).sum().item()
            n += len(yb)
    finally:
        model.train(was_training)
    return {"loss": total_loss / n, "acc": correct / n}


def fit(
    model: nn.Module,
    train: Iterable,
    val: Iterable | None = None,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    scheduler: Any = None,
    monitor: str = "val_loss",
    callbacks: Sequence[Callback] = (),
    label_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    progress: bool | None = None,
    desc: str = "epochs",
) -> History:
    """Train ``model`` for up to ``epochs`` epochs and return its ``History``.

    Notebook 00 teaches this loop (``train_epoch``) and checks that both give the same weights.

    - ``optimizer`` defaults to Adam(lr).
    - ``scheduler``: OneCycleLR/CyclicLR are stepped after every batch; ReduceLROnPlateau once per
      epoch with ``logs[monitor]``; any other scheduler once per epoch after the optimizer's steps.
    - ``label_transform`` changes the training labels of each batch (e.g. DisturbLabel); accuracy
      is still measured against the true labels.
    - ``progress``: a tqdm bar over epochs; None = on unless ``$COURSE_PROGRESS`` is ``0`` (set for
      batch runs, so stored notebooks hold no stale progress widgets).
    - ``train_loss`` is the objective actually minimized (``loss_fn`` on the training labels);
      ``val_loss`` is always plain cross-entropy (NLL), so runs with different losses compare.
    """
    check_number("epochs", epochs, low=1, integer=True)
    if optimizer is None:
        check_number("lr", lr, low=0, low_open=True)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    _check_monitor(scheduler, monitor, val is not None)
    loss_fn = loss_fn or nn.functional.cross_entropy
    per_batch = isinstance(scheduler, PER_BATCH_SCHEDULERS)
    history = History()
    for cb in callbacks:
        cb.on_train_begin(model)
    model.train()
    if progress is None:
        progress = os.environ.get("COURSE_PROGRESS", "1") != "0"
    bar = tqdm(range(1, epochs + 1), desc=desc, leave=False, disable=not progress)
    for epoch in bar:
        step = _Step(model, optimizer, loss_fn, label_transform, scheduler if per_batch else None)
        epoch_lr = optimizer.param_groups[0]["lr"]  # the rate the epoch started with
        logs = {"epoch": epoch, **step.epoch(train, history), "lr": epoch_lr}
        if val is not None:
            v = evaluate(model, val)
            logs.update(val_loss=v["loss"], val_acc=v["acc"])
        logs.update(time=step.seconds, examples_per_s=step.seen / step.seconds)
        history.rows.append(logs)
        if scheduler is not None and not per_batch:
            _step_per_epoch(scheduler, logs, monitor)
        bar.set_postfix(
            {k: round(v, 4) for k, v in logs.items() if k in ("train_loss", "val_loss", "val_acc")}
        )
        if any([cb.on_epoch_end(epoch, logs, model) for cb in callbacks]):
            history.stopped_epoch = epoch
            break
    bar.close()
    for cb in callbacks:
        cb.on_train_end(model, history)
    return history


EPOCH_LOGS = ("epoch", "lr", "train_loss", "train_acc", "time", "examples_per_s")


def _check_monitor(scheduler: Any, monitor: str, has_val: bool) -> None:
    """ReduceLROnPlateau needs a monitored value that the logs will hold (checked before training)."""
    if not isinstance(scheduler, sched.ReduceLROnPlateau):
        return
    logged = EPOCH_LOGS + (("val_loss", "val_acc") if has_val else ())
    if monitor not in logged:
        raise ParameterError(
            f"parameter 'monitor' got {monitor!r}; ReduceLROnPlateau needs one of {sorted(logged)}"
            + ("" if has_val else " (pass val to monitor val_loss or val_acc)")
        )


def _step_per_epoch(scheduler: Any, logs: dict[str, float], monitor: str) -> None:
    """An epoch-level scheduler step: ReduceLROnPlateau with the monitored value, others plainly."""
    if isinstance(scheduler, sched.ReduceLROnPlateau):
        scheduler.step(logs[monitor])
    else:
        scheduler.step()


class _Step:
    """One epoch of the training loop of notebook 00: forward, loss, backward, step, per batch."""

    def __init__(self, model, optimizer, loss_fn, label_transform, batch_scheduler) -> None:
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.label_transform, self.batch_scheduler = label_transform, batch_scheduler
        self.seen, self.seconds = 0, 0.0

    def epoch(self, batches: Iterable, history: History) -> dict[str, float]:
        """Train on every batch; the epoch's mean training loss and accuracy (true labels)."""
        start, total_loss, correct = time.perf_counter(), 0.0, 0
        for xb, yb in batches:
            target = self.label_transform(yb) if self.label_transform is not None else yb
            logits = self.model(xb)
            loss = self.loss_fn(logits, target)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            history.batch_lr.append(self.optimizer.param_groups[0]["lr"])
            if self.batch_scheduler is not None:
                self.batch_scheduler.step()
            history.batch_loss.append(loss.item())
            total_loss += history.batch_loss[-1] * len(yb)
            correct += (logits.detach().argmax(1) == _batch_targets(yb)).sum().item()
            self.seen += len(yb)
        self.seconds = time.perf_counter() - start
        return {"train_loss": total_loss / self.seen, "train_acc": correct / self.seen}
