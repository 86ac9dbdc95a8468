"""Real datasets as in-memory uint8 tensors, found offline first.

Fashion-MNIST is looked for, in order, in: an explicit ``data_dir``; ``$COURSE_DATA_DIR``;
the project's ``data/`` folder; the Debian package ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``); then downloaded with torchvision into ``data/``.
MNIST and CIFAR-10 use the same folders (without the Debian one).
"""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .validation import ParameterError, check_choice

PROJECT_DATA = Path(__file__).resolve().parent.parent / "data"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
DATA_ENV = "COURSE_DATA_DIR"

IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
CLASSES = {
    "fashion_mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
    "mnist": [str(d) for d in range(10)],
    "cifar10": [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ],
}
# Sub-folders (relative to a data root) where each dataset's files may sit.
LAYOUTS = {
    "fashion_mnist": ["", "FashionMNIST/raw", "fashion-mnist", "fashion_mnist"],
    "mnist": ["", "MNIST/raw", "mnist"],
    "cifar10": ["cifar-10-batches-py"],
}
TORCHVISION_CLASSES = {"fashion_mnist": "FashionMNIST", "mnist": "MNIST", "cifar10": "CIFAR10"}


class DataFileError(ValueError):
    """A dataset file exists but is truncated or not in the expected format."""


class DatasetUnavailableError(FileNotFoundError):
    """No copy of the dataset was found and it could not be downloaded."""


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
            self.mean, self.std = channel_stats(self.train_x)

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


def channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
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


