# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 02 · Overfitting and validation
#
# A network that is big enough can memorise its training set. It then keeps getting better on
# the examples it has seen while its *loss* on new ones gets worse. This lecture makes that
# happen on purpose, and shows how to see it coming with a validation split.
#
# **You will learn to**
# - hold out a **stratified 8:2** validation split and check that both parts keep the class shares;
# - evaluate correctly: `model.eval()` + `torch.no_grad()`, then back to `model.train()`;
# - make a model overfit and read the training-vs-validation curves, with the *sweet spot*
#   (lowest validation loss) marked;
# - tell **over-confidence** from lost accuracy: the epoch of lowest validation loss and the epoch
#   of highest validation accuracy are usually different epochs;
# - see why the **test set must not be used for choices**: picking an epoch by test accuracy makes
#   that accuracy look better than it is on fresh data;
# - tell **underfitting** from overfitting with a **learning curve** against the training-set
#   size, and name both in the **bias-variance** view (capacity against data).
#
# Every statement of the source notes is tested on several paired seeds (same data subset, same
# initial weights and same batch order per seed), and decided by the course's one rule.
#
# **Prerequisites:** notebook 01 (training loop, Adam).
#
# **Run time** measured on a 2-core AMD EPYC (AVX-512 with bfloat16, no AMX), quiet:
# `smoke` ≈ 10 s, `cpu` ≈ 66 s; with AVX2 only (simulated: `ATEN_CPU_CAPABILITY=avx2
# ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2`): `cpu` ≈ 67 s. `gpu` (an estimate)
# ≈ 1 min.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # seeds python, numpy and torch
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
seeds: int | None = None  # paired replicates per compared setting; None = profile default
train_size: int | None = (
    None  # training images (stratified, from the 80% part); None = profile default
)
width: int | None = None  # units in each of the MLP's two hidden layers; None = profile default
epochs: int | None = None  # training epochs (enough to overfit); None = profile default
lr: float = 1e-3  # Adam learning rate
batch_size: int = 64  # training mini-batch size
val_fraction: float = 0.2  # share of the training data held out for validation (0.2 = 8:2)
val_size: int | None = None  # validation images evaluated each epoch; None = profile default

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

import course_utils as cu
from course_utils.exercises import check_equal, check_true

cfg = cu.setup(
    globals(),
    seeds=cu.integer(1, 20, smoke=1, cpu=5, gpu=5),
    train_size=cu.integer(10, 60000, smoke=300, cpu=1000, gpu=2000),
    width=cu.integer(1, 8192, smoke=128, cpu=512, gpu=1024),
    epochs=cu.integer(3, 500, smoke=4, cpu=30, gpu=60),
    lr=cu.number(0, 10, low_open=True),
    batch_size=cu.integer(1, 4096),
    val_fraction=cu.number(0, 1, low_open=True, high_open=True),
    val_size=cu.integer(10, 60000, smoke=1000, cpu=5000, gpu=12000),
)

# %%
ds = cu.load_dataset(cfg.dataset, cfg.data_dir)
n_val_part = round(len(ds.train_y) * val_fraction)
for name, value, part in (
    ("train_size", train_size, len(ds.train_y) - n_val_part),
    ("val_size", val_size, n_val_part),
):
    if value > part:
        raise cu.ParameterError(
            f"parameter {name!r} got {value}; allowed: at most {part}, the size of the part it is drawn from"
        )
test_size = cfg.pick(smoke=2000, cpu=10000, gpu=10000)
res = cu.Results("02_overfitting_and_validation", results_path, cfg.profile)

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


# %%
# NBVAL_CHECK_OUTPUT
def class_shares(y: torch.Tensor) -> torch.Tensor:
    """Share of each class in a label vector."""
    return torch.bincount(y, minlength=ds.num_classes).double() / len(y)


