"""Speed measurements, side by side in one run (never assertions in tests). Run with `make bench`.

1. Training images/s of the source notes' input pipeline (torchvision dataset, per-image PIL
   transforms, DataLoader batch 32, 2 workers) against the course's in-memory batched pipeline
   (batch 256), on the same small CNN with the same augmentation; and their ratio.
2. Wall time of `python -m course_utils run --profile smoke` over the whole course.
3. Peak memory (RSS) of the kernel running notebook 00 under the cpu profile.
4. The fast lane (benchmarks/fast_lane.py): seconds from a cold start to 92% Fashion-MNIST test
   accuracy with the course's fastest recipe, beside the source recipe after the same time.
5. Utilization: the capstone CNN's training step in each CPU set-up (float32, channels-last,
   bfloat16), its achieved FLOP/s (FLOPs counted by torch's flop counter x steps/s) against the
   FLOP/s this CPU reaches on a large matmul in the same dtype, as a ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import course_utils as cu
from course_utils.models import CapstoneCNN
from course_utils.speed import (
    CPU_SETUPS,
    choose_fastest,
    matmul_peak,
    source_notes_loader,
    step_flops,
    train_step_timer,
    train_throughput,
)


def pipeline_ratio(images: int, seed: int = 0) -> dict[str, float]:
    ds = cu.load_dataset("fashion_mnist")
    pipelines = {
        "source notes (per-image, batch 32, 2 workers)": source_notes_loader(ds, 32, 2, seed=seed),
        "course (in-memory batches, batch 256)": ds.loader(
            ds.train_x, ds.train_y, 256, shuffle=True, augment=cu.Augment(2, True), seed=seed
        ),
    }
    out = {}
    for name, batches in pipelines.items():
        torch.manual_seed(seed)
        out[name] = train_throughput(
            cu.build_model("small_cnn", ds.shape, ds.num_classes), batches, images
        )["images_per_s"]
    return out


def utilization(batch: int = 256, seed: int = 0) -> list[dict[str, float | str]]:
    """Per CPU set-up: training images/s, achieved GFLOP/s, the dtype's matmul peak, their ratio."""
    torch.manual_seed(seed)
    xb, yb = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    flops_per_image = step_flops(CapstoneCNN((1, 28, 28), 10), xb, yb) / batch
    timers = {
        name: train_step_timer(lambda: CapstoneCNN((1, 28, 28), 10), xb, yb, **setup)
        for name, setup in CPU_SETUPS.items()
    }
    speeds = choose_fastest(timers, repeats=3, steps=3).speeds
    peaks = {dtype: matmul_peak(dtype) for dtype in (torch.float32, torch.bfloat16)}
    rows = []
    for name, setup in CPU_SETUPS.items():
        if name not in speeds:  # dropped after the probe: too slow to time further
            continue
        peak = peaks[torch.bfloat16 if setup["bf16"] else torch.float32]
        achieved = flops_per_image * speeds[name]
        rows.append(
            {
                "set-up": name,
                "images/s": speeds[name],
                "achieved GFLOP/s": achieved / 1e9,
                "matmul peak GFLOP/s": peak / 1e9,
                "utilization": achieved / peak,
            }
        )
    return rows


def course_cli(*args: str) -> tuple[float, Path]:
    out = Path(tempfile.mkdtemp(prefix="bench-")) / "run"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "course_utils", "run", *args, "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=12000, help="training images per pipeline")
    parser.add_argument("--skip-course", action="store_true", help="only the pipeline comparison")
    args = parser.parse_args()
    cu.setup("cpu", quiet=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")

    speeds = pipeline_ratio(args.images)
    (src_name, src), (course_name, course) = speeds.items()
    print("1. input pipeline, small CNN training, images/s")
    print(
        f"   {src:>8.0f}  {src_name}\n   {course:>8.0f}  {course_name}\n   ratio {course / src:.1f}x (goal >= 5x)\n"
    )
    if args.skip_course:
        print_utilization()
        return
    seconds, _ = course_cli("--profile", "smoke")
    print(f"2. whole course, --profile smoke: {seconds:.0f} s wall time\n")
    seconds, folder = course_cli("00", "--profile", "cpu")
    rss = json.loads((folder / "results" / "00_setup_tensors_devices.json").read_text())["metrics"][
        "peak_rss_mib"
    ]
    print(
        f"3. notebook 00 under cpu: {seconds:.0f} s, kernel peak RSS {rss:.0f} MiB (goal <= 2048 MiB)"
    )
    print("\n4. fast lane (benchmarks/fast_lane.py)", flush=True)
    subprocess.run([sys.executable, str(Path(__file__).with_name("fast_lane.py"))], check=True)
    print_utilization()


def print_utilization() -> None:
    print(
        f"\n5. utilization of the capstone CNN's training step (CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()})"
    )
    cu.table(utilization())


if __name__ == "__main__":
    main()
