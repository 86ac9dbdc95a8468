import copy
import importlib.util
import math
from pathlib import Path

import pytest
import torch
from fixture_files import write_mnist_like
from torch import nn

import course_utils.data as data
import course_utils.datafiles as datafiles
from course_utils.models import FastCPU
from course_utils.speed import (
    CPU_SETUPS,
    SpeedChoice,
    choose_cpu_setup,
    choose_fastest,
    fit_to_budget,
    images_to_pay_back,
    inference_speed,
    matmul_peak,
    peak_rss_mib,
    source_notes_loader,
    step_flops,
    train_step_timer,
    train_throughput,
)
from course_utils.validation import ParameterError


def test_source_notes_loader_gives_normalized_per_image_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(datafiles, "PROJECT_DATA", tmp_path / "project-data")
    write_mnist_like(tmp_path / "d", gz=True)
    ds = data.load_dataset("mnist", tmp_path / "d", allow_download=False)
    loader = source_notes_loader(ds, batch_size=8, num_workers=0, data_dir=tmp_path / "d")
    xb, yb = next(iter(loader))
    assert xb.shape == (8, 1, 28, 28) and xb.dtype == torch.float32 and yb.shape == (8,)
    assert abs(xb.mean().item()) < 0.5  # normalized with the dataset's mean and std


def test_train_throughput_counts_images():
    x = torch.randint(0, 255, (64, 1, 4, 4), dtype=torch.uint8)
    batches = data.Batches(x, torch.arange(64) % 2, 16, mean=(0.5,), std=(0.5,))
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    out = train_throughput(model, batches, 100)
    assert out["images"] >= 100 and out["images_per_s"] > 0


def test_peak_memory_is_a_plausible_number_of_mib():
    assert 10 < peak_rss_mib() < 1e6


def fixed(speed: float, calls: list[str] | None = None, name: str = ""):
    """A faked timer: always ``speed`` images/s; logs its name in ``calls``."""

    def timer(steps: int) -> float:
        if calls is not None:
            calls.append(name)
        return speed

    return timer


def test_bf16_wins_when_it_is_faster():
    choice = choose_fastest({"float32": fixed(100.0), "bfloat16": fixed(150.0)})
    assert choice.best == "bfloat16" and choice.ratio("bfloat16") == 1.5
    assert not choice.dropped
    much_faster = choose_fastest({"float32": fixed(100.0), "bfloat16": fixed(300.0)})
    assert much_faster.best == "bfloat16" and much_faster.dropped == {"float32"}


def test_float32_wins_when_bf16_is_slower_but_within_the_drop_rule():
    choice = choose_fastest({"float32": fixed(100.0), "bfloat16": fixed(60.0)})
    assert choice.best == "float32" and not choice.dropped


def test_a_candidate_over_2x_slower_at_the_probe_is_dropped_after_one_call():
    calls: list[str] = []
    timers = {name: fixed(s, calls, name) for name, s in (("f32", 100.0), ("bf16", 10.0))}
    choice = choose_fastest(timers, repeats=3)
    assert choice.dropped == {"bf16"} and choice.best == "f32"
    assert calls == ["f32", "bf16", "f32", "f32", "f32"]  # probe round, then f32 alone
    assert "dropped" in str(choice).splitlines()[1]


def test_repeats_are_interleaved_and_the_median_is_kept():
    calls: list[str] = []
    speeds = {"a": iter([50.0, 100.0, 400.0, 90.0]), "b": iter([50.0, 95.0, 96.0, 500.0])}

    def timer(name: str):
        return lambda steps: calls.append(name) or next(speeds[name])

    choice = choose_fastest({"a": timer("a"), "b": timer("b")}, repeats=3)
    assert calls == ["a", "b"] * 4
    assert choice.speeds == {"a": 100.0, "b": 96.0} and choice.best == "a"


def test_a_tie_goes_to_the_simpler_candidate_listed_first():
    timers = {"float32": fixed(100.0), "float32, channels-last": fixed(100.0)}
    assert choose_fastest(timers).best == "float32"
    reversed_order = dict(reversed(timers.items()))
    assert choose_fastest(reversed_order).best == "float32, channels-last"


def test_the_printed_table_has_one_line_per_candidate_with_its_ratio():
    text = str(SpeedChoice({"float32": 100.0, "bfloat16": 250.0}))
    lines = text.splitlines()
    assert len(lines) == 2 and "1.00x" in lines[0] and "2.50x" in lines[1]
    assert "fastest" in lines[1] and "fastest" not in lines[0]


