"""Fast lane: seconds from a cold start until the course's fastest recipe reaches 92 % and 93 % test
accuracy on Fashion-MNIST, beside the source notes' recipe's test accuracy after the same times.

Each recipe runs in a fresh Python process (imports, data loading, the speed check and model
building count). Times are wall seconds since the process was started; evaluation time counts.

- course: notebook 11's CapstoneCNN slimmed for speed (one conv of width 16 at 28x28, then
  64, 64, 128, 128: ``--widths 16,64,128 --convs 1,2,2``), run the fastest way measured on this
  machine (``course_utils.speed.choose_cpu_setup``: float32 or bfloat16 autocast, with or without
  channels-last), AdamW with one-cycle over ``--epochs`` epochs, batch 128, label smoothing 0.1,
  no augmentation (too few epochs for it to pay). The whole test set is evaluated after every
  epoch; the first evaluation at or above each target gives its time.
- source: the same model, Adam at lr 1e-3, batch 32, plain cross-entropy, no schedule; evaluated
  as soon as it passes each of the course's times, and stopped after the last one.

The slim model and batch 128 were chosen for speed; ``--widths 32,64,128 --convs 2,2,2 --batch
256`` runs the full-size CapstoneCNN. Goal: 92 % within 30 s where bfloat16 wins the speed check
(bfloat16 hardware), within 90 s otherwise (AVX2 CPUs, most laptops).

Run: ``python benchmarks/fast_lane.py`` (``make bench`` runs it). Prints the speed check, every
evaluation of both recipes as a time-accuracy frontier, then one line starting with ``fast lane:``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

TARGETS = (0.92, 0.93)
GOAL_SECONDS = {"bfloat16 hardware": 30, "no bfloat16 hardware": 90}


def course_net(net_factory, ds, batch: int):
    """``net_factory()`` wrapped by ``FastCPU`` the fastest way on this machine; prints the check."""
    # torch and course_utils are imported in the children only: the parent just launches them
    import torch

    from course_utils.data import normalize
    from course_utils.models import FastCPU
    from course_utils.speed import CPU_SETUPS, choose_cpu_setup

    xb, yb = normalize(ds.train_x[:batch], ds.mean, ds.std), ds.train_y[:batch]
    choice = choose_cpu_setup(net_factory, xb, yb, repeats=3, steps=2)
    machine = f"{torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads"
    print(json.dumps({"speed_check": str(choice), "best": choice.best, "machine": machine}))
    return FastCPU(net_factory(), **CPU_SETUPS[choice.best])


def child(args: argparse.Namespace) -> None:
    """Train one recipe; print one JSON line per evaluation: wall seconds since start, test acc.

    The course recipe is evaluated after every epoch; the source recipe when it passes each time
    in ``args.at``, and it stops after the last one.
    """
    import torch
    import torch.nn.functional as F

    import course_utils as cu
    from course_utils.models import CapstoneCNN

    cu.setup("cpu", quiet=True)
    ds = cu.load_dataset("fashion_mnist")
    test = ds.loader(ds.test_x, ds.test_y, 1000)

    def new_net():
        torch.manual_seed(args.seed)
        return CapstoneCNN(ds.shape, ds.num_classes, widths=args.widths, convs=args.convs)

    def report(epoch: int) -> None:
        acc = cu.evaluate(net, test)["acc"]
        elapsed = time.time() - args.started
        print(json.dumps({"epoch": epoch, "seconds": elapsed, "acc": acc}), flush=True)

    if args.child == "course":
        net = course_net(new_net, ds, args.batch)
        batches = ds.loader(ds.train_x, ds.train_y, args.batch, shuffle=True, seed=args.seed)
        opt = torch.optim.AdamW(net.parameters(), lr=4e-3, weight_decay=0.05)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=4e-3, total_steps=args.epochs * len(batches)
        )
        loss_fn = lambda logits, y: F.cross_entropy(logits, y, label_smoothing=0.1)  # noqa: E731
    else:
        net = new_net()
        batches = ds.loader(ds.train_x, ds.train_y, 32, shuffle=True, seed=args.seed)
        opt, schedule, loss_fn = torch.optim.Adam(net.parameters(), lr=1e-3), None, F.cross_entropy
    checkpoints = list(args.at or ())
    for epoch in range(1, args.epochs + 1):
        net.train()
        for xb, yb in batches:
            loss = loss_fn(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if schedule is not None:
                schedule.step()
            if checkpoints and time.time() - args.started >= checkpoints[0]:
                report(epoch)
                checkpoints = [t for t in checkpoints if t > time.time() - args.started]
                if not checkpoints:
                    return
        if args.at is None:
            report(epoch)


def run_child(recipe: str, args: argparse.Namespace, at: list[float] | None = None) -> list[dict]:
    """A fresh interpreter running ``child``; returns the JSON lines it printed."""
    started = time.time()
    epochs = args.epochs if recipe == "course" else 1000
    argv = [sys.executable, __file__, "--child", recipe, "--epochs", str(epochs)]
    argv += ["--widths", ",".join(map(str, args.widths)), "--convs", ",".join(map(str, args.convs))]
    argv += ["--batch", str(args.batch), "--seed", str(args.seed), "--started", repr(started)]
    argv += ["--at", ",".join(map(repr, at))] if at else []
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def cpu_name() -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``; elsewhere what ``platform`` knows)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def float_list(text: str) -> list[float]:
    """``"12.5,30"`` -> ``[12.5, 30.0]``."""
    return [float(part) for part in text.split(",")]


def int_list(text: str) -> tuple[int, ...]:
    """``"16,64,128"`` -> ``(16, 64, 128)``."""
    return tuple(int(part) for part in text.split(","))


def first_times(evals: list[dict]) -> dict[float, float | None]:
    """Each target -> seconds of the first evaluation at or above it (None: not reached)."""
    return {t: next((r["seconds"] for r in evals if r["acc"] >= t), None) for t in TARGETS}


def summary(evals: list[dict], source: list[dict], best: str) -> str:
    """The ``fast lane:`` line: time to each target and the source recipe's accuracy then."""
    hardware = "bfloat16 hardware" if best.startswith("bfloat16") else "no bfloat16 hardware"
    end = evals[-1]["seconds"]
    parts = []
    for target, seconds in first_times(evals).items():
        goal = f"{100 * target:.0f} %"
        parts.append(
            f"{seconds:.0f} s to {goal}" if seconds else f"{goal} not reached in {end:.0f} s"
        )
    then = ", ".join(f"after {r['seconds']:.0f} s {100 * r['acc']:.2f} %" for r in source)
    return (
        f"fast lane: {'; '.join(parts)} (best {100 * max(r['acc'] for r in evals):.2f} %; goal "
        f"<= {GOAL_SECONDS[hardware]} s to 92 % with {hardware}); the source recipe {then}"
    )


