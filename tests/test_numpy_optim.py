"""The numpy optimizers (canonical copies of notebook 01's): formulas, lazy state, validation, and
step-for-step agreement with torch.optim."""

from __future__ import annotations

from collections.abc import Callable

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


# For each optimizer: numpy keyword arguments and the torch.optim call that take the same steps.
TORCH_TWINS: dict[str, tuple[dict, Callable]] = {
    "sgd": ({}, lambda p, lr: torch.optim.SGD(p, lr=lr)),
    "momentum": ({"momentum": 0.9}, lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9)),
    "nesterov": (
        {"momentum": 0.9},
        lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
    ),
    "adagrad": ({"eps": 1e-10}, lambda p, lr: torch.optim.Adagrad(p, lr=lr)),
    "rmsprop": ({"decay": 0.99, "eps": 1e-8}, lambda p, lr: torch.optim.RMSprop(p, lr=lr)),
    "adam": ({}, lambda p, lr: torch.optim.Adam(p, lr=lr)),
}


def softmax_regression_loss_grads(
    params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy of ``softmax(x @ W + b)`` and its gradients, computed by hand in numpy."""
    logits = x @ params["W"] + params["b"]
    logits = logits - logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    n = len(y)
    loss = -float(logp[np.arange(n), y].mean())
    d = np.exp(logp)
    d[np.arange(n), y] -= 1.0
    d /= n
    return loss, {"W": x.T @ d, "b": d.sum(axis=0)}


def max_relative_error(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """``max |a - b| / max |b|`` over all arrays (b is the reference)."""
    diff = max(float(np.max(np.abs(a[k] - b[k]))) for k in b)
    scale = max(float(np.max(np.abs(b[k]))) for k in b)
    return diff / scale if scale > 0 else diff


def follow_torch(
    name: str, x: np.ndarray, y: np.ndarray, steps: int = 200, lr: float = 0.05
) -> float:
    """Largest relative parameter difference between a numpy optimizer and its torch twin."""
    rng = np.random.default_rng(0)
    classes = int(y.max()) + 1
    init = {"W": rng.normal(0, 0.01, (x.shape[1], classes)), "b": np.zeros(classes)}
    mine = {k: v.copy() for k, v in init.items()}
    theirs = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in init.items()}
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.long)
    kwargs, factory = TORCH_TWINS[name]
    numpy_opt, torch_opt = no.make_optimizer(name, lr, **kwargs), factory(list(theirs.values()), lr)
    worst = 0.0
    for _ in range(steps):
        numpy_opt.update(mine, softmax_regression_loss_grads(mine, x, y)[1])
        torch_opt.zero_grad()
        torch.nn.functional.cross_entropy(xt @ theirs["W"] + theirs["b"], yt).backward()
        torch_opt.step()
        current = {k: t.detach().numpy() for k, t in theirs.items()}
        worst = max(worst, max_relative_error(mine, current))
    return worst


@pytest.mark.parametrize("name", list(TORCH_TWINS))
def test_follows_torch_step_for_step(name: str) -> None:
    x, y = quadratic_problem()
    assert follow_torch(name, x, y, steps=200) <= 1e-6


@pytest.mark.parametrize("name", ["adagrad", "rmsprop"])
def test_defaults_that_differ_from_torch_do_differ(name: str) -> None:
    """With the notes' own defaults (eps 1e-7, RMSprop decay 0.9) the runs drift apart from torch's."""
    x, y = quadratic_problem()
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(0, 0.01, (20, 4)), "b": np.zeros(4)}
    a, b = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in params.items()}
    notes = no.make_optimizer(name)
    twin_kwargs = TORCH_TWINS[name][0]
    torch_like = no.make_optimizer(name, **twin_kwargs)
    for _ in range(50):
        notes.update(a, softmax_regression_loss_grads(a, x, y)[1])
        torch_like.update(b, softmax_regression_loss_grads(b, x, y)[1])
    assert max_relative_error(a, b) > 1e-6


def test_hand_gradients_match_autograd() -> None:
    x, y = quadratic_problem()
    rng = np.random.default_rng(1)
    params = {"W": rng.normal(0, 0.1, (20, 4)), "b": rng.normal(0, 0.1, 4)}
    loss, grads = softmax_regression_loss_grads(params, x, y)
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
        max_relative_error(notes_p, plain) > 1e-6
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


def test_nesterov_stores_the_look_ahead_point() -> None:
    """Classic Nesterov (gradient at p + mu*v) and the stored look-ahead form give the same path."""
    grad = np.array([0.5, 4.0])  # f = 0.25 x^2 + 2 y^2: gradient = grad * p
    mu, lr = 0.9, 0.05
    p, v = np.array([3.0, -1.0]), np.zeros(2)
    look = {"p": p.copy()}
    opt = no.Nesterov(lr=lr, momentum=mu)
    for _ in range(25):
        v = mu * v - lr * grad * (p + mu * v)
        p = p + v
        opt.update(look, {"p": grad * look["p"]})
        np.testing.assert_allclose(look["p"], p + mu * v, rtol=1e-12, atol=1e-14)