# ---------------------------------------------------------------- file formats
def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file of unsigned bytes (plain or gzipped), checking header and size."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataFileError(
            f"{path}: cannot be read ({exc}); the file is truncated or corrupt, delete it and fetch it again"
        ) from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataFileError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise DataFileError(f"{path}: IDX data type 0x{raw[2]:02x} is not unsigned byte (0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFileError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DataFileError(
            f"{path}: IDX header promises {expected} bytes of data for shape {dims} "
            f"but the file holds {len(raw) - header}; the file is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one pickled ``cifar-10-batches-py`` batch: images ``(N, 3, 32, 32)`` uint8 and labels."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
    except Exception as exc:  # pickle raises many kinds on bad input
        raise DataFileError(
            f"{path}: not a readable CIFAR-10 batch ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataFileError(f"{path}: CIFAR-10 batch lacks the b'data' and b'labels' entries")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise DataFileError(
            f"{path}: CIFAR-10 batch has data of shape {data.shape} and {len(labels)} labels"
        )
    return data.reshape(-1, 3, 32, 32), labels


# ---------------------------------------------------------------- locating files
def candidate_roots(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for datasets, in order."""
    roots = []
    if data_dir is not None:
        roots.append(Path(data_dir))
    if os.environ.get(DATA_ENV):
        roots.append(Path(os.environ[DATA_ENV]))
    roots.append(PROJECT_DATA)
    return roots


def _idx_path(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def find_files(
    name: str, data_dir: str | os.PathLike | None = None
) -> tuple[Path, dict[str, Path]] | None:
    """Return ``(folder, files)`` for the first complete local copy of dataset ``name``, or None."""
    check_choice("dataset", name, CLASSES)
    folders = [root / sub for root in candidate_roots(data_dir) for sub in LAYOUTS[name]]
    if name == "fashion_mnist":
        folders.append(DEBIAN_FASHION_MNIST)
    for folder in folders:
        if not folder.is_dir():
            continue
        if name == "cifar10":
            files = {f"data_batch_{i}": folder / f"data_batch_{i}" for i in range(1, 6)}
            files["test_batch"] = folder / "test_batch"
            if all(p.is_file() for p in files.values()):
                return folder, files
            continue
        found = {key: _idx_path(folder, stem) for key, stem in IDX_FILES.items()}
        if all(found.values()):
            return folder, found  # type: ignore[return-value]
    return None


def download(name: str, root: str | os.PathLike | None = None) -> Path:
    """Download ``name`` with torchvision into ``root`` (default: the project's ``data/``)."""
    import torchvision.datasets as tvd

    root = Path(root) if root is not None else PROJECT_DATA
    root.mkdir(parents=True, exist_ok=True)
    cls = getattr(tvd, TORCHVISION_CLASSES[name])
    try:
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception as exc:
        raise DatasetUnavailableError(unavailable_message(name, exc)) from exc
    return root


def unavailable_message(name: str, exc: BaseException | None = None) -> str:
    searched = ", ".join(str(r) for r in candidate_roots())
    lines = [
        f"dataset {name!r} was not found locally (searched under {searched}) and could not be downloaded"
    ]
    if exc is not None:
        lines[0] += f" ({type(exc).__name__}: {exc})"
    lines.append("Ways to get it:")
    if name == "fashion_mnist":
        lines.append(
            "  - Debian/Ubuntu: sudo apt-get install -y dataset-fashion-mnist"
            "  (files in /usr/share/datasets/fashion-mnist)"
        )
    lines.append(
        f"  - put the files in a folder and pass data_dir=... or set {DATA_ENV}=/that/folder"
    )
    lines.append(f"  - connect to the internet once; torchvision downloads it into {PROJECT_DATA}")
    return "\n".join(lines)


# ---------------------------------------------------------------- loading
_CACHE: dict[tuple[str, str], ImageDataset] = {}


def load_dataset(
    name: str = "fashion_mnist",
    data_dir: str | os.PathLike | None = None,
    *,
    allow_download: bool = True,
) -> ImageDataset:
    """Load a whole dataset into memory as uint8 tensors (cached per process)."""
    check_choice("dataset", name, CLASSES)
    if data_dir is not None and not Path(data_dir).is_dir():
        raise ParameterError(
            f"parameter 'data_dir' got {str(data_dir)!r}; allowed: an existing folder or None"
        )
    located = find_files(name, data_dir)
    if located is None:
        if not allow_download:
            raise DatasetUnavailableError(unavailable_message(name))
        download(name, data_dir)
        located = find_files(name, data_dir)
        if located is None:
            raise DatasetUnavailableError(unavailable_message(name))
    folder, files = located
    key = (name, str(folder))
    if key not in _CACHE:
        _CACHE[key] = _read(name, folder, files)
    return _CACHE[key]


def _read(name: str, folder: Path, files: dict[str, Path]) -> ImageDataset:
    if name == "cifar10":
        parts = [read_cifar_batch(files[f"data_batch_{i}"]) for i in range(1, 6)]
        train_x = np.concatenate([p[0] for p in parts])
        train_y = np.concatenate([p[1] for p in parts])
        test_x, test_y = read_cifar_batch(files["test_batch"])
    else:
        arrays = {key: read_idx(path) for key, path in files.items()}
        for split in ("train", "test"):
            x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
            if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
                raise DataFileError(
                    f"{files[f'{split}_x']} / {files[f'{split}_y']}: images of shape {x.shape} "
                    f"do not match labels of shape {y.shape}"
                )
        train_x, train_y = arrays["train_x"][:, None], arrays["train_y"].astype(np.int64)
        test_x, test_y = arrays["test_x"][:, None], arrays["test_y"].astype(np.int64)
    classes = CLASSES[name]
    for path_key, y in (("train", train_y), ("test", test_y)):
        if len(y) and (y.min() < 0 or y.max() >= len(classes)):
            raise DataFileError(f"{folder}: {path_key} labels outside 0..{len(classes) - 1}")
    return ImageDataset(
        name=name,
        classes=classes,
        train_x=torch.from_numpy(np.ascontiguousarray(train_x)),
        train_y=torch.from_numpy(np.ascontiguousarray(train_y)),
        test_x=torch.from_numpy(np.ascontiguousarray(test_x)),
        test_y=torch.from_numpy(np.ascontiguousarray(test_y)),
        source=folder,
    )


def torchvision_dataset(
    name: str, train: bool = True, transform=None, data_dir: str | os.PathLike | None = None
):
    """The same data as a plain torchvision dataset (per-image PIL transforms), for comparisons.

    torchvision's (Fashion-)MNIST reads un-gzipped files from ``<root>/<Class>/raw``;
    gzipped copies (the Debian package) are unpacked once into the project's ``data/``.
    """
    import torchvision.datasets as tvd

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
        root = PROJECT_DATA
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
    """``n`` examples drawn so that every class keeps its share (all of them when ``n == len(y)``)."""
    from sklearn.model_selection import train_test_split

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
    """Split into ``(train_x, train_y, val_x, val_y)``; stratified keeps class shares equal in both."""
    from sklearn.model_selection import train_test_split

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


# ---------------------------------------------------------------- batches
@dataclass(frozen=True)
class Augment:
    """Batched augmentation on uint8 images: random crop after zero padding, horizontal flip."""

    crop_padding: int = 0
    flip: bool = False

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
    """uint8 images -> float32, scaled to [0, 1] and standardized per channel."""
    m = torch.tensor(mean, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    return (x.float().div_(255.0) - m) / s


class Batches:
    """Iterate over in-memory uint8 images in batches: shuffle, augment and normalize whole batches."""

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
            xb = normalize(xb.to(self.device, non_blocking=True), self.mean, self.std)
            yield xb, yb.to(self.device, non_blocking=True)