train_x, train_y, val_x, val_y = cu.train_val_split(ds.train_x, ds.train_y, 0.2, seed=0)
_, plain_train_y, _, plain_val_y = cu.train_val_split(
    ds.train_x, ds.train_y, 0.2, seed=0, stratify=False
)
strat_diff = (class_shares(train_y) - class_shares(val_y)).abs().max().item()
plain_diff = (class_shares(plain_train_y) - class_shares(plain_val_y)).abs().max().item()
print(f"8:2 split of {len(ds.train_y)} images: {len(train_y)} train / {len(val_y)} validation")
print(f"largest class-share difference: stratified {strat_diff:.5f}, plain random {plain_diff:.5f}")

# %% [markdown]
# The runs below use the notebook's `val_fraction` and, per seed, a small stratified training
# subset (few examples make memorising easy) and a stratified validation sample. The test set
# is only measured, never used to choose anything.

# %%
train_x, train_y, val_part_x, val_part_y = cu.train_val_split(
    ds.train_x, ds.train_y, val_fraction, seed=cfg.seed
)
test_x, test_y = cu.stratified_subset(
    ds.test_x, ds.test_y, test_size, seed=cfg.seed, name="test_size"
)
test_loader = ds.loader(test_x, test_y, 2048, device=cfg.device)


def data_for(s: int, n: int = train_size) -> tuple[cu.Batches, cu.Batches, torch.Tensor]:
    """Seed ``s``'s loaders of ``n`` training and of the validation images (+ validation labels)."""
    x, y = cu.stratified_subset(train_x, train_y, n, seed=s, name="train_size")
    vx, vy = cu.stratified_subset(val_part_x, val_part_y, val_size, seed=s, name="val_size")
    train = ds.loader(x, y, batch_size, shuffle=True, seed=s, device=cfg.device)
    return train, ds.loader(vx, vy, 2048, device=cfg.device), vy  # no gradients: big batches


print(f"per seed: {train_size} training images, {val_size} validation images; test: {len(test_y)}")

# %% [markdown]
# ## 2. Evaluating correctly: `eval()`, `no_grad()`, then `train()` again
#
# Two switches matter when a model is evaluated:
#
# - `model.eval()` changes how some **layers** behave: dropout stops dropping units, batch norm
#   uses its running statistics instead of the batch's. `model.train()` switches them back.
#   It changes nothing about gradients.
# - `torch.no_grad()` stops **autograd** from recording the operations: less memory, faster —
#   and the validation batch can be as large as memory allows. It changes nothing about layers.
#
# You need both, and you must return to the previous mode before training continues. This is
# the function every evaluation in this notebook uses:


