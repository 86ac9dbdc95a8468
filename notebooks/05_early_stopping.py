# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 05 · Early stopping and checkpoints
#
# **You will learn**
# - why "stop at the first increase of the validation loss" is too eager, and what `patience` and
#   `min_delta` do;
# - how to keep the best model: a checkpoint written atomically whenever the validation loss improves,
#   loaded back with `torch.load(..., weights_only=True)`;
# - to find and fix the source notes' checkpoint bug (the best-loss threshold is never updated);
# - to test the source's result in kind: after training long enough to overfit, is the early-stopped
#   checkpoint at least as good on the test set as the model at the last epoch?
#
# **Prerequisites**: notebook 02 (training vs validation curves, the sweet spot).
#
# **Run time** on a 2-core laptop CPU: `smoke` ~15 s, `cpu` ~2-3 min.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # seeds python, numpy and torch
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
model: str | None = None  # small_cnn | resnet18; None = small_cnn (smoke, cpu), resnet18 (gpu, as in the source)
train_size: int | None = None  # images drawn (stratified) and split 60:40 into training/validation like the source's 30000/20000; None = profile default
epochs: int | None = None  # the "train long" budget; None = profile default (the source trained 51 epochs)
patience: int = 4  # epochs without improvement before early stopping (>= 1)
min_delta: float = 0.0  # a decrease of the validation loss smaller than this does not count as an improvement (>= 0)
batch_size: int | None = None  # training batch size; None = profile default (the source used 32)
lr: float = 1e-3  # Adam learning rate (as in the source)

# %%
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import course_utils as cu
from course_utils.exercises import check_equal
from course_utils.plots import plot_history
from course_utils.train import early_stopping_epoch, load_weights
from course_utils.validation import check_choice, check_number
from course_utils.widgets import panel, slider

cfg = cu.setup(profile, dataset, seed, results_path, data_dir)
model = check_choice("model", cfg.default(model, smoke="small_cnn", cpu="small_cnn", gpu="resnet18"), ("small_cnn", "resnet18"))
train_size = check_number("train_size", cfg.default(train_size, smoke=600, cpu=4000, gpu=50000), low=50, integer=True)
epochs = check_number("epochs", cfg.default(epochs, smoke=3, cpu=20, gpu=51), low=1, integer=True)
check_number("patience", patience, low=1, integer=True, hint="patience counts epochs without improvement; 1 stops at the first non-improving epoch")
check_number("min_delta", min_delta, low=0, hint="min_delta is a loss difference; 0 means any decrease counts")
batch_size = check_number("batch_size", cfg.default(batch_size, smoke=32, cpu=64, gpu=32), low=1, integer=True)
check_number("lr", lr, low=0, low_open=True)
ds = cu.load_dataset(cfg.dataset, cfg.data_dir)
x_all, y_all = cu.stratified_subset(ds.train_x, ds.train_y, train_size, seed=cfg.seed, name="train_size")
res = cu.Results("05_early_stopping", results_path, cfg.profile)
print(f"model={model} train_size={train_size} epochs={epochs} patience={patience} min_delta={min_delta} batch_size={batch_size} lr={lr}")

# %% [markdown]
# The two early-stopping hyperparameters are checked before any training: `patience` must be a whole
# number of epochs, at least 1, and `min_delta` a non-negative loss difference.

# %%
# NBVAL_CHECK_OUTPUT
for name, bad, rule in (("patience", 0, dict(low=1, integer=True)), ("patience", 2.5, dict(low=1, integer=True)), ("min_delta", -0.01, dict(low=0))):
    try:
        check_number(name, bad, **rule)
    except cu.ParameterError as err:
        print("refused:", err)

# %% [markdown]
# ## Train long enough to overfit, keeping the best checkpoint
# Like the source (30000 training / 20000 validation images of CIFAR-10's 50000), we hold out 40% of
# the drawn training images for validation, train for a fixed, generous number of epochs, and let
# `ModelCheckpoint` save the weights every time the validation loss reaches a new minimum. The file goes
# into a fresh temporary folder (never over a file of yours) and is written atomically: to a temporary
# file first, then renamed, so an interrupted save cannot leave a half-written checkpoint behind.

