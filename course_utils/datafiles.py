"""Dataset files on disk: where they are looked for, how they are read, how they are fetched.

An explicit ``data_dir`` (or else ``$COURSE_DATA_DIR``) is used exactly: a folder lacking files is
an error naming them, never a silent switch to another copy. Without one: the project's ``data/``
folder; the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``);
then a torchvision download into ``data/`` (announced, with a network timeout). MNIST and
CIFAR-10 use the same folders (without the Debian one). The in-memory dataset a notebook works
with is ``course_utils.data``.
"""

from __future__ import annotations

import gzip
import os
import pickle
import socket
import struct
from pathlib import Path

import numpy as np

from .validation import check_choice

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
    import torchvision.datasets as tvd  # only to download: it adds a second to every import

    cls = getattr(tvd, TORCHVISION_CLASSES[name])
    mirrors = getattr(cls, "mirrors", None)
    return mirrors[0] if mirrors else getattr(cls, "url", "torchvision's servers")


def download(name: str, root: str | os.PathLike | None = None) -> Path:
    """Download ``name`` with torchvision into ``root`` (default: the project's ``data/``).

    Says what it downloads from where, and gives up when the network does not answer within
    ``DOWNLOAD_TIMEOUT`` seconds (per connection attempt or read) instead of hanging.
    """
    import torchvision.datasets as tvd  # only to download: it adds a second to every import

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


def locate(
    name: str, data_dir: str | os.PathLike | None = None, *, allow_download: bool = True
) -> tuple[Path, dict[str, Path]]:
    """The folder and files of dataset ``name``: found offline first, else downloaded."""
    located = find_files(name, data_dir)
    if located is None and allow_download:
        download(name)
        located = find_files(name, data_dir)
    if located is None:
        raise DatasetUnavailableError(_unavailable_message(name))
    return located


def read_arrays(name: str, folder: Path, files: dict[str, Path]) -> dict[str, np.ndarray]:
    """``train_x``/``test_x`` as uint8 ``(N, C, H, W)`` and ``train_y``/``test_y`` as int64, checked."""
    if name == "cifar10":
        parts = [read_cifar_batch(files[f"data_batch_{i}"]) for i in range(1, 6)]
        test_x, test_y = read_cifar_batch(files["test_batch"])
        arrays = {
            "train_x": np.concatenate([p[0] for p in parts]),
            "train_y": np.concatenate([p[1] for p in parts]),
            "test_x": test_x,
            "test_y": test_y,
        }
    else:
        arrays = {key: read_idx(path) for key, path in files.items()}
        for split in ("train", "test"):
            x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
            if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
                raise DataFileError(
                    f"{files[f'{split}_x']} / {files[f'{split}_y']}: images of shape {x.shape} "
                    f"do not match labels of shape {y.shape}"
                )
            arrays[f"{split}_x"], arrays[f"{split}_y"] = x[:, None], y.astype(np.int64)
    classes = CLASSES[name]
    for split in ("train", "test"):
        y = arrays[f"{split}_y"]
        if len(y) and (y.min() < 0 or y.max() >= len(classes)):
            raise DataFileError(f"{folder}: {split} labels outside 0..{len(classes) - 1}")
    return {k: np.ascontiguousarray(v) for k, v in arrays.items()}
