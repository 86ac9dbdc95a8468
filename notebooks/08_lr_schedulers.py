# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 · Learning-rate schedulers
#
# Too high a learning rate overshoots and bounces around the minimum; too low a learning rate
# crawls. A **schedule** changes the learning rate during training: large steps early to make
# progress, small steps late to settle. In this notebook you will:
#
# - draw the learning rate per epoch of StepLR, ExponentialLR, ReduceLROnPlateau (driven by a real
#   validation-loss history), CosineAnnealingLR and OneCycleLR, and move their knobs live;
# - see exactly when `fit` steps each scheduler (and check it against torch stepping alone);
# - train the same network with every schedule on the same budget and hold the source notes'
#   pros/cons table against what the runs show.
#
# **Prerequisites:** notebook 01 (optimizers), notebook 02 (validation curves).
#
# **Run time** (2-core laptop CPU): `smoke` ≈ 15 s, `cpu` ≈ 1.5–2.5 min, `gpu` a few minutes.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # seeds python, numpy and torch
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
schedulers: str = "constant,step,exponential,plateau,cosine,onecycle"  # schedules compared (constant = no scheduler)
lr: float = 0.1  # initial learning rate of SGD with momentum (OneCycle's peak is max_lr_factor * lr)
momentum: float = 0.9  # SGD momentum, in [0, 1)
epochs: int | None = None  # training budget of every schedule; None = profile default
train_size: int | None = None  # training images (stratified; 20% held out for validation); None = profile default
batch_size: int = 128  # mini-batch size
step_size: int | None = None  # StepLR: epochs between decays; None = a third of the epochs
step_gamma: float = 0.3  # StepLR: factor applied every step_size epochs, in (0, 1]
exp_gamma: float = 0.75  # ExponentialLR: factor applied every epoch, in (0, 1]
factor: float = 0.3  # ReduceLROnPlateau: factor applied on a plateau, in (0, 1)
patience: int = 0  # ReduceLROnPlateau: epochs without improvement tolerated before reducing (0: reduce after the first one)
max_lr_factor: float = 1.0  # OneCycleLR: peak learning rate = max_lr_factor * lr
pct_start: float = 0.3  # OneCycleLR: fraction of the steps spent warming up

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from course_utils import Results, build_model, evaluate, fit, load_dataset, setup, stratified_subset, train_val_split, verdict
from course_utils.exercises import check_close, check_true
from course_utils.numpy_optim import check_lr, check_momentum
from course_utils.plots import plot_curves
from course_utils.schedulers import TORCH_NAMES, build_scheduler, check_hyperparameters, lr_schedule, parse_schedulers
from course_utils.validation import check_number
from course_utils.widgets import dropdown, panel, slider

cfg = setup(profile, dataset, seed, results_path, data_dir)

