"""Parameter declarations: one spec per parameter, checked in setup() and read statically by the CLI."""

import pytest

import course_utils as cu
from course_utils.params import declared_specs
from course_utils.validation import ParameterError


def test_setup_fills_profile_defaults_into_the_namespace(capsys):
    ns = {"profile": "smoke", "epochs": None, "lr": 0.1, "opt": "adam", "tta": "flip,shift"}
    cfg = cu.setup(
        ns,
        epochs=cu.integer(1, 100, smoke=1, cpu=10, gpu=20),
        lr=cu.number(0, 10, low_open=True),
        opt=cu.choice("sgd", "adam"),
        tta=cu.names("flip", "shift", "vflip"),
    )
    assert cfg.profile == "smoke" and ns["epochs"] == 1 and ns["lr"] == 0.1
    assert "epochs=1" in capsys.readouterr().out
    assert cu.split_names(ns["tta"]) == ["flip", "shift"]
    assert cfg.seed_list(3) == [0, 1, 2]


@pytest.mark.parametrize(
    ("spec", "value", "allowed"),
    [
        (cu.integer(1, 100), 0, "an integer in [1, 100]"),
        (cu.integer(1), 2.5, "an integer >= 1"),
        (cu.number(0, 1, high_open=True), 1.5, "a finite number in [0, 1)"),
        (cu.number(0, low_open=True), float("inf"), "a finite number > 0"),
        (cu.choice("sgd", "adam"), "rmsprop", "one of 'sgd', 'adam'"),
        (cu.names("flip", "shift"), "flip,rotate", "comma-separated names from 'flip', 'shift'"),
        (cu.integer(1, 5), True, "an integer in [1, 5]"),
    ],
)
def test_bad_values_name_the_parameter_the_value_and_what_is_allowed(spec, value, allowed):
    ns = {"profile": "smoke", "x": value}
    with pytest.raises(ParameterError) as err:
        cu.setup(ns, x=spec, quiet=True)
    assert "'x'" in str(err.value) and repr(value) in str(err.value) and allowed in str(err.value)
    assert ns["x"] == value  # nothing written back when a check fails


def test_none_is_allowed_only_with_profile_defaults_or_optional():
    with pytest.raises(ParameterError, match="'x'"):
        cu.setup({"profile": "smoke", "x": None}, x=cu.integer(1), quiet=True)
    ns = {"profile": "smoke", "x": None}
    cu.setup(ns, x=cu.integer(1, optional=True), quiet=True)
    assert ns["x"] is None


def test_an_undefined_declared_parameter_is_an_error():
    with pytest.raises(ParameterError, match="'missing'"):
        cu.setup({"profile": "smoke"}, missing=cu.integer(1), quiet=True)


def test_declared_specs_reads_the_setup_call_statically():
    source = (
        "cfg = cu.setup(\n    globals(),\n    epochs=cu.integer(1, 50, smoke=1, cpu=5, gpu=9),\n"
        "    smoothing=cu.number(0, 0.9),\n    model_name=cu.choice('mlp', 'cnn'),\n)\n"
    )
    specs = declared_specs(source)
    assert set(specs) == {"epochs", "smoothing", "model_name"}
    assert specs["epochs"].defaults == {"smoke": 1, "cpu": 5, "gpu": 9}
    with pytest.raises(ParameterError, match="smoothing"):
        specs["smoothing"].check("smoothing", 1.5)


def test_declared_specs_refuses_non_literal_arguments():
    with pytest.raises(ParameterError, match="literal"):
        declared_specs("cfg = setup(globals(), epochs=integer(1, N))")


def test_a_hint_is_added_to_the_refusal_only() -> None:
    spec = cu.number(0, 1, hint="their 30 is 0.3 here")
    assert spec.check("alpha", 0.3) == 0.3
    with pytest.raises(ParameterError, match=r"allowed: a finite number in \[0, 1\]\. their 30"):
        spec.check("alpha", 30)
    with pytest.raises(ParameterError) as plain:
        cu.number(0, 1).check("alpha", 30)
    assert str(plain.value).endswith("[0, 1]")
