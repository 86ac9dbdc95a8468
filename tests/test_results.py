import json

import pytest

from course_utils.results import Results, collect, markdown_table, verdict
from course_utils.validation import ParameterError


def test_results_json_has_the_documented_shape(tmp_path, capsys):
    res = Results("07_label_smoothing", tmp_path / "sub" / "r.json", "smoke")
    res.metric("acc", 0.91)
    res.claim("smoothing reduces over-confidence", "ECE 0.05 -> 0.02", verdict(0.02 < 0.05))
    assert "VERDICT : CONFIRMED" in capsys.readouterr().out
    path = res.save()
    data = json.loads(path.read_text())
    assert data == {"notebook": "07_label_smoothing", "profile": "smoke", "metrics": {"acc": 0.91},
                    "claims": [{"claim": "smoothing reduces over-confidence", "measured": "ECE 0.05 -> 0.02", "verdict": "confirmed"}]}
    assert not list(path.parent.glob("*.tmp"))


def test_numpy_and_torch_scalars_become_plain_numbers(tmp_path):
    import numpy as np
    import torch

    res = Results("x", tmp_path / "r.json")
    res.metric("a", np.float32(0.5))
    res.metric("b", torch.tensor(3))
    res.metric("c", float("nan"))
    res.save()
    assert json.loads((tmp_path / "r.json").read_text())["metrics"] == {"a": 0.5, "b": 3, "c": None}


def test_unknown_verdict_is_refused():
    with pytest.raises(ParameterError, match="'verdict'"):
        Results("x").claim("c", "m", "true")


def test_a_repeated_claim_replaces_the_earlier_entry():
    res = Results("x")
    res.claim("c", "first", "refuted")
    res.claim("c", "second", "confirmed")
    assert res.claims == [{"claim": "c", "measured": "second", "verdict": "confirmed"}]


def test_no_path_means_nothing_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Results("x").save() is None
    assert not list(tmp_path.iterdir())


def test_collect_sorts_and_table_escapes_pipes(tmp_path):
    Results("02_b", tmp_path / "b.json").save()
    Results("01_a", tmp_path / "a.json").save()
    assert [r["notebook"] for r in collect(tmp_path)] == ["01_a", "02_b"]
    table = markdown_table([{"x": "a|b", "y": 0.123456}], ["x", "y"])
    assert table.splitlines() == ["| x | y |", "|---|---|", "| a\\|b | 0.1235 |"]