# %%
def predict(net: torch.nn.Module, loader) -> torch.Tensor:
    """Logits for every example of ``loader``: eval mode, no graph, previous mode restored."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            return torch.cat([net(xb).cpu() for xb, _ in loader])
    finally:
        net.train(was_training)  # back to train() even if an error happened


# %% [markdown]
# A small MLP with a dropout layer shows what each switch does:

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
demo = cu.build_model("mlp", ds.shape, ds.num_classes, hidden=(64,), dropout=0.5)
xb = next(iter(ds.loader(ds.train_x[:8], ds.train_y[:8], 8)))[0]
print("fresh model : training =", demo.training, "| passes agree:", torch.equal(demo(xb), demo(xb)))
demo.eval()
print("after eval(): training =", demo.training, "| passes agree:", torch.equal(demo(xb), demo(xb)))
print("eval mode, no no_grad: output requires grad =", demo(xb).requires_grad)
with torch.no_grad():
    print("inside no_grad       : output requires grad =", demo(xb).requires_grad)
demo.train()
print("after train(): training =", demo.training)

# %% [markdown]
# `predict` gives the model back in the mode it found it in, and the evaluation batch size changes
# only speed and memory, not the result:

# %%
# NBVAL_CHECK_OUTPUT
x1000, y1000 = ds.train_x[:1000], ds.train_y[:1000]
small, large = (predict(demo, ds.loader(x1000, y1000, b)) for b in (50, 1000))
print(
    "train mode restored:",
    demo.training,
    "| batch 50 vs 1000 agree:",
    torch.allclose(small, large, atol=1e-5),
)

# %% [markdown]
# ## 3. Overfitting on purpose
#
# Recipe: a **small training set**, a **wide model** (an MLP with two wide hidden layers has
# hundreds of thousands of weights for a thousand images), **no regularization** and **many
# epochs**. After every epoch a callback stores the logits on the validation and test images, so
# losses, accuracies and confidences can all be computed afterwards.


# %%
class Recorder(cu.train.Callback):
    """After every epoch, keep the logits on the validation and test images."""

    def __init__(self, val_loader) -> None:
        self.val_loader, self.val, self.test = val_loader, [], []

    def on_epoch_end(self, epoch, logs, model) -> bool:
        self.val.append(predict(model, self.val_loader))
        self.test.append(predict(model, test_loader))
        return False


# %% [markdown]
# For each seed $s$ the data subset, the initial weights (`torch.manual_seed(s)` right before the
# model is built) and the batch order are fixed, so every run below is a paired replicate.


# %%
def curves(logits: list[torch.Tensor], y: torch.Tensor) -> dict[str, np.ndarray]:
    """Per epoch: loss, accuracy and the mean confidence on the misclassified examples."""
    wrong_conf = [z.softmax(1).max(1).values[z.argmax(1) != y].mean().item() for z in logits]
    return {
        "loss": np.array([torch.nn.functional.cross_entropy(z, y).item() for z in logits]),
        "acc": np.array([(z.argmax(1) == y).float().mean().item() for z in logits]),
        "wrong_conf": np.array(wrong_conf),
    }


def overfit_run(s: int, n_epochs: int = epochs, hidden: int = width, n: int = train_size) -> dict:
    """Train a fresh MLP on seed ``s``'s subset; return per-epoch curves (numpy arrays)."""
    train, val, vy = data_for(s, n)
    torch.manual_seed(s)
    net = cu.build_model("mlp", ds.shape, ds.num_classes, hidden=(hidden, hidden)).to(cfg.device)
    rec = Recorder(val)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    history = cu.fit(
        net, train, None, epochs=n_epochs, optimizer=opt, callbacks=[rec], progress=False
    )
    out = {"train_loss": np.array(history["train_loss"])}
    out["test_correct"] = torch.stack([z.argmax(1) == test_y for z in rec.test])
    for part, logits, y in (("val", rec.val, vy), ("test", rec.test, test_y)):
        out |= {f"{part}_{k}": v for k, v in curves(logits, y).items()}
    return out


runs = {s: overfit_run(s) for s in cfg.seed_list(seeds)}
print(f"{len(runs)} seed(s) x {epochs} epochs, MLP {width}x{width}, {train_size} training images")

# %% [markdown]
# The **sweet spot** is the epoch of lowest validation loss; we also note the epoch of highest
# validation accuracy. Both are chosen on *validation* data only.


# %%
def epoch_of(values: np.ndarray, mode: str = "min") -> int:
    """1-based epoch of the lowest (``min``) or highest (``max``) value."""
    return int(np.argmin(values) if mode == "min" else np.argmax(values)) + 1


rows = []
for s, r in runs.items():
    lo, hi = epoch_of(r["val_loss"]), epoch_of(r["val_acc"], "max")
    rows.append(
        {
            "seed": s,
            "loss-min epoch": lo,
            "acc-max epoch": hi,
            "val loss at lo": r["val_loss"][lo - 1],
            "val acc at lo": r["val_acc"][lo - 1],
            "val acc at hi": r["val_acc"][hi - 1],
            f"val acc at {epochs}": r["val_acc"][-1],
        }
    )
cu.table(rows, floatfmt=".3f")


