"""``python -m course_utils.train_script``: --help, one short run, TensorBoard event files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from course_utils import train_script


def test_help_lists_every_option():
    out = subprocess.run(
        [sys.executable, "-m", "course_utils.train_script", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in ("--lr", "--epochs", "--logdir", "--results", "--weight-decay", "--dropout"):
        assert option in out


@pytest.mark.parametrize("bad", [["--lr", "0"], ["--dropout", "1"], ["--epochs", "0"]])
def test_bad_values_are_refused_before_training(tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as exc:
        train_script.main([*bad, "--logdir", str(tmp_path / "tb")])
    assert exc.value.code == 2 and bad[0][2:].replace("-", "_") in capsys.readouterr().err
    assert not (tmp_path / "tb").exists()


def test_a_short_run_writes_results_and_tensorboard_scalars(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logdir, results = tmp_path / "tb", tmp_path / "r.json"
    args = ["--model", "mlp", "--epochs", "2", "--train-size", "300", "--val-size", "100"]
    args += ["--lr", "3e-3", "--logdir", str(logdir), "--results", str(results)]
    assert train_script.main(args) == 0
    r = json.loads(results.read_text())
    assert len(r["history"]) == 2 and r["config"]["lr"] == 3e-3
    assert 0.3 < r["metrics"]["val_acc"] <= 1  # chance is 0.1
    events = EventAccumulator(str(logdir)).Reload()
    tags = set(events.Tags()["scalars"])
    assert {"loss/train", "loss/val", "accuracy/val", "lr"} <= tags
    val_acc = [e.value for e in events.Scalars("accuracy/val")]
    assert [e.step for e in events.Scalars("accuracy/val")] == [1, 2]
    assert val_acc[-1] == pytest.approx(r["metrics"]["val_acc"], abs=1e-6)
    assert [e.value for e in events.Scalars("lr")] == pytest.approx([3e-3, 3e-3])
