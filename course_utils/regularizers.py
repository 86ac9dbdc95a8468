"""Label-noise regularizers: DisturbLabel, DisturbValue and label smoothing (notes' form and torch's).

The canonical copies of code that two notebooks teach and the capstone reuses:

- ``DisturbLabel(alpha, C)`` (Xie et al., CVPR 2016; taught in notebook 06) re-draws every
  training label of a mini-batch from a multinoulli distribution that keeps the true class with
  probability ``1 - alpha*(C-1)/C`` and gives every other class ``alpha/C``. Equivalent vectorised
  recipe: with probability ``alpha`` replace the label by one drawn uniformly from all ``C``
  classes (which may be the true one). Its expected one-hot target is torch's
  ``label_smoothing=alpha`` target.
- ``DisturbValue(fraction, noise_std)`` (notebook 06) is the regression analogue: Gaussian noise
  added to a random ``fraction`` of the targets.
- Label smoothing as in the source notes (taught in notebook 07): target ``1 - alpha`` on the true
  class and ``alpha/(K-1)`` on every other class. PyTorch's ``label_smoothing=a`` puts
  ``1 - a + a/K`` on the true class and ``a/K`` elsewhere; the two agree when
  ``a = alpha*K/(K-1)`` (``smoothing_to_torch``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .validation import ParameterError, check_fraction, check_number


def _generator(generator: torch.Generator | None, seed: int) -> torch.Generator:
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise ParameterError(
                f"parameter 'generator' got {generator!r}; allowed: a torch.Generator or None"
            )
        return generator
    check_number("seed", seed, low=0, integer=True)
    return torch.Generator().manual_seed(seed)


def _check_classes(num_classes: int) -> int:
    return check_number("num_classes", num_classes, low=2, integer=True)


# ---------------------------------------------------------------- label noise
def noisy_labels(y: torch.Tensor, rate: float, num_classes: int, seed: int) -> torch.Tensor:
    """``y`` with a fraction ``rate`` of its labels replaced by uniformly random classes (a random
    class can be the true one), drawn from a stream of its own for the run's ``seed``.

    Taught in notebooks 04 and 05 (the memorization setting of Zhang et al., 2017).
    """
    check_fraction("rate", rate)
    _check_classes(num_classes)
    if rate == 0:
        return y
    gen = torch.Generator().manual_seed(10_000 + seed)
    replaced = torch.rand(len(y), generator=gen) < rate
    noisy = y.clone()
    noisy[replaced] = torch.randint(0, num_classes, (int(replaced.sum()),), generator=gen)
    return noisy


# ---------------------------------------------------------------- DisturbLabel
def _check_alpha(alpha: float) -> float:
    """DisturbLabel's noise rate is a fraction in [0, 1]. The source notes write it in percent
    (alpha = 30 for 30 %), so a number in (1, 100] is refused with that translation."""
    percent = isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and 1 < alpha <= 100
    hint = "The notes write this rate in percent: their alpha = 30 (30 %) is alpha = 0.3 here"
    return check_number("alpha", alpha, low=0, high=1, hint=hint if percent else "")


def disturb_label_probs(alpha: float, num_classes: int) -> tuple[float, float]:
    """``(p_keep, p_other)``: probability of keeping the true class and of each other class.

    Taught in notebook 06.
    """
    _check_alpha(alpha)
    _check_classes(num_classes)
    return 1 - alpha * (num_classes - 1) / num_classes, alpha / num_classes


class DisturbLabel:
    """DisturbLabel for ``fit(..., label_transform=DisturbLabel(0.3, 10))`` (taught in notebook 06).

    Vectorised (no loop over examples) and reproducible: random numbers come from its own
    ``torch.Generator`` (``generator``, or a new one seeded with ``seed``), drawn on the CPU and
    moved to the labels' device, so CPU and GPU runs disturb the same labels.
    """

    def __init__(
        self,
        alpha: float,
        num_classes: int,
        *,
        generator: torch.Generator | None = None,
        seed: int = 0,
    ) -> None:
        _check_alpha(alpha)
        self.alpha, self.num_classes = float(alpha), _check_classes(num_classes)
        self.generator = _generator(generator, seed)

    @property
    def keep_probability(self) -> float:
        """``1 - alpha*(C-1)/C``: chance that a label comes out unchanged."""
        return disturb_label_probs(self.alpha, self.num_classes)[0]

    def __call__(self, labels: torch.Tensor) -> torch.Tensor:
        if labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            raise ParameterError(
                f"DisturbLabel needs integer class labels, got a tensor of dtype {labels.dtype}"
            )
        n = labels.shape[0]
        redraw = torch.rand(n, generator=self.generator) < self.alpha
        random_class = torch.randint(0, self.num_classes, (n,), generator=self.generator)
        redraw, random_class = (
            redraw.to(labels.device),
            random_class.to(labels.device, labels.dtype),
        )
        return torch.where(redraw, random_class, labels)

    def __repr__(self) -> str:
        return f"DisturbLabel(alpha={self.alpha:g}, num_classes={self.num_classes})"


# ---------------------------------------------------------------- DisturbValue
class DisturbValue:
    """Regression analogue of DisturbLabel (notebook 06): add ``N(0, noise_std**2)`` noise to a
    random ``fraction`` of the targets.

    Works on targets of any shape (the first dimension is the batch); reproducible like ``DisturbLabel``.
    """

    def __init__(
        self,
        fraction: float,
        noise_std: float,
        *,
        generator: torch.Generator | None = None,
        seed: int = 0,
    ) -> None:
        self.fraction = float(check_fraction("fraction", fraction))
        self.noise_std = float(check_number("noise_std", noise_std, low=0))
        self.generator = _generator(generator, seed)

    def __call__(self, targets: torch.Tensor) -> torch.Tensor:
        if not targets.is_floating_point():
            raise ParameterError(
                f"DisturbValue needs floating-point targets, got dtype {targets.dtype}"
            )
        shape = (targets.shape[0],) + (1,) * (targets.ndim - 1)
        hit = (torch.rand(shape, generator=self.generator) < self.fraction).to(targets.dtype)
        noise = torch.randn(targets.shape, generator=self.generator, dtype=targets.dtype)
        return targets + (hit * noise * self.noise_std).to(targets.device)

    def __repr__(self) -> str:
        return f"DisturbValue(fraction={self.fraction:g}, noise_std={self.noise_std:g})"


# ---------------------------------------------------------------- label smoothing
def check_smoothing(alpha: float, num_classes: int | None = None, name: str = "smoothing") -> float:
    """The notes' smoothing ``alpha`` must lie in [0, 1); with ``num_classes`` also at most (K-1)/K.

    Above (K-1)/K the true class would get *less* target mass than each wrong class.
    """
    check_fraction(name, alpha, high_open=True)
    if num_classes is not None:
        limit = (_check_classes(num_classes) - 1) / num_classes
        if alpha > limit + 1e-12:
            raise ParameterError(
                f"parameter {name!r} got {alpha!r}; allowed: a number in [0, {limit:g}] for {num_classes} classes "
                "(above (K-1)/K the true class gets less target mass than the others)"
            )
    return alpha


def smoothing_to_torch(alpha: float, num_classes: int) -> float:
    """Torch's ``label_smoothing`` that reproduces the notes' targets: ``a = alpha*K/(K-1)``.

    Taught in notebook 07.
    """
    check_smoothing(alpha, num_classes)
    return alpha * num_classes / (num_classes - 1)


def smoothed_targets(
    labels: torch.Tensor, num_classes: int, alpha: float, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The notes' soft targets ``(N, K)``: ``1 - alpha`` on the true class, ``alpha/(K-1)`` elsewhere."""
    check_smoothing(alpha, num_classes)
    targets = torch.full(
        (labels.shape[0], num_classes), alpha / (num_classes - 1), dtype=dtype, device=labels.device
    )
    return targets.scatter_(1, labels.long().view(-1, 1), 1 - alpha)


def smoothing_loss(logits: torch.Tensor, labels: torch.Tensor, alpha: float) -> torch.Tensor:
    """The notes' loss ``mean(sum(-target * log_softmax(logits)))`` (taught in notebook 07).

    Equals ``F.cross_entropy(logits, labels, label_smoothing=smoothing_to_torch(alpha, K))``.
    """
    targets = smoothed_targets(labels, logits.shape[1], alpha, dtype=logits.dtype)
    return (-targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
