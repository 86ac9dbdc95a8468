"""EarlyStopping, ModelCheckpoint, early_stopping_epoch, save_atomic and load_weights (course_utils.train)."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from torch import nn

from course_utils import train as tr
from course_utils.train import (
    Callback,
    EarlyStopping,
    ModelCheckpoint,
    early_stopping_epoch,
    fit,
    load_weights,
    save_atomic,
)
from course_utils.validation import ParameterError


# ------------------------------------------------------------------ the stopping rule on recorded values
@pytest.mark.parametrize(
    ("values", "patience", "min_delta", "expected"),
    [
        (
            [1.0, 0.9, 0.95, 0.96, 0.97],
            3,
            0.0,
            (5, 2),
        ),  # three epochs without improvement after epoch 2
        ([1.0, 0.9, 0.95, 0.96, 0.97], 4, 0.0, (5, 2)),  # never triggers: last epoch, best epoch
        ([1.0, 1.1, 0.5], 1, 0.0, (2, 1)),  # patience 1 stops at the first non-improvement
        ([1.0, 1.0, 1.0], 2, 0.0, (3, 1)),  # an equal value is not an improvement
        ([1.0, 0.99, 0.98, 0.97, 0.5], 3, 0.05, (4, 1)),  # steps of 0.01 are below min_delta
        ([1.0, 0.99, 0.98, 0.97, 0.5], 3, 0.0, (5, 5)),  # ... but count without it
        (
            [1.0, 0.94, 0.93, 0.88, 0.87, 0.86],
            2,
            0.05,
            (6, 4),
        ),  # best only moves on a real improvement
        (
            [0.8, 1.2, 0.7, 1.3, 0.6, 1.4, 1.5],
            2,
            0.0,
            (7, 5),
        ),  # fluctuations: each new low resets the count
    ],
)
def test_early_stopping_epoch(values, patience, min_delta, expected) -> None:
    assert early_stopping_epoch(values, patience, min_delta) == expected


def test_early_stopping_epoch_mode_max() -> None:
    accuracies = [0.5, 0.7, 0.69, 0.71, 0.70, 0.70]
    assert early_stopping_epoch(accuracies, 2, mode="max") == (6, 4)
    assert early_stopping_epoch(accuracies, 2, min_delta=0.05, mode="max") == (4, 2)


def test_update_reports_improvement_and_stop() -> None:
    rule = EarlyStopping(patience=2, restore_best=False)
    assert rule.update(1, 1.0) == (True, False)
    assert rule.update(2, 1.2) == (False, False)
    assert rule.update(3, 0.8) == (True, False)  # the wait counter is reset
    assert rule.update(4, 0.9) == (False, False)
    assert rule.update(5, 0.9) == (False, True)
    assert rule.tracker.best == 0.8 and rule.tracker.best_epoch == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(patience=0),
        dict(patience=-1),
        dict(patience=1.5),
        dict(patience=True),
        dict(min_delta=-0.01),
        dict(min_delta=float("nan")),
        dict(mode="avg"),
    ],
)
def test_bad_settings_are_refused(kwargs) -> None:
    name = next(iter(kwargs))
    with pytest.raises(ParameterError, match=name):
        EarlyStopping(**kwargs)
    with pytest.raises(ParameterError, match=name):
        early_stopping_epoch([1.0, 0.9], **{"patience": 1, **kwargs})


def test_checkpoint_refuses_negative_min_delta(tmp_path) -> None:
    with pytest.raises(ParameterError, match="min_delta"):
        ModelCheckpoint(tmp_path / "best.pt", min_delta=-1.0)


def test_missing_monitor_says_so() -> None:
    with pytest.raises(KeyError, match="val_loss"):
        EarlyStopping().on_epoch_end(1, {"train_loss": 1.0}, nn.Linear(2, 2))


# ------------------------------------------------------------------ callbacks fed by hand
class Scripted(Callback):
    """Sets the model's weights to the epoch number before the other callbacks see the epoch."""

    def on_epoch_end(self, epoch, logs, model) -> bool:
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float(epoch))
        return False


def drive(callbacks, losses, model) -> tr.History:
    """Feed a scripted validation-loss sequence through the callbacks, as ``fit`` would."""
    history = tr.History()
    for cb in callbacks:
        cb.on_train_begin(model)
    for epoch, loss in enumerate(losses, start=1):
        history.rows.append({"epoch": epoch, "val_loss": loss})
        if any([cb.on_epoch_end(epoch, {"val_loss": loss}, model) for cb in callbacks]):
            history.stopped_epoch = epoch
            break
    for cb in callbacks:
        cb.on_train_end(model, history)
    return history


def test_early_stopping_restores_the_best_weights() -> None:
    model = nn.Linear(3, 2)
    stopper = EarlyStopping(patience=2)
    history = drive([Scripted(), stopper], [0.9, 0.5, 0.7, 0.6, 0.4], model)
    assert history.stopped_epoch == 4 and stopper.stopped_epoch == 4
    assert history.best_epoch == 2
    assert all(torch.all(p == 2.0) for p in model.parameters())


def test_early_stopping_without_restore_keeps_the_last_weights() -> None:
    model = nn.Linear(3, 2)
    history = drive(
        [Scripted(), EarlyStopping(patience=2, restore_best=False)], [0.9, 0.5, 0.7, 0.6], model
    )
    assert history.best_epoch == 2
    assert all(torch.all(p == 4.0) for p in model.parameters())


