"""Results JSON, tables, and the course's one decision rule for claims (decide, paired_verdict)."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from course_utils import results as results_module
from course_utils.claims import (
    bonferroni_k,
    claim_p_value,
    decide,
    effect_interval,
    format_effect,
    paired_verdict,
)
from course_utils.results import Results
from course_utils.tables import format_table, table
from course_utils.tools.ledger import collect, markdown_table
from course_utils.validation import ParameterError


def crafted(mean: float, sd: float, n: int = 5) -> np.ndarray:
    """n differences with exactly this mean and sample SD (ddof=1)."""
    z = np.linspace(-1.0, 1.0, n)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


def with_interval(low: float, high: float, n: int = 5) -> np.ndarray:
    """n differences whose 95% interval (mean +- t*SE) is [low, high]."""
    se = (high - low) / 2 / stats.t.ppf(0.975, n - 1)
    return crafted((low + high) / 2, se * math.sqrt(n), n)


@pytest.mark.parametrize("values", [[0.0] * 5, [1.0] * 5, [0.3, 0.3]])
def test_samples_without_variation_have_no_interval_verdict(values):
    with pytest.raises(ParameterError, match=r"Results\.exact.*Results\.untestable") as err:
        paired_verdict(values, 0.01)
    assert repr(values[0]) in str(err.value) and "'diffs'" in str(err.value)


def test_a_claim_without_variation_names_the_claim():
    with pytest.raises(ParameterError, match="claim 'same'.*exact"):
        Results("x").compare("same", [0.0] * 5, 0.01)


def test_an_interval_below_the_min_effect_is_refuted_even_when_it_covers_0():
    diffs = with_interval(-0.123, 0.017)
    assert effect_interval(diffs)[2:] == pytest.approx((-0.123, 0.017))
    d = decide(diffs, 0.02)
    assert d.verdict == "refuted" and d.reason == "negligible" and d.seeds_needed is None
    assert paired_verdict(diffs, 0.02) == "refuted"
    # an upper end just above the min effect is not enough
    assert paired_verdict(with_interval(-0.123, 0.021), 0.02) == "inconclusive"


def test_refuted_reasons_reversed_below_0_and_negligible_below_the_min_effect():
    assert decide(with_interval(-0.05, -0.01), 0.02).reason == "reversed"
    assert decide(with_interval(-0.05, 0.001), 0.02).reason == "negligible"
    assert decide(with_interval(0.001, 0.019), 0.02).reason == "negligible"
    assert decide(with_interval(0.03, 0.05), 0.02).reason is None


def test_p_values_are_the_one_sided_t_tests_of_the_decision_made():
    cases = [
        (with_interval(0.03, 0.05), "confirmed", dict(popmean=0.0, alternative="greater")),
        (with_interval(-0.05, -0.01), "refuted", dict(popmean=0.0, alternative="less")),
        (with_interval(-0.05, 0.015), "refuted", dict(popmean=0.02, alternative="less")),
    ]
    for diffs, verdict, test in cases:
        d = decide(diffs, 0.02)
        assert d.verdict == verdict
        assert d.p_value == pytest.approx(stats.ttest_1samp(diffs, **test).pvalue, rel=1e-9)
    assert decide(with_interval(-0.01, 0.05), 0.02).p_value is None  # inconclusive


def test_clears_the_min_effect_only_when_the_whole_interval_does():
    assert decide(with_interval(0.025, 0.05), 0.02).clears_min_effect
    confirmed = decide(with_interval(0.01, 0.05), 0.02)
    assert confirmed.verdict == "confirmed" and not confirmed.clears_min_effect


def brute_seeds(target: float, sd: float) -> int:
    return next(n for n in range(2, 1001) if stats.t.ppf(0.975, n - 1) * sd / n**0.5 < target)


def test_seeds_needed_from_the_observed_mean_and_sd():
    above = decide(crafted(0.01, 0.02), 0.005)  # mean clears the min effect: needs low > 0
    assert above.verdict == "inconclusive" and above.seeds_needed == 18 == brute_seeds(0.01, 0.02)
    below = decide(crafted(0.001, 0.004), 0.005)  # needs high < min effect: half-width < 0.004
    assert below.verdict == "inconclusive" and below.seeds_needed == 7 == brute_seeds(0.004, 0.004)
    assert decide([0.5], 0.01).seeds_needed is None
    assert decide(crafted(0.006, 0.5), 0.005).seeds_needed == 1001  # more than searched


def test_the_measured_text_says_the_decision_in_words():
    res = Results("x")
    res.compare("a", with_interval(-0.123, 0.017), 0.02)
    res.compare("b", with_interval(-0.05, -0.01), 0.02)
    res.compare("c", crafted(0.01, 0.02), 0.005)
    res.compare("d", crafted(0.003, 0.01), 0.005)
    res.compare("e", crafted(0.006, 0.5), 0.005)
    words = [c["measured"] for c in res.claims]
    assert "refuted: the whole interval lies below the min effect (negligible)" in words[0]
    assert "refuted: the whole interval lies below 0 (reversed)" in words[1]
    assert "about 18 seeds would decide it" in words[2]
    assert "not decidable at this budget (about" in words[3] and res.claims[3]["seeds_needed"] > 50
    assert "not decidable at this budget (more than 1000 seeds needed)" in words[4]
    assert [c["reason"] for c in res.claims[:2]] == ["negligible", "reversed"]
    assert res.claims[2]["p_value"] is None and res.claims[1]["p_value"] < 0.025


def test_a_loaded_machine_makes_a_timing_claim_inconclusive(monkeypatch):
    res = Results("x")
    monkeypatch.setattr(results_module, "_machine_load", lambda: (9.0, 2))
    diffs = with_interval(0.03, 0.05)
    assert res.compare("fast", diffs, 0.02, timing=True) == "inconclusive"
    entry = res.claims[-1]
    assert entry["p_value"] is None and "machine loaded" in entry["measured"]
    monkeypatch.setattr(results_module, "_machine_load", lambda: (0.5, 2))
    assert res.compare("fast", diffs, 0.02, timing=True) == "confirmed"


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


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), True])
def test_k_must_be_positive(bad):
    with pytest.raises(ParameterError, match="'k'"):
        decide([0.1, 0.2], 0.01, k=bad)


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


GOOD, FLAT, NOISY = [0.02, 0.021, 0.019], [0.0, 0.001, -0.001], [0.05, -0.05, 0.01]


def test_steps_need_every_step_confirmed_and_any_refuted_step_refutes():
    res = Results("x")
    assert res.compare_steps("monotone", {"a->b": GOOD, "b->c": GOOD}, 0.005) == "confirmed"
    assert res.claims[-1]["target"] == "every"
    assert res.compare_steps("monotone", {"a->b": GOOD, "b->c": FLAT}, 0.005) == "refuted"
    assert res.claims[-1]["deciding_group"] == "b->c" and res.claims[-1]["reason"] == "negligible"
    assert res.compare_steps("monotone", {"a->b": GOOD, "b->c": NOISY}, 0.005) == "inconclusive"


def test_can_happen_is_never_refuted_from_one_failing_setting():
    res = Results("x")
    assert res.can_happen("can happen", {"a": FLAT, "b": GOOD}, 0.005) == "confirmed"
    assert res.claims[-1]["target"] == "some" and res.claims[-1]["deciding_group"] == "b"
    assert "Bonferroni-corrected over 2 settings" in res.claims[-1]["measured"]
    assert res.can_happen("can happen", {"a": FLAT, "b": NOISY}, 0.005) == "inconclusive"
    assert res.can_happen("can happen", {"a": FLAT, "b": FLAT}, 0.005) == "refuted"


def test_can_happen_needs_the_bonferroni_corrected_level():
    t = (stats.t.ppf(0.975, 4) + stats.t.ppf(1 - 0.05 / 4, 4)) / 2  # between plain and corrected
    marginal = crafted(0.02, 0.02 / t * math.sqrt(5))  # mean / SE = t
    assert paired_verdict(marginal, 0.005) == "confirmed"
    assert paired_verdict(marginal, 0.005, k=bonferroni_k(5, 2)) == "inconclusive"
    res = Results("x")
    assert res.can_happen("c", {"a": marginal, "b": crafted(0.0, 0.05)}, 0.005) == "inconclusive"
    assert res.can_happen("c", {"a": marginal}, 0.005) == "confirmed"  # one setting: no correction
    assert bonferroni_k(5, 2) == pytest.approx(stats.t.ppf(1 - 0.05 / 4, 4))


def test_can_happen_is_refuted_when_every_setting_is_refuted_at_the_plain_level():
    t = (stats.t.ppf(0.975, 4) + stats.t.ppf(1 - 0.05 / 4, 4)) / 2
    marginal = crafted(0.0, 0.005 / t * math.sqrt(5))  # (mean - min effect) / SE = -t
    assert paired_verdict(marginal, 0.005) == "refuted"
    assert paired_verdict(marginal, 0.005, k=bonferroni_k(5, 2)) == "inconclusive"
    res = Results("x")  # all must hold: no correction is needed to refute
    assert res.can_happen("c", {"a": marginal, "b": marginal[::-1]}, 0.005) == "refuted"


def test_a_some_claims_p_value_is_bonferroni_corrected():
    res = Results("x")
    res.can_happen("c", {"a": FLAT, "b": GOOD, "c": NOISY}, 0.005)
    entry = res.claims[-1]
    raw = stats.ttest_1samp(GOOD, 0.0, alternative="greater").pvalue
    assert entry["p_value"] == pytest.approx(3 * raw) == claim_p_value(entry)


UP, DOWN = [0.02, 0.021, 0.019], [-0.02, -0.021, -0.019]


@pytest.mark.parametrize("target", ["average", "every", "some"])
def test_depends_comes_first_whatever_the_target_and_names_the_factor_and_levels(target):
    res = Results("x")
    levels = {"lr=0.1": UP, "lr=0.001": DOWN}
    assert res.across("c", levels, 0.005, factor="learning rate", target=target) == "depends"
    measured = res.claims[-1]["measured"]
    assert "depends on learning rate: holds at lr=0.1, reversed at lr=0.001" in measured
    assert res.claims[-1]["target"] == target and res.claims[-1]["p_value"] < 0.05


def test_depends_needs_opposite_signs_significant_at_the_corrected_level():
    t = (stats.t.ppf(0.975, 4) + stats.t.ppf(1 - 0.05 / 4, 4)) / 2
    marginal_down = crafted(-0.02, 0.02 / t * math.sqrt(5))
    res = Results("x")
    levels = {"a": crafted(0.02, 0.002), "b": marginal_down}
    assert res.across("c", levels, 0.005, factor="f", target="some") == "confirmed"


def test_across_target_average_tests_the_per_seed_mean():
    res = Results("x")
    levels = {"a": [0.02, 0.03, 0.01, 0.025, 0.015], "b": [0.01, -0.02, 0.03, -0.01, -0.01]}
    assert res.across("c", levels, 0.005, factor="f", target="every") == "inconclusive"
    assert res.across("c", levels, 0.005, factor="f", target="average") == "confirmed"
    entry = res.claims[-1]
    assert entry["deciding_group"] is None and entry["samples"] == pytest.approx(
        list(np.mean([levels["a"], levels["b"]], axis=0))
    )
    assert "average: +0.01" in entry["measured"] and "target: average" in entry["measured"]
    with pytest.raises(ParameterError, match="same seeds"):
        res.across("c", {"a": GOOD, "b": crafted(0.0, 0.01)}, 0.005, factor="f", target="average")


def test_across_targets_every_and_some():
    res = Results("x")
    levels = {"a": GOOD, "b": FLAT}
    assert res.across("c", levels, 0.005, factor="f") == "refuted"  # target every by default
    assert res.across("c", levels, 0.005, factor="f", target="some") == "confirmed"
    assert res.across("c", {"a": GOOD, "b": GOOD}, 0.005, factor="f") == "confirmed"
    with pytest.raises(ParameterError, match="'target'.*'average', 'every', 'some'"):
        res.across("c", levels, 0.005, factor="f", target="all")


def test_across_excludes_levels_that_cannot_inform_the_comparison():
    res = Results("x")
    levels = {"bowl": [1.0, 1.0, 1.0], "mnist": GOOD}
    with pytest.raises(ParameterError, match="level 'bowl'.*exact.*exclude"):
        res.across("c", levels, 0.005, factor="problem")
    why = {"bowl": "deterministic: no seed variation"}
    assert res.across("c", levels, 0.005, factor="problem", exclude=why) == "confirmed"
    entry = res.claims[-1]
    assert entry["excluded"] == why and entry["groups"]["bowl"] == [1.0, 1.0, 1.0]
    assert "excluded: bowl (deterministic: no seed variation)" in entry["measured"]
    with pytest.raises(ParameterError, match="'exclude'.*leaves no level"):
        res.across("c", levels, 0.005, factor="problem", exclude={**why, "mnist": "x"})
    with pytest.raises(ParameterError, match="'exclude'.*levels among"):
        res.across("c", levels, 0.005, factor="problem", exclude={"cifar": "x"})


def test_groups_must_be_given():
    with pytest.raises(ParameterError, match="'steps'"):
        Results("x").compare_steps("c", {}, 0.005)


def test_a_constant_difference_is_untestable_only_where_the_claim_says_why_it_can_happen():
    res = Results("x")
    why = "early stopping never stopped a run"
    assert res.compare("stops help", [0.0] * 5, 0.01, when_constant=why) == "inconclusive"
    entry = res.claims[-1]
    assert (
        entry["method"] == "untestable"
        and why in entry["measured"]
        and "+0.0000" in entry["measured"]
    )
    # differences that vary are decided by the rule as usual, and a single seed is not constant
    assert res.compare("stops help", [0.1, 0.11, 0.12], 0.01, when_constant=why) == "confirmed"
    assert res.compare("one seed", [0.1], 0.01, when_constant=why) == "inconclusive"
    assert res.claims[-1]["method"] == "compare"


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


# ---------------------------------------------------------------- branches not covered above
def test_a_loaded_machine_undecides_a_refutation_too_and_keeps_the_samples(monkeypatch):
    res = Results("x")
    monkeypatch.setattr(results_module, "_machine_load", lambda: (5.0, 2))
    slower = with_interval(-0.05, -0.01)
    assert res.compare("fast", slower, 0.02, timing=True) == "inconclusive"
    entry = res.claims[-1]
    assert entry["reason"] is None and entry["seeds_needed"] is None and entry["timing"] is True
    assert entry["samples"] == pytest.approx(list(slower)) and entry["high"] < 0
    assert "machine loaded (load average 5.0 > 2 cores + 0.5)" in entry["measured"]
    # the run's own threads keep the load near the cores: quiet up to half a core more
    monkeypatch.setattr(results_module, "_machine_load", lambda: (2.4, 2))
    assert res.compare("fast", slower, 0.02, timing=True) == "refuted"
    monkeypatch.setattr(results_module, "_machine_load", lambda: (2.6, 2))  # another job: loaded
    assert res.compare("fast", slower, 0.02, timing=True) == "inconclusive"
    assert res.compare("not timed", slower, 0.02) == "refuted"  # no load check without timing
    assert res.claims[-1]["timing"] is False


@pytest.mark.parametrize("error", [math.nan, math.inf, -math.inf])
def test_an_exact_claim_with_a_non_finite_error_is_refuted(error):
    res = Results("x")
    assert res.exact("same", error, 1e-12) == "refuted"
    assert res.claims[-1]["error"] is None and res.claims[-1]["method"] == "exact"
    assert res.exact("same", 1e-12, 1e-12) == "confirmed"  # the tolerance itself is accepted


def test_steps_inconclusive_are_decided_by_the_step_needing_most_seeds():
    res = Results("x")
    close, far = crafted(0.01, 0.01), crafted(0.006, 0.02)  # both inconclusive
    assert decide(close, 0.005).seeds_needed < decide(far, 0.005).seeds_needed
    assert res.compare_steps("c", {"close": close, "far": far}, 0.005) == "inconclusive"
    entry = res.claims[-1]
    assert entry["deciding_group"] == "far" and entry["method"] == "compare_steps"
    assert entry["seeds_needed"] == decide(far, 0.005).seeds_needed
    both = res.compare_steps("c", {"a": GOOD, "b": crafted(0.03, 0.004, 3)}, 0.005)
    assert both == "confirmed" and res.claims[-1]["deciding_group"] == "b"  # the weakest (max p)


def test_can_happen_names_the_deciding_setting_of_each_branch():
    res = Results("x")
    strong, weak = crafted(0.03, 0.003), crafted(0.03, 0.01)
    assert res.can_happen("c", {"weak": weak, "strong": strong}, 0.005) == "confirmed"
    assert res.claims[-1]["deciding_group"] == "strong"  # the smallest p-value
    tight, loose = crafted(-0.03, 0.003), crafted(-0.001, 0.004)
    assert res.can_happen("c", {"tight": tight, "loose": loose}, 0.005) == "refuted"
    entry = res.claims[-1]
    assert entry["deciding_group"] == "loose" and entry["reason"] == "negligible"  # largest p
    assert res.can_happen("c", {"a": tight, "b": crafted(-0.02, 0.003)}, 0.005) == "refuted"
    assert res.claims[-1]["reason"] == "reversed"  # every setting reversed
    near, noisy = crafted(0.01, 0.01), crafted(0.0, 0.2)
    assert res.can_happen("c", {"noisy": noisy, "near": near}, 0.005) == "inconclusive"
    assert res.claims[-1]["deciding_group"] == "near"  # the nearest to a decision


@pytest.mark.parametrize("target", ["every", "some", "average"])
def test_across_all_refuted_and_inconclusive(target):
    res = Results("x")
    refuted = {"a": FLAT, "b": [0.001, 0.0, 0.0025]}
    assert res.across("c", refuted, 0.005, factor="f", target=target) == "refuted"
    assert res.claims[-1]["reason"] == "negligible" and res.claims[-1]["method"] == "across"
    assert res.claims[-1]["factor"] == "f"
    open_ = {"a": NOISY, "b": [0.04, -0.03, 0.02]}
    assert res.across("c", open_, 0.005, factor="f", target=target) == "inconclusive"
    assert res.claims[-1]["p_value"] is None


def test_every_entry_names_the_method_that_decided_it():
    res = Results("x")
    res.compare("a", GOOD, 0.005)
    res.compare_steps("b", {"s": GOOD}, 0.005)
    res.can_happen("c", {"s": GOOD}, 0.005)
    res.across("d", {"s": GOOD}, 0.005, factor="f")
    res.exact("e", 0.0, 0.0)
    res.untestable("f", "why")
    methods = [c["method"] for c in res.claims]
    assert methods == ["compare", "compare_steps", "can_happen", "across", "exact", "untestable"]
