"""The numpy optimizers: formulas, lazy state, validation, and step-for-step agreement with torch.optim."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils import numpy_optim as no
from course_utils.validation import ParameterError


def quadratic_problem(
    seed: int = 0, n: int = 120, d: int = 20, classes: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """A small separable-ish softmax-regression problem (no dataset files needed)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centers = rng.normal(0, 1, (classes, d))
    return centers[y] + rng.normal(0, 1.0, (n, d)), y


@pytest.mark.parametrize("name", list(no.TORCH_TWINS))
def test_follows_torch_step_for_step(name: str) -> None:
    x, y = quadratic_problem()
    assert no.follow_torch(name, x, y, steps=200) <= 1e-6


@pytest.mark.parametrize("name", ["adagrad", "rmsprop"])
def test_defaults_that_differ_from_torch_do_differ(name: str) -> None:
    """With the notes' own defaults (eps 1e-7, RMSprop decay 0.9) the runs drift apart from torch's."""
    x, y = quadratic_problem()
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(0, 0.01, (20, 4)), "b": np.zeros(4)}
    a, b = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in params.items()}
    notes = no.make_optimizer(name)
    twin_kwargs = no.TORCH_TWINS[name][0]
    torch_like = no.make_optimizer(name, **twin_kwargs)
    for _ in range(50):
        notes.update(a, no.softmax_regression_loss_grads(a, x, y)[1])
        torch_like.update(b, no.softmax_regression_loss_grads(b, x, y)[1])
    assert no.max_relative_error(a, b) > 1e-6


def test_hand_gradients_match_autograd() -> None:
    x, y = quadratic_problem()
    rng = np.random.default_rng(1)
    params = {"W": rng.normal(0, 0.1, (20, 4)), "b": rng.normal(0, 0.1, 4)}
    loss, grads = no.softmax_regression_loss_grads(params, x, y)
    W = torch.tensor(params["W"], requires_grad=True)
    b = torch.tensor(params["b"], requires_grad=True)
    ref = torch.nn.functional.cross_entropy(torch.tensor(x) @ W + b, torch.tensor(y))
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grads["W"], W.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grads["b"], b.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_formulas_by_hand() -> None:
    g = {"p": np.array([2.0, -4.0])}
    p = {"p": np.array([1.0, 1.0])}
    no.SGD(lr=0.1).update(p, g)
    np.testing.assert_allclose(p["p"], [0.8, 1.4])

    p = {"p": np.array([0.0, 0.0])}
    opt = no.Momentum(lr=0.1, momentum=0.9)
    opt.update(p, g)
    opt.update(p, g)  # v1 = -0.1 g, v2 = 0.9 v1 - 0.1 g = -0.19 g; p = -0.29 g
    np.testing.assert_allclose(p["p"], -0.29 * g["p"])

    p = {"p": np.array([0.0, 0.0])}
    ada = no.AdaGrad(lr=1.0, eps=1e-12)
    ada.update(p, g)
    np.testing.assert_allclose(p["p"], [-1.0, 1.0])  # g / |g|
    np.testing.assert_allclose(ada.h["p"], [4.0, 16.0])

    p = {"p": np.array([0.0])}
    adam = no.Adam(lr=0.5, eps=1e-12)
    adam.update(p, {"p": np.array([3.0])})
    np.testing.assert_allclose(p["p"], [-0.5])  # first Adam step has size lr in every coordinate


def test_notes_adam_is_torch_adam_with_step_dependent_eps() -> None:
    rng = np.random.default_rng(0)
    grads = [{"p": rng.normal(0, 1e-4, 5)} for _ in range(30)]
    notes_p, ref_p = {"p": np.ones(5)}, {"p": np.ones(5)}
    notes = no.NotesAdam(lr=0.01)
    ref = no.Adam(lr=0.01)
    for t, g in enumerate(grads, start=1):
        ref.eps = notes.eps / np.sqrt(1 - notes.beta2**t)
        notes.update(notes_p, g)
        ref.update(ref_p, g)
    np.testing.assert_allclose(notes_p["p"], ref_p["p"], rtol=1e-12)
    plain = {"p": np.ones(5)}
    torch_adam = no.Adam(lr=0.01)
    for g in grads:
        torch_adam.update(plain, g)
    assert (
        no.max_relative_error(notes_p, plain) > 1e-6
    )  # the two Adams really differ on small gradients


def test_state_is_created_lazily_and_shaped_like_params() -> None:
    opt = no.Adam()
    assert opt.m is None and opt.v is None
    params = {"a": np.zeros((2, 3)), "b": np.zeros(4)}
    opt.update(params, {"a": np.ones((2, 3)), "b": np.ones(4)})
    assert opt.m["a"].shape == (2, 3) and opt.v["b"].shape == (4,) and opt.t == 1


def test_updates_in_place() -> None:
    arr = np.ones(3)
    params = {"w": arr}
    no.RMSprop().update(params, {"w": np.ones(3)})
    assert params["w"] is arr and np.all(arr < 1)


def test_mismatched_keys_refused() -> None:
    with pytest.raises(KeyError):
        no.SGD().update({"a": np.zeros(1)}, {"b": np.zeros(1)})


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"lr": -0.1}, "lr"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
    ],
)
def test_bad_hyperparameters_refused(kwargs: dict, name: str) -> None:
    with pytest.raises(ParameterError, match=repr(name)):
        no.make_optimizer("momentum", **kwargs)


def test_unknown_optimizer_refused() -> None:
    with pytest.raises(ParameterError, match="optimizer"):
        no.make_optimizer("adamw")
    with pytest.raises(ParameterError, match="beta2"):
        no.Adam(beta2=1.0)
    with pytest.raises(ParameterError, match="decay"):
        no.RMSprop(decay=1.5)


def test_usual_lr_is_the_default() -> None:
    assert no.make_optimizer("adam").lr == 0.001
    assert no.make_optimizer("sgd").lr == 0.01


def test_torch_adapter_trains_a_model_with_numpy_updates() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 5)
    y = (x[:, 0] > 0).long()
    model = torch.nn.Linear(5, 2)
    before = model.weight.detach().clone()
    opt = no.TorchAdapter(no.Adam(lr=0.05), model.named_parameters())
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert not torch.equal(before, model.weight) and losses[-1] < 0.5 * losses[0]
    assert opt.param_groups[0]["lr"] == 0.05


def test_parse_optimizers() -> None:
    assert no.parse_optimizers("sgd, adam") == ["sgd", "adam"]
    for bad in ("sgd,lion", "", "adam,adam"):
        with pytest.raises(ParameterError, match="optimizers"):
            no.parse_optimizers(bad)
