"""Input-pipeline speed (notebook 00 and ``benchmarks/``): the source notes' per-image DataLoader
against the course's in-memory batches, and the kernel's peak memory."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

import torch
from torch import nn

from .data import ImageDataset, torchvision_dataset
from .validation import check_number


def source_notes_loader(
    ds: ImageDataset,
    batch_size: int = 32,
    num_workers: int = 2,
    augment: bool = True,
    data_dir: str | os.PathLike | None = None,
    seed: int = 0,
) -> torch.utils.data.DataLoader:
    """The source notes' pipeline: a torchvision dataset with per-image PIL transforms in a DataLoader."""
    from torchvision import transforms as T

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
    seen, start = 0, time.perf_counter()
    while seen < max_images:
        for xb, yb in batches:
            step(xb, yb)
            seen += len(yb)
            if seen >= max_images:
                break
    seconds = time.perf_counter() - start
    return {"images": seen, "seconds": seconds, "images_per_s": seen / seconds}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux ``ru_maxrss`` is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
