"""Notebook 08 (learning-rate schedulers): the smoke run's results, and its parameter checks."""

from __future__ import annotations

import pytest

from course_utils.numpy_optim import check_lr, check_momentum
from course_utils.results import VERDICTS
from course_utils.schedulers import check_hyperparameters, parse_schedulers
from course_utils.validation import ParameterError

STEM = "08_lr_schedulers"
SCHEDULES = ("constant", "step", "exponential", "plateau", "cosine", "onecycle")


def test_every_schedule_trained_better_than_chance(notebook_result) -> None:
    metrics = notebook_result(STEM)["metrics"]
    for name in SCHEDULES:
        assert 0.1 < metrics[f"test_acc_{name}"] <= 1.0
        assert (
            0 < metrics[f"best_val_loss_{name}"] < 2.3
        )  # below the loss of a uniform guess, ln(10)
    assert metrics["best_schedule"] in SCHEDULES[1:]


def test_every_claim_has_a_computed_verdict(notebook_result) -> None:
    claims = notebook_result(STEM)["claims"]
    assert len(claims) == 5
    for c in claims:
        assert c["verdict"] in VERDICTS and c["measured"]


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: check_lr(-1e-3), "lr"),
        (lambda: check_momentum("momentum", 1.2), "momentum"),
        (lambda: parse_schedulers("cosine,warm_restarts"), "schedulers"),
        (lambda: check_hyperparameters("exponential", gamma=0.0), "gamma"),
        (lambda: check_hyperparameters("plateau", patience=1.5), "patience"),
    ],
)
def test_notebook_parameter_checks_refuse_bad_values(call, name: str) -> None:
    with pytest.raises(ParameterError, match=repr(name)):
        call()


def test_unknown_scheduler_fails_the_run_before_training(refused_run) -> None:
    refused_run("08", "schedulers", "step,linear")
