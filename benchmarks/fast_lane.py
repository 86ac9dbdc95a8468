"""Fast lane: seconds from a cold start until the course's fastest recipe reaches 92% test accuracy
on Fashion-MNIST, beside the source notes' recipe's test accuracy after the same wall time.

Each recipe runs in a fresh Python process (imports, data loading and model building count), is
evaluated on the whole test set after every epoch, and reports the wall time of each evaluation
since the process was started. Evaluation time counts too.

- course: notebook 11's CapstoneCNN slimmed for speed (one conv of width 16 at 28x28, then
  64, 64, 128, 128: ``--widths 16,64,128 --convs 1,2,2``), bfloat16 autocast where it is faster,
  channels-last, AdamW with one-cycle over ``--epochs`` epochs, batch 128, label smoothing 0.1,
  no augmentation (too few epochs for it to pay).
- source: the same model, Adam at lr 1e-3, batch 32, plain cross-entropy, no schedule, trained
  until the course recipe's time is used up.

The slim model and batch 128 were chosen for speed: the full-size CapstoneCNN at batch 256
needs about 75 s for 3 epochs here. ``--widths 32,64,128 --convs 2,2,2 --batch 256`` runs it.

Run: ``python benchmarks/fast_lane.py`` (``make bench`` runs it). Prints one line starting with
``fast lane:``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

TARGET = 0.92


def bf16_is_faster(net_factory, ds, batch: int) -> bool:
    """Training images/s in float32 and in bfloat16 autocast over two steps after a warm-up one
    (``course_utils.speed.train_throughput``); True when bf16 wins."""
    from course_utils.data import normalize
    from course_utils.models import FastCPU
    from course_utils.speed import train_throughput

    one_batch = [(normalize(ds.train_x[:batch], ds.mean, ds.std), ds.train_y[:batch])]
    rate = {
        bf16: train_throughput(FastCPU(net_factory(), bf16=bf16), one_batch, 2 * batch)
        for bf16 in (False, True)
    }
    return rate[True]["images_per_s"] > rate[False]["images_per_s"]


def child(args: argparse.Namespace) -> None:
    """Train one recipe and print one JSON line per epoch: wall seconds since start, test acc."""
    import torch
    import torch.nn.functional as F

    import course_utils as cu
    from course_utils.models import CapstoneCNN, FastCPU

    started, seconds = args.started, args.seconds
    cu.setup("cpu", quiet=True)
    ds = cu.load_dataset("fashion_mnist")
    test = ds.loader(ds.test_x, ds.test_y, 1000)

    def new_net():
        torch.manual_seed(args.seed)
        return CapstoneCNN(ds.shape, ds.num_classes, widths=args.widths, convs=args.convs)

    if args.child == "course":
        net = FastCPU(new_net(), bf16=bf16_is_faster(new_net, ds, args.batch))
        batches = ds.loader(ds.train_x, ds.train_y, args.batch, shuffle=True, seed=args.seed)
        opt = torch.optim.AdamW(net.parameters(), lr=4e-3, weight_decay=0.05)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=4e-3, total_steps=args.epochs * len(batches)
        )
        loss_fn = lambda logits, y: F.cross_entropy(logits, y, label_smoothing=0.1)  # noqa: E731
    else:
        net = new_net()
        batches = ds.loader(ds.train_x, ds.train_y, 32, shuffle=True, seed=args.seed)
        opt, schedule, loss_fn = torch.optim.Adam(net.parameters(), lr=1e-3), None, None
    for epoch in range(1, args.epochs + 1):
        net.train()
        for xb, yb in batches:
            loss = (loss_fn or F.cross_entropy)(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if schedule is not None:
                schedule.step()
            if seconds is not None and time.time() - started > seconds:
                break
        acc = cu.evaluate(net, test)["acc"]
        print(
            json.dumps({"epoch": epoch, "seconds": time.time() - started, "acc": acc}), flush=True
        )
        if seconds is not None and time.time() - started > seconds:
            return


def run_child(recipe: str, args: argparse.Namespace, seconds: float | None = None) -> list[dict]:
    """A fresh interpreter running ``child``; returns its per-epoch records."""
    started = time.time()
    epochs = args.epochs if recipe == "course" else 1000
    argv = [sys.executable, __file__, "--child", recipe, "--epochs", str(epochs)]
    argv += ["--widths", ",".join(map(str, args.widths)), "--convs", ",".join(map(str, args.convs))]
    argv += ["--batch", str(args.batch), "--seed", str(args.seed), "--started", repr(started)]
    argv += ["--seconds", repr(seconds)] if seconds else []
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def int_list(text: str) -> tuple[int, ...]:
    """``"16,64,128"`` -> ``(16, 64, 128)``."""
    return tuple(int(part) for part in text.split(","))


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
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    course = run_child("course", args)
    reached = next((r for r in course if r["acc"] >= TARGET), None)
    budget = reached["seconds"] if reached else course[-1]["seconds"]
    source = run_child("source", args, seconds=budget)
    for name, records in (("course", course), ("source", source)):
        steps = ", ".join(f"{r['seconds']:.0f} s: {100 * r['acc']:.2f} %" for r in records)
        print(f"   {name}: {steps}")
    if reached:
        head = f"fast lane: {reached['seconds']:.0f} s to {100 * TARGET:.0f} % test accuracy"
    else:
        head = f"fast lane: {100 * TARGET:.0f} % not reached in {budget:.0f} s"
        head += f" (best {100 * max(r['acc'] for r in course):.2f} %)"
    print(
        f"{head} (goal <= 60 s); the source recipe after the same {budget:.0f} s: "
        f"{100 * source[-1]['acc']:.2f} %"
    )


if __name__ == "__main__":
    main()
