"""Real datasets as whole in-memory uint8 tensors, and the batches, splits and augmentation on them.

``load_dataset`` finds the files offline first (``course_utils.datafiles``: an explicit
``data_dir``, the project's ``data/``, the Debian package, then a download) and keeps the whole
dataset in memory; ``Batches`` crops, flips and normalizes whole batches as tensors
(notebook 00 measures why).
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from . import datafiles
from .datafiles import (
    CLASSES,
    IDX_FILES,
    TORCHVISION_CLASSES,
    find_files,
    locate,
    read_arrays,
)
from .validation import ParameterError, check_choice


@dataclass
class ImageDataset:
    """A whole dataset in memory: images as uint8 ``(N, C, H, W)``, labels as int64."""

    name: str
    classes: list[str]
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    source: Path
    mean: tuple[float, ...] = field(default=())
    std: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.mean:
            self.mean, self.std = _channel_stats(self.train_x)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of one image."""
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def loader(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 128, **kwargs) -> Batches:
        """A ``Batches`` iterator over ``(x, y)`` normalized with this dataset's mean/std."""
        return Batches(x, y, batch_size, mean=self.mean, std=self.std, **kwargs)

    def __repr__(self) -> str:
        return (
            f"ImageDataset({self.name}: train {tuple(self.train_x.shape)}, test {tuple(self.test_x.shape)}, "
            f"{self.num_classes} classes, mean={tuple(round(m, 4) for m in self.mean)}, "
            f"std={tuple(round(s, 4) for s in self.std)}, from {self.source})"
        )


def _channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images, in [0, 1] units (computed in chunks)."""
    c = x.shape[1]
    total = torch.zeros(c, dtype=torch.float64)
    total_sq = torch.zeros(c, dtype=torch.float64)
    for chunk in x.split(8192):
        f = chunk.to(torch.float64) / 255.0
        total += f.sum(dim=(0, 2, 3))
        total_sq += (f * f).sum(dim=(0, 2, 3))
    n = x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / n
    std = (total_sq / n - mean * mean).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())


_CACHE: dict[tuple[str, str], ImageDataset] = {}


def load_dataset(
    name: str = "fashion_mnist",
    data_dir: str | os.PathLike | None = None,
    *,
    allow_download: bool = True,
) -> ImageDataset:
    """Load a whole dataset into memory as uint8 tensors (cached per process). Taught in notebook 00."""
    check_choice("dataset", name, CLASSES)
    if data_dir is not None and not Path(data_dir).is_dir():
        raise ParameterError(
            f"parameter 'data_dir' got {str(data_dir)!r}; allowed: an existing folder or None"
        )
    folder, files = locate(name, data_dir, allow_download=allow_download)
    key = (name, str(folder))
    if key not in _CACHE:
        arrays = read_arrays(name, folder, files)
        _CACHE[key] = ImageDataset(
            name=name,
            classes=CLASSES[name],
            **{k: torch.from_numpy(v) for k, v in arrays.items()},
            source=folder,
        )
    return _CACHE[key]


def torchvision_dataset(
    name: str, train: bool = True, transform=None, data_dir: str | os.PathLike | None = None
):
    """The same data as a plain torchvision dataset (per-image PIL transforms), for comparisons.

    torchvision's (Fashion-)MNIST reads un-gzipped files from ``<root>/<Class>/raw``;
    gzipped copies (the Debian package) are unpacked once into the project's ``data/``.

    Taught in notebook 03.
    """
    import torchvision.datasets as tvd  # only here: it adds a second to every import

    check_choice("dataset", name, CLASSES)
    load_dataset(name, data_dir)  # make sure a verified local copy exists
    folder, files = find_files(name, data_dir)  # type: ignore[misc]
    cls = getattr(tvd, TORCHVISION_CLASSES[name])
    if name == "cifar10":
        return cls(str(folder.parent), train=train, transform=transform, download=False)
    raw = folder
    if folder.as_posix().endswith(f"{TORCHVISION_CLASSES[name]}/raw") and all(
        p.suffix != ".gz" for p in files.values()
    ):
        root = folder.parent.parent
    else:
        root = datafiles.PROJECT_DATA  # read at call time: tests point it elsewhere
        raw = root / TORCHVISION_CLASSES[name] / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        for stem, path in ((IDX_FILES[k], p) for k, p in files.items()):
            target = raw / stem
            if target.is_file():
                continue
            opener = gzip.open if path.suffix == ".gz" else open
            with (
                opener(path, "rb") as src,
                tempfile.NamedTemporaryFile(dir=raw, delete=False) as tmp,
            ):
                shutil.copyfileobj(src, tmp)
            os.replace(tmp.name, target)
    return cls(str(root), train=train, transform=transform, download=False)


# ---------------------------------------------------------------- splits
def stratified_subset(
    x: torch.Tensor, y: torch.Tensor, n: int, seed: int = 0, name: str = "subset size"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` examples drawn so that every class keeps its share (all of them when ``n == len(y)``).

    Taught in notebook 02.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= len(y):
        raise ParameterError(
            f"parameter {name!r} got {n!r}; allowed: an integer in [1, {len(y)}] (the dataset has {len(y)} examples)"
        )
    if n == len(y):
        return x, y
    idx, _ = train_test_split(
        np.arange(len(y)), train_size=n, stratify=y.numpy(), random_state=seed
    )
    idx = torch.from_numpy(np.sort(idx))
    return x[idx], y[idx]


def train_val_split(
    x: torch.Tensor,
    y: torch.Tensor,
    val_fraction: float = 0.2,
    seed: int = 0,
    stratify: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split into ``(train_x, train_y, val_x, val_y)``; stratified keeps class shares equal in both.

    Taught in notebook 02.
    """
    if (
        isinstance(val_fraction, bool)
        or not isinstance(val_fraction, (int, float))
        or not 0 < val_fraction < 1
    ):
        raise ParameterError(
            f"parameter 'val_fraction' got {val_fraction!r}; allowed: a number in (0, 1), e.g. 0.2 for 8:2"
        )
    tr, va = train_test_split(
        np.arange(len(y)),
        test_size=val_fraction,
        random_state=seed,
        stratify=y.numpy() if stratify else None,
    )
    tr, va = torch.from_numpy(np.sort(tr)), torch.from_numpy(np.sort(va))
    return x[tr], y[tr], x[va], y[va]


