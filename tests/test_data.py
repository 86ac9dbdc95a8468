from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import require
from fixture_files import write_cifar, write_idx, write_mnist_like

import course_utils.data as data
import course_utils.datafiles as datafiles
from course_utils.data import (
    Augment,
    ImageDataset,
    load_dataset,
    paired_split,
    stratified_subset,
    train_val_split,
)
from course_utils.datafiles import (
    DataFileError,
    DatasetUnavailableError,
    read_cifar_batch,
    read_idx,
)
from course_utils.validation import ParameterError

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def no_project_data(tmp_path, monkeypatch):
    """Keep tests away from the project's data/ folder and $COURSE_DATA_DIR."""
    monkeypatch.setattr(datafiles, "PROJECT_DATA", tmp_path / "project-data")
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip_plain_and_gzipped(tmp_path, gz):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "x-idx3-ubyte", array, gz=gz)
    assert np.array_equal(read_idx(path), array)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_files_load_from_data_dir(tmp_path, gz):
    arrays = write_mnist_like(tmp_path / "mnist", gz=gz)
    ds = load_dataset("mnist", tmp_path / "mnist", allow_download=False)
    assert ds.train_x.dtype == torch.uint8 and ds.train_x.shape == (60, 1, 28, 28)
    assert ds.test_y.dtype == torch.int64 and len(ds.test_y) == 20
    assert np.array_equal(ds.train_x[:, 0].numpy(), arrays["train-images-idx3-ubyte"])
    assert ds.num_classes == 10 and ds.shape == (1, 28, 28)
    expected_mean = arrays["train-images-idx3-ubyte"].mean() / 255
    assert ds.mean[0] == pytest.approx(expected_mean, rel=1e-6)


def test_torchvision_layout_is_found(tmp_path):
    write_mnist_like(tmp_path / "FashionMNIST" / "raw")
    ds = load_dataset("fashion_mnist", tmp_path, allow_download=False)
    assert ds.source == tmp_path / "FashionMNIST" / "raw"


def test_truncated_file_is_named(tmp_path):
    write_mnist_like(tmp_path / "d", gz=True)
    path = tmp_path / "d" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataFileError, match="train-images-idx3-ubyte.gz"):
        load_dataset("mnist", tmp_path / "d", allow_download=False)


def test_short_plain_file_and_bad_magic_are_named_with_what_to_do(tmp_path):
    path = write_idx(tmp_path / "a-idx3-ubyte", np.zeros((4, 2, 2), np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(DataFileError, match="a-idx3-ubyte.*truncated.*Replace it"):
        read_idx(path)
    bad = tmp_path / "b-idx3-ubyte"
    bad.write_bytes(b"PK\x03\x04 not an idx file")
    with pytest.raises(DataFileError, match="b-idx3-ubyte.*magic.*50 4b 03 04.*Replace it"):
        read_idx(bad)


def test_a_gzipped_file_without_gz_in_its_name_is_named_with_the_fix(tmp_path):
    path = write_idx(tmp_path / "c-idx3-ubyte", np.zeros((4, 2, 2), np.uint8), gz=True)
    plain_name = path.rename(tmp_path / "c-idx3-ubyte")
    with pytest.raises(DataFileError, match="gzip-compressed.*rename it to c-idx3-ubyte.gz"):
        read_idx(plain_name)


@pytest.mark.parametrize("via", ["data_dir", "COURSE_DATA_DIR"])
def test_an_explicit_folder_lacking_a_file_is_an_error_not_a_fallback(tmp_path, monkeypatch, via):
    write_mnist_like(datafiles.PROJECT_DATA / "MNIST" / "raw")  # a complete copy elsewhere
    write_mnist_like(tmp_path / "mine", gz=True)
    (tmp_path / "mine" / "t10k-labels-idx1-ubyte.gz").unlink()
    if via == "COURSE_DATA_DIR":
        monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "mine"))
    data_dir = tmp_path / "mine" if via == "data_dir" else None
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset("mnist", data_dir)
    message = str(info.value)
    assert "lacks files of dataset 'mnist': t10k-labels-idx1-ubyte missing in" in message
    assert via in message and "Expected files: train-images-idx3-ubyte" in message
    assert "no other copy is swapped in" in message


def test_an_explicit_folder_without_the_dataset_names_what_it_expects(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetUnavailableError, match="holds none of the files of dataset 'mnist'"):
        load_dataset("mnist", tmp_path / "empty")


