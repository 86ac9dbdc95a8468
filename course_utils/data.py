"""Real datasets as in-memory uint8 tensors, found offline first.

Fashion-MNIST is looked for in an explicit ``data_dir`` (or else ``$COURSE_DATA_DIR``), which is
then used exactly: a folder lacking files is an error naming them, never a silent switch to
another copy. Without one: the project's ``data/`` folder; the Debian package
``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``); then a torchvision download
into ``data/`` (announced, with a network timeout). MNIST and CIFAR-10 use the same folders
(without the Debian one).
"""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
import socket
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
# Seconds a download may wait for the network before it fails (per connection attempt or read).
DOWNLOAD_TIMEOUT = float(os.environ.get("COURSE_DOWNLOAD_TIMEOUT", "30"))

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


# ---------------------------------------------------------------- file formats
REPLACE_ADVICE = (
    "Replace it with a good copy: delete it and run `python -m course_utils data <dataset>` "
    "(which finds or downloads the dataset), or point data_dir at another complete copy"
)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file of unsigned bytes (plain or gzipped), checking header and size."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataFileError(
            f"{path}: cannot be read ({exc}); the file is truncated or corrupt. {REPLACE_ADVICE}"
        ) from exc
    if raw[:2] == b"\x1f\x8b":
        raise DataFileError(
            f"{path}: the file is gzip-compressed but its name does not end in .gz; "
            f"rename it to {path.name}.gz (or unpack it with gunzip)"
        )
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataFileError(
            f"{path}: not an IDX file (bad magic number: it starts with "
            f"{raw[:4].hex(' ') or 'nothing'}, an IDX file with 00 00 08). {REPLACE_ADVICE}"
        )
    if raw[2] != 0x08:
        raise DataFileError(
            f"{path}: IDX data type 0x{raw[2]:02x} is not unsigned byte (0x08). {REPLACE_ADVICE}"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFileError(f"{path}: truncated IDX header. {REPLACE_ADVICE}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DataFileError(
            f"{path}: IDX header promises {expected} bytes of data for shape {dims} "
            f"but the file holds {len(raw) - header}; the file is truncated or corrupt. "
            + REPLACE_ADVICE
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
            f"{path}: not a readable CIFAR-10 batch ({type(exc).__name__}: {exc}). {REPLACE_ADVICE}"
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
def _explicit_root(data_dir: str | os.PathLike | None = None) -> tuple[Path, str] | None:
    """The folder the user named (``data_dir``, else ``$COURSE_DATA_DIR``) and how, or None."""
    if data_dir is not None:
        return Path(data_dir), "data_dir"
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]), f"${DATA_ENV}"
    return None


