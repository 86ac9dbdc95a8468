"""ledger --pool: runs at disjoint seed blocks decide a claim like one run over all their seeds."""

import json
from pathlib import Path

import numpy as np
import pytest

import course_utils as cu
from course_utils.tools import cli
from course_utils.tools.ledger import collect
from course_utils.tools.pool import pool_runs
from course_utils.validation import ParameterError


def per_seed(seed: int, offset: float) -> tuple[float, float]:
    """A treatment and a baseline accuracy for one seed: a fixed effect plus seed noise."""
    noise = np.random.default_rng(seed).normal(0, 0.004, 2)
    return 0.9 + offset + noise[0], 0.9 + noise[1]


def write_run(folder: Path, seeds: list[int], parameters: dict) -> Path:
    """A run folder like `course_utils run` makes: results JSON and the executed notebook."""
    res = cu.Results("01_x", folder / "results" / "01_x.json")
    arms = {
        k: [list(v) for v in zip(*(per_seed(s, k) for s in seeds))] for k in (0.003, -0.01, 0.02)
    }
    res.compare("big effect", cu.paired(*arms[0.02], names=("new", "old")), unit="accuracy")
    levels = {f"lr {k}": cu.paired(*arm) for k, arm in arms.items()}
    res.across("depends on lr", levels, 0.005, factor="lr", target="every", unit="accuracy")
    small = {name: list(d) for name, d in levels.items()}
    res.can_happen("can help", small, 0.005, unit="accuracy")
    res.compare_steps("steps", {"a": small["lr 0.02"]}, 0.005, unit="accuracy")
    res.exact("an identity", 0.0, 1e-9)
    res.save()
    nb = {"cells": [], "metadata": {"papermill": {"parameters": parameters}}, "nbformat": 4}
    (folder / "01_x.ipynb").write_text(json.dumps(nb))
    return folder


def claims_of(results):
    return {c["claim"]: c for r in results for c in r["claims"]}


def test_pooling_two_seed_blocks_equals_one_run_over_all_their_seeds(tmp_path, capsys):
    a = write_run(tmp_path / "a", [0, 1, 2], {"profile": "cpu", "seed": 0})
    b = write_run(tmp_path / "b", [3, 4, 5], {"profile": "cpu", "seed": 3})
    whole = write_run(tmp_path / "whole", [0, 1, 2, 3, 4, 5], {"profile": "cpu"})
    pooled = claims_of(pool_runs([a, b]))
    one = claims_of(collect(whole / "results"))
    assert set(pooled) == set(one)
    for text, claim in one.items():
        assert pooled[text]["verdict"] == claim["verdict"], text
        assert pooled[text].get("samples") == pytest.approx(claim.get("samples")), text
    assert pooled["big effect"]["arms"]["treatment"] == "new"
    assert cli.main(["ledger", "--pool", str(a), str(b)]) == 0
    assert "big effect" in capsys.readouterr().out


def test_overlapping_seeds_are_refused(tmp_path):
    a = write_run(tmp_path / "a", [0, 1, 2], {"profile": "cpu", "seed": 0})
    b = write_run(tmp_path / "b", [2, 3, 4], {"profile": "cpu", "seed": 2})
    with pytest.raises(ParameterError, match="overlapping seeds"):
        pool_runs([a, b])


def test_different_parameters_are_refused(tmp_path, capsys):
    a = write_run(tmp_path / "a", [0, 1, 2], {"profile": "cpu", "seed": 0})
    b = write_run(tmp_path / "b", [3, 4, 5], {"profile": "cpu", "seed": 3, "lr": 0.1})
    with pytest.raises(ParameterError, match="different parameters"):
        pool_runs([a, b])
    assert cli.main(["ledger", "--pool", str(a), str(b)]) == 2
    assert "different parameters" in capsys.readouterr().err


def test_pooling_needs_two_runs_and_comparing_at_most_two(tmp_path, capsys):
    a = write_run(tmp_path / "a", [0, 1, 2], {"profile": "cpu", "seed": 0})
    with pytest.raises(ParameterError, match="two or more"):
        pool_runs([a])
    assert cli.main(["ledger", str(a), str(a), str(a)]) == 2
    assert "--pool" in capsys.readouterr().err
