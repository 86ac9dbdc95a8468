"""Speed, measured on the running machine.

- Notebook 00 and ``benchmarks/``: the source notes' per-image DataLoader against the course's
  in-memory batches, and the kernel's peak memory.
- Notebook 11 and ``benchmarks/fast_lane.py``: :func:`choose_fastest` times candidate set-ups
  interleaved and keeps the fastest; :func:`choose_cpu_setup` does it for float32 against bfloat16
  autocast, with and without channels-last; :func:`inference_speed` times evaluation;
  :func:`step_flops` and :func:`matmul_peak` give a training step's utilization of the CPU.
"""

from __future__ import annotations

import math
import os
import resource
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import synchronize
from .data import ImageDataset, torchvision_dataset
from .models import FastCPU
from .validation import ParameterError, check_number


def source_notes_loader(
    ds: ImageDataset,
    batch_size: int = 32,
    num_workers: int = 2,
    augment: bool = True,
    data_dir: str | os.PathLike | None = None,
    seed: int = 0,
) -> torch.utils.data.DataLoader:
    """The source notes' pipeline: a torchvision dataset with per-image PIL transforms in a DataLoader.

    Taught in notebook 00.
    """
    from torchvision import transforms as T  # only for this comparison: a slow import

    check_number("batch_size", batch_size, low=1, integer=True)
    check_number("num_workers", num_workers, low=0, high=os.cpu_count() or 1, integer=True)
    steps = [T.RandomCrop(ds.shape[1:], padding=2), T.RandomHorizontalFlip()] if augment else []
    transform = T.Compose(steps + [T.ToTensor(), T.Normalize(ds.mean, ds.std)])
    dataset = torchvision_dataset(ds.name, train=True, transform=transform, data_dir=data_dir)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(seed),
    )


def train_throughput(
    model: nn.Module, batches: Iterable, max_images: int, lr: float = 1e-3
) -> dict[str, float]:
    """Train on ``batches`` until ``max_images`` images are seen; images per second, data loading included.

    The model is warmed up on one batch first, so one-time set-up costs are not counted;
    the clock starts when the iterator is created (worker start-up is part of an epoch).

    Taught in notebook 00.
    """
    check_number("max_images", max_images, low=1, integer=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def step(xb: torch.Tensor, yb: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(xb), yb).backward()
        optimizer.step()

    warm_x, warm_y = next(iter(batches))
    step(warm_x, warm_y)
    synchronize(warm_x.device)
    seen, start = 0, time.perf_counter()
    while seen < max_images:
        for xb, yb in batches:
            step(xb, yb)
            seen += len(yb)
            if seen >= max_images:
                break
    synchronize(warm_x.device)  # a GPU may still be working through queued steps
    seconds = time.perf_counter() - start
    return {"images": seen, "seconds": seconds, "images_per_s": seen / seconds}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux ``ru_maxrss`` is in KiB).

    Taught in notebook 00.
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# How FastCPU runs a model, simplest first (a tie goes to the simpler one).
CPU_SETUPS: dict[str, dict[str, bool]] = {
    "float32": {"bf16": False, "channels_last": False},
    "float32, channels-last": {"bf16": False, "channels_last": True},
    "bfloat16, channels-last": {"bf16": True, "channels_last": True},
}

# A speed measurement: run ``steps`` timed steps, return images per second.
Timer = Callable[[int], float]


@dataclass(frozen=True)
class SpeedChoice:
    """The outcome of :func:`choose_fastest`: median images/s per candidate and the winner.

    ``speeds`` keeps the candidates' order; the first one is the baseline of the printed ratios.
    A candidate in ``dropped`` was measured only by the short probe.
    """

    speeds: dict[str, float]
    dropped: frozenset[str] = frozenset()

    @property
    def best(self) -> str:
        """The fastest candidate not dropped; on a tie, the one listed first."""
        kept = [name for name in self.speeds if name not in self.dropped]
        return max(kept, key=lambda name: self.speeds[name])

    def ratio(self, name: str) -> float:
        """``name``'s speed over the baseline's (the first candidate)."""
        return self.speeds[name] / next(iter(self.speeds.values()))

    def __str__(self) -> str:
        width = max(map(len, self.speeds))
        lines = []
        for name, speed in self.speeds.items():
            line = f"{name:<{width}}  {speed:8.0f} images/s  {self.ratio(name):5.2f}x"
            if name in self.dropped:
                line += "  (dropped after the probe)"
            lines.append(line + ("  <- fastest" if name == self.best else ""))
        return "\n".join(lines)


def choose_fastest(
    candidates: dict[str, Timer],
    repeats: int = 3,
    steps: int = 3,
    probe_steps: int = 1,
    drop_below: float = 0.5,
) -> SpeedChoice:
    """Time each candidate ``repeats`` times, interleaved (A B C A B C ...); keep the fastest median.

    Each candidate is a function that runs ``steps`` timed steps and returns images per second.
    First every candidate runs one short probe of ``probe_steps``; one already slower than
    ``drop_below`` times the fastest probe is dropped there (bfloat16 without bf16 hardware is
    about 10x slower; on an idle machine timing noise is far below 2x, so it could not win). List the simplest
    candidate first: ties go to the earlier one. Taught in notebook 11.
    """
    if not candidates:
        raise ParameterError("parameter 'candidates' got {}; allowed: at least one named timer")
    check_number("repeats", repeats, low=1, integer=True)
    check_number("steps", steps, low=1, integer=True)
    check_number("probe_steps", probe_steps, low=1, integer=True)
    check_number("drop_below", drop_below, low=0, high=1)
    probe = {name: timer(probe_steps) for name, timer in candidates.items()}
    dropped = frozenset(n for n, s in probe.items() if s < drop_below * max(probe.values()))
    runs: dict[str, list[float]] = {name: [] for name in candidates if name not in dropped}
    for _ in range(repeats):
        for name in runs:
            runs[name].append(candidates[name](steps))
    speeds = {n: statistics.median(runs[n]) if n in runs else probe[n] for n in candidates}
    return SpeedChoice(speeds, dropped)


