"""Results JSON, tables, and the course's one decision rule for claims (paired_verdict)."""

import json
import math

import pytest

from course_utils.results import (
    Results,
    effect_interval,
    format_effect,
    format_table,
    paired_verdict,
    table,
)
from course_utils.tools.ledger import collect, markdown_table
from course_utils.validation import ParameterError


def test_ties_are_never_confirmed():
    assert paired_verdict([0.0] * 5, 0.01) == "refuted"  # no effect at all: refuted as negligible


def test_a_tiny_effect_measured_precisely_is_refuted_as_negligible():
    diffs = [0.0010, 0.0012, 0.0009, 0.0011, 0.0010]  # clearly > 0, but far below 0.005
    assert effect_interval(diffs)[2] > 0
    assert paired_verdict(diffs, 0.005) == "refuted"


def test_a_large_consistent_effect_is_confirmed():
    assert paired_verdict([0.021, 0.018, 0.025, 0.019, 0.022], 0.005) == "confirmed"


def test_a_large_opposite_effect_is_refuted():
    assert paired_verdict([-0.021, -0.018, -0.025, -0.019, -0.022], 0.005) == "refuted"


def test_significant_but_below_the_min_effect_and_interval_crossing_it_is_inconclusive():
    # mean 0.004 > 0 significantly, but the interval reaches above min_effect 0.005
    assert paired_verdict([0.001, 0.007, 0.002, 0.006, 0.004], 0.005) == "inconclusive"


def test_noise_larger_than_the_effect_is_inconclusive():
    assert paired_verdict([0.03, -0.02, 0.04, -0.03, 0.01], 0.005) == "inconclusive"


def test_one_seed_is_always_inconclusive():
    assert paired_verdict([0.5], 0.01) == "inconclusive"
    assert paired_verdict([-0.5], 0.01) == "inconclusive"


def test_k_defaults_to_the_t_quantile_and_can_be_set():
    diffs = [0.01, 0.02, 0.03]
    mean, se, low, high = effect_interval(diffs)
    assert mean == pytest.approx(0.02) and se == pytest.approx(0.01 / math.sqrt(3))
    assert (mean - low) / se == pytest.approx(4.302652729911275)  # t(0.975, df=2)
    assert paired_verdict(diffs, 0.01, k=1.0) == "confirmed"
    assert effect_interval(diffs, k=1.0)[2] == pytest.approx(0.02 - se)


@pytest.mark.parametrize("bad", [[float("nan"), 0.1], [float("inf"), 0.2], [], "abc"])
def test_bad_diffs_are_refused(bad):
    with pytest.raises((ParameterError, ValueError), match="diffs|could not convert"):
        paired_verdict(bad, 0.01)


@pytest.mark.parametrize("bad", [0, -0.1, float("nan"), True])
def test_min_effect_must_be_positive(bad):
    with pytest.raises(ParameterError, match="min_effect"):
        paired_verdict([0.1, 0.2], bad)


def test_compare_records_samples_min_effect_and_the_interval(tmp_path, capsys):
    res = Results("07_label_smoothing", tmp_path / "sub" / "r.json", "smoke")
    res.metric("acc", 0.91)
    v = res.compare("smoothing helps", [0.01, 0.012, 0.011], 0.005, unit="acc")
    assert v == "confirmed" and "VERDICT : CONFIRMED" in capsys.readouterr().out
    res.save()
    data = json.loads(res.saved_to.read_text())
    claim = data["claims"][0]
    assert claim["samples"] == [0.01, 0.012, 0.011] and claim["min_effect"] == 0.005
    assert claim["n"] == 3 and claim["low"] > 0 and "(n=3)" in claim["measured"]
    assert not list((tmp_path / "sub").glob("*.tmp"))


def test_format_effect_shows_mean_se_and_n():
    assert format_effect([1.0, 3.0], "points") == "+2 +- 1 points (n=2)"
    assert format_effect([1.0]) == "+1 +- ? (n=1)"


