import matplotlib

matplotlib.use("Agg")

import pytest

from course_utils.widgets import Panel, checkbox, dropdown, panel, slider


@pytest.fixture(autouse=True)
def interactive(monkeypatch):
    monkeypatch.delenv("COURSE_BATCH", raising=False)


def test_live_panel_runs_at_creation_and_on_every_change():
    calls = []
    p = Panel(
        lambda lr, opt: calls.append((lr, opt)) or lr * 2,
        {"lr": slider("lr", 0.1, 1e-4, 1.0, log=True), "opt": dropdown("opt", ["sgd", "adam"])},
    )
    assert calls == [(0.1, "sgd")] and p.last_result == 0.2
    p.controls["lr"].value = 0.01
    p.controls["opt"].value = "adam"
    assert calls[-1] == (0.01, "adam") and p.last_result == 0.02 and p.runs == 3


def test_run_button_panel_waits_for_the_button():
    calls = []
    p = panel(
        lambda n, bn: calls.append((n, bn)) or n,
        live=False,
        n=slider("n", 3, 1, 10, integer=True),
        bn=checkbox("bn", True),
    )
    assert calls == [] and p.button is not None
    p.controls["n"].value = 5
    assert calls == []
    p.button.click()
    assert calls == [(5, True)] and p.last_result == 5


def test_sliders_report_only_on_release():
    assert slider("x", 1, 0, 2).continuous_update is False
    assert slider("k", 2, 1, 9, integer=True).value == 2


def test_batch_runs_render_a_static_note_without_running_or_widgets(monkeypatch):
    monkeypatch.setenv("COURSE_BATCH", "1")
    calls = []
    p = panel(lambda lr: calls.append(lr), lr=slider("lr", 0.1, 1e-4, 1.0, log=True), title="lr")
    assert calls == [] and p.widget is None
    bundle = p._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" not in bundle
    assert "lr=0.1" in bundle["text/plain"] and "JupyterLab" in bundle["text/html"]
    assert p.run() is None and calls == [0.1]  # tests can still call it


def test_interactive_panels_display_as_widgets(monkeypatch):
    monkeypatch.delenv("COURSE_BATCH", raising=False)
    p = panel(lambda lr: lr, lr=slider("lr", 0.1, 1e-4, 1.0, log=True))
    assert "application/vnd.jupyter.widget-view+json" in p._repr_mimebundle_()


# ---------------------------------------------------------------- the nbval run's panel sweep
def test_the_sweep_gives_each_control_each_of_its_values():
    from nbval_startup import control_values

    assert control_values(slider("n", 3, 1, 10, integer=True), trains=False) == [3, 1, 10]
    assert control_values(slider("n", 3, 1, 10, integer=True), trains=True) == [3, 1]
    assert control_values(slider("lr", 0.1, 1e-4, 1.0, log=True), trains=False) == pytest.approx(
        [0.1, 1e-4, 1.0]
    )
    assert control_values(dropdown("opt", ["sgd", "adam", "rmsprop"], "adam"), trains=True) == [
        "adam",
        "sgd",
        "rmsprop",
    ]
    assert control_values(checkbox("bn", True), trains=True) == [True, False]


def test_the_sweep_records_a_panel_that_fails_at_a_sliders_end(tmp_path, monkeypatch):
    import json

    import numpy as np
    import torch
    from nbval_startup import LOG_ENV, sweep

    monkeypatch.setenv(LOG_ENV, str(tmp_path / "panels.jsonl"))
    monkeypatch.setenv("COURSE_BATCH", "1")
    seen = []

    def draw(width, opt, bn):
        seen.append((width, opt, bn))
        torch.rand(3), np.random.rand()  # consumes random numbers: the sweep gives them back
        if width > 500:
            raise ValueError("too wide")

    controls = dict(
        width=slider("w", 64, 16, 1024, integer=True),
        opt=dropdown("opt", ["sgd", "adam", "rmsprop"]),
        bn=checkbox("bn", True),
    )
    p = panel(draw, **controls)
    torch.manual_seed(0)
    sweep(p, 0, {})
    after = torch.rand(1)
    torch.manual_seed(0)
    assert after == torch.rand(1)
    assert seen == [(64, "sgd", True), (16, "adam", False), (1024, "rmsprop", True)]
    records = [json.loads(line) for line in (tmp_path / "panels.jsonl").read_text().splitlines()]
    assert [r["error"] is None for r in records] == [True, True, False]
    assert "too wide" in records[2]["error"] and records[2]["call"]["width"] == "1024"
    assert p.values() == {"width": 64, "opt": "sgd", "bn": True}  # the defaults again


# ---------------------------------------------------------------- what a panel says about itself
def test_a_panels_note_names_the_controls_it_has(monkeypatch):
    """The capstone's panel of checkboxes said "sliders update live": the note names the kinds."""
    monkeypatch.setenv("COURSE_BATCH", "1")
    boxes = panel(lambda **on: None, augment=checkbox("augment", True), bn=checkbox("bn", True))
    assert "(the checkboxes update it live)" in boxes.static_note()
    assert "slider" not in boxes.static_note()
    train = panel(
        lambda epochs, bn: None,
        live=False,
        epochs=slider("epochs", 3, 1, 20, integer=True),
        bn=checkbox("bn", True),
    )
    assert "(set the slider and the checkbox, then press Run to train)" in train.static_note()
    mixed = panel(
        lambda opt, lr, steps: None,
        opt=dropdown("optimizer", ["sgd", "adam"]),
        lr=slider("lr", 0.1, 1e-3, 1.0, log=True),
        steps=slider("steps", 30, 1, 200, integer=True),
    )
    assert "(the menu and the sliders update it live)" in mixed.static_note()


def test_a_run_panel_is_busy_while_it_trains_and_cannot_be_clicked_twice():
    seen = []

    def train(n):
        seen.append((p.button.disabled, p.button.description))
        p.button.click()  # a second click while it trains: ignored
        return n

    p = panel(train, live=False, n=slider("n", 3, 1, 10, integer=True))
    assert (p.button.disabled, p.button.description) == (False, "Run")
    p.button.click()
    assert seen == [(True, "training...")] and p.runs == 1
    assert (p.button.disabled, p.button.description, p.busy) == (False, "Run", False)
    p.button.click()  # handled right after the run ended: a click queued while it ran
    assert p.runs == 1
    p.finished_at -= 1  # a click a second later is a new request
    p.button.click()
    assert p.runs == 2 and len(seen) == 2


def test_a_run_panel_that_fails_can_be_run_again():
    def train(n):
        raise RuntimeError("out of memory")

    p = panel(train, live=False, n=slider("n", 3, 1, 10, integer=True))
    with pytest.raises(RuntimeError, match="out of memory"):
        p.run()
    assert (p.button.disabled, p.button.description, p.busy) == (False, "Run", False)
