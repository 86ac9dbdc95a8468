"""Notebook 00 (setup, tensors, devices, the training loop): smoke-run results and refusals."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.notebooks  # runs the notebooks (nbval_run, refused_run)

STEM = "00_setup_tensors_devices"
PIPELINE = (
    "The in-memory batched pipeline trains the same model at least 5x faster than the "
    "per-image DataLoader (batch 32, 2 workers)"
)
LOOP = "The notebook's training loop and cu.fit give the same weights after one epoch"


def test_metrics_are_sane(notebook_result) -> None:
    m = notebook_result(STEM)["metrics"]
    assert m["source_pipeline_images_per_s"] > 0 and m["course_pipeline_images_per_s"] > 0
    assert m["pipeline_speedup"] > 0 and m["forward_grad_over_nograd"] > 0
    assert m["test_acc"] > 0.3  # ten classes: chance is 0.1
    assert abs(m["init_loss"] - math.log(10)) < 0.1  # loss at initialization ~ ln C
    assert m["one_batch_final_loss"] < 0.1  # one batch can be memorized
    assert 1e-5 < m["median_update_ratio_lr1e-3"] < 1e-1
    assert m["cpu_ms_per_step"] > 0
    assert 0 < m["peak_rss_mib"] < 4096


def test_claims_are_recorded_with_their_samples(notebook_result) -> None:
    claims = {c["claim"]: c for c in notebook_result(STEM)["claims"]}
    assert set(claims) == {
        "no_grad uses less memory",
        "no_grad is faster",
        LOOP,
        "GPU training is much faster than CPU training",
        PIPELINE,
    }
    for c in claims.values():
        assert c["measured"], c
    for name in ("no_grad is faster", PIPELINE):  # timing claims: >= 5 interleaved repeats
        assert len(claims[name]["samples"]) >= 5 and claims[name]["min_effect"] > 0
    assert claims[PIPELINE]["min_effect"] == pytest.approx(math.log(5))
    memory = claims["no_grad uses less memory"]  # deterministic: an exact check
    assert memory["verdict"] == "confirmed" and "samples" not in memory
    assert notebook_result(STEM)["metrics"]["nograd_bytes_still_kept"] < 0.1
    assert claims[LOOP]["verdict"] == "confirmed"  # the notebook's loop is cu.fit's loop


@pytest.mark.parametrize(
    ("name", "value"), [("epochs", "0"), ("repeats", "4"), ("source_workers", "-1")]
)
def test_cli_refuses_out_of_range_values_before_a_kernel_starts(
    tmp_path, capsys, name, value
) -> None:
    """Every parameter of 00 is declared with literal ranges, so the CLI refuses bad values
    statically (no in-kernel refusal is left to test with ``refused_run``)."""
    from course_utils.tools.cli import main

    out = tmp_path / "run"
    assert main(["run", "00", "--profile", "smoke", "-p", name, value, "--out", str(out)]) == 2
    assert f"parameter {name!r} got" in capsys.readouterr().err
    assert not out.exists()