def test_a_complete_default_copy_is_still_found_without_an_explicit_folder():
    write_mnist_like(datafiles.PROJECT_DATA / "MNIST" / "raw")
    ds = load_dataset("mnist", allow_download=False)
    assert ds.source == datafiles.PROJECT_DATA / "MNIST" / "raw"


def test_cifar_batches_load(tmp_path):
    write_cifar(tmp_path)
    ds = load_dataset("cifar10", tmp_path, allow_download=False)
    assert ds.train_x.shape == (100, 3, 32, 32) and ds.test_x.shape == (20, 3, 32, 32)
    assert len(ds.mean) == 3 and ds.classes[0] == "airplane"
    x, y = read_cifar_batch(tmp_path / "cifar-10-batches-py" / "test_batch")
    assert np.array_equal(ds.test_x.numpy(), x) and np.array_equal(ds.test_y.numpy(), y)


def test_corrupt_cifar_batch_is_named(tmp_path):
    root = write_cifar(tmp_path)
    (root / "data_batch_3").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataFileError, match="data_batch_3"):
        load_dataset("cifar10", tmp_path, allow_download=False)


def test_missing_dataset_explains_options(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="data_dir=.*COURSE_DATA_DIR"):
        load_dataset("mnist", tmp_path, allow_download=False)


def test_missing_data_dir_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="'data_dir'"):
        load_dataset("mnist", tmp_path / "nope")


def test_unknown_dataset_is_refused():
    with pytest.raises(ParameterError, match="'dataset'"):
        load_dataset("imagenet")


def test_debian_fashion_mnist_is_the_real_dataset():
    require(DEBIAN.is_dir(), "Debian package dataset-fashion-mnist not installed (make data)")
    ds = load_dataset("fashion_mnist")
    assert ds.source == DEBIAN
    assert ds.train_x.shape == (60000, 1, 28, 28) and ds.test_x.shape == (10000, 1, 28, 28)
    assert torch.bincount(ds.train_y).tolist() == [6000] * 10
    assert ds.mean[0] == pytest.approx(0.2860, abs=1e-3) and ds.std[0] == pytest.approx(
        0.3530, abs=1e-3
    )


def test_torchvision_dataset_matches_in_memory_copy(tmp_path, monkeypatch):
    write_mnist_like(tmp_path / "src", gz=True)
    ds = load_dataset("mnist", tmp_path / "src", allow_download=False)
    tv = data.torchvision_dataset("mnist", train=True, data_dir=tmp_path / "src")
    img, label = tv[5]
    assert np.array_equal(np.array(img), ds.train_x[5, 0].numpy()) and label == int(ds.train_y[5])
    assert (datafiles.PROJECT_DATA / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()


def test_stratified_split_keeps_class_shares():
    y = torch.arange(1000) % 10
    x = torch.zeros(1000, 1, 2, 2, dtype=torch.uint8)
    tx, ty, vx, vy = train_val_split(x, y, 0.2, seed=0)
    assert len(vy) == 200 and len(ty) == 800
    assert torch.bincount(vy).tolist() == [20] * 10
    sx, sy = stratified_subset(x, y, 100, seed=0)
    assert torch.bincount(sy).tolist() == [10] * 10


@pytest.mark.parametrize("n", [0, 1001, 2.5])
def test_subset_size_is_checked(n):
    y = torch.arange(1000) % 10
    with pytest.raises(ParameterError, match="'train_size'.*1000"):
        stratified_subset(torch.zeros(1000, 1, 1, 1), y, n, name="train_size")


def test_val_fraction_is_checked():
    with pytest.raises(ParameterError, match="'val_fraction'"):
        train_val_split(torch.zeros(10, 1, 1, 1), torch.arange(10), 1.5)


def test_augment_crop_is_a_shifted_copy_and_flip_mirrors():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.uint8).reshape(2, 1, 6, 6)
    g = torch.Generator().manual_seed(0)
    cropped = Augment(crop_padding=2)(x, g)
    assert cropped.shape == x.shape and cropped.dtype == torch.uint8
    for i in range(2):  # every crop equals the padded image at some offset
        padded = torch.nn.functional.pad(x[i], (2, 2, 2, 2))
        assert any(
            torch.equal(padded[:, dy : dy + 6, dx : dx + 6], cropped[i])
            for dy in range(5)
            for dx in range(5)
        )
    flipped = Augment(flip=True)(x.repeat(50, 1, 1, 1), g)
    same = [torch.equal(f, o) for f, o in zip(flipped, x.repeat(50, 1, 1, 1))]
    mirrored = [torch.equal(f, o.flip(-1)) for f, o in zip(flipped, x.repeat(50, 1, 1, 1))]
    assert all(s or m for s, m in zip(same, mirrored)) and 20 < sum(mirrored) < 80