# %%
train_x, train_y, val_x, val_y = cu.train_val_split(x_all, y_all, 0.4, seed=cfg.seed)
test_x, test_y = ds.test_x, ds.test_y
if cfg.is_smoke:
    test_x, test_y = cu.stratified_subset(test_x, test_y, 2000, seed=cfg.seed)
val = ds.loader(val_x, val_y, 1024, device=cfg.device)
test = ds.loader(test_x, test_y, 1024, device=cfg.device)


def new_model() -> torch.nn.Module:
    """The lesson's model, freshly seeded (no dropout, so that it can overfit)."""
    torch.manual_seed(cfg.seed)
    kwargs = dict(batch_norm=True, dropout=0.0) if model == "small_cnn" else {}
    return cu.build_model(model, ds.shape, ds.num_classes, **kwargs).to(cfg.device)


def train_loader() -> cu.Batches:
    return ds.loader(train_x, train_y, batch_size, shuffle=True, seed=cfg.seed, device=cfg.device)


checkpoint_dir = Path(tempfile.mkdtemp(prefix="course05-"))
checkpoint = cu.ModelCheckpoint(checkpoint_dir / "best.pt", restore_best=False)
net = new_model()
history = cu.fit(net, train_loader(), val, epochs=epochs, lr=lr, callbacks=[checkpoint], desc="train long")
val_losses = history["val_loss"]
best_epoch = history.best_epoch
last = cu.evaluate(net, test)
load_weights(net, checkpoint.path)  # torch.load(..., weights_only=True): tensors only, no pickled code
best = cu.evaluate(net, test)
print(f"{len(train_y)} training / {len(val_y)} validation / {len(test_y)} test images, {epochs} epochs")
print(f"checkpoint saved at epochs {checkpoint.saved_epochs}")
print(f"best validation loss {min(val_losses):.4f} at epoch {best_epoch}; last epoch {val_losses[-1]:.4f}")
print(f"test accuracy at the last epoch ({epochs}): {last['acc']:.4f} | restored best checkpoint (epoch {best_epoch}): {best['acc']:.4f}")
plot_history(history, title=f"{model}: training long (best validation loss marked)");

# %% [markdown]
# Training loss keeps falling while the validation loss turns up after its minimum: the model starts to
# memorize the training images. The checkpoint kept the weights from the marked epoch.
#
# **Claim from the source:** ResNet-18 on CIFAR-10 reached 75.57% test accuracy when trained to the
# end (51 epochs) and 76.22% with the early-stopped checkpoint (best validation loss around epoch 6).
# We test the same statement in kind, on our data and budget: the restored checkpoint is at least as
# good on the test set as the last epoch.

# %%
res.claim(
    "The early-stopped (best validation loss) checkpoint is at least as good as training to the end",
    f"{model}, {epochs} epochs: test accuracy last epoch {last['acc']:.4f} vs best checkpoint (epoch {best_epoch}) {best['acc']:.4f} "
    f"({best['acc'] - last['acc']:+.4f}); test loss {last['loss']:.4f} vs {best['loss']:.4f}",
    cu.verdict(best["acc"] >= last["acc"]),
)
res.metric("test_acc_last", last["acc"])
res.metric("test_acc_best", best["acc"])
res.metric("test_loss_last", last["loss"])
res.metric("test_loss_best", best["loss"])
res.metric("best_epoch", best_epoch)
res.metric("best_val_loss", min(val_losses));

# %% [markdown]
# Accuracy and loss can disagree: after the minimum the model grows *over-confident* on the examples
# it gets wrong, which raises the test loss much faster than it lowers the accuracy. That is why the
# gap in test loss is usually far larger than the gap in accuracy (compare the two printed pairs).
#
# ## Early stopping: patience and min_delta
# The validation loss fluctuates from epoch to epoch, so stopping at the first increase can be
# premature. `EarlyStopping(patience, min_delta)` counts the epochs since the last *improvement*, where
# an improvement means a new value below `best - min_delta`, and stops when the count reaches
# `patience`. With `restore_best=True` the model gets back the weights of its best epoch.
#
# Because the rule only reads the sequence of validation losses, we can replay it on the recorded
# history without retraining: `early_stopping_epoch(val_losses, patience, min_delta)`.

