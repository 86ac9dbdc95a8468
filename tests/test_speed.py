import torch
from fixture_files import write_mnist_like
from torch import nn

import course_utils.data as data
import course_utils.datafiles as datafiles
from course_utils.speed import peak_rss_mib, source_notes_loader, train_throughput


def test_source_notes_loader_gives_normalized_per_image_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(datafiles, "PROJECT_DATA", tmp_path / "project-data")
    write_mnist_like(tmp_path / "d", gz=True)
    ds = data.load_dataset("mnist", tmp_path / "d", allow_download=False)
    loader = source_notes_loader(ds, batch_size=8, num_workers=0, data_dir=tmp_path / "d")
    xb, yb = next(iter(loader))
    assert xb.shape == (8, 1, 28, 28) and xb.dtype == torch.float32 and yb.shape == (8,)
    assert abs(xb.mean().item()) < 0.5  # normalized with the dataset's mean and std


def test_train_throughput_counts_images():
    x = torch.randint(0, 255, (64, 1, 4, 4), dtype=torch.uint8)
    batches = data.Batches(x, torch.arange(64) % 2, 16, mean=(0.5,), std=(0.5,))
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    out = train_throughput(model, batches, 100)
    assert out["images"] >= 100 and out["images_per_s"] > 0


def test_peak_memory_is_a_plausible_number_of_mib():
    assert 10 < peak_rss_mib() < 1e6