def test_augment_flips_only_where_a_mirror_keeps_the_label():
    assert Augment() == Augment(crop_padding=0, flip=False)  # nothing on by default
    assert Augment.for_dataset("mnist") == Augment(crop_padding=2, flip=False)  # digits: no flip
    assert Augment.for_dataset("fashion_mnist", 1) == Augment(crop_padding=1, flip=True)
    assert Augment.for_dataset("cifar10").flip
    with pytest.raises(ParameterError, match="'dataset'"):
        Augment.for_dataset("imagenet")
    with pytest.raises(ParameterError, match="'crop_padding'"):
        Augment.for_dataset("mnist", -1)


def test_batches_cover_every_example_once_and_normalize():
    x = torch.randint(0, 256, (103, 1, 4, 4), dtype=torch.uint8)
    y = torch.arange(103)
    batches = data.Batches(x, y, 10, mean=(0.5,), std=(0.25,), shuffle=True, seed=1)
    seen = torch.cat([yb for _, yb in batches])
    assert len(batches) == 11 and sorted(seen.tolist()) == list(range(103))
    xb, yb = next(iter(data.Batches(x, y, 103, mean=(0.5,), std=(0.25,))))
    assert xb.dtype == torch.float32
    assert torch.allclose(xb, (x.float() / 255 - 0.5) / 0.25)
    assert len(data.Batches(x, y, 10, mean=(0.5,), std=(0.25,), drop_last=True)) == 10


def test_batches_refuse_bad_batch_size():
    with pytest.raises(ParameterError, match="'batch_size'"):
        data.Batches(torch.zeros(4, 1, 1, 1), torch.zeros(4), 0, mean=(0.0,), std=(1.0,))


def labelled_dataset(n: int = 600, classes: int = 3) -> ImageDataset:
    """A tiny in-memory dataset whose image i holds the value i (so indices can be read back)."""
    x = torch.arange(n).reshape(n, 1, 1, 1).to(torch.int64)
    y = torch.arange(n) % classes
    return ImageDataset(
        "toy", [str(c) for c in range(classes)], x, y, x[:0], y[:0], Path("."), (0.0,), (1.0,)
    )


def test_paired_split_sizes_strata_and_the_same_split_for_one_seed():
    ds = labelled_dataset()
    train_x, train_y, val_x, val_y = paired_split(ds, 300, 150, seed=4)
    assert (len(train_y), len(val_y)) == (300, 150)
    assert (
        torch.bincount(train_y).tolist() == [100] * 3 and torch.bincount(val_y).tolist() == [50] * 3
    )
    assert not set(train_x.flatten().tolist()) & set(val_x.flatten().tolist())
    again = paired_split(ds, 300, 150, seed=4)
    assert all(torch.equal(a, b) for a, b in zip((train_x, train_y, val_x, val_y), again))
    other = paired_split(ds, 300, 150, seed=5)
    assert not torch.equal(train_x, other[0])


@pytest.mark.parametrize("sizes", [(300, 150), (2000 - 7, 7 * 3), (1000, 999)])
def test_paired_split_equals_the_subset_then_split_it_replaces(sizes):
    ds = labelled_dataset(3000)
    train_size, val_size = sizes
    n = train_size + val_size
    x, y = stratified_subset(ds.train_x, ds.train_y, n, seed=2)
    expected = train_val_split(x, y, val_size / n, seed=2)
    got = paired_split(ds, train_size, val_size, seed=2)
    assert all(torch.equal(a, b) for a, b in zip(got, expected))


@pytest.mark.parametrize(
    ("train_size", "val_size", "named"),
    [
        (2, 100, "train_size"),
        (100, 1, "val_size"),
        (100, 2.5, "val_size"),
        (500, 200, "train_size"),
    ],
)
def test_paired_split_refuses_bad_sizes_naming_the_parameter(train_size, val_size, named):
    with pytest.raises(ParameterError, match=f"parameter '{named}' got"):
        paired_split(labelled_dataset(), train_size, val_size, seed=0)