def test_steps_need_every_step_confirmed():
    res = Results("x")
    good, flat = [0.02, 0.021, 0.019], [0.0, 0.0, 0.0]
    assert res.compare_steps("monotone", {"a->b": good, "b->c": good}, 0.005) == "confirmed"
    assert res.compare_steps("monotone", {"a->b": good, "b->c": flat}, 0.005) == "refuted"
    assert res.claims[-1]["deciding_group"] == "b->c"


def test_can_happen_is_never_refuted_from_one_failing_setting():
    res = Results("x")
    yes, no, noisy = [0.02, 0.021, 0.019], [0.0, 0.0, 0.0], [0.05, -0.05, 0.01]
    assert res.can_happen("can happen", {"a": no, "b": yes}, 0.005) == "confirmed"
    assert res.can_happen("can happen", {"a": no, "b": noisy}, 0.005) == "inconclusive"
    assert res.can_happen("can happen", {"a": no, "b": no}, 0.005) == "refuted"


def test_depends_needs_significant_effects_of_opposite_sign_and_names_the_factor():
    res = Results("x")
    up, down = [0.02, 0.021, 0.019], [-0.02, -0.021, -0.019]
    assert (
        res.across("c", {"lr=0.1": up, "lr=0.001": down}, 0.005, factor="learning rate")
        == "depends"
    )
    assert "depends on learning rate" in res.claims[-1]["measured"]
    assert (
        res.across("c", {"lr=0.1": up, "lr=0.001": up}, 0.005, factor="learning rate")
        == "confirmed"
    )


def test_exact_and_untestable_claims():
    res = Results("x")
    assert res.exact("same loss", 3e-17, 1e-12) == "confirmed"
    assert res.exact("same loss", 1e-3, 1e-12) == "refuted"
    assert res.untestable("GPU is faster", "no GPU on this machine") == "inconclusive"
    assert "not testable here" in res.claims[-1]["measured"]


def test_a_repeated_claim_replaces_the_earlier_entry():
    res = Results("x")
    res.exact("c", 1.0, 0.5)
    res.exact("c", 0.0, 0.5)
    assert len(res.claims) == 1 and res.claims[0]["verdict"] == "confirmed"


def test_numpy_and_torch_scalars_become_plain_numbers(tmp_path):
    import numpy as np
    import torch

    res = Results("x", tmp_path / "r.json")
    res.metric("a", np.float32(0.5))
    res.metric("b", torch.tensor(3))
    res.metric("c", float("nan"))
    res.save()
    assert json.loads((tmp_path / "r.json").read_text())["metrics"] == {"a": 0.5, "b": 3, "c": None}


def test_no_path_means_nothing_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = Results("x")
    res.save()
    assert res.saved_to is None
    assert not list(tmp_path.iterdir())


def test_collect_sorts_and_tables_escape_and_align(tmp_path, capsys):
    Results("02_b", tmp_path / "b.json").save()
    Results("01_a", tmp_path / "a.json").save()
    assert [r["notebook"] for r in collect(tmp_path)] == ["01_a", "02_b"]
    md = markdown_table([{"x": "a|b", "y": 0.123456}], ["x", "y"])
    assert md.splitlines() == ["| x | y |", "|---|---|", "| a\\|b | 0.1235 |"]
    rows = [{"name": "sgd", "acc": 0.912345}, {"name": "adam", "acc": 0.9}]
    text = format_table(rows)
    assert text.splitlines()[0].split() == ["name", "acc"] and "0.9123" in text
    capsys.readouterr()
    assert table(rows) is None and capsys.readouterr().out == text + "\n"


def test_without_a_path_the_results_dir_variable_decides(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path / "committed"))
    res = Results("07_label_smoothing")
    res.save()
    path = res.saved_to
    assert path == tmp_path / "committed" / "07_label_smoothing.json" and path.is_file()
