"""Notebook 03 (weight decay and augmentation): smoke-run results, refused parameters, and the
functions the notebook teaches (read from its source, so the notebook stays their only copy)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

import course_utils as cu

STEM = "03_weight_decay_and_augmentation"
SOURCE = Path(__file__).resolve().parent.parent / "notebooks" / f"{STEM}.py"


def notebook_function(name: str, **extra):
    """The function ``name`` as defined in the notebook's source (numpy and torch in scope)."""
    tree = ast.parse(SOURCE.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    namespace = {"np": np, "torch": torch, "cu": cu, **extra}
    exec(compile(ast.Module([node], []), str(SOURCE), "exec"), namespace)
    return namespace[name]


REGIMES = ["overfitting", "short budget"]
ARMS = ("plain", "weight_decay", "augmentation")


def test_metrics_present_and_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    assert m["adam_wd0_weight_norm"] == m["adamw_wd0_weight_norm"]  # no decay: the same run
    assert m["adam_wd1_weight_norm"] < m["adam_wd0_weight_norm"]  # strong L2 shrinks the weights
    assert m["adamw_wd100_weight_norm"] < m["adamw_wd0_weight_norm"]
    assert m["adam_wd0_val_acc"] > 0.2  # chance is 0.1
    assert m["augment_median_speedup"] > 0 and m["sweep_seconds"] > 0
    assert m["cnn_weight_decay"] > 0 and m["cnn_seconds"] > 0
    assert m["cnn_augmentation"].startswith("shift ")  # the augmentation the arm used
    for regime in ("overfitting", "short_budget"):
        for arm in ARMS:
            assert -1 <= m[f"cnn_{regime}_{arm}_gap"] <= 1
            assert 0 <= m[f"cnn_{regime}_{arm}_val_acc"] <= 1


def test_regularizers_are_measured_on_a_cnn_in_two_regimes(notebook_result) -> None:
    """The old design measured augmentation on an MLP in one regime: this would have failed."""
    result = notebook_result(STEM)
    m, claims = result["metrics"], {c["claim"]: c for c in result["claims"]}
    assert m["regularizer_model"] == "small_cnn"
    # the overfitting regime has fewer images and more epochs than the short budget
    assert m["overfitting_images"] < m["short_budget_images"]
    assert m["overfitting_epochs"] > m["short_budget_epochs"]
    for noun in ("Weight decay", "Data augmentation"):
        every = claims[f"{noun} improves held-out accuracy in every training regime"]
        assert list(every["groups"]) == REGIMES and every["target"] == "every"
        assert "factor: regime" in every["measured"]
        arms = every["group_arms"]
        assert all(a["treatment"].startswith("small CNN") for a in arms.values())
        assert all(a["baseline"] == f"small CNN, plain, {r}" for r, a in arms.items())
        overfits = claims[f"{noun} improves held-out accuracy when the model overfits"]
        assert overfits["unit"] == "accuracy points" and overfits["arms"]["better"] == "higher"
        assert overfits["arms"]["baseline"] == "small CNN, plain, overfitting"
        # the overfitting claim is the overfitting level of the across claim (same runs)
        assert overfits["samples"] == every["groups"]["overfitting"]


def test_gap_claims_print_the_held_out_change(notebook_result) -> None:
    claims = {c["claim"]: c for c in notebook_result(STEM)["claims"]}
    for noun in ("Weight decay", "Data augmentation"):
        gap = claims[f"{noun} reduces the gap between training and validation accuracy"]
        held_out = claims[f"{noun} improves held-out accuracy when the model overfits"]
        assert "held-out (validation) accuracy change" in gap["measured"]
        assert cu.format_effect(held_out["samples"], "points") in gap["measured"]
        assert gap["arms"]["better"] == "lower"  # a smaller gap supports the claim


def test_claims(notebook_result) -> None:
    claims = {c["claim"]: c for c in notebook_result(STEM)["claims"]}
    assert len(claims) == 13
    exact = [c for c in claims if c.startswith(("L2 regularization equals", "torch's AdamW is"))]
    assert len(exact) == 2 and all(claims[c]["verdict"] == "confirmed" for c in exact)
    for name, c in claims.items():
        if name in exact:
            continue
        assert c["min_effect"] > 0 and c["unit"]
        assert "arms" in c or "group_arms" in c  # every comparison built with cu.paired
        if c["unit"] in cu.MIN_EFFECTS:
            assert c["min_effect"] == cu.MIN_EFFECTS[c["unit"]]
        else:
            assert "why" in c["measured"]  # a min effect off the table says why
        if not name.startswith("Batched augmentation"):  # timing: 5 repeats even under smoke
            assert c["verdict"] == "inconclusive" and c["n"] == 1  # one seed under smoke
    steps = claims["Larger weight decay means smaller weights (Adam's L2)"]["groups"]
    assert list(steps) == ["0->0.01", "0.01->1"]  # every step of the sweep has its own interval
    adamw = claims[
        "AdamW generalizes better than Adam with L2 (each tuned on validation, on other seeds)"
    ]
    assert "seeds [100]" in adamw["measured"]  # picked on seeds the measurement does not use


@pytest.mark.parametrize(
    "name, value",
    [("train_size", "50000"), ("crop_padding", "15"), ("overfit_size", "50000")],
)
def test_values_beyond_the_data_are_refused_before_training(refused_run, name, value) -> None:
    refused_run("03", name, value)


@pytest.mark.parametrize(
    "name, value", [("weight_decay", "-0.01"), ("flip", "maybe"), ("overfit_epochs", "0")]
)
def test_out_of_range_values_are_refused_before_a_kernel_starts(tmp_path, name, value) -> None:
    from course_utils.tools.cli import main

    out = tmp_path / "run"
    assert main(["run", "03", "--profile", "smoke", "-p", name, value, "--out", str(out)]) == 2
    assert not out.exists()


def test_l2_equals_decay_only_for_plain_sgd() -> None:
    gap = notebook_function("l2_minus_decoupled")
    assert gap(lambda p, lr, wd: torch.optim.SGD(p, lr=lr, weight_decay=wd)) < 1e-12
    assert gap(lambda p, lr, wd: torch.optim.SGD(p, lr=lr, momentum=0.9, weight_decay=wd)) > 1e-3
    assert gap(lambda p, lr, wd: torch.optim.Adam(p, lr=lr, weight_decay=wd)) > 1e-3
    assert notebook_function("adamw_vs_manual")() < 1e-12


def test_param_groups_decay_matrices_only() -> None:
    groups = notebook_function("param_groups")(torch.nn.Linear(3, 2), 0.1)
    assert [len(g["params"]) for g in groups] == [1, 1]
    assert groups[0]["params"][0].ndim == 2 and groups[0]["weight_decay"] == 0.1
    assert groups[1]["weight_decay"] == 0.0


def test_weight_norm_counts_matrices_only() -> None:
    lin = torch.nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 4.0]]))
        lin.bias.fill_(12.0)
    assert notebook_function("weight_norm")(lin) == pytest.approx(5.0)