def frontier(evals: list[dict], source: list[dict]) -> str:
    """Every evaluation of both recipes by seconds; ``*`` marks the time-accuracy frontier (no
    earlier evaluation of either recipe was as accurate)."""
    points = sorted(
        [(r["seconds"], r["acc"], "course") for r in evals]
        + [(r["seconds"], r["acc"], "source") for r in source]
    )
    lines, best = [], -1.0
    for seconds, acc, recipe in points:
        mark = " *" if acc > best else ""
        best = max(best, acc)
        lines.append(f"   {seconds:5.0f} s  {recipe}  {100 * acc:.2f} %{mark}")
    return "time-accuracy frontier (test accuracy, seconds from a cold start; * on it):\n" + (
        "\n".join(lines)
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=3, help="one-cycle length of the course run")
    parser.add_argument("--widths", type=int_list, default=(16, 64, 128), help="stage widths")
    parser.add_argument("--convs", type=int_list, default=(1, 2, 2), help="convs in each stage")
    parser.add_argument("--batch", type=int, default=128, help="the course recipe's batch size")
    parser.add_argument("--seed", type=int, default=0, help="initial weights and batch order")
    parser.add_argument("--child", choices=("course", "source"), help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--at", type=float_list, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    course = run_child("course", args)
    check = next(r for r in course if "speed_check" in r)
    evals = [r for r in course if "acc" in r]
    at = sorted(s for s in first_times(evals).values() if s) or [evals[-1]["seconds"]]
    source = run_child("source", args, at=at)
    print(f"{cpu_name()}, {check['machine']}")
    print("speed check, training images/s:\n   " + check["speed_check"].replace("\n", "\n   "))
    for name, records in (("course", evals), ("source", source)):
        steps = ", ".join(f"{r['seconds']:.0f} s: {100 * r['acc']:.2f} %" for r in records)
        print(f"   {name}: {steps}")
    print(frontier(evals, source))
    print(summary(evals, source, check["best"]))


if __name__ == "__main__":
    main()