def train_step_timer(
    make_model: Callable[[], nn.Module],
    xb: torch.Tensor,
    yb: torch.Tensor,
    *,
    bf16: bool,
    channels_last: bool,
    threads: int | None = None,
) -> Timer:
    """A :data:`Timer` of AdamW training steps on one batch, the model run by ``FastCPU``.

    The model is built and warmed up by one untimed step at the first call (one-time set-up such
    as kernel selection is not counted). ``threads`` sets torch's thread count while timing.
    Taught in notebook 11.
    """
    check_number("threads", threads, low=1, integer=True, allow_none=True)
    step: Callable[[], None] | None = None

    def build() -> Callable[[], None]:
        net = FastCPU(make_model(), bf16=bf16, channels_last=channels_last).to(xb.device)
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
        net.train()

        def one_step() -> None:
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(net(xb), yb).backward()
            optimizer.step()

        one_step()
        synchronize(xb.device)
        return one_step

    def measure(steps: int) -> float:
        nonlocal step
        default_threads = torch.get_num_threads()
        torch.set_num_threads(threads or default_threads)
        try:
            step = step or build()
            start = time.perf_counter()
            for _ in range(steps):
                step()
            synchronize(xb.device)
            return steps * len(yb) / (time.perf_counter() - start)
        finally:
            torch.set_num_threads(default_threads)

    return measure


def choose_cpu_setup(
    make_model: Callable[[], nn.Module],
    xb: torch.Tensor,
    yb: torch.Tensor,
    repeats: int = 3,
    steps: int = 3,
) -> SpeedChoice:
    """Time :data:`CPU_SETUPS` (float32, channels-last, bfloat16) training on one batch.

    ``make_model()`` builds a fresh model; ``FastCPU(model, **CPU_SETUPS[choice.best])`` then
    runs it the fastest way. Taught in notebook 11.
    """
    timers = {
        name: train_step_timer(make_model, xb, yb, **setup) for name, setup in CPU_SETUPS.items()
    }
    return choose_fastest(timers, repeats=repeats, steps=steps)


def inference_speed(
    net: nn.Module, x: torch.Tensor, batch_size: int = 1000, repeats: int = 2
) -> float:
    """Images per second of ``net``'s forward pass in eval mode over ``x`` (best of ``repeats``).

    Evaluation (validation each epoch, test predictions, TTA views) is a fixed cost that a training
    plan has to count beside the training images. Taught in notebook 11.
    """
    check_number("batch_size", batch_size, low=1, integer=True)
    check_number("repeats", repeats, low=1, integer=True)
    was_training = net.training
    net.eval()
    best = 0.0
    try:
        with torch.inference_mode():
            net(x[:batch_size])  # warm-up: kernel selection is not counted
            synchronize(x.device)
            for _ in range(repeats):
                start = time.perf_counter()
                for xb in x.split(batch_size):
                    net(xb)
                synchronize(x.device)
                best = max(best, len(x) / (time.perf_counter() - start))
    finally:
        net.train(was_training)
    return best


def fit_to_budget(
    size: int, seconds_at: Callable[[int], float], budget_s: float, floor: int = 1
) -> int:
    """The largest size, at most ``size`` and at least ``floor``, whose planned ``seconds_at(size)``
    fits ``budget_s`` (``seconds_at`` grows with the size; bisection). Taught in notebook 11."""
    check_number("size", size, low=1, integer=True)
    check_number("floor", floor, low=1, integer=True)
    check_number("budget_s", budget_s, low=0)
    if size <= floor or seconds_at(size) <= budget_s:
        return size
    low, high = floor, size  # seconds_at(high) > budget_s
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if seconds_at(mid) <= budget_s else (low, mid)
    return low


def matmul_peak(
    dtype: torch.dtype = torch.float32,
    n: int = 2048,
    repeats: int = 5,
    device: torch.device | str = "cpu",
) -> float:
    """FLOP/s of ``device`` (the CPU by default) on a large square matmul in ``dtype`` (best of
    ``repeats``): the peak a training step's achieved FLOP/s is compared with. Taught in notebook
    11 and ``make bench``."""
    check_number("n", n, low=16, integer=True)
    a, b = (torch.randn(n, n).to(device, dtype) for _ in range(2))
    a @ b  # warm-up
    synchronize(device)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def step_flops(net: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> int:
    """Floating-point operations of one training step (forward and backward) of ``net`` on the
    batch, counted by ``torch.utils.flop_counter`` (matmuls and convolutions: the bulk)."""
    from torch.utils.flop_counter import FlopCounterMode  # lazy: a debugging module of torch

    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(net(xb), yb).backward()
    net.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def images_to_pay_back(one_time_seconds: float, before: float, after: float) -> float:
    """Training images after which a one-time cost (``torch.compile``'s compile seconds) is repaid
    by a speed-up from ``before`` to ``after`` images/s; ``math.inf`` when ``after`` is not faster.

    Compile pays back over a training of ``n`` images when ``n`` exceeds this. Taught in notebook 11.
    """
    check_number("one_time_seconds", one_time_seconds, low=0)
    check_number("before", before, low=0, low_open=True)
    check_number("after", after, low=0, low_open=True)
    saved_per_image = 1 / before - 1 / after
    return one_time_seconds / saved_per_image if saved_per_image > 0 else math.inf
