"""Optimizers written from scratch in numpy, with the interface of the source notes.

Every optimizer has ``update(params, grads)`` over dicts ``name -> ndarray``: it changes
``params`` in place and creates its state (velocities, squared-gradient sums, moments) lazily
on the first call, shaped like each parameter.

Differences from ``torch.optim`` (each class states its own; ``TORCH_TWINS`` gives the settings
under which a class follows torch step for step):

- ``Momentum`` keeps the *velocity* ``v = mu*v - lr*g; p += v`` as in the notes; torch keeps the
  *momentum buffer* ``b = mu*b + g; p -= lr*b`` (its first step sets ``b = g``). With a constant
  learning rate ``v == -lr*b`` at every step, so the two are the same method.
- ``AdaGrad`` adds ``eps=1e-7`` to ``sqrt(h)`` (notes); torch's ``Adagrad`` uses ``eps=1e-10``
  (and an optional ``initial_accumulator_value``, 0 by default).
- ``RMSprop`` calls the decay ``decay`` with default 0.9 (Hinton's lecture, Keras); torch calls it
  ``alpha`` with default 0.99 and uses ``eps=1e-8`` (notes: 1e-7). Both add eps outside the root.
- ``Adam`` is torch's formula (bias-corrected moments, ``eps=1e-8`` outside ``sqrt(v_hat)``).
  ``NotesAdam`` is the notes' variant: bias correction folded into the step size and ``eps=1e-7``
  outside ``sqrt(v)``; that equals torch's formula with a step-dependent
  ``eps_t = eps / sqrt(1 - beta2**t)``, so it differs early in training and where ``v`` is small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from .validation import check_choice, check_number

Params = dict[str, np.ndarray]

OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "notes_adam")
# The learning rate each optimizer is usually run with (the notes' / torch's defaults).
USUAL_LR = {
    "sgd": 0.01,
    "momentum": 0.01,
    "nesterov": 0.01,
    "adagrad": 0.01,
    "rmsprop": 0.01,
    "adam": 0.001,
    "notes_adam": 0.001,
}


def check_lr(lr: Any) -> float:
    """A learning rate must be a finite number > 0."""
    return check_number("lr", lr, low=0, low_open=True)


def check_momentum(name: str, value: Any) -> float:
    """Momentum-like coefficients (momentum, decay, betas) must lie in [0, 1)."""
    return check_number(name, value, low=0, high=1, high_open=True)


def check_eps(eps: Any) -> float:
    return check_number("eps", eps, low=0, low_open=True)


class Optimizer:
    """Base class: ``update(params, grads)`` checks the dicts, then calls ``_step`` per parameter."""

    def __init__(self, lr: float) -> None:
        self.lr = check_lr(lr)
        self.t = 0  # number of update calls so far

    def _state(self, attr: str, params: Params) -> Params:
        """The state dict ``attr`` (created lazily with zeros like each parameter)."""
        if getattr(self, attr, None) is None:
            setattr(self, attr, {k: np.zeros_like(p) for k, p in params.items()})
        return getattr(self, attr)

    def update(self, params: Params, grads: Params) -> None:
        """Update every array of ``params`` in place from ``grads`` (same keys and shapes)."""
        if params.keys() != grads.keys():
            raise KeyError(
                f"params and grads have different keys: {sorted(params)} vs {sorted(grads)}"
            )
        self.t += 1
        self._update(params, grads)

    def _update(self, params: Params, grads: Params) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={v}" for k, v in vars(self).items() if isinstance(v, (int, float)) and k != "t"
        )
        return f"{type(self).__name__}({fields})"


class SGD(Optimizer):
    """Plain gradient descent: ``p -= lr * g``."""

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__(lr)

    def _update(self, params: Params, grads: Params) -> None:
        for k in params:
            params[k] -= self.lr * grads[k]


class Momentum(Optimizer):
    """Momentum (notes' form): ``v = momentum*v - lr*g; p += v``.

    torch's ``SGD(momentum=mu)`` stores ``b = mu*b + g`` and steps ``p -= lr*b``; for a constant
    ``lr`` this is the same sequence of parameters (``v = -lr*b``).
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = check_momentum("momentum", momentum)
        self.v: Params | None = None

    def _update(self, params: Params, grads: Params) -> None:
        v = self._state("v", params)
        for k in params:
            v[k] *= self.momentum
            v[k] -= self.lr * grads[k]
            params[k] += v[k]


class Nesterov(Momentum):
    """Nesterov momentum: look ahead along the velocity, ``v = mu*v - lr*g; p += mu*v - lr*g``.

    This is torch's ``SGD(momentum=mu, nesterov=True)`` in velocity form.
    """

    def _update(self, params: Params, grads: Params) -> None:
        v = self._state("v", params)
        for k in params:
            v[k] *= self.momentum
            v[k] -= self.lr * grads[k]
            params[k] += self.momentum * v[k] - self.lr * grads[k]


class AdaGrad(Optimizer):
    """``h += g*g; p -= lr * g / (sqrt(h) + eps)``: each parameter's step shrinks as its squared gradients add up.

    Notes: ``eps=1e-7``; torch's ``Adagrad``: ``eps=1e-10`` (pass ``eps=1e-10`` to follow it exactly).
    """

    def __init__(self, lr: float = 0.01, eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.eps = check_eps(eps)
        self.h: Params | None = None

    def _update(self, params: Params, grads: Params) -> None:
        h = self._state("h", params)
        for k in params:
            h[k] += grads[k] * grads[k]
            params[k] -= self.lr * grads[k] / (np.sqrt(h[k]) + self.eps)


class RMSprop(Optimizer):
    """``h = decay*h + (1-decay)*g*g; p -= lr * g / (sqrt(h) + eps)``: a moving average instead of a sum.

    Defaults: ``decay=0.9`` (Hinton, Keras' ``rho``), ``eps=1e-7``. torch's ``RMSprop`` calls the
    decay ``alpha`` with default **0.99** and uses ``eps=1e-8``; epsilon is outside the root in both.
    """

    def __init__(self, lr: float = 0.01, decay: float = 0.9, eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.decay = check_momentum("decay", decay)
        self.eps = check_eps(eps)
        self.h: Params | None = None

    def _update(self, params: Params, grads: Params) -> None:
        h = self._state("h", params)
        for k in params:
            h[k] *= self.decay
            h[k] += (1 - self.decay) * grads[k] * grads[k]
            params[k] -= self.lr * grads[k] / (np.sqrt(h[k]) + self.eps)


class Adam(Optimizer):
    """Adam as ``torch.optim.Adam`` computes it: bias-corrected moments, eps outside ``sqrt(v_hat)``.

    ``m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;``
    ``p -= lr * (m/(1-b1**t)) / (sqrt(v/(1-b2**t)) + eps)``.
    """

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        super().__init__(lr)
        self.beta1 = check_momentum("beta1", beta1)
        self.beta2 = check_momentum("beta2", beta2)
        self.eps = check_eps(eps)
        self.m: Params | None = None
        self.v: Params | None = None

    def _update(self, params: Params, grads: Params) -> None:
        m, v = self._state("m", params), self._state("v", params)
        c1, c2 = 1 - self.beta1**self.t, 1 - self.beta2**self.t
        for k in params:
            g = grads[k]
            m[k] *= self.beta1
            m[k] += (1 - self.beta1) * g
            v[k] *= self.beta2
            v[k] += (1 - self.beta2) * g * g
            params[k] -= (self.lr / c1) * m[k] / (np.sqrt(v[k]) / np.sqrt(c2) + self.eps)


class NotesAdam(Adam):
    """The source notes' Adam: bias correction folded into the step size, eps outside ``sqrt(v)``.

    ``lr_t = lr*sqrt(1-b2**t)/(1-b1**t); m += (1-b1)*(g-m); v += (1-b2)*(g*g-v);``
    ``p -= lr_t * m / (sqrt(v) + eps)`` with ``eps=1e-7``. Rewriting it with ``v_hat``:
    this is torch's formula with ``eps_t = eps / sqrt(1-b2**t)`` (about ``31.6*eps`` at t=1),
    so steps differ while ``sqrt(v_hat)`` is not much larger than ``eps_t``.
    """

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-7
    ) -> None:
        super().__init__(lr, beta1, beta2, eps)

    def _update(self, params: Params, grads: Params) -> None:
        m, v = self._state("m", params), self._state("v", params)
        lr_t = self.lr * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for k in params:
            g = grads[k]
            m[k] += (1 - self.beta1) * (g - m[k])
            v[k] += (1 - self.beta2) * (g * g - v[k])
            params[k] -= lr_t * m[k] / (np.sqrt(v[k]) + self.eps)


CLASSES: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "notes_adam": NotesAdam,
}


def make_optimizer(name: str, lr: float | None = None, **kwargs: Any) -> Optimizer:
    """A numpy optimizer by name (``OPTIMIZER_NAMES``); ``lr=None`` = its usual learning rate.

    Unknown names, non-positive learning rates and momentum-like values outside [0, 1) raise
    ``ParameterError`` before anything runs.
    """
    check_choice("optimizer", name, OPTIMIZER_NAMES)
    return CLASSES[name](lr=USUAL_LR[name] if lr is None else lr, **kwargs)


def parse_names(spec: str, allowed: Iterable[str], param: str) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]``; unknown or repeated names raise ``ParameterError`` naming ``param``."""
    allowed = tuple(allowed)
    names = [n.strip() for n in spec.split(",") if n.strip()] if isinstance(spec, str) else []
    if not names:
        check_choice(param, spec, ["a comma-separated list of " + ", ".join(allowed)])
    for n in names:
        check_choice(param, n, allowed)
    if len(set(names)) != len(names):
        check_choice(param, spec, ["a comma-separated list without repeats"])
    return names


def parse_optimizers(spec: str) -> list[str]:
    """``"sgd, adam"`` -> ``["sgd", "adam"]``; unknown names raise ``ParameterError``."""
    return parse_names(spec, OPTIMIZER_NAMES, "optimizers")


# ------------------------------------------------------------------ torch twins
# For each optimizer: numpy keyword arguments and the torch.optim call that follow each other exactly.
TORCH_TWINS: dict[str, tuple[dict[str, Any], Callable[..., torch.optim.Optimizer], str]] = {
    "sgd": ({}, lambda p, lr: torch.optim.SGD(p, lr=lr), "SGD(lr)"),
    "momentum": (
        {"momentum": 0.9},
        lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
        "SGD(lr, momentum=0.9)",
    ),
    "nesterov": (
        {"momentum": 0.9},
        lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
        "SGD(lr, momentum=0.9, nesterov=True)",
    ),
    "adagrad": (
        {"eps": 1e-10},
        lambda p, lr: torch.optim.Adagrad(p, lr=lr),
        "Adagrad(lr)  [numpy eps=1e-10]",
    ),
    "rmsprop": (
        {"decay": 0.99, "eps": 1e-8},
        lambda p, lr: torch.optim.RMSprop(p, lr=lr),
        "RMSprop(lr)  [numpy decay=0.99, eps=1e-8]",
    ),
    "adam": ({}, lambda p, lr: torch.optim.Adam(p, lr=lr), "Adam(lr)"),
}


def torch_twin(
    name: str, params: Iterable[torch.Tensor], lr: float | None = None
) -> tuple[Optimizer, torch.optim.Optimizer]:
    """``(numpy optimizer, torch optimizer)`` configured to take identical steps."""
    check_choice("optimizer", name, tuple(TORCH_TWINS))
    lr = USUAL_LR[name] if lr is None else check_lr(lr)
    kwargs, factory, _ = TORCH_TWINS[name]
    return make_optimizer(name, lr, **kwargs), factory(list(params), lr)


def softmax_regression_loss_grads(
    params: Params, x: np.ndarray, y: np.ndarray
) -> tuple[float, Params]:
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


def follow_torch(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    steps: int = 200,
    lr: float | None = None,
    seed: int = 0,
) -> float:
    """Train softmax regression on ``(x, y)`` with the numpy optimizer and its torch twin side by side.

    Both start from the same float64 weights; numpy uses its own hand-written gradients, torch its
    autograd. Returns the largest relative difference of the parameters over all ``steps``.
    """
    rng = np.random.default_rng(seed)
    classes = int(y.max()) + 1
    init = {"W": rng.normal(0, 0.01, (x.shape[1], classes)), "b": np.zeros(classes)}
    mine = {k: v.copy() for k, v in init.items()}
    theirs = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in init.items()}
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.long)
    numpy_opt, torch_opt = torch_twin(name, theirs.values(), lr)
    worst = 0.0
    threads = torch.get_num_threads()
    # One thread: these matrices are tiny, and the result must not depend on the thread count.
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            for _ in range(steps):
                _, grads = softmax_regression_loss_grads(mine, x, y)
                numpy_opt.update(mine, grads)
                torch_opt.zero_grad()
                torch.nn.functional.cross_entropy(xt @ theirs["W"] + theirs["b"], yt).backward()
                torch_opt.step()
                worst = max(
                    worst,
                    max_relative_error(mine, {k: t.detach().numpy() for k, t in theirs.items()}),
                )
    finally:
        torch.set_num_threads(threads)
    return worst


def max_relative_error(a: Params, b: Params) -> float:
    """``max |a - b| / max |b|`` over all arrays (b is the reference)."""
    diff = max(float(np.max(np.abs(a[k] - b[k]))) for k in b)
    scale = max(float(np.max(np.abs(b[k]))) for k in b)
    return diff / scale if scale > 0 else diff


class TorchAdapter:
    """Drive a numpy optimizer from a torch training loop (e.g. ``course_utils.train.fit``).

    ``step()`` hands the parameters and their gradients to ``update`` as numpy views that share
    memory with the tensors (CPU only), so the numpy updates change the model in place.
    """

    def __init__(
        self, optimizer: Optimizer, named_parameters: Iterable[tuple[str, torch.Tensor]]
    ) -> None:
        self.optimizer = optimizer
        self.named = [(n, p) for n, p in named_parameters if p.requires_grad]
        if any(p.device.type != "cpu" for _, p in self.named):
            raise ValueError("TorchAdapter works on CPU tensors only (numpy shares their memory)")

    @property
    def param_groups(self) -> list[dict[str, float]]:
        return [{"lr": self.optimizer.lr}]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for _, p in self.named:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        named = [(n, p) for n, p in self.named if p.grad is not None]
        params = {n: p.detach().numpy() for n, p in named}
        grads = {n: p.grad.detach().numpy() for n, p in named}
        self.optimizer.update(params, grads)
