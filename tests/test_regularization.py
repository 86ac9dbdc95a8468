"""Unit tests for course_utils.regularization (no network, no dataset)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.data import Augment, Batches
from course_utils.regularization import (
    check_subset_size,
    check_training,
    check_weight_decay,
    crop_shifts,
    false_alarms,
    generalization_gap,
    images_per_second,
    is_flip_or_same,
    is_shifted_crop,
    make_optimizer,
    selection_optimism,
    weight_norm,
)
from course_utils.validation import ParameterError


def test_check_weight_decay_refuses_negative_and_accepts_zero() -> None:
    assert check_weight_decay("weight_decay", 0.0) == 0.0
    assert check_weight_decay("weight_decay", 1e-3) == 1e-3
    with pytest.raises(ParameterError, match="'weight_decay' got -0.001"):
        check_weight_decay("weight_decay", -1e-3)
    with pytest.raises(ParameterError):
        check_weight_decay("weight_decay", float("nan"))


def test_check_subset_size_refuses_more_than_available() -> None:
    assert check_subset_size("train_size", 100, 100) == 100
    with pytest.raises(ParameterError, match=r"'train_size' got 101.*\[1, 100\].*has 100 examples"):
        check_subset_size("train_size", 101, 100)
    with pytest.raises(ParameterError):
        check_subset_size("train_size", 5, 100, minimum=10)
    with pytest.raises(ParameterError):
        check_subset_size("train_size", 50.0, 100)


def test_make_optimizer_kinds_and_refusals() -> None:
    p = [nn.Parameter(torch.ones(3))]
    assert isinstance(make_optimizer("adam", p, 1e-3, 0.1), torch.optim.Adam)
    assert isinstance(make_optimizer("adamw", p, 1e-3, 0.1), torch.optim.AdamW)
    with pytest.raises(ParameterError, match="weight_decay"):
        make_optimizer("adam", p, 1e-3, -1.0)
    with pytest.raises(ParameterError, match="optimizer"):
        make_optimizer("sgd", p, 1e-3, 0.0)


def test_weight_norm_counts_matrices_and_optionally_biases() -> None:
    lin = nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 4.0]]))
        lin.bias.copy_(torch.tensor([12.0, 0.0]))
    assert weight_norm(lin) == pytest.approx(5.0)
    assert weight_norm(lin, include_bias=True) == pytest.approx(13.0)


def test_generalization_gap_signs() -> None:
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    x = torch.randn(64, 4)
    y = model(x).argmax(1).detach()  # the model is perfect on "train"
    train = [(x, y)]
    val = [(x, 1 - y)]  # and always wrong on "val"
    g = generalization_gap(model, train, val)
    assert g["train_acc"] == 1.0 and g["val_acc"] == 0.0
    assert g["gap_acc"] == pytest.approx(1.0)
    assert g["gap_loss"] > 0
    assert model.training  # mode restored


def test_false_alarms() -> None:
    assert false_alarms([1.0, 0.8, 0.9, 0.7, 0.75, 0.8]) == [3]
    assert false_alarms([1.0, 0.8, 0.6, 0.7, 0.8]) == []  # the first rise is the real turn
    assert false_alarms([1.0, 0.9]) == []


def test_selection_optimism_positive_for_equal_candidates() -> None:
    gen = torch.Generator().manual_seed(0)
    correct = torch.rand(20, 2000, generator=gen) < 0.8  # 20 equally good candidates
    out = selection_optimism(correct, 200, repeats=100, seed=0)
    assert out["mean"] > 0.01  # picking the max of noisy estimates overstates
    assert out["share_positive"] > 0.8
    single = selection_optimism(
        correct[:1], 200, repeats=100, seed=0
    )  # no choice: no bias on average
    assert abs(single["mean"]) < 0.01
    with pytest.raises(ParameterError):
        selection_optimism(correct, 2000)


def test_crop_and_flip_checks() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(1, 256, (12, 1, 10, 10), dtype=torch.uint8, generator=gen)
    cropped = Augment(crop_padding=2)(x, gen)
    assert is_shifted_crop(cropped, x, 2)
    shifts = crop_shifts(cropped, x, 2)
    assert all(s is not None and 0 <= s[0] <= 4 and 0 <= s[1] <= 4 for s in shifts)
    assert crop_shifts(x, x, 2) == [(2, 2)] * 12  # unmoved = centre window
    flipped = Augment(flip=True)(x, gen)
    assert is_flip_or_same(flipped, x)
    assert not is_flip_or_same(x.transpose(-1, -2), x)
    noisy = x.clone()
    noisy[0, 0, 5, 5] ^= 1
    assert not is_shifted_crop(noisy, x, 2)


def test_images_per_second_positive() -> None:
    assert images_per_second(lambda: 100, repeats=2) > 0


def test_batches_with_augment_work_with_gap() -> None:
    x = torch.randint(0, 256, (32, 1, 8, 8), dtype=torch.uint8)
    y = torch.randint(0, 3, (32,))
    loader = Batches(x, y, 8, mean=(0.5,), std=(0.25,), augment=Augment(1, True))
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    g = generalization_gap(model, loader, loader)
    assert set(g) == {"train_loss", "train_acc", "val_loss", "val_acc", "gap_loss", "gap_acc"}


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("width", dict(width=0)),
        ("epochs", dict(epochs=1.5)),
        ("lr", dict(lr=0.0)),
        ("batch_size", dict(batch_size=-1)),
    ],
)
def test_check_training_names_the_bad_parameter(name, kwargs) -> None:
    good = dict(width=8, epochs=1, lr=1e-3, batch_size=4)
    check_training(**good)
    with pytest.raises(ParameterError, match=repr(name)):
        check_training(**{**good, **kwargs})
