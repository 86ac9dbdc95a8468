import random

import numpy as np
import pytest
import torch

from course_utils.config import profile_from_env, resolve_profile, setup
from course_utils.validation import ParameterError


def test_auto_profile_follows_environment(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    assert resolve_profile("auto") == "smoke"
    assert resolve_profile("cpu") == "cpu"  # an explicit profile wins
    monkeypatch.delenv("COURSE_PROFILE")
    assert resolve_profile("auto") == ("gpu" if torch.cuda.is_available() else "cpu")


def test_bad_environment_profile_is_named(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    with pytest.raises(ParameterError, match="COURSE_PROFILE is 'fast'; allowed: one of 'smoke'"):
        resolve_profile("auto")
    with pytest.raises(ParameterError, match="COURSE_PROFILE"):
        profile_from_env()  # what the CLI checks before a kernel starts
    monkeypatch.delenv("COURSE_PROFILE")
    assert profile_from_env() is None


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(profile="fast"), "profile"),
        (dict(dataset="imagenet"), "dataset"),
        (dict(seed=-1), "seed"),
        (dict(seed=1.5), "seed"),
        (dict(results_path="out.txt"), "results_path"),
        (dict(data_dir="/does/not/exist"), "data_dir"),
        (dict(threads=0), "threads"),
    ],
)
def test_setup_refuses_bad_parameters(kwargs, name):
    with pytest.raises(ParameterError, match=f"'{name}'"):
        setup(quiet=True, **kwargs)


def test_setup_seeds_everything_and_picks_profile_values(capsys):
    cfg = setup("smoke", seed=7)
    assert "profile=smoke" in capsys.readouterr().out
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    setup("smoke", seed=7, quiet=True)
    assert a == (random.random(), np.random.rand(), torch.rand(1).item())
    assert cfg.pick(smoke=1, cpu=2, gpu=3) == 1
    assert cfg.default(None, smoke=1, cpu=2, gpu=3) == 1
    assert cfg.default(5, smoke=1, cpu=2, gpu=3) == 5
    assert cfg.device == torch.device("cpu")
    assert torch.get_num_threads() == cfg.threads


def test_gpu_profile_without_a_gpu_falls_back_to_cpu(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    cfg = setup("gpu")
    assert cfg.device.type == "cpu"
    assert "neither CUDA nor Apple's MPS is available" in capsys.readouterr().out


def test_only_the_smoke_profile_says_its_numbers_mean_nothing(capsys):
    """Every notebook starts with setup(), so this one line reaches every smoke run (issue 24)."""
    setup("smoke")
    assert "these numbers test that the code runs and say nothing" in capsys.readouterr().out
    setup("cpu")
    assert "smoke profile" not in capsys.readouterr().out
