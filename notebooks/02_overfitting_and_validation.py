# %% [markdown]
# # 02 · Overfitting and validation
#
# A network that is big enough can memorise its training set. It then keeps getting better on
# the examples it has seen while getting *worse* on new ones. This lecture makes that happen on
# purpose, and shows how to see it coming with a validation split.
#
# **You will learn to**
# - make a model overfit (small training set, wide network, no regularization, many epochs) and
#   read the training-vs-validation curves, with the *sweet spot* (lowest validation loss) marked;
# - hold out a **stratified 8:2** validation split and check that both parts keep the class shares;
# - see why the **test set must not be used for choices**: picking an epoch by test accuracy makes
#   that accuracy look better than it is on fresh data;
# - evaluate correctly: `model.eval()` + `torch.no_grad()` / `torch.inference_mode()`, then back to
#   `model.train()`, and see a dropout layer behave differently in the two modes.
#
# **Prerequisites:** notebook 01 (training loop, Adam).
#
# **Expected run time:** smoke profile ≈ 15 s, cpu profile ≈ 1–2 min on a 2-core laptop,
# gpu profile ≈ 1 min.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # seeds python, numpy and torch
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
train_size: int | None = None  # examples the model trains on (drawn stratified from the 80% part); None = profile default
width: int | None = None  # units in each of the MLP's two hidden layers; None = profile default
epochs: int | None = None  # training epochs (enough to overfit); None = profile default
lr: float = 1e-3  # Adam learning rate
batch_size: int = 64  # training mini-batch size
val_fraction: float = 0.2  # share of the training data held out for validation (0.2 = 8:2)
val_size: int | None = None  # validation examples evaluated each epoch (a stratified sample of the held-out part); None = profile default

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from course_utils import setup
from course_utils.config import describe_parameters
from course_utils.data import load_dataset, stratified_subset, train_val_split
from course_utils.exercises import check_equal, check_true
from course_utils.models import build_model, count_parameters
from course_utils.plots import plot_history
from course_utils.regularization import check_subset_size, check_training, false_alarms, selection_optimism
from course_utils.results import Results, verdict
from course_utils.train import Callback, evaluate, fit, predict_logits
from course_utils.validation import check_number, check_positive
from course_utils.widgets import panel, slider

cfg = setup(profile, dataset, seed, results_path, data_dir)
train_size = cfg.default(train_size, smoke=300, cpu=1000, gpu=2000)
width = cfg.default(width, smoke=128, cpu=512, gpu=1024)
epochs = cfg.default(epochs, smoke=4, cpu=30, gpu=60)
val_size = cfg.default(val_size, smoke=1000, cpu=5000, gpu=12000)
test_size = cfg.pick(smoke=2000, cpu=10000, gpu=10000)

# Every hyperparameter is checked before any data is split or any model trained.
check_training(width=width, epochs=epochs, lr=lr, batch_size=batch_size)
check_number("val_fraction", val_fraction, low=0, high=1, low_open=True, high_open=True, hint="0.2 gives the usual 8:2 split")
ds = load_dataset(cfg.dataset, cfg.data_dir)
n_val_part = round(len(ds.train_y) * val_fraction)
check_subset_size("train_size", train_size, len(ds.train_y) - n_val_part, minimum=ds.num_classes)
check_subset_size("val_size", val_size, n_val_part, minimum=ds.num_classes)
print(describe_parameters(train_size=train_size, width=width, epochs=epochs, lr=lr, batch_size=batch_size,
                          val_fraction=val_fraction, val_size=val_size))
res = Results("02_overfitting_and_validation", cfg.results_path, cfg.profile)

# %% [markdown]
# ## 1. Three kinds of data: training, validation, test
#
# - **Training** data: the model's weights are fitted to it.
# - **Validation** data: held out *from the training data* and used for every decision we make —
#   when to stop, which width, which learning rate. A typical split is train:validation = 8:2
#   (one of the source notes used 30 000 / 20 000 of CIFAR-10's 50 000).
# - **Test** data: looked at once, at the very end, to report how well the final choice works.
#
# A **stratified** split keeps every class's share the same in both parts. With ten balanced
# classes a random split is already close, but on small or unbalanced data it can be visibly off.
# The cell below splits the full training set 8:2 and compares the class shares.