# %%
stop_epoch, es_best_epoch = early_stopping_epoch(val_losses, patience, min_delta)
eager_stop, eager_best = early_stopping_epoch(val_losses, 1)
print(f"patience={patience}, min_delta={min_delta}: would stop after epoch {stop_epoch} (best epoch {es_best_epoch}), "
      f"saving {epochs - stop_epoch} of {epochs} epochs")
print(f"patience=1 (stop at the first non-improvement): stops after epoch {eager_stop}, best so far epoch {eager_best} "
      f"with validation loss {val_losses[eager_best - 1]:.4f}; overall best epoch {best_epoch} with {min(val_losses):.4f}")
res.claim(
    "Validation loss fluctuates, so stopping at the first increase is premature",
    f"patience 1 stops after epoch {eager_stop} keeping epoch {eager_best} (val loss {val_losses[eager_best - 1]:.4f}); "
    f"the lowest validation loss comes at epoch {best_epoch} ({min(val_losses):.4f})",
    cu.verdict(eager_best < best_epoch),
)
res.metric("stop_epoch", stop_epoch)
res.metric("epochs_saved", epochs - stop_epoch);

# %% [markdown]
# Now the real thing: the same model, the same seed and the same data, trained with the
# `EarlyStopping` callback. Training is deterministic here, so the real run must stop exactly where the
# replay said it would.

# %%
stopper = cu.EarlyStopping(patience=patience, min_delta=min_delta, restore_best=True)
net_es = new_model()
history_es = cu.fit(net_es, train_loader(), val, epochs=epochs, lr=lr, callbacks=[stopper], desc="early stopping")
es_test = cu.evaluate(net_es, test)
ran = len(history_es)
print(f"EarlyStopping ran {ran} epochs (replay predicted {stop_epoch}) and restored epoch {history_es.best_epoch} "
      f"(replay: {es_best_epoch}); test accuracy {es_test['acc']:.4f}")
print("replay matches the real run:", ran == stop_epoch and history_es.best_epoch == es_best_epoch)
res.metric("early_stopped_test_acc", es_test["acc"]);

# %% [markdown]
# ## The source notes' checkpoint bug
# The source saved its checkpoint like this (paraphrased):
#
# ```python
# best_loss = 1.0
# for epoch in range(epochs):
#     ...                                   # train, then compute val_loss
#     if val_loss < best_loss:
#         torch.save(model.state_dict(), "best.pt")
# ```
#
# `best_loss` is never updated. Every epoch whose validation loss is below 1.0 overwrites the file, so
# at the end it holds the *last* such epoch, not the best one. Replaying that rule on our recorded
# history shows which epochs it saves, and which epoch the file finally holds:

# %%
def buggy_saved_epochs(losses: list[float], best_loss: float = 1.0) -> list[int]:
    """Epochs (1-based) at which the source's rule writes the checkpoint."""
    saved = []
    for epoch, loss in enumerate(losses, start=1):
        if loss < best_loss:
            saved.append(epoch)  # torch.save(...) in the source; best_loss stays 1.0
    return saved


buggy = buggy_saved_epochs(val_losses)
print("buggy rule saves at epochs  :", buggy)
print("ModelCheckpoint saves at    :", checkpoint.saved_epochs)
if buggy:
    held = buggy[-1]
    print(f"the buggy file ends up holding epoch {held} (validation loss {val_losses[held - 1]:.4f}); "
          f"the best epoch is {best_epoch} ({min(val_losses):.4f})")
    if held == epochs:
        print(f"that is the last epoch, so 'restoring' it gives the last-epoch test accuracy {last['acc']:.4f}, not {best['acc']:.4f}")
    res.metric("buggy_checkpoint_epoch", held)

# %% [markdown]
# **Exercise 1: fix it.** Write `fixed_saved_epochs(losses, best_loss)` that saves only when the loss
# beats the best seen so far, and then *updates* the best. With `best_loss=inf` it must save at exactly
# the epochs where `ModelCheckpoint` saved.

# %%
def fixed_saved_epochs(losses: list[float], best_loss: float = 1.0) -> list[int] | None:
    return None  # your code