def _expected_files(name: str) -> list[str]:
    """File names of dataset ``name`` (IDX files may also be gzipped, ``.gz``)."""
    if name == "cifar10":
        return [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return list(IDX_FILES.values())


def _idx_path(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _scan(name: str, folder: Path) -> tuple[dict[str, Path], list[str]]:
    """``(found, missing)``: the dataset's files present in ``folder`` and the names missing."""
    if name == "cifar10":
        found = {f: folder / f for f in _expected_files(name) if (folder / f).is_file()}
        return found, [f for f in _expected_files(name) if f not in found]
    paths = {key: _idx_path(folder, stem) for key, stem in IDX_FILES.items()}
    found = {key: path for key, path in paths.items() if path is not None}
    return found, [IDX_FILES[key] for key, path in paths.items() if path is None]


def _where(name: str, root: Path) -> str:
    subs = [root / sub if sub else root for sub in LAYOUTS[name]]
    return ", ".join(str(s) for s in subs)


def _expected_text(name: str) -> str:
    gz = " (each may be gzipped, .gz)" if name != "cifar10" else ""
    return ", ".join(_expected_files(name)) + gz


def _incomplete_message(
    name: str, root: Path, how: str, best: tuple[Path, list[str]] | None
) -> str:
    if not root.is_dir():
        head = f"{how} {root} is not an existing folder"
    elif best is None:
        head = f"{how} {root} holds none of the files of dataset {name!r}"
    else:
        folder, missing = best
        head = f"{how} {root} lacks files of dataset {name!r}: {', '.join(missing)} missing in {folder}"
    return "\n".join(
        [
            head + " (a folder you name is used exactly; no other copy is swapped in).",
            f"Expected files: {_expected_text(name)}, in one of: {_where(name, root)}.",
            "Ways to fix it:",
            "  - put the missing files there",
            f"  - pass data_dir=... (or set {DATA_ENV}=...) to a folder holding a complete copy",
            f"  - unset data_dir and {DATA_ENV} to use the default places "
            f"({PROJECT_DATA}, the Debian package, or a download)",
        ]
    )


def find_files(
    name: str, data_dir: str | os.PathLike | None = None
) -> tuple[Path, dict[str, Path]] | None:
    """``(folder, files)`` of the first complete local copy of dataset ``name``, or None.

    An explicit folder (``data_dir`` or ``$COURSE_DATA_DIR``) is the only one searched, and one
    lacking files raises DatasetUnavailableError naming them (never a silent fallback).
    """
    check_choice("dataset", name, CLASSES)
    explicit = _explicit_root(data_dir)
    if explicit is not None:
        root, how = explicit
        best: tuple[Path, list[str]] | None = None
        for sub in LAYOUTS[name]:
            folder = root / sub
            if not folder.is_dir():
                continue
            found, missing = _scan(name, folder)
            if not missing:
                return folder, found
            if found and (best is None or len(missing) < len(best[1])):
                best = (folder, missing)
        raise DatasetUnavailableError(_incomplete_message(name, root, how, best))
    folders = [PROJECT_DATA / sub for sub in LAYOUTS[name]]
    if name == "fashion_mnist":
        folders.append(DEBIAN_FASHION_MNIST)
    for folder in folders:
        if folder.is_dir():
            found, missing = _scan(name, folder)
            if not missing:
                return folder, found
    return None


def _download_source(name: str) -> str:
    """Where torchvision downloads dataset ``name`` from (its first mirror)."""
    import torchvision.datasets as tvd

    cls = getattr(tvd, TORCHVISION_CLASSES[name])
    mirrors = getattr(cls, "mirrors", None)
    return mirrors[0] if mirrors else getattr(cls, "url", "torchvision's servers")


def download(name: str, root: str | os.PathLike | None = None) -> Path:
    """Download ``name`` with torchvision into ``root`` (default: the project's ``data/``).

    Says what it downloads from where, and gives up when the network does not answer within
    ``DOWNLOAD_TIMEOUT`` seconds (per connection attempt or read) instead of hanging.
    """
    import torchvision.datasets as tvd

    root = Path(root) if root is not None else PROJECT_DATA
    root.mkdir(parents=True, exist_ok=True)
    cls = getattr(tvd, TORCHVISION_CLASSES[name])
    print(
        f"downloading {name} from {_download_source(name)} into {root} "
        f"(gives up when the network is silent for {DOWNLOAD_TIMEOUT:g} s) ...",
        flush=True,
    )
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception as exc:
        if isinstance(exc, (TimeoutError, socket.timeout)) or "timed out" in str(exc):
            exc = TimeoutError(f"no answer from the server within {DOWNLOAD_TIMEOUT:g} s")
        raise DatasetUnavailableError(_unavailable_message(name, exc)) from None
    finally:
        socket.setdefaulttimeout(previous)
    return root


def _unavailable_message(name: str, exc: BaseException | None = None) -> str:
    places = [PROJECT_DATA] + ([DEBIAN_FASHION_MNIST] if name == "fashion_mnist" else [])
    lines = [
        f"dataset {name!r} was not found locally (searched {', '.join(str(p) for p in places)}) "
        "and could not be downloaded"
    ]
    if exc is not None:
        lines[0] += f" from {_download_source(name)} ({type(exc).__name__}: {exc})"
    lines.append(
        f"Expected files: {_expected_text(name)}, in one of: {_where(name, PROJECT_DATA)}"
        + (f", {DEBIAN_FASHION_MNIST}" if name == "fashion_mnist" else "")
        + "."
    )
    lines.append("Ways to get it:")
    if name == "fashion_mnist":
        lines.append(
            "  - Debian/Ubuntu: sudo apt-get install -y dataset-fashion-mnist"
            "  (files in /usr/share/datasets/fashion-mnist)"
        )
    lines.append(
        f"  - put the files in a folder and pass data_dir=... or set {DATA_ENV}=/that/folder"
    )
    lines.append(
        f"  - connect to the internet once and run `python -m course_utils data {name}`; "
        f"torchvision downloads it into {PROJECT_DATA}"
    )
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
            raise DatasetUnavailableError(_unavailable_message(name))
        download(name)
        located = find_files(name, data_dir)
        if located is None:
            raise DatasetUnavailableError(_unavailable_message(name))
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


def paired_split(
    ds: ImageDataset, train_size: int, val_size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Seed ``seed``'s data for a paired comparison: ``(train_x, train_y, val_x, val_y)``.

    A stratified sample of ``train_size + val_size`` training images, split (stratified) into
    ``train_size`` for training and ``val_size`` for validation. It depends only on the sizes and
    the seed, so every compared setting of one seed sees the same split (DESIGN.md, "Claims").
    """
    from sklearn.model_selection import train_test_split

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