# Every hyperparameter is checked here, before any training.
names = parse_schedulers(schedulers)
check_lr(lr)
check_momentum("momentum", momentum)
epochs = check_number("epochs", cfg.default(epochs, smoke=3, cpu=10, gpu=30), low=2, integer=True)
train_size = check_number("train_size", cfg.default(train_size, smoke=1000, cpu=15000, gpu=60000), low=100, integer=True)
check_number("batch_size", batch_size, low=1, integer=True)
step_size = cfg.default(step_size, smoke=1, cpu=max(1, epochs // 3), gpu=max(1, epochs // 3))
HP = dict(step_size=step_size, factor=factor, patience=patience, max_lr_factor=max_lr_factor, pct_start=pct_start)
for name in ("step", "exponential", "plateau", "onecycle"):
    check_hyperparameters(name, **HP, gamma=step_gamma if name == "step" else exp_gamma)


def hp_for(name: str, **override) -> dict:
    """The hyperparameters of scheduler ``name`` (StepLR and ExponentialLR have separate gammas)."""
    values = {**HP, "gamma": step_gamma if name == "step" else exp_gamma}
    return {**values, **override}


print(f"schedulers={names} lr={lr} momentum={momentum} epochs={epochs} train_size={train_size} batch_size={batch_size} "
      f"step_size={step_size} step_gamma={step_gamma} exp_gamma={exp_gamma} factor={factor} patience={patience} "
      f"max_lr_factor={max_lr_factor} pct_start={pct_start}")
res = Results("08_lr_schedulers", cfg.results_path, cfg.profile)

# %% [markdown]
# ## 1. The schedules
#
# | name here | torch class | rule |
# |---|---|---|
# | `step` | `StepLR(step_size, gamma)` | multiply by `gamma` every `step_size` epochs |
# | `exponential` | `ExponentialLR(gamma)` | multiply by `gamma` every epoch |
# | `plateau` | `ReduceLROnPlateau(mode, factor, patience)` | multiply by `factor` when the monitored metric has not improved for more than `patience` epochs |
# | `cosine` | `CosineAnnealingLR(T_max=epochs)` | half a cosine from `lr` down to `eta_min` over the run |
# | `onecycle` | `OneCycleLR(max_lr, total_steps)` | warm up from `max_lr/25` to `max_lr`, then anneal far below the start, **every batch** |
#
# **When `fit` steps them** (`course_utils.train.fit`): epoch schedulers once per epoch, after all
# of that epoch's optimizer steps; ReduceLROnPlateau once per epoch with the monitored metric
# (`scheduler.step(val_loss)`); OneCycleLR after every batch. `history["lr"]` records the learning
# rate each epoch *started* with and `history.batch_lr` the one every batch used. The course's tests
# check that this is exactly the sequence torch's scheduler produces on its own.
#
# ReduceLROnPlateau cannot be drawn without a metric: it reacts to the validation loss. So first
# we train once with a **constant** learning rate and keep its real validation-loss history.

# %%
ds = load_dataset(cfg.dataset, cfg.data_dir)
sub_x, sub_y = stratified_subset(ds.train_x, ds.train_y, train_size, seed=cfg.seed)
tr_x, tr_y, va_x, va_y = train_val_split(sub_x, sub_y, 0.2, seed=cfg.seed)
te_x, te_y = (ds.test_x, ds.test_y) if not cfg.is_smoke else stratified_subset(ds.test_x, ds.test_y, 2000, seed=cfg.seed)
val_loader, test_loader = ds.loader(va_x, va_y, 1024), ds.loader(te_x, te_y, 1024)
steps_per_epoch = len(ds.loader(tr_x, tr_y, batch_size))
print(f"{ds.name}: train {len(tr_y)}, validation {len(va_y)}, test {len(te_y)} images; {steps_per_epoch} batches per epoch")


def train_schedule(name: str, n_epochs: int = epochs, **override) -> dict:
    """Train a fresh MLP (same init and batch order for every call) with SGD + momentum and schedule ``name``."""
    torch.manual_seed(cfg.seed)
    model = build_model("mlp", ds.shape, ds.num_classes)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loader = ds.loader(tr_x, tr_y, batch_size, shuffle=True, seed=cfg.seed)
    scheduler = build_scheduler(name, opt, epochs=n_epochs, steps_per_epoch=len(loader), **hp_for(name, **override))
    history = fit(model, loader, val_loader, epochs=n_epochs, optimizer=opt, scheduler=scheduler, desc=name)
    return {"history": history, "test": evaluate(model, test_loader)}


runs = {"constant": train_schedule("constant")}
val_history = runs["constant"]["history"]["val_loss"]
print("validation loss per epoch at a constant lr:", " ".join(f"{v:.3f}" for v in val_history))

# %% [markdown]
# Now every schedule's learning rate per epoch, computed by replaying torch's scheduler on its own
# (no training needed), with ReduceLROnPlateau fed the validation losses just recorded. OneCycleLR
# changes the learning rate every batch, so its per-batch curve is drawn too.

# %%
def draw_schedules(step_size: int, step_gamma: float, exp_gamma: float, factor: float, patience: int,
                   max_lr_factor: float, pct_start: float) -> dict[str, list[float]]:
    """Learning rate per epoch of every schedule (and OneCycle per batch); returns the per-epoch curves."""
    hp = dict(step_size=step_size, factor=factor, patience=patience, max_lr_factor=max_lr_factor, pct_start=pct_start)
    curves = {}
    for name in ("step", "exponential", "plateau", "cosine", "onecycle"):
        gamma = step_gamma if name == "step" else exp_gamma
        s = lr_schedule(name, lr, epochs, steps_per_epoch=steps_per_epoch, metrics=val_history, gamma=gamma, **hp)
        curves[name] = s
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    x = np.arange(1, epochs + 1)
    for name, s in curves.items():
        axes[0].step(x[: len(s.epoch_lr)], s.epoch_lr, where="post", marker="o", ms=3, label=f"{name} ({TORCH_NAMES[name]})")
    axes[0].set(xlabel="epoch", ylabel="learning rate at the start of the epoch", yscale="log", title="per epoch")
    axes[0].legend(fontsize=8)
    ob = curves["onecycle"].batch_lr
    axes[1].plot(np.arange(len(ob)) / steps_per_epoch + 1, ob, label="onecycle, every batch")
    axes[1].plot(x, curves["cosine"].epoch_lr, "o--", ms=3, label="cosine, per epoch")
    axes[1].set(xlabel="epoch", ylabel="learning rate", title="OneCycleLR per batch")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return {n: s.epoch_lr for n, s in curves.items()}


curves = draw_schedules(step_size, step_gamma, exp_gamma, factor, patience, max_lr_factor, pct_start)
plt.show()
plateau_drops = lr_schedule("plateau", lr, epochs, metrics=val_history, **hp_for("plateau")).reductions
print("ReduceLROnPlateau on this validation history would reduce at the start of epochs:", plateau_drops or "never")

# %% [markdown]
# ### Try it
# Move the knobs: the curves redraw when you release a slider (ReduceLROnPlateau keeps following
# the recorded validation loss). The default `patience` is 0 because the budget is short (a
# reduction after two or three bad epochs out of ten leaves little time to profit from it); try
# `patience` 1 or 2 and see how many reductions this validation history still triggers. Try also
# `exp_gamma` 0.5 (the learning rate is a thousandth of the start after ten epochs), or
# `pct_start` 0.1 (a short warm-up).

# %%
schedule_panel = panel(
    draw_schedules, title="Learning-rate schedules",
    step_size=slider("step_size", step_size, 1, max(2, epochs), integer=True),
    step_gamma=slider("step_gamma", step_gamma, 0.05, 1.0, 0.05), exp_gamma=slider("exp_gamma", exp_gamma, 0.3, 1.0, 0.01),
    factor=slider("factor", factor, 0.05, 0.95, 0.05), patience=slider("patience", patience, 0, 5, integer=True),
    max_lr_factor=slider("max_lr_factor", max_lr_factor, 1.0, 10.0, 0.5), pct_start=slider("pct_start", pct_start, 0.05, 0.9, 0.05),
)
schedule_panel

# %% [markdown]
# ## 2. Every schedule on the same budget
#
# Same network (MLP 784 → 256 → 128 → 10), same initial weights, same batches, same optimizer
# (SGD with momentum, starting at `lr`), same number of epochs; only the schedule differs.

# %%
for name in names:
    if name not in runs:
        runs[name] = train_schedule(name)

fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
plot_curves({n: r["history"]["lr"] for n, r in runs.items()}, xlabel="epoch", ylabel="learning rate", logy=True, ax=axes[0], marker="o-")
plot_curves({n: r["history"]["val_loss"] for n, r in runs.items()}, xlabel="epoch", ylabel="validation loss", ax=axes[1], marker="o-")
plot_curves({n: r["history"]["val_acc"] for n, r in runs.items()}, xlabel="epoch", ylabel="validation accuracy", ax=axes[2], marker="o-")
fig.suptitle(f"{ds.name}: {epochs} epochs, SGD momentum={momentum}, lr={lr}")
fig.tight_layout()
plt.show()

summary = {}
print(f"{'schedule':12} {'test acc':>9} {'final val acc':>14} {'best val loss':>14} {'at epoch':>9} {'final lr':>10}")
for name, r in runs.items():
    h = r["history"]
    best = h.best("val_loss")
    summary[name] = {"test_acc": r["test"]["acc"], "val_acc": h.last["val_acc"], "best_val_loss": best["val_loss"],
                     "best_epoch": best["epoch"], "final_lr": h.batch_lr[-1], "reductions": sum(
                         b < a * (1 - 1e-9) for a, b in zip(h["lr"], h["lr"][1:]))}
    s = summary[name]
    print(f"{name:12} {s['test_acc']:9.4f} {s['val_acc']:14.4f} {s['best_val_loss']:14.4f} {s['best_epoch']:9d} {s['final_lr']:10.2e}")
    res.metric(f"test_acc_{name}", s["test_acc"])
    res.metric(f"best_val_loss_{name}", s["best_val_loss"])

# %% [markdown]
# ## 3. The claims
#
# ### "Adjusting the learning rate during training beats keeping it constant"
# Verdict: confirmed when at least one schedule's test accuracy is more than half a point above the
# constant learning rate's.

# %%
scheduled = {n: s["test_acc"] for n, s in summary.items() if n != "constant"}
if "constant" in summary and scheduled:
    base = summary["constant"]["test_acc"]
    best_name = max(scheduled, key=scheduled.get)
    better = [n for n, a in scheduled.items() if a > base + 0.005]
    res.claim(
        "Adjusting the learning rate during training beats a constant learning rate",
        f"constant {100 * base:.1f}%; best schedule {best_name} {100 * scheduled[best_name]:.1f}% "
        f"({100 * (scheduled[best_name] - base):+.1f} points); schedules more than 0.5 points better: {better or 'none'}",
        verdict(bool(better)),
    )
    res.metric("best_schedule", best_name)

# %% [markdown]
# ### "StepLR is simple, but its decay points are hard to choose"
# If the decay points matter, moving them should change the result. Two more StepLR runs with
# other step sizes, same gamma and budget. Verdict: confirmed when the test accuracies of the
# three step sizes spread over more than one point.

# %%
if "step" in summary:
    other_sizes = sorted({max(1, step_size // 2), min(epochs, 2 * step_size)} - {step_size})
    step_accs = {step_size: summary["step"]["test_acc"]}
    for size in other_sizes:
        step_accs[size] = train_schedule("step", step_size=size)["test"]["acc"]
    spread = 100 * (max(step_accs.values()) - min(step_accs.values()))
    res.claim(
        "StepLR is simple but its decay points are hard to choose",
        "test accuracy by step_size: " + ", ".join(f"{k}: {100 * v:.1f}%" for k, v in sorted(step_accs.items()))
        + f"; spread {spread:.1f} points",
        verdict(spread > 1.0),
    )
    res.metric("steplr_step_size_spread_points", spread)

# %% [markdown]
# ### "ExponentialLR is smooth but can decay too fast and stall"
# Stalling means the training loss stops improving while there is still room: we compare the
# training loss at the end with the constant learning rate's and measure how much the last third
# of the epochs still improved it. Verdict: confirmed when the exponential schedule ends with a
# *higher* training loss than the constant lr **and** its last third improved the training loss by
# less than 5%.

# %%
if "exponential" in summary and "constant" in summary:
    he, hc = runs["exponential"]["history"], runs["constant"]["history"]
    third = max(1, epochs // 3)
    late_gain = 1 - he["train_loss"][-1] / he["train_loss"][-1 - third]
    stalled = he.last["train_loss"] > hc.last["train_loss"] and late_gain < 0.05
    res.claim(
        "ExponentialLR is smooth but can decay too fast and stall",
        f"gamma={exp_gamma}: lr fell to {summary['exponential']['final_lr'] / lr:.2g} x the start; final train loss "
        f"{he.last['train_loss']:.3f} vs constant {hc.last['train_loss']:.3f}; last {third} epoch(s) improved it by "
        f"{100 * late_gain:.1f}%; test acc {100 * summary['exponential']['test_acc']:.1f}% vs constant "
        f"{100 * summary['constant']['test_acc']:.1f}%",
        verdict(stalled),
    )

# %% [markdown]
# ### "ReduceLROnPlateau adapts to progress, but can reduce too often and needs a reliable signal"
# The validation loss of a mini-batch-trained network is noisy. We count the reductions and how
# many of them came while the constant-lr run was still reaching new best validation losses later
# on (a sign the "plateau" was noise, not the end of progress). Verdict: confirmed when at least
# one reduction was premature in that sense; inconclusive when it never reduced.

# %%
if "plateau" in summary and "constant" in summary:
    hp_, hc = runs["plateau"]["history"], runs["constant"]["history"]
    drops = [e for e, (a, b) in enumerate(zip(hp_["lr"], hp_["lr"][1:]), start=2) if b < a * (1 - 1e-9)]
    const_best_epoch = hc.best("val_loss")["epoch"]
    premature = [e for e in drops if e <= const_best_epoch]
    if not drops:
        rule = "inconclusive"
    else:
        rule = verdict(bool(premature))
    res.claim(
        "ReduceLROnPlateau adapts to progress but can reduce too often and needs a reliable signal",
        f"patience={patience}, factor={factor}: reductions before epochs {drops or 'none'}; the constant lr still "
        f"improved its best validation loss until epoch {const_best_epoch}, so {len(premature)} reduction(s) came early; "
        f"test acc {100 * summary['plateau']['test_acc']:.1f}% vs constant {100 * summary['constant']['test_acc']:.1f}%",
        rule,
    )

# %% [markdown]
# ### Going further: "cosine and one-cycle schedules do better than step-wise decays"
# Verdict: confirmed when the better of cosine/one-cycle beats the better of step/exponential/plateau
# on test accuracy.

# %%
smooth = {n: summary[n]["test_acc"] for n in ("cosine", "onecycle") if n in summary}
stepwise = {n: summary[n]["test_acc"] for n in ("step", "exponential", "plateau") if n in summary}
if smooth and stepwise:
    a, b = max(smooth, key=smooth.get), max(stepwise, key=stepwise.get)
    res.claim(
        "Cosine / one-cycle schedules do better than step-wise decays on the same budget",
        f"best of cosine/onecycle: {a} {100 * smooth[a]:.1f}%; best of step/exponential/plateau: {b} {100 * stepwise[b]:.1f}%",
        verdict(smooth[a] > stepwise[b]),
    )

# %% [markdown]
# ## 4. The notes' pros and cons, set against these runs

# %%
PROS_CONS = {
    "step": ("simple", "decay points are hard to choose"),
    "exponential": ("smooth", "can decay too fast and stall"),
    "plateau": ("adapts to progress", "can reduce too often; needs a reliable signal"),
    "cosine": ("no decay points to choose; ends near 0", "needs the budget (epochs) in advance"),
    "onecycle": ("warm-up, then long annealing", "per batch; needs the budget in advance"),
}
print(f"{'schedule':12} {'notes: pro':40} {'notes: con':47} {'this run':s}")
for name, (pro, con) in PROS_CONS.items():
    if name in summary:
        s = summary[name]
        seen = (f"test {100 * s['test_acc']:.1f}% ({100 * (s['test_acc'] - summary.get('constant', s)['test_acc']):+.1f} vs const), "
                f"best val loss {s['best_val_loss']:.3f} at epoch {s['best_epoch']}, {s['reductions']} lr drops between epochs")
        print(f"{name:12} {pro:40} {con:47} {seen}")

# %% [markdown]
# **Reading the results.** The verdicts above are computed from this run; read them rather than
# any expectation. Note that a con can show up and still not hurt: ReduceLROnPlateau may cut the
# learning rate on a noisy bump (a "premature" reduction) and still end above the constant lr,
# because smaller steps late in training help anyway. Typical observations on this budget: every decaying schedule lowers the noise of
# the validation loss at the end (small steps settle into a minimum); how much accuracy that buys
# depends on where the decays fall; schedules that keep the learning rate high until late
# (cosine, one-cycle) often end best, but not always. A different `lr`, budget or gamma can
# change the ranking, which is the point of the "decay points are hard to choose" con.
#
# ### Try it: train with one schedule
# Choose a schedule and its main knob and press Run (a full training run of `epochs` epochs).

# %%
def try_schedule(schedule: str, gamma: float, patience: int) -> float:
    """Train with one schedule (gamma is StepLR's or ExponentialLR's); plots lr and validation loss, returns test accuracy."""
    r = train_schedule(schedule, gamma=gamma, patience=patience)
    h = r["history"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3))
    a1.plot(h["epoch"], h["lr"], "o-")
    a1.set(xlabel="epoch", ylabel="lr", yscale="log", title=schedule)
    a2.plot(h["epoch"], h["val_loss"], "o-")
    a2.set(xlabel="epoch", ylabel="validation loss", title=f"test accuracy {r['test']['acc']:.3f}")
    fig.tight_layout()
    return r["test"]["acc"]


train_panel = panel(try_schedule, live=False, title="Train with one schedule",
                    schedule=dropdown("schedule", ["constant", "step", "exponential", "plateau", "cosine", "onecycle"], "cosine"),
                    gamma=slider("gamma", 0.5, 0.05, 1.0, 0.05), patience=slider("patience", 1, 0, 5, integer=True))
train_panel

# %% [markdown]
# ## 5. Exercises
#
# **Exercise 1.** Write the learning rate StepLR gives in epoch `epoch` (1-based, as in
# `history["lr"]`) from `lr0`, `step_size` and `gamma`, without any torch code.

# %%
def step_lr(lr0: float, step_size: int, gamma: float, epoch: int) -> float:
    # YOUR CODE HERE
    return None


def check_step_lr(fn) -> bool:
    ref = lr_schedule("step", 0.1, 12, step_size=4, gamma=0.3).epoch_lr
    answer = [fn(0.1, 4, 0.3, e) for e in range(1, 13)]
    return check_close("StepLR per epoch", None if None in answer else answer, ref,
                       hint="count the completed steps: (epoch - 1) // step_size")


check_step_lr(step_lr);

# %% tags=["solution"] jupyter={"source_hidden": true}
def step_lr(lr0, step_size, gamma, epoch):
    return lr0 * gamma ** ((epoch - 1) // step_size)


check_step_lr(step_lr);

# %% [markdown]
# **Exercise 2.** A validation-loss history is below. With `patience=2` and `factor=0.5`, at the
# start of which epochs (1-based) does ReduceLROnPlateau lower the learning rate? Answer with a
# list of epochs, then check it against torch's scheduler.

# %%
exercise_losses = [0.90, 0.70, 0.65, 0.66, 0.64, 0.645, 0.65, 0.66, 0.60, 0.61, 0.62, 0.63]
my_answer = None  # YOUR ANSWER, e.g. [4, 9]


def check_plateau_answer(answer) -> bool:
    expected = lr_schedule("plateau", 0.1, 12, metrics=exercise_losses, patience=2, factor=0.5).reductions
    why = ("no answer yet" if answer is None else f"{answer} is not what torch's scheduler does") + \
        "; hint: a reduction needs 3 (= patience + 1) epochs in a row without a new best, and the count restarts after it"
    return check_true("ReduceLROnPlateau reductions", answer == expected, why)


check_plateau_answer(my_answer);

# %% tags=["solution"] jupyter={"source_hidden": true}
# Epoch 5 (0.64) is the last new best before epoch 9; epochs 6, 7, 8 are 3 bad epochs -> the lr
# drops after epoch 8, so epoch 9 starts lower. Epoch 9 (0.60) is a new best; 10, 11, 12 are bad
# -> it drops after epoch 12, which is the end of the run (no 13th epoch to start).
my_answer = [9]
check_plateau_answer(my_answer);

# %% [markdown]
# ## Summary
#
# - A schedule changes the learning rate during training; `fit` steps epoch schedules after each
#   epoch, ReduceLROnPlateau with the validation loss, OneCycleLR after every batch.
# - StepLR and ExponentialLR follow a fixed timetable; ReduceLROnPlateau follows the validation
#   loss (and its noise); cosine and one-cycle need the budget in advance but have no decay points
#   to choose.
# - On the same budget the schedules rank as printed above; the claims' verdicts say which of the
#   notes' pros and cons showed up here.

# %%
res.metric("epochs", epochs)
res.metric("constant_lr_best_epoch", runs["constant"]["history"].best("val_loss")["epoch"])
res.save();
