"""Notebook 01 (optimizers from scratch): the smoke run's recorded results, and a refused parameter."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.notebooks  # runs the notebooks (nbval_run, refused_run)

STEM = "01_optimizers_from_scratch"
EXACT = (
    "The notebook's optimizers take the same steps as their torch.optim twins",
    "The notebook's optimizers equal the course's canonical copies",
    "The notes' Adam is torch's Adam with eps_t",
)
COMPARATIVE = (
    "SGD progresses slowest (at the notes' learning rates)",
    "SGD progresses slowest (at tuned learning rates)",
    "The other three are similar",
    "AdaGrad a little faster",
    "Which optimizer wins depends on the hyperparameters",
    "Which optimizer wins depends on the problem",
    "Switching SGD to Adam raised final accuracy",
    "At the same learning rate RMSprop did better than Adam",
    "Adam wants a lower learning rate than RMSprop",
    "Adam is more sensitive to the learning rate than RMSprop",
)
TWINS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


def claim(claims: list[dict], start: str) -> dict:
    matching = [c for c in claims if c["claim"].startswith(start)]
    assert len(matching) == 1, (start, [c["claim"] for c in claims])
    return matching[0]


def test_optimizers_follow_torch_and_the_canonical_copies(notebook_result) -> None:
    result = notebook_result(STEM)
    for name in TWINS:
        assert 0 <= result["metrics"][f"proof_max_rel_err_{name}"] <= 1e-9
    assert result["metrics"]["notes_adam_vs_torch_adam_rel_diff"] > 1e-6
    for start in EXACT:
        assert claim(result["claims"], start)["verdict"] == "confirmed"


def test_every_syllabus_claim_is_decided_by_the_paired_rule(notebook_result) -> None:
    claims = notebook_result(STEM)["claims"]
    for start in COMPARATIVE:
        entry = claim(claims, start)
        assert entry["measured"]
        assert entry["min_effect"] > 0 and len(entry["samples"]) == 1  # smoke: one seed
        assert entry["verdict"] == "inconclusive"  # one seed never decides anything
    for start in ("Which optimizer wins depends on the hyperparameters", "At the same learning"):
        groups = claim(claims, start)["groups"]
        assert len(groups) == 9 and "lr=1" in groups and "lr=0.0001" in groups
    problem = claim(claims, "Which optimizer wins depends on the problem")
    # on the axis-aligned bowl RMSprop ends far below Adam (the exact part of the claim)
    assert "2-D bowl -" in problem["measured"] and "(exact)" in problem["measured"]


def test_training_reached_better_than_chance(notebook_result) -> None:
    metrics = notebook_result(STEM)["metrics"]
    for name in ("sgd", "momentum", "adagrad", "rmsprop", "adam"):
        # smoke: 2 epochs on 800 images. Plain SGD is the slowest by design and reaches ~0.29
        # there (measured), so it gets twice chance (0.1); every other optimizer gets 0.3
        low = 0.2 if name == "sgd" else 0.3
        assert low < metrics[f"test_acc_{name}_tuned"] <= 1.0, name
        assert 1e-4 <= metrics[f"median_best_lr_{name}"] <= 1.0
    assert metrics["bowl_lowest_at_notes_lrs"] in TWINS
    assert isinstance(metrics["best_lr_at_grid_edge"], str)


def test_bad_parameter_fails_the_run_before_training(refused_run) -> None:
    """Out-of-range values (``-p momentum 1.0``) are refused by the CLI before a kernel starts; a
    batch larger than the training set needs train_size's profile default, so the set-up cell
    refuses it (smoke: 1000 images, 800 of them for training)."""
    assert "train_size=1000" in refused_run("01", "batch_size", "1000")["error"]
