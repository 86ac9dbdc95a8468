"""Profiles (smoke / cpu / gpu / auto) and the one ``setup(...)`` call every notebook starts with."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from .params import Spec
from .validation import ParameterError, check_choice, check_number, check_type

PROFILES = ("smoke", "cpu", "gpu")
PROFILE_CHOICES = ("auto",) + PROFILES
DATASETS = ("fashion_mnist", "mnist", "cifar10")
PROFILE_ENV = "COURSE_PROFILE"
SMOKE_NOTE = (
    "smoke profile: a few batches on a few images; these numbers test that the code runs and say "
    "nothing about the method (the cpu or gpu profile gives numbers worth reading)"
)
DEVICE_TYPES = ("cuda", "mps", "cpu")  # in the order pick_device prefers them

T = TypeVar("T")


@dataclass(frozen=True)
class Config:
    """What ``setup`` decided: profile, dataset, seed, device and where results go."""

    profile: str
    dataset: str
    seed: int
    device: torch.device
    threads: int
    results_path: Path | None
    data_dir: Path | None

    def pick(self, smoke: T, cpu: T, gpu: T) -> T:
        """Return the value for the active profile, e.g. ``cfg.pick(smoke=1, cpu=8, gpu=30)``."""
        return {"smoke": smoke, "cpu": cpu, "gpu": gpu}[self.profile]

    def default(self, value: T | None, smoke: T, cpu: T, gpu: T) -> T:
        """``value`` if given, else the profile's default (``None`` means "profile default")."""
        return self.pick(smoke, cpu, gpu) if value is None else value

    def seed_list(self, n: int) -> list[int]:
        """``n`` paired seeds starting at ``seed``: seed, seed+1, ... (one per replicate)."""
        check_number("seeds", n, low=1, integer=True)
        return [self.seed + i for i in range(n)]

    @property
    def is_smoke(self) -> bool:
        return self.profile == "smoke"

    def summary(self) -> str:
        results = str(self.results_path) if self.results_path else "not saved"
        return (
            f"profile={self.profile} dataset={self.dataset} seed={self.seed} "
            f"device={self.device} threads={self.threads} torch={torch.__version__} "
            f"results={results}"
        )


def profile_from_env() -> str | None:
    """``$COURSE_PROFILE`` checked (a ParameterError names the variable), or None when unset."""
    env = os.environ.get(PROFILE_ENV)
    if not env:
        return None
    if env not in PROFILES:
        raise ParameterError(
            f"environment variable {PROFILE_ENV} is {env!r}; allowed: one of "
            + ", ".join(repr(p) for p in PROFILES)
            + f" (or unset it to pick {'gpu' if torch.cuda.is_available() else 'cpu'})"
        )
    return env


def resolve_profile(profile: str) -> str:
    """Turn ``auto`` into a concrete profile: ``$COURSE_PROFILE`` if set, else gpu with CUDA, else cpu."""
    check_choice("profile", profile, PROFILE_CHOICES)
    if profile != "auto":
        return profile
    return profile_from_env() or ("gpu" if torch.cuda.is_available() else "cpu")


def available_cores() -> int:
    """CPU cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _check_paths(
    results_path: str | os.PathLike | None, data_dir: str | os.PathLike | None
) -> tuple[Path | None, Path | None]:
    """``results_path`` must end in .json and ``data_dir`` must be an existing folder (or None)."""
    if results_path is not None:
        check_type("results_path", results_path, (str, os.PathLike), "a file path or None")
        results_path = Path(results_path)
        if results_path.suffix != ".json":
            raise ParameterError(
                f"parameter 'results_path' got {str(results_path)!r}; "
                "allowed: a path ending in .json or None"
            )
    if data_dir is not None:
        check_type("data_dir", data_dir, (str, os.PathLike), "an existing folder or None")
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise ParameterError(
                f"parameter 'data_dir' got {str(data_dir)!r}; allowed: an existing folder or None "
                "(create it and put the dataset files there, or leave it None to use the defaults)"
            )
    return results_path, data_dir


def mps_available() -> bool:
    """Whether Apple's Metal GPU (``torch.backends.mps``) can run tensors here. Taught in notebook 00."""
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def accelerator() -> str | None:
    """The first GPU this machine has, ``"cuda"`` then ``"mps"``; None without one.

    Taught in notebook 00 (its CPU-vs-GPU timing uses it)."""
    if torch.cuda.is_available():
        return "cuda"
    return "mps" if mps_available() else None


