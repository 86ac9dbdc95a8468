"""Optimizers written from scratch in numpy: the canonical copies of what notebook 01 teaches.

Notebook 01 (``notebooks/01_optimizers_from_scratch.py``) writes SGD, Momentum, Nesterov,
AdaGrad, RMSprop, Adam and the source notes' Adam in its cells and proves that its classes, these
classes and their ``torch.optim`` twins take the same steps; later notebooks and the tests reuse
the copies here.

Every optimizer has ``update(params, grads)`` over dicts ``name -> ndarray``: it changes
``params`` in place and creates its state (velocities, squared-gradient sums, moments) lazily
on the first call, shaped like each parameter. Differences from ``torch.optim`` (each class
states its own):

- ``Momentum`` keeps the *velocity* ``v = mu*v - lr*g; p += v`` as in the notes; torch keeps the
  *momentum buffer* ``b = mu*b + g; p -= lr*b``. With a constant learning rate ``v == -lr*b`` at
  every step, so the two are the same method.
- ``Nesterov`` stores the look-ahead point, as ``torch.optim.SGD(nesterov=True)`` does.
- ``AdaGrad`` adds ``eps=1e-7`` to ``sqrt(h)`` (notes); torch's ``Adagrad`` uses ``eps=1e-10``.
- ``RMSprop`` calls the decay ``decay`` with default 0.9 (Hinton's lecture, Keras); torch calls it
  ``alpha`` with default 0.99 and uses ``eps=1e-8`` (notes: 1e-7). Both add eps outside the root.
- ``Adam`` is torch's formula (bias-corrected moments, ``eps=1e-8`` outside ``sqrt(v_hat)``).
  ``NotesAdam`` is the notes' variant: bias correction folded into the step size and ``eps=1e-7``
  outside ``sqrt(v)``; that equals torch's formula with a step-dependent
  ``eps_t = eps / sqrt(1 - beta2**t)``, so it differs early in training and where ``v`` is small.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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


def _check_lr(lr: Any) -> float:
    """A learning rate must be a finite number > 0."""
    return check_number("lr", lr, low=0, low_open=True)


def _check_momentum(name: str, value: Any) -> float:
    """Momentum-like coefficients (momentum, decay, betas) must lie in [0, 1)."""
    return check_number(name, value, low=0, high=1, high_open=True)


def _check_eps(eps: Any) -> float:
    return check_number("eps", eps, low=0, low_open=True)


class Optimizer:
    """Base class: ``update(params, grads)`` checks the dicts, then calls ``_step`` per parameter.

    Taught in notebook 01.
    """

    def __init__(self, lr: float) -> None:
        self.lr = _check_lr(lr)
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
    """Plain gradient descent: ``p -= lr * g``. Taught in notebook 01."""

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__(lr)

    def _update(self, params: Params, grads: Params) -> None:
        for k in params:
            params[k] -= self.lr * grads[k]


class Momentum(Optimizer):
    """Momentum (notes' form): ``v = momentum*v - lr*g; p += v``.

    torch's ``SGD(momentum=mu)`` stores ``b = mu*b + g`` and steps ``p -= lr*b``; for a constant
    ``lr`` this is the same sequence of parameters (``v = -lr*b``).

    Taught in notebook 01.
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = _check_momentum("momentum", momentum)
        self.v: Params | None = None

    def _update(self, params: Params, grads: Params) -> None:
        v = self._state("v", params)
        for k in params:
            v[k] *= self.momentum
            v[k] -= self.lr * grads[k]
            params[k] += v[k]


class Nesterov(Momentum):
    """Nesterov momentum with the look-ahead point stored: ``v = mu*v - lr*g; p += mu*v - lr*g``.

    The classic form takes the gradient at ``p + mu*v``; storing that look-ahead point instead of
    ``p`` gives this update with the gradient at the stored parameters. This is torch's
    ``SGD(momentum=mu, nesterov=True)`` in velocity form.

    Taught in notebook 01.
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

    Taught in notebook 01.
    """

    def __init__(self, lr: float = 0.01, eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.eps = _check_eps(eps)
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

    Taught in notebook 01.
    """

    def __init__(self, lr: float = 0.01, decay: float = 0.9, eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.decay = _check_momentum("decay", decay)
        self.eps = _check_eps(eps)
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

    Taught in notebook 01.
    """

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        super().__init__(lr)
        self.beta1 = _check_momentum("beta1", beta1)
        self.beta2 = _check_momentum("beta2", beta2)
        self.eps = _check_eps(eps)
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

    Taught in notebook 01.
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

    Taught in notebook 01.
    """
    check_choice("optimizer", name, OPTIMIZER_NAMES)
    return CLASSES[name](lr=USUAL_LR[name] if lr is None else lr, **kwargs)
