"""Notebook 01 (optimizers from scratch): the smoke run's results, and its parameter checks."""

from __future__ import annotations

import pytest

from course_utils import numpy_optim as no
from course_utils.results import VERDICTS
from course_utils.validation import ParameterError

STEM = "01_optimizers_from_scratch"
CLAIMS = (
    "SGD progresses slowest",
    "Which optimizer wins depends",
    "Switching SGD to Adam",
    "At the same learning rate RMSprop",
)


def test_proof_against_torch_recorded(notebook_result) -> None:
    metrics = notebook_result(STEM)["metrics"]
    for name in no.TORCH_TWINS:
        assert 0 <= metrics[f"proof_max_rel_err_{name}"] <= 1e-6
    assert metrics["notes_adam_vs_torch_adam_rel_diff"] > 1e-6


def test_accuracies_better_than_chance(notebook_result) -> None:
    metrics = notebook_result(STEM)["metrics"]
    for name in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "notes_adam"):
        assert 0.1 < metrics[f"test_acc_{name}"] <= 1.0
    assert max(metrics[f"test_acc_{n}"] for n in ("adam", "rmsprop", "adagrad")) > 0.5
    assert metrics["bowl_winner"] in no.OPTIMIZER_NAMES


def test_every_claim_has_a_computed_verdict(notebook_result) -> None:
    claims = notebook_result(STEM)["claims"]
    for start in CLAIMS:
        matching = [c for c in claims if c["claim"].startswith(start)]
        assert len(matching) == 1, start
        assert matching[0]["verdict"] in VERDICTS and matching[0]["measured"]


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: no.check_lr(-0.01), "lr"),
        (lambda: no.check_momentum("momentum", 1.0), "momentum"),
        (lambda: no.check_momentum("momentum", -0.5), "momentum"),
        (lambda: no.parse_optimizers("sgd,adamax"), "optimizers"),
    ],
)
def test_notebook_parameter_checks_refuse_bad_values(call, name: str) -> None:
    """The notebook's parameter cell runs exactly these checks before any training."""
    with pytest.raises(ParameterError, match=repr(name)):
        call()


def test_bad_parameter_fails_the_run_before_training(refused_run) -> None:
    refused_run("01", "lr", "-0.1")
