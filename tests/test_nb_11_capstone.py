"""Notebook 11 (capstone): smoke-run results, claims and refused parameters."""

from __future__ import annotations

import json

import pytest
from conftest import executed_cells

from course_utils.datafiles import find_files
from course_utils.tools import cli

pytestmark = pytest.mark.notebooks  # runs the notebooks (nbval_run, refused_run)

STEM = "11_capstone"
TECHNIQUES = (
    "augment",
    "batch_norm",
    "weight_decay",
    "smoothing",
    "schedule",
    "early_stopping",
    "ensemble",
    "tta",
)


def test_final_model_metrics_are_recorded_and_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    # smoke trains the final models 1 epoch on 1000 images and reaches ~0.14 (measured), so 0.3 is
    # out of reach; better than chance (0.1) is asked of the 95% interval's lower end instead
    assert 0.1 < m["final_test_acc_low"] <= m["final_test_acc"] <= m["final_test_acc_high"] <= 1
    assert 0 < m["final_train_seconds"] < m["seconds"]
    assert m["ablation_seconds"] < m["seconds"]
    assert m["members"] >= 2 and m["epochs"] >= 1  # the default recipe has an ensemble
    assert m["bf16_speedup"] > 0 and 0 < m["peak_memory_gib"] < 64


def test_one_claim_per_technique_and_one_against_the_source(notebook_result) -> None:
    result = notebook_result(STEM)
    claims = {c["claim"]: c for c in result["claims"]}
    expected = {f"Each technique helps: {t}" for t in TECHNIQUES}
    expected.add("The combination beats the source's recipe")
    assert set(claims) == expected
    for c in claims.values():
        assert c["measured"]
        assert c["min_effect"] == 0.005 and c["unit"] == "accuracy"
        assert all(-1 <= d <= 1 for d in c["samples"])  # differences of accuracies
    if all(c["n"] == 1 for c in claims.values()):  # one seed (smoke) decides nothing
        assert {c["verdict"] for c in claims.values()} == {"inconclusive"}
    for t in TECHNIQUES:  # the recorded effect is the mean of the claim's samples
        samples = claims[f"Each technique helps: {t}"]["samples"]
        assert result["metrics"][f"effect_{t}"] == pytest.approx(sum(samples) / len(samples))


@pytest.mark.parametrize(
    "name, value",
    [
        ("techniques", "augment,dropout"),
        ("members", "0"),
        ("epochs", "-1"),
        ("ablation_size", "-5"),
        ("smoothing", "1.5"),
    ],
)
def test_bad_parameters_are_refused_before_a_kernel_starts(tmp_path, capsys, name, value) -> None:
    out = tmp_path / "run"
    assert cli.main(["run", "11", "--profile", "smoke", "-p", name, value, "--out", str(out)]) == 2
    assert f"parameter {name!r} got" in capsys.readouterr().err and not out.exists()


def run_refused(tmp_path, *params: str) -> tuple[dict, int]:
    """Run 11 under smoke with ``params``; returns the failure and the index of its data cell."""
    out = tmp_path / "run"
    argv = ["run", "11", "--profile", "smoke", "--out", str(out)]
    for name, value in zip(params[::2], params[1::2]):
        argv += ["-p", name, value]
    assert cli.main(argv) == 1
    failure = json.loads((out / "status.json").read_text())["failure"]
    cells = executed_cells(failure["output"])  # without papermill's banner cells
    data_cell = next(i for i, c in enumerate(cells) if "cu.load_dataset(" in c.source)
    return failure, data_cell


def test_cifar10_from_an_empty_data_dir_is_refused_before_a_kernel_starts(tmp_path, capsys):
    empty = tmp_path / "no-data"
    empty.mkdir()
    out = tmp_path / "run"
    argv = ["run", "11", "--profile", "smoke", "--out", str(out), "-p", "dataset", "cifar10"]
    assert cli.main(argv + ["-p", "data_dir", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "cifar10" in err and "data_batch_1" in err and not out.exists()


def test_cifar10_without_data_stops_before_training_and_says_how_to_get_it(tmp_path) -> None:
    if find_files("cifar10") is not None:
        pytest.skip("a local CIFAR-10 copy exists, so the notebook would train on it")
    failure, data_cell = run_refused(tmp_path, "dataset", "cifar10", "download", "False")
    assert "DatasetUnavailableError" in failure["error"], failure
    assert "Ways to get it" in failure["error"] and "cifar10" in failure["error"]
    assert failure["cell_index"] == data_cell  # the cell that loads the data, before training


def test_cifar10_without_batch_norm_is_refused_before_loading_data(tmp_path) -> None:
    failure, data_cell = run_refused(tmp_path, "dataset", "cifar10", "techniques", "augment")
    assert "ParameterError" in failure["error"] and "batch_norm" in failure["error"]
    assert failure["cell_index"] == data_cell