def test_crop_shifts_finds_every_offset() -> None:
    crop_shifts = notebook_function("crop_shifts")
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(1, 256, (12, 1, 10, 10), dtype=torch.uint8, generator=gen)
    shifts = crop_shifts(cu.Augment(crop_padding=2)(x, gen), x, 2)
    assert all(s is not None and 0 <= s[0] <= 4 and 0 <= s[1] <= 4 for s in shifts)
    assert crop_shifts(x, x, 2) == [(2, 2)] * 12  # unmoved = centre window
    assert crop_shifts(x.transpose(-1, -2), x, 2)[0] is None


def test_birthday_formula() -> None:
    p_no_repeat = notebook_function("p_no_repeat")
    assert p_no_repeat(50, 1) == 1.0 and p_no_repeat(50, 51) == 0.0
    assert p_no_repeat(365, 23) == pytest.approx(0.4927, abs=1e-4)  # the classic birthday problem


def test_decay_alone_follows_the_cosine_schedule() -> None:
    """The shrink AdamW's decay alone gives over a run: the product of 1 - lr_t * wd per step."""
    decay_alone = notebook_function(
        "decay_alone", REGIMES={"overfitting": (64, 4, "overfit_size")}, lr=0.01, cnn_batch_size=32
    )
    rates = [0.01 * 0.5 * (1 + np.cos(np.pi * e / 4)) for e in range(4)]
    expected = np.prod([(1 - r * 2.0) ** 2 for r in rates])  # 2 steps per epoch
    assert decay_alone(2.0) == pytest.approx(expected)
    assert decay_alone(0.0) == 1.0
