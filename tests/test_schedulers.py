"""Schedulers by name: closed-form curves, validation, and fit's lr sequence vs torch's scheduler alone."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.schedulers import SCHEDULERS, build_scheduler, check_hyperparameters, lr_schedule
from course_utils.train import fit
from course_utils.validation import ParameterError


def test_step_and_exponential_closed_form() -> None:
    s = lr_schedule("step", 0.1, 10, step_size=3, gamma=0.5)
    assert s.epoch_lr == pytest.approx([0.1 * 0.5 ** (e // 3) for e in range(10)])
    assert s.reductions == [4, 7, 10]
    e = lr_schedule("exponential", 0.1, 6, gamma=0.8)
    assert e.epoch_lr == pytest.approx([0.1 * 0.8**k for k in range(6)])


def test_cosine_closed_form() -> None:
    s = lr_schedule("cosine", 0.1, 8, eta_min=0.01)
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * e / 8)) / 2 for e in range(8)]
    assert s.epoch_lr == pytest.approx(expected)


def test_plateau_follows_the_metric() -> None:
    losses = [1.0, 0.8, 0.81, 0.82, 0.7, 0.71, 0.72, 0.73]
    s = lr_schedule("plateau", 0.1, 20, metrics=losses, patience=1, factor=0.5)
    assert len(s.epoch_lr) == len(losses)
    # two epochs without improvement (> patience=1) -> halve, counted from the epoch after the 2nd bad one
    assert s.epoch_lr == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])


def test_onecycle_per_batch_shape() -> None:
    s = lr_schedule("onecycle", 0.01, 4, steps_per_epoch=5, max_lr_factor=10, pct_start=0.3)
    assert len(s.batch_lr) == 20
    peak = max(s.batch_lr)
    assert peak == pytest.approx(0.1)
    assert s.batch_lr[0] == pytest.approx(0.1 / 25)
    assert s.batch_lr.index(peak) == round(0.3 * 20) - 1
    assert s.batch_lr[-1] < s.batch_lr[0]


def tiny_problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(48, 6, generator=g)
    y = (x[:, 0] + 0.5 * torch.randn(48, generator=g) > 0).long()
    train = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 48, 16)]
    val = [(x[:24], 1 - y[:24])]  # flipped labels: the validation loss rises, so plateaus happen
    return train, val


@pytest.mark.parametrize("name", SCHEDULERS)
def test_fit_produces_the_same_lr_sequence_as_torch_alone(name: str) -> None:
    train, val = tiny_problem()
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    hp = {"step_size": 2, "gamma": 0.5, "patience": 0, "factor": 0.5}
    scheduler = build_scheduler(name, opt, epochs=7, steps_per_epoch=len(train), **hp)
    history = fit(model, train, val, epochs=7, optimizer=opt, scheduler=scheduler, progress=False)
    alone = lr_schedule(name, 0.5, 7, steps_per_epoch=len(train), metrics=history["val_loss"], **hp)
    assert history["lr"] == pytest.approx(alone.epoch_lr, rel=1e-12)
    assert history.batch_lr == pytest.approx(alone.batch_lr, rel=1e-12)
    if name == "plateau":  # patience 0 on a noisy tiny problem: it must actually have reduced
        assert alone.reductions, history["val_loss"]


def test_plateau_with_a_hand_stepped_torch_scheduler() -> None:
    """The replay equals a ReduceLROnPlateau stepped by hand with the same metric."""
    metrics = [0.9, 0.95, 0.7, 0.75, 0.76, 0.77, 0.6]
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=1.0)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.1, patience=1)
    lrs = []
    for m in metrics:
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step(m)
    assert lr_schedule(
        "plateau", 1.0, 7, metrics=metrics, factor=0.1, patience=1
    ).epoch_lr == pytest.approx(lrs)


@pytest.mark.parametrize(
    "name, hp, bad",
    [
        ("nope", {}, "scheduler"),
        ("step", {"step_size": 0}, "step_size"),
        ("step", {"gamma": 1.5}, "gamma"),
        ("exponential", {"gamma": -0.1}, "gamma"),
        ("plateau", {"factor": 1.0}, "factor"),
        ("plateau", {"patience": -1}, "patience"),
        ("onecycle", {"pct_start": 1.0}, "pct_start"),
    ],
)
def test_bad_hyperparameters_refused(name: str, hp: dict, bad: str) -> None:
    with pytest.raises(ParameterError, match=repr(bad)):
        check_hyperparameters(name, **hp)


def test_bad_lr_and_missing_metric_refused() -> None:
    with pytest.raises(ParameterError, match="'lr'"):
        lr_schedule("step", -0.1, 5)
    with pytest.raises(ParameterError, match="metrics"):
        lr_schedule("plateau", 0.1, 5)


def test_parse_schedulers() -> None:
    from course_utils.schedulers import parse_schedulers

    assert parse_schedulers("step, cosine") == ["step", "cosine"]
    for bad in ("step,warmup", "", "step,step"):
        with pytest.raises(ParameterError, match="schedulers"):
            parse_schedulers(bad)
