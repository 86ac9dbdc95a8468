"""Device choice (cuda, then mps, then cpu), the autocast dtype per device and the timings'
synchronization, checked on a CPU-only machine by monkeypatching what torch reports."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from course_utils import models, speed
from course_utils.config import (
    accelerator,
    autocast_dtype,
    mps_available,
    pick_device,
    resolve_profile,
    setup,
    synchronize,
)
from course_utils.data import Batches
from course_utils.validation import ParameterError


@pytest.fixture
def machine(monkeypatch):
    """``machine(cuda=..., mps=..., bf16=...)`` makes torch report that hardware."""

    def fake(cuda: bool = False, mps: bool = False, bf16: bool = True) -> list[dict]:
        bf16_calls: list[dict] = []

        def is_bf16_supported(**kwargs) -> bool:
            bf16_calls.append(kwargs)
            return bf16

        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
        return bf16_calls

    return fake


@pytest.mark.parametrize(
    "cuda, mps, gpu_device",
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_gpu_profile_prefers_cuda_then_mps_then_cpu(machine, cuda, mps, gpu_device):
    machine(cuda=cuda, mps=mps)
    assert pick_device("gpu") == torch.device(gpu_device)
    assert accelerator() == (None if gpu_device == "cpu" else gpu_device)
    assert mps_available() is mps
    # smoke and cpu are sized, timed and stored as CPU runs: they never move to a GPU
    assert pick_device("smoke") == pick_device("cpu") == torch.device("cpu")


def test_setup_runs_the_gpu_profile_on_mps(machine, monkeypatch, capsys):
    machine(mps=True)
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert setup("gpu").device == torch.device("mps")
    assert "note:" not in capsys.readouterr().out
    # auto picks the gpu profile (the full recipe) only with CUDA: a Mac gets the laptop's cpu
    assert resolve_profile("auto") == "cpu"
    machine(cuda=True, mps=True)
    assert resolve_profile("auto") == "gpu"


def test_pick_device_refuses_an_unresolved_profile():
    with pytest.raises(ParameterError, match="'profile' got 'auto'; allowed: one of 'smoke'"):
        pick_device("auto")


def test_mps_missing_from_the_build_is_no_mps(monkeypatch):
    monkeypatch.delattr(torch.backends, "mps")
    assert mps_available() is False


@pytest.mark.parametrize(
    "device, bf16, dtype",
    [
        ("cuda", True, torch.bfloat16),
        ("cuda:1", True, torch.bfloat16),
        ("cuda", False, torch.float16),  # before Ampere: no bfloat16 in hardware
        ("mps", True, torch.float16),
        ("cpu", True, torch.bfloat16),  # kept only where choose_cpu_setup measures it faster
        (torch.device("cpu"), False, torch.bfloat16),
    ],
)
def test_autocast_dtype_per_device_is_one_torch_autocast_accepts(machine, device, bf16, dtype):
    calls = machine(cuda=True, mps=True, bf16=bf16)
    assert autocast_dtype(device) == dtype
    if torch.device(device).type == "cuda":
        assert calls == [{"including_emulation": False}]  # emulated bfloat16 is slow: float16
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns, then disables autocast, on a wrong dtype
        cast = torch.autocast(torch.device(device).type, dtype=dtype)
    assert cast._enabled and cast.fast_dtype == dtype


@pytest.mark.parametrize("device", ["tpu", "xpu", 3, None])
def test_unknown_devices_are_refused_by_name(device):
    with pytest.raises(ParameterError, match="parameter 'device' got"):
        autocast_dtype(device)
    with pytest.raises(ParameterError, match="parameter 'device' got"):
        synchronize(device)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps", "cpu"])
def test_synchronize_waits_on_the_device_it_is_given(monkeypatch, device):
    waited: list[str] = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda d=None: waited.append("cuda"))
    monkeypatch.setattr(torch.mps, "synchronize", lambda: waited.append("mps"))
    synchronize(device)
    assert waited == ([] if device == "cpu" else [torch.device(device).type])


def test_fast_cpu_autocasts_to_the_device_dtype(monkeypatch):
    seen: list[torch.dtype] = []
    conv = nn.Conv2d(1, 4, 3)
    conv.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    net = models.FastCPU(nn.Sequential(conv, nn.Flatten()), bf16=True, channels_last=True)
    assert net(torch.randn(2, 1, 8, 8)).dtype == torch.float32  # logits back in float32
    monkeypatch.setattr(models, "autocast_dtype", lambda device: torch.float16)  # as on MPS
    net(torch.randn(2, 1, 8, 8))
    models.FastCPU(conv, bf16=False)(torch.randn(2, 1, 8, 8))
    assert seen == [torch.bfloat16, torch.float16, torch.float32]


def test_every_timing_synchronizes_before_reading_the_clock(monkeypatch):
    waited: list[torch.device] = []
    monkeypatch.setattr(speed, "synchronize", lambda device: waited.append(torch.device(device)))
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 2, (8,))

    def make() -> nn.Module:
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(72, 2))

    speed.inference_speed(make(), x, batch_size=4, repeats=2)
    assert len(waited) == 3  # after the warm-up, after each repeat
    speed.train_step_timer(make, x, y, bf16=False, channels_last=False)(2)
    assert len(waited) == 5  # after the untimed warm-up step, after the timed steps
    speed.train_throughput(make(), [(x, y)], max_images=16)
    assert len(waited) == 7
    speed.matmul_peak(n=16, repeats=2)
    assert len(waited) == 10 and set(waited) == {torch.device("cpu")}


@pytest.mark.parametrize("device", ["cuda", "mps", "cpu"])
def test_batches_copy_asynchronously_only_to_cuda(monkeypatch, device):
    copies: list[tuple[str, bool]] = []
    to = torch.Tensor.to

    def record(self, *args, **kwargs):
        if args and isinstance(args[0], torch.device) and args[0].type != "cpu":
            copies.append((args[0].type, kwargs.get("non_blocking", False)))
            return self  # stays on the CPU: this machine has neither GPU
        return to(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", record)
    images = torch.zeros(4, 1, 2, 2, dtype=torch.uint8)
    batches = Batches(images, torch.zeros(4).long(), 2, mean=(0.5,), std=(0.5,), device=device)
    assert len(list(batches)) == 2
    expected = [] if device == "cpu" else [(device, device == "cuda")] * 4
    assert copies == expected