def check_fix(fn) -> bool:
    ok = check_equal("exercise 1: a hand-made history", fn([1.2, 0.9, 0.95, 0.8, 0.85, 0.7], 1.0), [2, 4, 6],
                     hint="save when loss < best_loss, then set best_loss = loss")
    return check_equal("exercise 1: the recorded history (same as ModelCheckpoint)", fn(val_losses, float("inf")),
                       checkpoint.saved_epochs) and ok


check_fix(fixed_saved_epochs);

# %% tags=["solution"] jupyter={"source_hidden": true}
def fixed_saved_epochs(losses: list[float], best_loss: float = 1.0) -> list[int]:
    saved = []
    for epoch, loss in enumerate(losses, start=1):
        if loss < best_loss:
            best_loss = loss  # the missing line
            saved.append(epoch)
    return saved


check_fix(fixed_saved_epochs);

# %% [markdown]
# ## Try it
# Move `patience` and `min_delta`: the stopping epoch and the restored (best) epoch are recomputed from
# the recorded validation losses, without retraining. Larger `patience` waits longer (safer, costs
# epochs); a positive `min_delta` ignores tiny improvements, so noise cannot keep training alive.

# %%
def show_early_stopping(patience: int = 4, min_delta: float = 0.0) -> tuple[int, int]:
    """Replay early stopping on the recorded validation losses and draw where it stops."""
    stop, best_at = early_stopping_epoch(val_losses, patience, min_delta)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    xs = np.arange(1, len(val_losses) + 1)
    ax.plot(xs, val_losses, "o-", label="validation loss")
    ax.plot(xs, history["train_loss"], ".-", alpha=0.5, label="training loss")
    ax.axvline(best_at, color="tab:green", ls="--", label=f"restored: epoch {best_at}")
    ax.axvline(stop, color="tab:red", ls="-", label=f"stops after epoch {stop}")
    if stop < len(val_losses):
        ax.axvspan(stop + 0.5, len(val_losses) + 0.5, color="gray", alpha=0.15, label="epochs not trained")
    ax.set(xlabel="epoch", ylabel="loss", title=f"patience={patience}, min_delta={min_delta:g}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    print(f"patience={patience}, min_delta={min_delta:g}: stop after epoch {stop} of {len(val_losses)}, "
          f"restore epoch {best_at} (validation loss {val_losses[best_at - 1]:.4f})")
    return stop, best_at


show_early_stopping(patience=patience, min_delta=min_delta);

# %%
stopping_panel = panel(
    show_early_stopping, live=True, title="Early stopping on the recorded history",
    patience=slider("patience", patience, 1, max(2, epochs), integer=True),
    min_delta=slider("min_delta", min_delta, 0.0, 0.05, 0.001),
)
stopping_panel

# %% [markdown]
# **Exercise 2.** Using `early_stopping_epoch`, find the smallest `patience` (with `min_delta=0`) for
# which early stopping restores the epoch with the lowest validation loss of the whole recorded run.

# %%
smallest_patience = None  # your answer (an int)


def check_patience(answer) -> bool:
    target = int(np.argmin(val_losses)) + 1
    expected = next(p for p in range(1, len(val_losses) + 1) if early_stopping_epoch(val_losses, p)[1] == target)
    return check_equal("exercise 2: smallest patience that finds the best epoch", answer, expected,
                       hint="loop over patience = 1, 2, ... and compare the returned best epoch with the argmin")


check_patience(smallest_patience);

# %% tags=["solution"] jupyter={"source_hidden": true}
lowest = int(np.argmin(val_losses)) + 1
smallest_patience = next(p for p in range(1, len(val_losses) + 1) if early_stopping_epoch(val_losses, p)[1] == lowest)
print("smallest patience:", smallest_patience)
check_patience(smallest_patience);

# %% [markdown]
# ## Summary
# - Keep the best weights, not the last: a checkpoint written atomically when the validation loss
#   improves, loaded with `weights_only=True`. The claim's verdict above compares the two on the test set.
# - `patience` protects against noisy validation curves; `min_delta` against tiny improvements.
#   The stopping rule only needs the recorded validation losses, so you can tune it without retraining.
# - A checkpoint rule must update its threshold; otherwise it silently keeps the last epoch.

# %%
shutil.rmtree(checkpoint_dir, ignore_errors=True)  # the temporary checkpoint folder
res.metric("epochs", epochs)
res.metric("seconds_per_epoch", float(np.mean(history["time"])))
res.save();
