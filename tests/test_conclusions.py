"""Conclusions under test: every stored verdict is decided again from its own samples.

``conclusions.verdict_problems`` replays each claim of a results JSON through the course's rule;
the committed ``notebooks/results/*.json`` must agree with their samples, and the checker must
catch a planted change (a flipped verdict, negated samples, a dropped "machine loaded" note,
swapped arms). A short multi-seed run of notebook 07 decides real claims on notebook data.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from conclusions import (
    orientation_problems,
    unoriented_claims,
    verdict_problems,
)
from conftest import NOTEBOOKS, REPO

from course_utils import results as results_module
from course_utils.claims import decide
from course_utils.paired import paired
from course_utils.results import Results

STORED = REPO / "notebooks" / "results"
# Notebooks whose every comparative claim must record both arms (``cu.paired``); extend it as the
# notebooks adopt cu.paired (test_a_fully_oriented_notebook_is_listed says when one has).
ORIENTED_NOTEBOOKS: tuple[str, ...] = (
    "03_weight_decay_and_augmentation",
    "04_dropout_and_batchnorm",
    "05_early_stopping",
    "11_capstone",
)


def stored(stem: str) -> dict:
    return json.loads((STORED / f"{stem}.json").read_text())


def claim_named(data: dict, start: str) -> dict:
    matching = [c for c in data["claims"] if c["claim"].startswith(start)]
    assert len(matching) == 1, (start, [c["claim"] for c in data["claims"]])
    return matching[0]


def test_every_notebook_has_its_committed_results_json() -> None:
    missing = [nb.stem for nb in NOTEBOOKS if not (STORED / f"{nb.stem}.json").is_file()]
    assert not missing, f"no committed results JSON (make notebooks NB=...): {missing}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_every_stored_verdict_follows_from_its_samples(notebook: Path) -> None:
    path = STORED / f"{notebook.stem}.json"
    assert verdict_problems(path) == []
    assert orientation_problems(path) == []
    unoriented = unoriented_claims(path)
    print(f"{notebook.stem}: {len(unoriented)} comparative claims without arms: {unoriented}")


@pytest.mark.parametrize("stem", ORIENTED_NOTEBOOKS)
def test_oriented_notebooks_record_arms_on_every_comparative_claim(stem: str) -> None:
    assert unoriented_claims(STORED / f"{stem}.json") == []


def test_a_fully_oriented_notebook_is_listed() -> None:
    """A notebook whose committed claims all record arms belongs in ORIENTED_NOTEBOOKS, so the
    orientation it reached cannot silently be lost again."""
    assert set(ORIENTED_NOTEBOOKS) <= {nb.stem for nb in NOTEBOOKS}
    unlisted = [
        nb.stem
        for nb in NOTEBOOKS
        if nb.stem not in ORIENTED_NOTEBOOKS
        and (STORED / f"{nb.stem}.json").is_file()
        and not unoriented_claims(STORED / f"{nb.stem}.json")
        and any("arms" in c or "group_arms" in c for c in stored(nb.stem)["claims"])
    ]
    assert not unlisted, f"add to ORIENTED_NOTEBOOKS in {__file__}: {unlisted}"


# ---------------------------------------------------------------- planted changes are caught
def planted(tmp_path: Path, stem: str, change) -> Path:
    """A copy of a committed results JSON in ``tmp_path``, changed by ``change(data)``."""
    data = copy.deepcopy(stored(stem))
    change(data)
    path = tmp_path / f"{stem}.json"
    path.write_text(json.dumps(data))
    return path


def test_the_committed_copy_itself_passes(tmp_path: Path) -> None:
    assert verdict_problems(planted(tmp_path, "07_label_smoothing", lambda d: None)) == []


def test_a_flipped_verdict_is_caught(tmp_path: Path) -> None:
    start = "Label smoothing reduces overfitting (higher test accuracy)"

    def flip(data: dict) -> None:
        claim_named(data, start)["verdict"] = "refuted"

    problems = verdict_problems(planted(tmp_path, "07_label_smoothing", flip))
    assert len(problems) == 1 and start in problems[0]
    assert "verdict 'refuted', but its samples give 'confirmed'" in problems[0]


def test_negated_samples_are_caught(tmp_path: Path) -> None:
    start = "Temperature scaling fitted on validation data lowers the test ECE"

    def negate(data: dict) -> None:
        entry = claim_named(data, start)
        entry["samples"] = [-v for v in entry["samples"]]

    problems = verdict_problems(planted(tmp_path, "07_label_smoothing", negate))
    assert problems and all(start in p for p in problems)
    assert any("verdict 'confirmed', but its samples give 'refuted'" in p for p in problems)
    assert any(": mean " in p for p in problems)


def test_a_changed_group_is_caught_even_when_the_verdict_stays(tmp_path: Path) -> None:
    """A grouped claim's samples are its deciding group's: editing that group is caught."""
    start = "At the same learning rate RMSprop did better than Adam"

    def shift(data: dict) -> None:
        entry = claim_named(data, start)
        group = entry["deciding_group"]
        entry["groups"][group] = [v + 1e-3 for v in entry["groups"][group]]

    problems = verdict_problems(planted(tmp_path, "01_optimizers_from_scratch", shift))
    assert problems and all(start in p for p in problems)


def test_a_raised_min_effect_is_caught(tmp_path: Path) -> None:
    start = "Label smoothing reduces overfitting (higher test accuracy)"

    def raise_it(data: dict) -> None:
        claim_named(data, start)["min_effect"] = 10.0  # the whole interval lies below it

    problems = verdict_problems(planted(tmp_path, "07_label_smoothing", raise_it))
    assert any("but its samples give 'refuted'" in p for p in problems)


def test_a_flipped_exact_claim_is_caught(tmp_path: Path) -> None:
    start = "The notes' smoothing loss equals torch's label_smoothing"

    def flip(data: dict) -> None:
        claim_named(data, start)["verdict"] = "refuted"

    problems = verdict_problems(planted(tmp_path, "07_label_smoothing", flip))
    assert len(problems) == 1 and "its samples give 'confirmed'" in problems[0]


def timing_result(monkeypatch, load: float) -> dict:
    monkeypatch.setattr(results_module, "_machine_load", lambda: (load, 2))
    res = Results("timing")
    res.compare("faster", [0.3, 0.31, 0.29, 0.32, 0.3], unit="log speed ratio", timing=True)
    return res.as_dict()


def test_a_loaded_machine_is_expected_inconclusive_and_a_dropped_note_is_caught(monkeypatch):
    loaded = timing_result(monkeypatch, 9.0)
    assert loaded["claims"][0]["verdict"] == "inconclusive" and verdict_problems(loaded) == []
    quiet = timing_result(monkeypatch, 0.5)
    assert quiet["claims"][0]["verdict"] == "confirmed" and verdict_problems(quiet) == []
    dropped = copy.deepcopy(loaded)  # inconclusive, but nothing says the machine was loaded
    dropped["claims"][0]["measured"] = quiet["claims"][0]["measured"]
    assert any("its samples give 'confirmed'" in p for p in verdict_problems(dropped))
    decided = copy.deepcopy(quiet)  # "machine loaded" in the text, yet decided
    decided["claims"][0]["measured"] = loaded["claims"][0]["measured"]
    assert any(
        "give 'inconclusive' (the machine was loaded)" in p for p in verdict_problems(decided)
    )


def test_samples_that_are_not_their_arms_differences_are_caught() -> None:
    res = Results("x")
    base, smoothed = [0.80, 0.81, 0.79], [0.82, 0.84, 0.82]
    diffs = paired(smoothed, base, better="higher", names=("smoothed", "plain"), scale=100)
    res.compare("smoothing raises accuracy", diffs, unit="accuracy points")
    data = res.as_dict()
    assert orientation_problems(data) == [] and unoriented_claims(data) == []
    swapped = copy.deepcopy(data)  # subtracted the wrong way round
    swapped["claims"][0]["arms"]["better"] = "lower"
    assert "'smoothed' vs 'plain' with 'lower' better" in orientation_problems(swapped)[0]
    bare = copy.deepcopy(data)
    del bare["claims"][0]["arms"]
    assert unoriented_claims(bare) == ["smoothing raises accuracy"]


def test_group_arms_are_checked_group_by_group() -> None:
    res = Results("x")
    levels = {
        f"lr={lr}": paired([0.9 + lr, 0.92 + lr, 0.91 + lr], [0.88, 0.89, 0.9], names=("a", "b"))
        for lr in (0.01, 0.02)
    }
    res.across("a beats b", levels, 0.005, factor="lr", unit="accuracy")
    data = res.as_dict()
    assert orientation_problems(data) == [] and unoriented_claims(data) == []
    changed = copy.deepcopy(data)
    changed["claims"][0]["groups"]["lr=0.02"][0] += 0.1
    assert "group 'lr=0.02'" in orientation_problems(changed)[0]
    partial = copy.deepcopy(data)
    del partial["claims"][0]["group_arms"]["lr=0.01"]
    assert unoriented_claims(partial) == ["a beats b"]


def test_the_test_sets_sampling_variance_is_part_of_the_replay() -> None:
    """``cu.paired(per_example=...)`` widens the interval by the test set's sampling variance
    (recorded in the arms as ``test_var``): the replay uses it, and dropping it is caught."""
    import numpy as np

    rng = np.random.default_rng(0)
    base = rng.random((4, 300)) < 0.80  # per-example correctness, 4 seeds x 300 test images
    better = base | (rng.random((4, 300)) < 0.05)
    diffs = paired(
        better.mean(1), base.mean(1), names=("new", "old"), per_example=(better, base), scale=100
    )
    assert diffs.test_var > 0
    res = Results("x")
    res.compare("new beats old", diffs, unit="accuracy points")
    data = res.as_dict()
    assert verdict_problems(data) == [] and orientation_problems(data) == []
    dropped = copy.deepcopy(data)
    dropped["claims"][0]["arms"]["test_var"] = 0.0
    assert any(": high " in p or ": low " in p for p in verdict_problems(dropped))


# ---------------------------------------------------------------- every method replays
UP, DOWN, FLAT = [0.02, 0.021, 0.019], [-0.02, -0.021, -0.019], [0.0, 0.001, -0.001]


def every_kind_of_claim() -> dict:
    res = Results("kinds")
    res.compare("one seed", [0.3], 0.01)
    res.compare("up", UP, 0.005)
    res.compare("down", DOWN, 0.005)
    res.compare("flat", FLAT, 0.005)
    res.compare_steps("steps", {"a": UP, "b": FLAT}, 0.005)
    res.can_happen("some", {"a": FLAT, "b": UP}, 0.005)
    for target in ("average", "every", "some"):
        res.across(f"across {target}", {"x": UP, "y": FLAT}, 0.005, factor="f", target=target)
    res.across("depends", {"x": UP, "y": DOWN}, 0.005, factor="f")
    why = {"z": "deterministic"}
    res.across("excluded", {"x": UP, "z": [1.0, 1.0, 1.0]}, 0.005, factor="f", exclude=why)
    res.exact("exact", 0.0, 1e-12)
    res.exact("exact nan", math.nan, 1e-12)
    res.untestable("untestable", "no GPU")
    return res.as_dict()


def test_every_kind_of_claim_replays_to_its_own_verdict(tmp_path: Path) -> None:
    data = every_kind_of_claim()
    verdicts = {c["claim"]: c["verdict"] for c in data["claims"]}
    assert set(verdicts.values()) == {"confirmed", "refuted", "depends", "inconclusive"}
    assert verdict_problems(data) == []
    path = tmp_path / "kinds.json"
    path.write_text(json.dumps(data))
    assert verdict_problems(path) == []  # from a file, as the committed JSON are read
    for entry in data["claims"]:  # each flipped verdict is caught
        flipped = copy.deepcopy(data)
        claim = next(c for c in flipped["claims"] if c["claim"] == entry["claim"])
        claim["verdict"] = "refuted" if entry["verdict"] != "refuted" else "confirmed"
        assert any(entry["claim"] in p for p in verdict_problems(flipped)), entry["claim"]


def test_entries_without_a_method_are_replayed_by_what_they_record() -> None:
    """Results written before ``method`` was recorded (the committed JSON) replay the same."""
    data = every_kind_of_claim()
    for entry in data["claims"]:
        entry.pop("method")
        entry.pop("timing", None)
        if entry["claim"].startswith("exact"):
            entry.pop("error"), entry.pop("tolerance")
    assert verdict_problems(data) == []


def test_a_results_dir_from_the_cli_is_checked_the_same_way(tmp_path: Path) -> None:
    res = Results("x", tmp_path / "results" / "x.json")
    res.compare("up", UP, 0.005)
    res.save()
    assert verdict_problems(res.saved_to) == []


# ---------------------------------------------------------------- real claims on notebook data
@pytest.mark.notebooks
def test_three_seeds_of_notebook_07_decide_its_large_effects(tmp_path: Path) -> None:
    """Under smoke with ``-p seeds 3`` the comparative claims have n = 3, so confirmed and
    refuted run on notebook data. Temperature scaling fitted on validation data lowers the ECE
    of a 1-epoch model by several points (large by construction: the plain model is far from
    calibrated), so it is confirmed; each stored decision must follow from its samples."""
    from course_utils.tools.cli import main

    out = tmp_path / "run"
    assert main(["run", "07", "--profile", "smoke", "-p", "seeds", "3", "--out", str(out)]) == 0
    result = json.loads((out / "results" / "07_label_smoothing.json").read_text())
    assert verdict_problems(result) == [] and orientation_problems(result) == []
    scaled = claim_named(result, "Temperature scaling fitted on validation data lowers the test")
    assert scaled["n"] == 3 and scaled["verdict"] == "confirmed", scaled["measured"]
    # the opposite claim ("temperature scaling raises the ECE") on the same notebook data
    opposite = decide([-d for d in scaled["samples"]], scaled["min_effect"])
    assert opposite.verdict == "refuted" and opposite.reason == "reversed"
    compared = [c for c in result["claims"] if c["method"] in ("compare", "across")]
    assert len(compared) >= 5 and all(c["n"] == 3 for c in compared)  # all on three seeds
