"""Notebook 02 (overfitting and validation): smoke-run results, refused parameters, and the
functions the notebook teaches (read from its source, so the notebook stays their only copy)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.notebooks  # runs the notebooks (nbval_run, refused_run)

STEM = "02_overfitting_and_validation"
SOURCE = Path(__file__).resolve().parent.parent / "notebooks" / f"{STEM}.py"
CLAIMS = (
    "Validation loss fluctuates (so do not stop at its first increase)",
    "After the sweet spot the training loss keeps falling",
    "After the sweet spot the loss on unseen data rises",
    "After the sweet spot accuracy on unseen data degrades",
    "The rising loss after the sweet spot is over-confidence on the wrong answers",
    "The accuracy optimum comes later than the loss minimum",
    "Choosing with the test set makes its accuracy an optimistic estimate",
)


def notebook_function(name: str):
    """The function ``name`` as defined in the notebook's source (numpy and torch in scope)."""
    tree = ast.parse(SOURCE.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    namespace = {"np": np, "torch": torch}
    exec(compile(ast.Module([node], []), str(SOURCE), "exec"), namespace)
    return namespace[name]


def test_metrics_present_and_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    assert 1 <= m["seed0_loss_min_epoch"] <= 4 and 1 <= m["seed0_acc_max_epoch"] <= 4  # smoke: 4
    assert m["mean_test_acc_at_sweet_spot"] > 0.3 and m["mean_test_acc_last"] > 0.3  # chance 0.1
    assert m["mean_best_val_loss"] > 0 and m["mean_train_loss_last"] > 0
    assert m["stratified_share_diff"] < 1e-3  # stratified 8:2 split keeps class shares
    assert -1 < m["mean_test_selection_optimism"] < 1


def test_every_claim_is_decided_by_the_paired_rule(notebook_result) -> None:
    claims = notebook_result(STEM)["claims"]
    assert [c["claim"] for c in claims] == list(CLAIMS)
    for c in claims:  # one seed under smoke: never decided
        assert c["verdict"] == "inconclusive" and c["n"] == 1 and len(c["samples"]) == 1
        assert c["min_effect"] > 0 and c["unit"]


@pytest.mark.parametrize("name, value", [("train_size", "50000"), ("val_size", "13000")])
def test_sizes_beyond_the_data_are_refused_before_training(refused_run, name, value) -> None:
    refused_run("02", name, value)


@pytest.mark.parametrize("name, value", [("epochs", "0"), ("val_fraction", "1.0"), ("seeds", "0")])
def test_out_of_range_values_are_refused_before_a_kernel_starts(tmp_path, name, value) -> None:
    from course_utils.tools.cli import main

    out = tmp_path / "run"
    assert main(["run", "02", "--profile", "smoke", "-p", name, value, "--out", str(out)]) == 2
    assert not out.exists()  # nothing ran


def test_selection_optimism_positive_for_equal_candidates() -> None:
    selection_optimism = notebook_function("selection_optimism")
    gen = torch.Generator().manual_seed(0)
    correct = torch.rand(20, 2000, generator=gen) < 0.8  # 20 equally good candidates
    assert selection_optimism(correct, 200, repeats=100) > 0.01  # the max of noisy estimates
    assert abs(selection_optimism(correct[:1], 200, repeats=100)) < 0.01  # no choice, no bias


def test_first_rise_loss_and_epoch_of() -> None:
    first_rise_loss = notebook_function("first_rise_loss")
    assert first_rise_loss(np.array([1.0, 0.8, 0.9, 0.7, 0.75])) == 0.8  # stopped too early
    assert first_rise_loss(np.array([1.0, 0.8, 0.6])) == 0.6  # never rose
    epoch_of = notebook_function("epoch_of")
    assert (
        epoch_of(np.array([0.5, 0.3, 0.4])) == 2 and epoch_of(np.array([0.5, 0.3, 0.4]), "max") == 1
    )
