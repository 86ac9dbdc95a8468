"""Train one configuration from the command line, log it to TensorBoard, write its results JSON.

The script side of notebook 10 ("notebooks vs scripts"): the same training as the notebook, but
as a reproducible, reusable command with every choice on the command line::

    python -m course_utils.train_script --lr 3e-3 --epochs 5 --logdir runs/tb/lr3e-3 \\
        --results runs/tb/lr3e-3.json

Per epoch it logs ``loss/train``, ``loss/val``, ``accuracy/train``, ``accuracy/val`` and ``lr``
with ``torch.utils.tensorboard.SummaryWriter``, and at the end the hyperparameters with the final
validation metrics (TensorBoard's HPARAMS tab). ``tensorboard --logdir runs/tb`` shows them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.tensorboard import SummaryWriter

from .config import available_cores, seed_everything
from .data import load_dataset, stratified_subset, train_val_split
from .models import build_model
from .train import fit
from .validation import ParameterError, check_number


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m course_utils.train_script",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", choices=["mlp", "cnn"], default="cnn", help="model to train")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout before the last layers")
    p.add_argument("--smoothing", type=float, default=0.0, help="label smoothing of the loss")
    p.add_argument("--batch-size", type=int, default=128, help="training mini-batch size")
    p.add_argument("--epochs", type=int, default=5, help="training epochs")
    p.add_argument("--train-size", type=int, default=5000, help="training images (stratified)")
    p.add_argument("--val-size", type=int, default=2000, help="validation images (from train)")
    p.add_argument("--seed", type=int, default=0, help="data subset, initial weights, batches")
    p.add_argument("--dataset", default="fashion_mnist", help="fashion_mnist | mnist | cifar10")
    p.add_argument("--data-dir", default=None, help="folder with the dataset files")
    p.add_argument("--logdir", required=True, help="TensorBoard run folder (event files)")
    p.add_argument("--results", default=None, help="results JSON to write")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: cores)")
    return p


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad values before any data is loaded (argparse exits with status 2)."""
    checks = [
        ("lr", dict(low=0, low_open=True)),
        ("weight_decay", dict(low=0)),
        ("dropout", dict(low=0, high=1, high_open=True)),
        ("smoothing", dict(low=0, high=1, high_open=True)),
        ("batch_size", dict(low=1, integer=True)),
        ("epochs", dict(low=1, integer=True)),
        ("train_size", dict(low=10, integer=True)),
        ("val_size", dict(low=10, integer=True)),
        ("seed", dict(low=0, integer=True)),
    ]
    try:
        for name, kwargs in checks:
            check_number(name, getattr(args, name), **kwargs)
    except ParameterError as exc:
        build_parser().error(str(exc))


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train one configuration; returns the results (config, per-epoch history, metrics).

    Taught in notebook 10.
    """
    torch.set_num_threads(args.threads or available_cores())
    seed_everything(args.seed)
    ds = load_dataset(args.dataset, args.data_dir)
    n = args.train_size + args.val_size
    x, y = stratified_subset(ds.train_x, ds.train_y, n, seed=args.seed)
    train_x, train_y, val_x, val_y = train_val_split(x, y, args.val_size / n, seed=args.seed)
    train = ds.loader(train_x, train_y, args.batch_size, shuffle=True, seed=args.seed)
    val = ds.loader(val_x, val_y, 1000)
    torch.manual_seed(args.seed)
    model_name = {"mlp": "mlp", "cnn": "small_cnn"}[args.model]
    net = build_model(model_name, ds.shape, ds.num_classes, dropout=args.dropout)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    start = time.perf_counter()
    history = fit(
        net,
        train,
        val,
        epochs=args.epochs,
        optimizer=opt,
        loss_fn=lambda logits, t: F.cross_entropy(logits, t, label_smoothing=args.smoothing),
        progress=False,
    )
    seconds = time.perf_counter() - start
    writer = SummaryWriter(log_dir=args.logdir)
    for row in history.rows:
        writer.add_scalar("loss/train", row["train_loss"], row["epoch"])
        writer.add_scalar("loss/val", row["val_loss"], row["epoch"])
        writer.add_scalar("accuracy/train", row["train_acc"], row["epoch"])
        writer.add_scalar("accuracy/val", row["val_acc"], row["epoch"])
        writer.add_scalar("lr", row["lr"], row["epoch"])
    hparams = {
        k: getattr(args, k)
        for k in ("model", "lr", "weight_decay", "dropout", "smoothing", "batch_size", "epochs")
    }
    last = history.rows[-1]
    metrics = {
        "val_acc": last["val_acc"],
        "val_loss": last["val_loss"],
        "train_acc": last["train_acc"],
        "seconds": seconds,
    }
    writer.add_hparams(hparams, {f"hparam/{k}": v for k, v in metrics.items()}, run_name=".")
    writer.close()
    return {"config": vars(args), "history": history.rows, "metrics": metrics}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check_args(args)
    result = train(args)
    if args.results:
        path = Path(args.results)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2))
    m = result["metrics"]
    print(
        f"val_acc {m['val_acc']:.4f}  val_loss {m['val_loss']:.4f}  ({m['seconds']:.1f} s); "
        f"TensorBoard: tensorboard --logdir {args.logdir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