def pick_device(profile: str) -> torch.device:
    """The device a profile trains on. Taught in notebook 00.

    ``gpu``: CUDA, else Apple's MPS, else the CPU. ``smoke`` and ``cpu`` stay on the CPU: their
    sizes, stored outputs and run times are the CPU's, and a GPU's start-up would dominate them.
    """
    check_choice("profile", profile, PROFILES)
    return torch.device((profile == "gpu" and accelerator()) or "cpu")


def _device_type(device: torch.device | str) -> str:
    """``device``'s type (``"cuda:1"`` -> ``"cuda"``), refused unless it is cuda, mps or cpu."""
    check_type("device", device, (torch.device, str), "a torch.device or a name such as 'cuda'")
    try:
        kind = torch.device(device).type
    except RuntimeError:
        kind = str(device)
    check_choice("device", kind, DEVICE_TYPES)
    return kind


def autocast_dtype(device: torch.device | str) -> torch.dtype:
    """The low-precision dtype autocast runs on ``device`` (taught in notebook 11, used by FastCPU).

    CUDA: bfloat16 where the GPU has it in hardware (Ampere and later), else float16; MPS:
    float16 (what its autocast has supported throughout torch 2.x); CPU: bfloat16, which notebook
    11 times against float32 (``speed.choose_cpu_setup``) and keeps only where it is faster.
    """
    kind = _device_type(device)
    if kind == "cuda":
        return (
            torch.bfloat16
            if torch.cuda.is_bf16_supported(including_emulation=False)
            else torch.float16
        )
    return torch.float16 if kind == "mps" else torch.bfloat16


def synchronize(device: torch.device | str) -> None:
    """Wait until ``device`` has finished its queued work (CUDA and MPS run asynchronously);
    nothing to wait for on the CPU. Every timing in ``speed`` calls it before reading the clock."""
    kind = _device_type(device)
    if kind == "cuda":
        torch.cuda.synchronize(device)
    elif kind == "mps":
        torch.mps.synchronize()


def setup(
    profile: str | dict[str, Any] = "auto",
    dataset: str = "fashion_mnist",
    seed: int = 0,
    results_path: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    threads: int | None = None,
    quiet: bool = False,
    **specs: Spec,
) -> Config:
    """Validate the notebook's parameters, seed everything, pick device and threads.

    In a notebook, pass ``globals()`` first and declare each lesson parameter with a spec
    (``epochs=cu.integer(1, 500, smoke=1, cpu=20, gpu=40)``): the common parameters
    (profile, dataset, seed, results_path, data_dir) are read from the namespace, every value is
    checked before any work starts (a ParameterError names the parameter, the value and what is
    allowed), and ``None`` values are replaced in the namespace by the profile's default.
    """
    namespace = profile if isinstance(profile, dict) else None
    if namespace is not None:
        profile = namespace.get("profile", "auto")
        dataset = namespace.get("dataset", dataset)
        seed = namespace.get("seed", seed)
        results_path = namespace.get("results_path", results_path)
        data_dir = namespace.get("data_dir", data_dir)
    elif specs:
        raise ParameterError("parameter specs need the notebook's namespace: setup(globals(), ...)")
    resolved = resolve_profile(profile)
    check_choice("dataset", dataset, DATASETS)
    check_number("seed", seed, low=0, integer=True)
    check_number("threads", threads, low=1, integer=True, allow_none=True)
    results_path, data_dir = _check_paths(results_path, data_dir)
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        if name not in namespace:
            raise ParameterError(
                f"parameter {name!r} is declared but not defined in the parameters cell"
            )
        values[name] = spec.resolve(name, namespace[name], resolved)

    device = pick_device(resolved)
    n_threads = threads or available_cores()
    torch.set_num_threads(n_threads)
    seed_everything(seed)
    cfg = Config(resolved, dataset, seed, device, n_threads, results_path, data_dir)
    if namespace is not None:
        namespace.update(values)
    if not quiet:
        print(cfg.summary())
        if resolved == "smoke":
            print(SMOKE_NOTE)
        if values:
            print(_describe_parameters(**values))
        if resolved == "gpu" and device.type == "cpu":
            print(
                "note: profile 'gpu' was asked for but neither CUDA nor Apple's MPS is available; "
                "running on the CPU"
            )
    return cfg


def _describe_parameters(**params: Any) -> str:
    """One line ``name=value`` for the lesson's hyperparameters, for printing after defaults are filled in."""
    return " ".join(f"{k}={v!r}" for k, v in params.items())