def paired_split(
    ds: ImageDataset, train_size: int, val_size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Seed ``seed``'s data for a paired comparison: ``(train_x, train_y, val_x, val_y)``.

    A stratified sample of ``train_size + val_size`` training images, split (stratified) into
    ``train_size`` for training and ``val_size`` for validation. It depends only on the sizes and
    the seed, so every compared setting of one seed sees the same split (the README's "How a claim is decided").

    Taught in notebook 06 (and used by 07 and 10).
    """
    available = len(ds.train_y)
    for name, value in (("train_size", train_size), ("val_size", val_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < ds.num_classes:
            raise ParameterError(
                f"parameter {name!r} got {value!r}; allowed: an integer >= {ds.num_classes} "
                f"(at least one image per class)"
            )
    if train_size + val_size > available:
        raise ParameterError(
            f"parameter 'train_size' got {train_size!r}; allowed: train_size + val_size <= "
            f"{available} (the training set), here val_size={val_size}"
        )
    n = train_size + val_size
    x, y = stratified_subset(ds.train_x, ds.train_y, n, seed=seed, name="train_size + val_size")
    tr, va = train_test_split(
        np.arange(n), test_size=val_size, random_state=seed, stratify=y.numpy()
    )
    tr, va = torch.from_numpy(np.sort(tr)), torch.from_numpy(np.sort(va))
    return x[tr], y[tr], x[va], y[va]


# ---------------------------------------------------------------- batches
# Whether a left-right mirror image keeps an image's label. A mirrored shoe or ship is still a
# shoe or a ship; a mirrored 2, 3, 4, 5, 7 or 9 is not a digit (notebook 03 shows it).
FLIP_KEEPS_LABEL = {"fashion_mnist": True, "mnist": False, "cifar10": True}


@dataclass(frozen=True)
class Augment:
    """Batched augmentation on uint8 images: random crop after zero padding, horizontal flip.

    Flipping is off unless asked for: use :meth:`for_dataset` to switch it on only for datasets
    whose labels survive a mirror image (not MNIST digits).

    Taught in notebook 03.
    """

    crop_padding: int = 0
    flip: bool = False

    @classmethod
    def for_dataset(cls, name: str, crop_padding: int = 2) -> Augment:
        """Random shifts of up to ``crop_padding`` pixels, plus flips where they keep the label."""
        check_choice("dataset", name, FLIP_KEEPS_LABEL)
        return cls(crop_padding=crop_padding, flip=FLIP_KEEPS_LABEL[name])

    def __post_init__(self) -> None:
        if (
            isinstance(self.crop_padding, bool)
            or not isinstance(self.crop_padding, int)
            or self.crop_padding < 0
        ):
            raise ParameterError(
                f"parameter 'crop_padding' got {self.crop_padding!r}; allowed: an integer >= 0"
            )

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        if self.crop_padding:
            p = self.crop_padding
            padded = torch.nn.functional.pad(x, (p, p, p, p))
            dy = torch.randint(0, 2 * p + 1, (b,), generator=generator)
            dx = torch.randint(0, 2 * p + 1, (b,), generator=generator)
            rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
            cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
            x = padded[
                torch.arange(b)[:, None, None, None],
                torch.arange(c)[None, :, None, None],
                rows,
                cols,
            ]
        if self.flip:
            mask = torch.rand(b, generator=generator) < 0.5
            x = torch.where(mask[:, None, None, None], x.flip(-1), x)
        return x


def normalize(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 images -> float32, scaled to [0, 1] and standardized per channel.

    Taught in notebook 00.
    """
    m = torch.tensor(mean, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    return (x.float().div_(255.0) - m) / s


class Batches:
    """Iterate over in-memory uint8 images in batches: shuffle, augment and normalize whole batches.

    Taught in notebook 00.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int = 128,
        *,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        shuffle: bool = False,
        augment: Augment | None = None,
        seed: int = 0,
        device: torch.device | str = "cpu",
        drop_last: bool = False,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ParameterError(
                f"parameter 'batch_size' got {batch_size!r}; allowed: an integer >= 1"
            )
        if len(x) != len(y):
            raise ParameterError(f"images ({len(x)}) and labels ({len(y)}) differ in length")
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.augment = batch_size, shuffle, augment
        self.mean, self.std, self.device, self.drop_last = (
            mean,
            std,
            torch.device(device),
            drop_last,
        )
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.y)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_examples(self) -> int:
        return len(self.y)

    def __iter__(self):
        n = len(self.y)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for i in range(len(self)):
            sl = slice(i * self.batch_size, min(n, (i + 1) * self.batch_size))
            idx = order[sl] if order is not None else sl
            xb, yb = self.x[idx], self.y[idx]
            if self.augment is not None:
                xb = self.augment(xb, self.generator)
            # asynchronous copies only to CUDA: to MPS from pageable memory they can silently
            # corrupt the batch (pytorch/pytorch#139550, #189690)
            async_copy = self.device.type == "cuda"
            xb = normalize(xb.to(self.device, non_blocking=async_copy), self.mean, self.std)
            yield xb, yb.to(self.device, non_blocking=async_copy)