# %%
# NBVAL_CHECK_OUTPUT
def class_shares(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Share of each class in a label vector."""
    return torch.bincount(y, minlength=num_classes).double() / len(y)


tr_x, tr_y, va_x, va_y = train_val_split(ds.train_x, ds.train_y, val_fraction, seed=cfg.seed)
_, plain_tr_y, _, plain_va_y = train_val_split(ds.train_x, ds.train_y, val_fraction, seed=cfg.seed, stratify=False)
print(f"split of {len(ds.train_y)} training images: {len(tr_y)} train / {len(va_y)} validation")
print(f"{'class':<12} {'train share':>11} {'val share':>10}")
for c, (a, b) in enumerate(zip(class_shares(tr_y, ds.num_classes), class_shares(va_y, ds.num_classes))):
    print(f"{ds.classes[c]:<12} {a:>11.4f} {b:>10.4f}")
strat_diff = (class_shares(tr_y, ds.num_classes) - class_shares(va_y, ds.num_classes)).abs().max().item()
plain_diff = (class_shares(plain_tr_y, ds.num_classes) - class_shares(plain_va_y, ds.num_classes)).abs().max().item()
print(f"largest class-share difference: stratified {strat_diff:.5f}, plain random split {plain_diff:.5f}")
print("class shares match (stratified, within 1e-3):", strat_diff < 1e-3)

# %% [markdown]
# The training run below uses a small **stratified subset** of the 80% part (few examples make
# memorising easy) and evaluates each epoch on a stratified sample of the 20% part. The test set
# stays untouched until section 4.

# %%
sub_x, sub_y = stratified_subset(tr_x, tr_y, train_size, seed=cfg.seed, name="train_size")
val_x, val_y = stratified_subset(va_x, va_y, val_size, seed=cfg.seed, name="val_size")
test_x, test_y = stratified_subset(ds.test_x, ds.test_y, test_size, seed=cfg.seed, name="test_size")
print(f"training subset: {len(sub_y)} images, validation sample: {len(val_y)}, test: {len(test_y)}")
print("training subset class counts:", torch.bincount(sub_y, minlength=ds.num_classes).tolist())
train_loader = ds.loader(sub_x, sub_y, batch_size, shuffle=True, seed=cfg.seed, device=cfg.device)
val_loader = ds.loader(val_x, val_y, 2048, device=cfg.device)  # no gradients: big batches are fine
test_loader = ds.loader(test_x, test_y, 2048, device=cfg.device)

# %% [markdown]
# ## 2. Overfitting on purpose
#
# Recipe for overfitting: a **small training set**, a **wide model** (an MLP with two wide hidden
# layers has hundreds of thousands of weights for a few hundred or thousand images), **no
# regularization** and **many epochs**. We train with Adam and record, after every epoch, the
# loss and accuracy on the training data and on the validation data.
#
# A small callback also records which test images the model gets right after every epoch. We do
# **not** look at it to make any decision here; section 4 uses it to show what would go wrong if
# we did.

# %%
class TestCorrectness(Callback):
    """After every epoch, store which test examples the model classifies correctly."""

    def __init__(self, loader) -> None:
        self.loader, self.rows = loader, []

    def on_epoch_end(self, epoch, logs, model) -> bool:
        self.rows.append(predict_logits(model, self.loader).argmax(1) == test_y)
        return False


torch.manual_seed(cfg.seed)
model = build_model("mlp", ds.shape, ds.num_classes, hidden=(width, width)).to(cfg.device)
print(f"MLP with two hidden layers of {width}: {count_parameters(model):,} weights for {len(sub_y)} training images")
recorder = TestCorrectness(test_loader)
start = time.perf_counter()
history = fit(model, train_loader, val_loader, epochs=epochs, optimizer=torch.optim.Adam(model.parameters(), lr=lr),
              callbacks=[recorder], progress=False)
train_seconds = time.perf_counter() - start
print(f"trained {epochs} epochs in {train_seconds:.1f} s")
best = history.best("val_loss")
last = history.last
print(f"{'epoch':>5} {'train loss':>10} {'val loss':>9} {'train acc':>9} {'val acc':>8}")
for row in history.rows:
    mark = "  <- lowest validation loss (sweet spot)" if row["epoch"] == best["epoch"] else ""
    print(f"{row['epoch']:>5} {row['train_loss']:>10.4f} {row['val_loss']:>9.4f} {row['train_acc']:>9.3f} {row['val_acc']:>8.3f}{mark}")
plot_history(history, title=f"MLP {width}x{width} on {len(sub_y)} images: training vs validation");

# %% [markdown]
# **Reading the curves.** The training loss goes down nearly all the time: the model fits the
# training images better and better. The validation loss goes down at first (the model learns
# things that hold for all images), reaches its lowest point — the **sweet spot**, marked by the
# dashed line — and then climbs again while the training loss keeps falling: from there on the
# model is learning the training set's noise. The printed table gives the exact epoch and values.
# Validation *accuracy* usually degrades much more slowly than validation loss: the model stays
# right about as often, but becomes over-confident when it is wrong.
#
# We test the two claims of the source notes on this run.

# %%
after = [r for r in history.rows if r["epoch"] > best["epoch"]]
train_falls = last["train_loss"] < best["train_loss"]
val_rises = last["val_loss"] > best["val_loss"] * 1.05
res.claim(
    "After the sweet spot the training loss keeps falling while the validation loss rises",
    f"sweet spot at epoch {best['epoch']} of {epochs}: train loss {best['train_loss']:.4f} -> {last['train_loss']:.4f}, "
    f"val loss {best['val_loss']:.4f} -> {last['val_loss']:.4f} at the last epoch",
    verdict(train_falls and val_rises) if after else "inconclusive",  # no epochs after the sweet spot: cannot tell
)
alarms = false_alarms(history["val_loss"])
res.claim(
    "Validation loss fluctuates (so do not stop at its first increase)",
    f"{len(alarms)} epoch(s) where validation loss rose yet later fell below its previous value: {alarms}; "
    f"first rise at epoch {next((e for e in range(2, epochs + 1) if history['val_loss'][e - 1] > history['val_loss'][e - 2]), None)}, "
    f"lowest at epoch {best['epoch']}",
    verdict(len(alarms) > 0) if epochs >= 5 else "inconclusive",  # too few epochs to see wiggles
)

# %% [markdown]
# If the verdict on fluctuation says *refuted*, this particular curve went down smoothly to its
# minimum; it still wiggles after it. Early stopping (notebook 05) therefore waits for `patience`
# epochs without improvement instead of stopping at the first rise.
#
# ## 3. Evaluating correctly: `eval()`, `no_grad()`, then `train()` again
#
# Two switches matter when a model is evaluated:
#
# - `model.eval()` changes how some **layers** behave: dropout stops dropping units, batch norm
#   uses its running statistics instead of the batch's. `model.train()` switches them back.
#   It changes nothing about gradients.
# - `torch.no_grad()` (or the stricter, faster `torch.inference_mode()`) stops **autograd** from
#   recording the operations: less memory, faster — and the validation batch can be as large as
#   memory allows. It changes nothing about layers.
#
# You need both, and you must return to `train()` before training continues. The demonstration
# uses a small MLP with a dropout layer.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(cfg.seed)
demo = build_model("mlp", ds.shape, ds.num_classes, hidden=(64,), dropout=0.5)
xb = next(iter(ds.loader(val_x[:8], val_y[:8], 8)))[0]
print("fresh model, model.training =", demo.training)
print("train mode: two passes over the same batch agree?", torch.equal(demo(xb), demo(xb)), "(dropout draws new masks)")
demo.eval()
print("after eval(): model.training =", demo.training)
print("eval mode : two passes over the same batch agree?", torch.equal(demo(xb), demo(xb)))
out = demo(xb)
print("eval mode without no_grad: output requires grad?", out.requires_grad)
with torch.no_grad():
    out = demo(xb)
print("inside no_grad            : output requires grad?", out.requires_grad)
with torch.inference_mode():
    out = demo(xb)
print("inside inference_mode     : output is an inference tensor?", out.is_inference())
demo.train()
print("after train(): model.training =", demo.training)

# %% [markdown]
# `course_utils.train.evaluate` does all of this for you: it remembers the mode, switches to
# `eval()`, runs under `inference_mode()`, and restores the mode even if an error happens. Batch
# size does not change the result of an evaluation — only its speed and memory:

# %%
# NBVAL_CHECK_OUTPUT
was = demo.training
small = evaluate(demo, ds.loader(val_x[:1000], val_y[:1000], 50))
large = evaluate(demo, ds.loader(val_x[:1000], val_y[:1000], 1000))
print("mode restored after evaluate:", demo.training == was)
print("same loss with batch 50 and batch 1000 (within 1e-5):", abs(small["loss"] - large["loss"]) < 1e-5)
print("same accuracy:", small["acc"] == large["acc"])

# %% [markdown]
# ## 4. Why the test set must not be used for choices
#
# Suppose we had picked the "best epoch" by looking at **test** accuracy. The chosen epoch is the
# one that happened to do best *on those particular test images* — partly by real quality, partly
# by luck. Its test accuracy therefore overstates how it does on new images.
#
# We can measure this because we recorded which test images were right after each epoch. Many
# times over, we split the test set at random into a *selection* part (used to pick the epoch)
# and a *fresh* part (never used for the choice), and compare the picked epoch's accuracy on the
# two. The honest route — pick the epoch by validation loss, then report test accuracy once — is
# shown beside it.

# %%
correct = torch.stack(recorder.rows)  # (epochs, test examples)
selection_size = len(test_y) // 5
optimism = selection_optimism(correct, selection_size, repeats=300, seed=cfg.seed)
test_acc = correct.float().mean(1)
honest_epoch = best["epoch"]
print(f"selection part {selection_size} test images, fresh part {len(test_y) - selection_size}, {correct.shape[0]} candidate epochs")
print(f"picked by test accuracy: selection accuracy is on average {100 * optimism['mean']:+.2f} points above the fresh accuracy "
      f"(std {100 * optimism['std']:.2f}, positive in {100 * optimism['share_positive']:.0f}% of 300 splits)")
acc_epoch = int(np.argmax(history["val_acc"])) + 1
print(f"honest route: epoch {honest_epoch} picked by validation loss -> test accuracy {test_acc[honest_epoch - 1]:.4f}")
print(f"honest route: epoch {acc_epoch} picked by validation accuracy -> test accuracy {test_acc[acc_epoch - 1]:.4f}")
print(f"best single test accuracy over all epochs (what test-set picking would report): {test_acc.max():.4f} at epoch {int(test_acc.argmax()) + 1}")
res.claim(
    "Choosing with the test set makes its accuracy an optimistic estimate",
    f"picking the epoch on {selection_size} test images overstates accuracy on the other "
    f"{len(test_y) - selection_size} by {100 * optimism['mean']:+.2f} points on average "
    f"(positive in {100 * optimism['share_positive']:.0f}% of random splits)",
    verdict(optimism["mean"] > 0 and optimism["share_positive"] > 0.5),
)

# %% [markdown]
# Picking by validation *loss* and by validation *accuracy* can point at different epochs: after
# the sweet spot the loss grows because the model becomes over-confident on the images it gets
# wrong, while the share it gets right may still creep up. Either is a legitimate choice as long
# as it is made on validation data; the test accuracy printed next to it is then an honest
# estimate for that choice, which the test-picked maximum is not.
#
# The bias grows with the number of choices made on the same data (every epoch, width and
# learning rate you try is one more "candidate") and with how small that data is. With the
# validation split doing the choosing, the test set stays an unbiased, one-time measurement.
#
# ## 5. Try it: training-set size and width
#
# The function below trains a fresh MLP and draws both curves. More training data makes
# memorising harder and pushes the sweet spot later; a wider model memorises faster. Each run
# takes a few seconds (training happens only when you press **Run**).

# %%
def overfit_demo(train_size: int = 500, width: int = 256, demo_epochs: int = cfg.pick(3, 12, 20)) -> dict:
    """Train an MLP(width, width) on ``train_size`` images; plot the curves, return the sweet spot."""
    check_subset_size("train_size", train_size, len(tr_y), minimum=ds.num_classes)
    check_positive("width", width, integer=True)
    check_positive("demo_epochs", demo_epochs, integer=True)
    x, y = stratified_subset(tr_x, tr_y, train_size, seed=cfg.seed, name="train_size")
    torch.manual_seed(cfg.seed)
    net = build_model("mlp", ds.shape, ds.num_classes, hidden=(width, width)).to(cfg.device)
    h = fit(net, ds.loader(x, y, batch_size, shuffle=True, seed=cfg.seed, device=cfg.device), val_loader,
            epochs=demo_epochs, lr=lr, progress=False)
    plot_history(h, title=f"{train_size} training images, width {width}")
    b = h.best("val_loss")
    print(f"sweet spot: epoch {b['epoch']} (val loss {b['val_loss']:.4f}); last epoch: train loss "
          f"{h.last['train_loss']:.4f}, val loss {h.last['val_loss']:.4f}, gap in accuracy "
          f"{h.last['train_acc'] - h.last['val_acc']:+.3f}")
    return {"best_epoch": b["epoch"], "last": h.last}


demo_result = overfit_demo(cfg.pick(200, 500, 500), cfg.pick(64, 256, 256))

# %%
try_it = panel(
    overfit_demo, live=False, title="Overfitting: training-set size and width",
    train_size=slider("training images", 500, 100, 5000, 100, integer=True),
    width=slider("hidden width", 256, 16, 1024, 16, integer=True),
)
try_it

# %% [markdown]
# ## 6. Exercises
#
# **Exercise 1.** Write `sweet_spot(val_losses)` that returns the (1-based) epoch with the lowest
# validation loss.

# %%
def sweet_spot(val_losses: list[float]) -> int | None:
    # YOUR CODE HERE
    return None


check_equal("sweet_spot on this notebook's run", sweet_spot(history["val_loss"]), best["epoch"],
            hint="index of the minimum, plus one");

# %% tags=["solution"] jupyter={"source_hidden": true}
def sweet_spot(val_losses: list[float]) -> int | None:
    return int(np.argmin(val_losses)) + 1


check_equal("sweet_spot on this notebook's run", sweet_spot(history["val_loss"]), best["epoch"],
            hint="index of the minimum, plus one");

# %% [markdown]
# **Exercise 2.** Write `accuracy_of(model, x, y)` that returns the accuracy of `model` on
# normalized images `x` with labels `y`: evaluate in `eval()` mode without building a graph, and
# leave the model in the mode it was in.

# %%
def accuracy_of(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float | None:
    # YOUR CODE HERE
    return None


def check_accuracy_of(fn) -> bool:
    xs, ys = next(iter(ds.loader(val_x[:500], val_y[:500], 500)))
    torch.manual_seed(cfg.seed)
    net = build_model("mlp", ds.shape, ds.num_classes, hidden=(32,), dropout=0.5)
    answer = fn(net, xs, ys)
    expected = evaluate(net, [(xs, ys)])["acc"]
    return check_true(
        "accuracy_of", answer is not None and abs(answer - expected) < 1e-9 and net.training,
        f"got {answer!r}, expected {expected:.4f} with the model back in train mode (training={net.training}); "
        "use net.eval(), torch.no_grad() and net.train(was_training)",
    )


check_accuracy_of(accuracy_of);

# %% tags=["solution"] jupyter={"source_hidden": true}
def accuracy_of(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float | None:
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            return (net(x).argmax(1) == y).float().mean().item()
    finally:
        net.train(was_training)


check_accuracy_of(accuracy_of);

# %% [markdown]
# ## Summary
#
# - Overfitting shows as a **widening gap**: training loss keeps falling while validation loss
#   turns around at the sweet spot. Small data, a big model, no regularization and long training
#   make it happen; the next notebooks fight it.
# - Hold out a **stratified** validation split (8:2) from the training data and make every choice
#   with it; the test set is for one final, unbiased report.
# - Evaluate with `model.eval()` and `torch.no_grad()` / `torch.inference_mode()`, and go back to
#   `model.train()` afterwards.

# %%
res.metric("train_size", train_size)
res.metric("width", width)
res.metric("epochs", epochs)
res.metric("sweet_spot_epoch", best["epoch"])
res.metric("best_val_loss", best["val_loss"])
res.metric("best_val_acc", best["val_acc"])
res.metric("final_train_loss", last["train_loss"])
res.metric("final_val_loss", last["val_loss"])
res.metric("final_train_acc", last["train_acc"])
res.metric("final_val_acc", last["val_acc"])
res.metric("test_acc_at_sweet_spot", test_acc[honest_epoch - 1])
res.metric("test_selection_optimism", optimism["mean"])
res.metric("stratified_share_diff", strat_diff)
res.metric("train_seconds", train_seconds)
res.save();
