"""Notebook 08 (learning-rate schedulers): the smoke run's results, refused parameters, and
``fit`` stepping every kind of torch scheduler exactly as torch's scheduler does on its own."""

from __future__ import annotations

import pytest
import torch
from torch.optim import lr_scheduler as S

from course_utils.tools.cli import main
from course_utils.train import fit

pytestmark = pytest.mark.notebooks  # runs the notebooks (nbval_run, refused_run)

STEM = "08_lr_schedulers"
SCHEDULES = ("constant", "cosine", "onecycle", "step", "exponential", "plateau")
CLAIMS = {
    "Adjusting the learning rate during training beats a constant learning rate": "compare",
    "StepLR is simple but its decay points are hard to choose": "compare",
    "ExponentialLR is smooth but can decay too fast and stall": "groups",
    "ReduceLROnPlateau adapts to progress but can reduce too often": "groups",
    "ReduceLROnPlateau needs a reliable signal": "compare",
    "Cosine / one-cycle schedules do better than step-wise decays on the same budget": "compare",
}


def test_every_chosen_schedule_trained_better_than_chance(notebook_result) -> None:
    metrics = notebook_result(STEM)["metrics"]
    for name in SCHEDULES:
        assert 0.3 < metrics[f"test_acc_{name}"] <= 1.0, name  # chance is 0.1; smoke: ~0.7
        assert metrics[f"chosen_{name}"] is not None
    assert metrics["chosen_exponential"] in (0.5, 0.7, 0.85)
    assert metrics["chosen_plateau"] in (1, 2, 3)
    assert 1e-4 <= metrics["lr_range_test_suggestion"] <= 10


def test_every_claim_is_decided_by_the_paired_rule(notebook_result) -> None:
    data = notebook_result(STEM)
    claims = {c["claim"]: c for c in data["claims"]}
    assert set(claims) == set(CLAIMS)
    for name, kind in CLAIMS.items():
        c = claims[name]
        assert c["measured"], name
        assert len(c["samples"]) == data["metrics"]["seeds"] and c["min_effect"] > 0
        if kind == "groups":  # "can happen": swept over three settings
            assert len(c["groups"]) == 3, name
        if data["metrics"]["seeds"] == 1:  # smoke: one seed never decides
            assert c["verdict"] == "inconclusive"


@pytest.mark.parametrize(
    "name, value", [("momentum", "1.0"), ("epochs", "2"), ("factor", "1.0"), ("lr", "0")]
)
def test_cli_refuses_bad_values_before_a_kernel_starts(tmp_path, name: str, value: str) -> None:
    out = tmp_path / "run"
    assert main(["run", "08", "--profile", "smoke", "-p", name, value, "--out", str(out)]) == 2
    assert not (out / "status.json").exists()


def _tiny_problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(48, 6, generator=g)
    y = (x[:, 0] + 0.5 * torch.randn(48, generator=g) > 0).long()
    train = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 48, 16)]
    val = [(x[:24], 1 - y[:24])]  # flipped labels: the validation loss rises, so plateaus happen
    return train, val


MAKERS = {
    "constant": lambda o: None,
    "step": lambda o: S.StepLR(o, step_size=2, gamma=0.5),
    "exponential": lambda o: S.ExponentialLR(o, gamma=0.8),
    "plateau": lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=0),
    "cosine": lambda o: S.CosineAnnealingLR(o, T_max=7),
    "onecycle": lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=21, cycle_momentum=False),
    "warm_restarts": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2),
}


@pytest.mark.parametrize("name", MAKERS)
def test_fit_gives_the_lr_sequence_of_torch_alone(name: str) -> None:
    """Per epoch and per batch, ``fit``'s learning rates equal the scheduler stepped by hand."""
    train, val = _tiny_problem()
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    history = fit(
        model, train, val, epochs=7, optimizer=opt, scheduler=MAKERS[name](opt), progress=False
    )
    param = torch.zeros(1, requires_grad=True)
    alone_opt = torch.optim.SGD([param], lr=0.5, momentum=0.9)
    alone, epoch_lr, batch_lr = MAKERS[name](alone_opt), [], []
    for epoch in range(7):
        epoch_lr.append(alone_opt.param_groups[0]["lr"])
        for _ in train:
            alone_opt.step()
            batch_lr.append(alone_opt.param_groups[0]["lr"])
            if isinstance(alone, S.OneCycleLR):
                alone.step()
        if isinstance(alone, S.ReduceLROnPlateau):
            alone.step(history["val_loss"][epoch])
        elif alone is not None and not isinstance(alone, S.OneCycleLR):
            alone.step()
    assert history["lr"] == pytest.approx(epoch_lr, rel=1e-12)
    assert history.batch_lr == pytest.approx(batch_lr, rel=1e-12)
    if name != "constant":
        assert len(set(batch_lr)) > 1, "the schedule must actually change the learning rate"