# %%
def plot_curves(r: dict, title: str) -> None:
    """Loss and accuracy per epoch; dashed: lowest validation loss, dotted: highest accuracy."""
    ep = np.arange(1, len(r["train_loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    axes[0].plot(ep, r["train_loss"], "o-", label="train")
    axes[0].plot(ep, r["val_loss"], "s-", label="validation")
    axes[1].plot(ep, r["val_acc"], "s-", color="tab:orange", label="validation")
    for ax, name in zip(axes, ("loss", "accuracy")):
        ax.axvline(epoch_of(r["val_loss"]), color="gray", ls="--", label="lowest val loss")
        ax.axvline(epoch_of(r["val_acc"], "max"), color="gray", ls=":", label="highest val acc")
        ax.set(xlabel="epoch", ylabel=name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()


plot_curves(runs[cfg.seed], f"seed {cfg.seed}: MLP {width}x{width} on {train_size} images")

# %% [markdown]
# **Reading the curves.** In the typical picture the training loss goes down nearly all the time:
# the model fits the training images better and better. The validation loss goes down at first
# (the model learns things that hold for all images), reaches the sweet spot and then climbs
# again; claims 2 and 3 below test this on every seed. Look at the accuracy panel before
# concluding that the model got *worse*: the share of validation images it gets right may stay
# flat or even keep creeping up after the sweet spot.
#
# The loss is the average of $-\log p_\text{true}$. A model that keeps its answers but grows
# more sure of them — including of the wrong ones — pays a rapidly growing price on each wrong
# answer ($-\log 0.01 \approx 4.6$ nats against $-\log 0.5 \approx 0.7$) while its accuracy does
# not move. That is **over-confidence**; claims 4 and 5 below measure whether it is what happens
# here.
#
# ## 4. The claims, each declared before it is measured
#
# Each claim below names its metric, its direction and the smallest effect worth having
# (`min_effect`); the per-seed differences are oriented so that positive supports the claim, and
# `res.compare` applies the course's rule (mean ± t·SE against `min_effect`).
#
# **Claim 1, "validation loss fluctuates (so do not stop at its first increase)".** Metric: the
# validation loss kept by stopping at the first epoch whose validation loss rises, minus the
# lowest validation loss of the run (nats); positive means a lower loss came after the first
# rise. `min_effect` = 0.01 nats (about 2% of a typical validation loss here).


# %%
def first_rise_loss(val_loss: np.ndarray) -> float:
    """Best validation loss seen before the first epoch whose loss is above the previous one."""
    rises = [t for t in range(1, len(val_loss)) if val_loss[t] > val_loss[t - 1]]
    return float(val_loss[: rises[0]].min()) if rises else float(val_loss.min())


_ = res.compare(
    "Validation loss fluctuates (so do not stop at its first increase)",
    [first_rise_loss(r["val_loss"]) - r["val_loss"].min() for r in runs.values()],
    0.01,
    unit="nats",
    detail="loss kept at the first rise minus the run's lowest validation loss",
)
# %% [markdown]
# **Claims 2 and 3, "after the sweet spot the training loss keeps falling while the loss on unseen
# data rises".** Two claims, each with its own test. The sweet spot is chosen on validation data;
# the rise is measured on the **test** images, which played no part in the choice (measuring it
# on the validation images that picked the minimum would flatter the rise). Metrics: training loss
# at the sweet spot minus at the last epoch; test loss at the last epoch minus at the sweet spot.
# `min_effect` = 0.01 nats for both.

# %%
sweet = {s: epoch_of(r["val_loss"]) for s, r in runs.items()}
res.compare(
    "After the sweet spot the training loss keeps falling",
    [r["train_loss"][sweet[s] - 1] - r["train_loss"][-1] for s, r in runs.items()],
    0.01,
    unit="nats",
    detail="training loss at the sweet spot minus at the last epoch",
)
_ = res.compare(
    "After the sweet spot the loss on unseen data rises",
    [r["test_loss"][-1] - r["test_loss"][sweet[s] - 1] for s, r in runs.items()],
    0.01,
    unit="nats",
    detail="test loss at the last epoch minus at the sweet spot (chosen on validation)",
)
# %% [markdown]
# **Claim 4, "after the sweet spot accuracy on unseen data degrades"** (what this notebook used to
# say). Metric: test accuracy at the sweet spot minus at the last epoch; positive = degraded.
# `min_effect` = 0.005, half an accuracy point.
#
# **Claim 5, "the rising loss is over-confidence".** Metric: the mean top-class probability on the
# test images the model gets *wrong*, at the last epoch minus at the sweet spot; positive = more
# sure of its mistakes. `min_effect` = 0.02 (two percentage points of confidence).

# %%
res.compare(
    "After the sweet spot accuracy on unseen data degrades",
    [r["test_acc"][sweet[s] - 1] - r["test_acc"][-1] for s, r in runs.items()],
    0.005,
    unit="accuracy",
    detail="test accuracy at the sweet spot minus at the last epoch",
)
_ = res.compare(
    "The rising loss after the sweet spot is over-confidence on the wrong answers",
    [r["test_wrong_conf"][-1] - r["test_wrong_conf"][sweet[s] - 1] for s, r in runs.items()],
    0.02,
    unit="probability",
    detail="mean confidence on misclassified test images, last epoch minus sweet spot",
)
# %% [markdown]
# **Claim 6, "the loss minimum and the accuracy optimum are different epochs".** Metric: the epoch
# of highest validation accuracy minus the epoch of lowest validation loss (both per seed, in the
# table above); positive = the accuracy optimum comes later. `min_effect` = 1 epoch.

# %%
acc_best = {s: epoch_of(r["val_acc"], "max") for s, r in runs.items()}
_ = res.compare(
    "The accuracy optimum comes later than the loss minimum",
    [acc_best[s] - sweet[s] for s in runs],
    1,
    unit="epochs",
    detail="per seed (loss-min, acc-max): "
    + ", ".join(f"({sweet[s]}, {acc_best[s]})" for s in runs),
)

# %% [markdown]
# Either epoch is a legitimate choice as long as it is made on validation data: the loss minimum
# gives the best probabilities as the log-loss scores them, the accuracy optimum the most right
# answers. Early stopping (notebook 05) usually watches the validation loss with some patience
# (Prechelt, 1998); calibration and over-confidence return in notebook 07 (Guo et al., 2017).
#
# ## 5. Why the test set must not be used for choices
#
# Suppose we had picked the "best epoch" by looking at **test** accuracy. The chosen epoch is the
# one that happened to do best *on those particular test images* — partly real quality, partly
# luck — so its accuracy there overstates how it does on new images. We recorded which test
# images each epoch got right, so we can measure it: many times over, split the test images at
# random into a *selection* part (used to pick the epoch) and a *fresh* part, and compare the
# picked epoch's accuracy on the two.


# %%
def selection_optimism(
    correct: torch.Tensor, n_select: int, repeats: int = 200, seed: int = 0
) -> float:
    """Mean (selection accuracy - fresh accuracy) of the candidate picked on the selection part.

    ``correct`` is a (candidates, examples) boolean matrix, one row per epoch.
    """
    gen, c = torch.Generator().manual_seed(seed), correct.float()
    gaps = []
    for _ in range(repeats):
        perm = torch.randperm(c.shape[1], generator=gen)
        sel, fresh = perm[:n_select], perm[n_select:]
        best = int(c[:, sel].mean(1).argmax())
        gaps.append(c[best, sel].mean().item() - c[best, fresh].mean().item())
    return float(np.mean(gaps))


# %% [markdown]
# **Claim 7, "choosing with the test set makes its accuracy an optimistic estimate".** Metric per
# seed: the mean optimism over 200 random splits (a fifth of the test images select, the rest are
# fresh), in accuracy; positive = optimistic. `min_effect` = 0.002, a fifth of an accuracy point.

# %%
n_select = len(test_y) // 5
optimism = [selection_optimism(r["test_correct"], n_select, seed=s) for s, r in runs.items()]
res.compare(
    "Choosing with the test set makes its accuracy an optimistic estimate",
    optimism,
    0.002,
    unit="accuracy",
    detail=f"epoch picked on {n_select} test images, accuracy there minus on the other {len(test_y) - n_select}",
)
honest = [r["test_acc"][sweet[s] - 1] for s, r in runs.items()]
print(
    f"honest route (epoch chosen by validation loss, test measured once): mean test accuracy {np.mean(honest):.4f}"
)
picked = np.mean([r["test_acc"].max() for r in runs.values()])
print(f"test-picked maximum (what test-set picking would report):   {picked:.4f}")
honest_by_acc = [r["test_acc"][acc_best[s] - 1] for s, r in runs.items()]
print(f"honest route, epoch chosen by validation accuracy instead:  {np.mean(honest_by_acc):.4f}")
print(
    f"test-picked minus honest, in points: {100 * (picked - np.mean(honest)):.2f} against the "
    f"loss-chosen epoch, {100 * (picked - np.mean(honest_by_acc)):.2f} against the "
    f"accuracy-chosen epoch; claim 7's selection optimism: {100 * np.mean(optimism):.2f}"
)

# %% [markdown]
# **Which gap is the test-selection bias?** The first printed honest route picks the epoch by
# validation *loss*, while test-set picking takes the epoch of highest test *accuracy*; claim 6
# showed that these are different epochs, the accuracy optimum coming later. The gap between those
# two lines therefore mixes two things: choosing by loss instead of by accuracy, and choosing on
# the test images. The second honest route compares like with like (the epoch of highest
# *validation* accuracy), so its gap to the test-picked maximum is what test-set picking adds when
# the criterion is the same; claim 7 measures the optimism itself, on images the choice never saw.
# Read the last line: where the loss-chosen gap is several times claim 7's optimism, most of it is
# claim 6's loss-versus-accuracy effect, not the test set flattering itself.
#
# The bias grows with the number of choices made on the same data (every epoch, width and
# learning rate you try is one more candidate) and shrinks with the size of that data. With the
# validation split doing the choosing, the test set stays an unbiased, one-time measurement.
#
# ## 6. Underfitting, capacity and learning curves
#
# Overfitting has an opposite. A model **underfits** when it cannot even fit its training data:
# training and validation accuracy are both low and close together, and more epochs or more data
# change little. Which of the two failures you get depends on the model's **capacity** (roughly,
# how many different functions it can represent; for our MLP, its width) measured against the
# amount of data.
#
# The **bias-variance** view names the two failures. Think of training as a random procedure: a
# different training sample (or seed) gives a different fitted model. For squared error, the
# expected test error of the fitted model splits exactly into *bias*² (how far the average fitted
# model is from the truth), *variance* (how much the fitted models scatter around their average)
# and the noise no model can remove (Geman et al., 1992); for classification the split is not
# exact, but the picture carries over. A low-capacity model has high bias and low variance: it
# underfits. A high-capacity model trained on little data has low bias and high variance: it
# overfits (averaging many such models, as bagging does in notebook 09, removes variance). Very
# large networks complicate the classic U-shaped picture: past the point where they fit every
# training example, test error can fall again as capacity grows ("double descent", Belkin et al.,
# 2019), which is why the course measures instead of assuming.
#
# A **learning curve** plots training and validation accuracy against the training-set size.
# Below, for the first seed: an MLP with a bottleneck of `narrow_width` units per hidden layer
# (far too little capacity for ten classes) and the wide one of section 3 (`width`), trained on
# stratified subsets of growing size. Every point gets the same number of optimizer steps
# (`curve_steps` batches), so a small training set is not also a shorter training; then the final
# model's accuracy is measured on its own training images and on the validation images. How to
# read it: a large gap between training and validation accuracy that closes as the data grows
# signals **variance** (more data helps); training and validation accuracy that are low and close
# together signal **bias** (more data helps little, more capacity helps).


# %%
def learning_curve_point(n: int, hidden: int, steps: int) -> dict:
    """Train an MLP(hidden, hidden) for ``steps`` batches on ``n`` images (seed ``seed``)."""
    train, val, _ = data_for(cfg.seed, n)
    torch.manual_seed(cfg.seed)
    net = cu.build_model("mlp", ds.shape, ds.num_classes, hidden=(hidden, hidden)).to(cfg.device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    n_epochs = math.ceil(steps / len(train))
    cu.fit(net, train, None, epochs=n_epochs, optimizer=opt, progress=False)
    train_acc, val_acc = cu.evaluate(net, train)["acc"], cu.evaluate(net, val)["acc"]
    return {
        "width": hidden,
        "training images": n,
        "epochs": n_epochs,
        "train acc": train_acc,
        "val acc": val_acc,
        "gap": train_acc - val_acc,
    }


narrow_width, curve_steps = 2, cfg.pick(smoke=30, cpu=400, gpu=1000)
curve_sizes = cfg.pick(smoke=(100, 300), cpu=(250, 1000, 4000), gpu=(500, 2000, 8000))
curve = [
    learning_curve_point(n, hidden, curve_steps)
    for hidden in (narrow_width, width)
    for n in curve_sizes
]
cu.table(curve, floatfmt=".3f")

fig, ax = plt.subplots(figsize=(6, 3.5))
for hidden, colour in ((narrow_width, "tab:blue"), (width, "tab:orange")):
    points = [r for r in curve if r["width"] == hidden]
    sizes = [r["training images"] for r in points]
    ax.plot(sizes, [r["train acc"] for r in points], "o-", c=colour, label=f"width {hidden}, train")
    ax.plot(sizes, [r["val acc"] for r in points], "s--", c=colour, label=f"width {hidden}, val")
ax.set(xscale="log", xlabel="training images", ylabel=f"accuracy after {curve_steps} steps")
ax.set_title(f"Learning curves, seed {cfg.seed}")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Read the table and the picture with the two signatures above: the wide model's gap is its
# variance, and where it shrinks as the training set grows, more data is the cure; the narrow
# model's accuracies, where they stay close together and far below the wide model's, are its
# bias, and no amount of data at this width removes it. (One seed and one run per point: a
# learning curve shows a trend, not a decided claim.)
#
# ## 7. Try it: training-set size and width
#
# More training data makes memorising harder and pushes the sweet spot later; a wider model
# memorises faster. Each run trains one fresh model (seed `seed`), so it sits behind **Run**.


# %%
def overfit_demo(train_size: int = 500, width: int = 256) -> dict:
    """Train an MLP(width, width) on ``train_size`` images; plot its curves, return the two epochs."""
    r = overfit_run(cfg.seed, n_epochs=cfg.pick(3, 12, 20), hidden=width, n=train_size)
    plot_curves(r, f"{train_size} training images, width {width}")
    return {
        "loss-min epoch": epoch_of(r["val_loss"]),
        "acc-max epoch": epoch_of(r["val_acc"], "max"),
    }


overfit_demo(cfg.pick(200, 500, 500), cfg.pick(64, 256, 256))

# %%
cu.widgets.panel(
    overfit_demo,
    live=False,
    title="Overfitting: training-set size and width",
    train_size=cu.widgets.slider("training images", 500, 100, 5000, 100, integer=True),
    width=cu.widgets.slider("hidden width", 256, 16, 1024, 16, integer=True),
)

# %% [markdown]
# ## 8. Exercises
#
# **Exercise 1** · about 5 min · ★☆☆ easy
#
# Write `sweet_spot(val_losses)` that returns the (1-based) epoch with the lowest
# validation loss.


# %%
def sweet_spot(val_losses: list[float]) -> int | None:
    return None  # your code


check_equal(
    "sweet_spot",
    sweet_spot(list(runs[cfg.seed]["val_loss"])),
    sweet[cfg.seed],
    hint="index of the minimum, plus one",
)


# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
def solution_sweet_spot(val_losses: list[float]) -> int | None:
    return int(np.argmin(val_losses)) + 1


check_equal(
    "sweet_spot",
    solution_sweet_spot(list(runs[cfg.seed]["val_loss"])),
    sweet[cfg.seed],
    hint="index of the minimum, plus one",
)

# %% [markdown]
# **Exercise 2** · about 10 min · ★☆☆ easy
#
# Write `accuracy_of(net, x, y)` that returns the accuracy of `net` on normalized
# images `x` with labels `y`: evaluate in `eval()` mode without building a graph, and leave the
# model in the mode it was in.


# %%
def accuracy_of(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float | None:
    return None  # your code


def check_accuracy_of(fn) -> None:
    xs, ys = next(iter(ds.loader(ds.train_x[:500], ds.train_y[:500], 500)))
    torch.manual_seed(0)
    net = cu.build_model("mlp", ds.shape, ds.num_classes, hidden=(32,), dropout=0.5)
    answer, expected = (
        fn(net, xs, ys),
        (predict(net, [(xs, ys)]).argmax(1) == ys).float().mean().item(),
    )
    right = answer is not None and abs(answer - expected) < 1e-9
    ok = None if answer is None else right and net.training
    why = (
        "the accuracy is right, but the model was left in eval() mode: restore it with "
        "train(was_training)"
        if right
        else f"got {answer!r}: not the model's accuracy in eval() mode; use eval() and no_grad()"
    )
    return check_true("accuracy_of", ok, why)


check_accuracy_of(accuracy_of)


# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
def solution_accuracy_of(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float | None:
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            return (net(x).argmax(1) == y).float().mean().item()
    finally:
        net.train(was_training)


check_accuracy_of(solution_accuracy_of)
# %% [markdown]
# ## Summary
#
# - Overfitting shows as a **widening gap**: the training loss keeps falling while the loss on
#   unseen data turns around at the sweet spot. The ledger above says how the claims fared here.
# - Underfitting is the opposite failure: training and validation accuracy low and close. In the
#   bias-variance view, too little capacity gives bias, too much capacity for the data gives
#   variance; a learning curve against the training-set size tells the two apart.
# - A rising validation loss is not the same as falling accuracy: claims 5 and 6 measure how
#   much of it is over-confidence and whether the loss minimum and the accuracy optimum are
#   different epochs. Choose which one you want, on validation data.
# - Hold out a **stratified** validation split (8:2) from the training data and make every choice
#   with it; the test set is for one final, unbiased report.
# - Evaluate with `model.eval()` and `torch.no_grad()`, and go back to `model.train()` afterwards.
#
# ## References
#
# - Prechelt, L. (1998). *Early Stopping — But When?* In Neural Networks: Tricks of the Trade,
#   Springer LNCS 1524.
# - Guo, C., Pleiss, G., Sun, Y., Weinberger, K. Q. (2017). *On Calibration of Modern Neural
#   Networks.* ICML 2017.
# - Geman, S., Bienenstock, E., Doursat, R. (1992). *Neural Networks and the Bias/Variance
#   Dilemma.* Neural Computation 4(1).
# - Belkin, M., Hsu, D., Ma, S., Mandal, S. (2019). *Reconciling modern machine-learning practice
#   and the classical bias-variance trade-off.* PNAS 116(32).

# %%
for s in runs:
    res.metric(f"seed{s}_loss_min_epoch", sweet[s])
    res.metric(f"seed{s}_acc_max_epoch", acc_best[s])
res.metric("mean_best_val_loss", np.mean([r["val_loss"].min() for r in runs.values()]))
res.metric("mean_test_acc_at_sweet_spot", np.mean(honest))
res.metric("mean_test_acc_last", np.mean([r["test_acc"][-1] for r in runs.values()]))
res.metric("mean_train_loss_last", np.mean([r["train_loss"][-1] for r in runs.values()]))
res.metric("mean_test_selection_optimism", np.mean(optimism))
res.metric("stratified_share_diff", strat_diff)
res.save()
