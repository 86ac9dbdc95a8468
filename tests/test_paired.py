"""cu.paired orients differences by the claim and keeps the arms; the min-effect table."""

import math
from pathlib import Path

import numpy as np
import pytest

import course_utils as cu
from course_utils.paired import MIN_EFFECTS, oriented, per_example_variance


def test_higher_is_treatment_minus_baseline():
    d = cu.paired([0.9, 0.8], [0.7, 0.75])
    assert list(d) == pytest.approx([0.2, 0.05])


def test_lower_is_baseline_minus_treatment_and_scaled():
    d = cu.paired([0.1, 0.2], [0.3, 0.1], better="lower", scale=100)
    assert list(d) == pytest.approx([20.0, -10.0])
    assert d.treatment == pytest.approx((10.0, 20.0))


def test_recorded_arms_recompute_the_samples():
    res = cu.Results("x")
    d = cu.paired([0.9, 0.8, 0.85], [0.7, 0.75, 0.8], names=("wide", "narrow"))
    res.compare("wide beats narrow", d, 0.01, unit="accuracy")
    entry = res.claims[-1]
    arms = entry["arms"]
    assert (arms["treatment"], arms["baseline"], arms["better"]) == ("wide", "narrow", "higher")
    again = oriented(arms["treatment_samples"], arms["baseline_samples"], arms["better"])
    assert entry["samples"] == pytest.approx(again)


def test_grouped_claims_record_each_groups_arms():
    res = cu.Results("x")
    levels = {
        "a": cu.paired([0.9, 0.8, 0.85], [0.7, 0.75, 0.8]),
        "b": cu.paired([0.6, 0.5, 0.55], [0.7, 0.65, 0.6]),
    }
    res.across("t beats b", levels, 0.01, factor="f", target="average", unit="accuracy")
    assert set(res.claims[-1]["group_arms"]) == {"a", "b"}


def test_min_effect_defaults_to_the_units_table_value():
    res = cu.Results("x")
    res.compare("c", [1.0, 1.2, 0.9], unit="accuracy points")
    assert res.claims[-1]["min_effect"] == MIN_EFFECTS["accuracy points"] == 0.5
    assert cu.min_effect_for("log speed ratio") == pytest.approx(math.log(1.1))


@pytest.mark.parametrize(
    "call, names",
    [
        (lambda: cu.paired([1, 2], [1]), ("treatment", "baseline", "same seeds")),
        (lambda: cu.paired([1], [1], better="up"), ("better", "up", "higher")),
        (lambda: cu.paired([], []), ("treatment", "empty")),
        (lambda: cu.paired(["a"], [1]), ("treatment", "numbers")),
        (lambda: cu.min_effect_for("furlongs"), ("unit", "furlongs", "accuracy")),
        (lambda: cu.Results("x").compare("c", [1.0, 2.0], unit="furlongs"), ("furlongs",)),
    ],
)
def test_bad_input_names_the_parameter(call, names):
    with pytest.raises(cu.ParameterError) as err:
        call()
    for word in names:
        assert word in str(err.value)


def test_the_readme_lists_every_min_effect_of_the_table():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for unit, value in MIN_EFFECTS.items():
        assert unit in readme, unit
        shown = "log 1.1" if unit.startswith("log") else f"| {value:g} |"
        assert shown in readme, (unit, shown)


def test_per_example_variance_is_the_paired_bootstraps_in_closed_form():
    rng = np.random.default_rng(0)
    t = (rng.random((3, 400)) < 0.9).astype(float)
    b = (rng.random((3, 400)) < 0.85).astype(float)
    boots = []
    for _ in range(4000):
        i = rng.integers(0, 400, 400)
        boots.append((t[:, i] - b[:, i]).mean())
    assert per_example_variance(t, b) == pytest.approx(np.var(boots), rel=0.1)


def test_per_example_scores_widen_the_interval():
    rng = np.random.default_rng(1)
    t = (rng.random((5, 2000)) < 0.9).astype(float)
    b = (rng.random((5, 2000)) < 0.89).astype(float)
    seeds_only = cu.paired(t.mean(1), b.mean(1))
    with_test = cu.paired(t.mean(1), b.mean(1), per_example=(t, b))
    res = cu.Results("x")
    res.compare("plain", seeds_only, 0.005, unit="accuracy")
    res.compare("with test noise", with_test, 0.005, unit="accuracy")
    plain, widened = res.claims
    assert widened["se"] ** 2 == pytest.approx(plain["se"] ** 2 + with_test.test_var)
    assert "scored images' sampling SE" in widened["measured"]
    assert widened["arms"]["test_var"] == with_test.test_var > 0


def test_per_example_shapes_must_match():
    with pytest.raises(cu.ParameterError, match="per_example"):
        cu.paired([0.9], [0.8], per_example=(np.ones((1, 5)), np.ones((1, 4))))