def test_checkpoint_saves_on_improvement_only(tmp_path) -> None:
    model = nn.Linear(3, 2)
    checkpoint = ModelCheckpoint(tmp_path / "best.pt", restore_best=False)
    history = drive([Scripted(), checkpoint], [0.9, 0.5, 0.7, 0.5, 0.45, 0.8], model)
    assert checkpoint.saved_epochs == [1, 2, 5]
    assert history.best_epoch == 5
    state = torch.load(tmp_path / "best.pt", weights_only=True)
    assert all(torch.all(v == 5.0) for v in state.values())
    assert all(
        torch.all(p == 6.0) for p in model.parameters()
    )  # restore_best=False: last weights stay
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.pt"
    ]  # no temporary files left behind


def test_checkpoint_min_delta_and_restore(tmp_path) -> None:
    model = nn.Linear(3, 2)
    checkpoint = ModelCheckpoint(tmp_path / "best.pt", min_delta=0.1)
    drive([Scripted(), checkpoint], [1.0, 0.95, 0.85, 0.8, 0.7], model)
    assert checkpoint.saved_epochs == [1, 3, 5]  # 0.95 and 0.8 are not 0.1 below the best so far
    assert all(torch.all(p == 5.0) for p in model.parameters())


def test_checkpoint_restores_best_weights(tmp_path) -> None:
    model = nn.Linear(3, 2)
    drive([Scripted(), ModelCheckpoint(tmp_path / "sub" / "best.pt")], [0.9, 0.3, 0.7], model)
    assert all(torch.all(p == 2.0) for p in model.parameters())


def test_callbacks_start_fresh_when_reused(tmp_path) -> None:
    """A callback object used for a second run must not carry the first run's best value over."""
    model = nn.Linear(3, 2)
    stopper = EarlyStopping(patience=2)
    checkpoint = ModelCheckpoint(tmp_path / "best.pt", restore_best=False)
    drive([Scripted(), stopper, checkpoint], [0.1, 0.2, 0.3], model)
    history = drive([Scripted(), stopper, checkpoint], [0.9, 0.8, 0.7, 0.6], model)
    assert history.stopped_epoch is None and history.best_epoch == 4
    assert checkpoint.saved_epochs == [1, 2, 3, 4]
    assert all(torch.all(p == 4.0) for p in model.parameters())


# ------------------------------------------------------------------ with the real training loop
def _data(seed: int, flip: bool = False):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 4, generator=g)
    y = (x[:, 0] > 0).long()
    return [
        (x[i : i + 16], (1 - y[i : i + 16]) if flip else y[i : i + 16]) for i in range(0, 64, 16)
    ]


class Snapshots(Callback):
    def __init__(self) -> None:
        self.states: dict[int, dict[str, torch.Tensor]] = {}

    def on_epoch_end(self, epoch, logs, model) -> bool:
        self.states[epoch] = copy.deepcopy(model.state_dict())
        return False


def test_fit_stops_where_the_replay_says_and_restores_the_best_epoch(tmp_path) -> None:
    train, val = (
        _data(0),
        _data(1, flip=True),
    )  # validation labels are flipped: val loss rises as training learns
    torch.manual_seed(0)
    reference = fit(nn.Linear(4, 2), train, val, epochs=12, lr=0.05, progress=False)
    stop, best = early_stopping_epoch(reference["val_loss"], patience=3)
    assert stop < 12, "the scenario must trigger early stopping"

    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    snaps, stopper = Snapshots(), EarlyStopping(patience=3)
    checkpoint = ModelCheckpoint(tmp_path / "ckpt.pt", restore_best=False)
    history = fit(
        model,
        train,
        val,
        epochs=12,
        lr=0.05,
        callbacks=[snaps, stopper, checkpoint],
        progress=False,
    )
    assert len(history) == stop == history.stopped_epoch
    assert history.best_epoch == best
    assert history["val_loss"] == reference["val_loss"][:stop]
    for name, value in model.state_dict().items():
        assert torch.equal(value, snaps.states[best][name])
    on_disk = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    for name, value in on_disk.items():
        assert torch.equal(value, snaps.states[best][name])


# ------------------------------------------------------------------ the checkpoint file itself
def test_save_atomic_replaces_and_leaves_no_temporary_file(tmp_path) -> None:
    path = tmp_path / "w.pt"
    save_atomic({"a": torch.ones(2)}, path)
    save_atomic({"a": torch.zeros(2)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.zeros(2))
    assert [p.name for p in tmp_path.iterdir()] == ["w.pt"]


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch) -> None:
    path = tmp_path / "w.pt"
    save_atomic({"a": torch.ones(2)}, path)

    def broken_save(obj, f, *args, **kwargs):
        with open(f, "wb") as out:
            out.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(tr.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_atomic({"a": torch.zeros(2)}, path)
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["w.pt"]


class NotATensor:
    """Anything that is not a tensor/plain container needs full unpickling, which weights_only forbids."""


def test_load_weights_refuses_pickled_code(tmp_path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"weight": NotATensor()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_weights(nn.Linear(2, 2), path)


def test_load_weights_round_trip(tmp_path) -> None:
    source, target = nn.Linear(3, 2), nn.Linear(3, 2)
    save_atomic(source.state_dict(), tmp_path / "w.pt")
    load_weights(target, tmp_path / "w.pt")
    for a, b in zip(source.parameters(), target.parameters()):
        assert torch.equal(a, b)