def test_bad_choice_parameters_name_the_parameter():
    with pytest.raises(ParameterError, match="candidates"):
        choose_fastest({})
    with pytest.raises(ParameterError, match="repeats"):
        choose_fastest({"a": fixed(1.0)}, repeats=0)
    with pytest.raises(ParameterError, match="drop_below"):
        choose_fastest({"a": fixed(1.0)}, drop_below=2)


def test_choose_cpu_setup_times_every_setup_on_a_real_model():
    torch.manual_seed(0)
    xb, yb = torch.randn(8, 1, 8, 8), torch.arange(8) % 2
    make_model = lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(144, 2))  # noqa: E731
    choice = choose_cpu_setup(make_model, xb, yb, repeats=1, steps=1)
    assert list(choice.speeds) == list(CPU_SETUPS) and choice.best in CPU_SETUPS
    assert all(s > 0 for s in choice.speeds.values())


def test_train_step_timer_restores_the_thread_count():
    before = torch.get_num_threads()
    timer = train_step_timer(
        lambda: nn.Linear(4, 2),
        torch.randn(4, 4),
        torch.arange(4) % 2,
        bf16=False,
        channels_last=False,
        threads=1,
    )
    assert timer(1) > 0 and torch.get_num_threads() == before


def test_fast_cpu_layout_option():
    x = torch.randn(2, 1, 6, 6)
    torch.manual_seed(0)
    plain = FastCPU(nn.Conv2d(1, 3, 3), bf16=False, channels_last=False)
    last = FastCPU(copy.deepcopy(plain.net), bf16=False)
    assert plain(x).is_contiguous() and last(x).is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(plain(x), last(x), atol=1e-6)


def test_compile_pays_back_only_after_enough_images():
    # 40 s of compiling, 500 -> 1000 images/s saves 1 ms an image: repaid after 40,000 images
    assert images_to_pay_back(40.0, 500.0, 1000.0) == pytest.approx(40_000)
    assert images_to_pay_back(40.0, 500.0, 500.0) == math.inf  # no speed-up: never
    assert images_to_pay_back(40.0, 500.0, 400.0) == math.inf
    with pytest.raises(ParameterError, match="before"):
        images_to_pay_back(1.0, 0.0, 1.0)


def test_fit_to_budget_finds_the_largest_size_that_fits():
    def seconds(size):  # a fixed 40 s of evaluation plus 0.01 s per image
        return 40 + 0.01 * size

    assert fit_to_budget(10_000, seconds, 100) == 6000
    assert fit_to_budget(5000, seconds, 100) == 5000  # fits as given
    assert fit_to_budget(10_000, seconds, 30, floor=500) == 500  # never below the floor


def test_inference_speed_counts_images_and_restores_the_mode():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)).train()
    speed = inference_speed(net, torch.randn(64, 1, 2, 2), batch_size=16, repeats=1)
    assert speed > 0 and net.training


def test_step_flops_counts_forward_and_weight_gradient_of_a_linear_layer():
    net = nn.Linear(8, 4, bias=False)
    # forward 2*B*I*O, and the weight's gradient 2*B*I*O (the input needs none)
    assert step_flops(net, torch.randn(16, 8), torch.randint(0, 4, (16,))) == 4 * 16 * 8 * 4
    assert net.weight.grad is None  # the counted step leaves no gradient behind


def test_matmul_peak_is_a_positive_rate():
    assert matmul_peak(torch.float32, n=64, repeats=1) > 0


def _fast_lane():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "fast_lane.py"
    spec = importlib.util.spec_from_file_location("fast_lane", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fast_lane_frontier_marks_only_runs_no_earlier_run_matched():
    course = [{"seconds": 40.0, "acc": 0.90}, {"seconds": 80.0, "acc": 0.92}]
    source = [{"seconds": 41.0, "acc": 0.85}, {"seconds": 81.0, "acc": 0.93}]
    lines = _fast_lane().frontier(course, source).splitlines()[1:]
    assert [line.split()[2] for line in lines] == ["course", "source", "course", "source"]
    assert [line.endswith("*") for line in lines] == [True, False, True, True]
    first_times = _fast_lane().first_times(course)
    assert first_times == {0.92: 80.0, 0.93: None}
