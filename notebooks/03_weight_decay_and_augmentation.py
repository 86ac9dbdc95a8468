# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 03 · Weight decay and data augmentation
#
# Notebook 02 made a wide network overfit a small training set. This lecture writes the two oldest
# remedies for overfitting down as code, then *measures* what they do on paired seeds: on a small
# CNN in a regime made for them (few images, trained until it memorizes them) and in one that is
# not (more images, a short training budget). Whether a regularizer helps depends on the regime,
# and the claims below are decided per regime.
#
# **You will learn to**
# - write **L2 regularization** and **decoupled weight decay** as update rules, and check
#   numerically that they coincide only for plain SGD;
# - see why **Adam's L2** decays weights unevenly (the penalty is divided by $\sqrt{\hat v}$) while
#   **AdamW** shrinks every weight by the same factor, and how torch scales the decay by the
#   learning rate; exclude biases and norm parameters from the decay with parameter groups;
# - **augment** images with shifted crops and flips, per image with `torchvision.transforms.v2`
#   and per batch with `cu.Augment`, and check that an augmentation keeps the label;
# - count how often an augmented image repeats;
# - test whether weight decay and augmentation raise **held-out accuracy** where the model
#   overfits and where it does not, and whether they shrink the train–validation gap.
#
# **Prerequisites:** notebook 02 (overfitting, validation split), notebook 01 (Adam).
#
# **Run time** measured on a 2-core AMD EPYC (AVX-512 with bfloat16, no AMX), quiet: `smoke` ≈ 20 s,
# `cpu` ≈ 2.2 min (133 s); with AVX2 only (simulated: `ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
# MKL_ENABLE_INSTRUCTIONS=AVX2`): `cpu` ≈ 2.9 min (173 s). The committed run took longer because
# another job shared the machine. `gpu` (an estimate) ≈ 3 min.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # seeds python, numpy and torch
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
seeds: int | None = None  # paired replicates per compared setting; None = profile default
tuning_seeds: int | None = (
    None  # extra seeds (seed+100, ...) that pick the decays; None = profile default
)
train_size: int | None = None  # MLP sweep: training images (stratified); None = profile default
width: int | None = None  # units in each of the MLP's two hidden layers; None = profile default
epochs: int | None = None  # MLP sweep: epochs per training run; None = profile default
lr: float = 1e-3  # learning rate of Adam / AdamW
batch_size: int = 64  # MLP sweep: training mini-batch size
overfit_size: int | None = (
    None  # small CNN, overfitting regime: training images; None = profile default
)
overfit_epochs: int | None = None  # small CNN, overfitting regime: epochs; None = profile default
short_size: int | None = (
    None  # small CNN, short-budget regime: training images; None = profile default
)
short_epochs: int | None = None  # small CNN, short-budget regime: epochs; None = profile default
cnn_batch_size: int = 32  # small CNN: training mini-batch size
weight_decay: float | None = (
    None  # small CNN: AdamW decay of the decay arm; None = picked on tuning seeds
)
crop_padding: int = 2  # augmentation: zero padding before the random crop = largest shift in pixels
flip: str = "auto"  # auto (flip only where a mirror image keeps the label: not MNIST) | on | off
speed_images: int | None = (
    None  # images per timing of the two augmentation pipelines; None = profile default
)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator
from torchvision.transforms import v2

import course_utils as cu
from course_utils.data import FLIP_KEEPS_LABEL, normalize, torchvision_dataset
from course_utils.exercises import check_close, check_equal

# %%
cfg = cu.setup(
    globals(),
    seeds=cu.integer(1, 20, smoke=1, cpu=5, gpu=5),
    tuning_seeds=cu.integer(1, 20, smoke=1, cpu=2, gpu=3),
    train_size=cu.integer(10, 60000, smoke=300, cpu=300, gpu=2000),
    width=cu.integer(1, 8192, smoke=64, cpu=256, gpu=512),
    epochs=cu.integer(1, 500, smoke=2, cpu=20, gpu=40),
    lr=cu.number(0, 10, low_open=True),
    batch_size=cu.integer(1, 4096),
    overfit_size=cu.integer(10, 60000, smoke=100, cpu=200, gpu=200),
    overfit_epochs=cu.integer(1, 1000, smoke=3, cpu=80, gpu=100),
    short_size=cu.integer(10, 60000, smoke=200, cpu=2000, gpu=2000),
    short_epochs=cu.integer(1, 1000, smoke=1, cpu=2, gpu=2),
    cnn_batch_size=cu.integer(1, 4096),
    weight_decay=cu.number(0, 100, optional=True),
    crop_padding=cu.integer(0, 16),
    flip=cu.choice("auto", "on", "off"),
    speed_images=cu.integer(256, 60000, smoke=256, cpu=2000, gpu=5000),
)

# %%
ds = cu.load_dataset(cfg.dataset, cfg.data_dir)
train_x, train_y, val_part_x, val_part_y = cu.train_val_split(
    ds.train_x, ds.train_y, 0.2, seed=cfg.seed
)
for name, value, limit in (
    ("train_size", train_size, len(train_y)),
    ("overfit_size", overfit_size, len(train_y)),
    ("short_size", short_size, len(train_y)),
    ("crop_padding", crop_padding, min(ds.shape[1:]) // 2),
):
    if value > limit:
        raise cu.ParameterError(
            f"parameter {name!r} got {value}; allowed: at most {limit} for {cfg.dataset}"
        )
use_flip = FLIP_KEEPS_LABEL[cfg.dataset] if flip == "auto" else flip == "on"
res = cu.Results("03_weight_decay_and_augmentation", results_path, cfg.profile)

# %% [markdown]
# ## 1. L2 regularization and weight decay: two update rules
#
# **L2 regularization** adds a penalty to the loss, $\tilde L(w) = L(w) + \frac{\lambda}{2}\lVert w\rVert^2$,
# so the gradient gains a pull toward zero: $\nabla \tilde L = g + \lambda w$. Geometrically, the
# optimum of the penalized loss sits where the pull of the data and the pull toward the origin
# balance — inside a region around zero, away from the training optimum; a larger $\lambda$ means
# a smaller region (the constrained-optimization view of Goodfellow, Bengio & Courville, 2016,
# section 7.2). Krogh & Hertz (1992) showed that such a simple decay can improve generalization.
# In PyTorch it is the optimizer's `weight_decay` argument (the source notes use
# `Adam(lr=1e-3, weight_decay=1e-3)`, Adam being Kingma & Ba's 2015 optimizer of notebook 01).
#
# **L2 as a prior.** The penalty has a probabilistic reading: if the cross-entropy is the negative
# log-likelihood of the labels, $-\log p(y \mid x, w)$, and the weights get a Gaussian prior
# $w \sim \mathcal N(0, \sigma^2 I)$, then $-\log$ of the posterior is the loss plus
# $\lVert w\rVert^2 / (2\sigma^2)$ plus a constant. Minimizing the L2-penalized loss is therefore
# the *maximum a posteriori* (MAP) estimate with $\lambda = 1/(N\sigma^2)$ when the loss is the
# mean over $N$ training examples: a strong decay is a prior that believes in small weights, and
# with more data ($N$ larger) the same prior matters less (Goodfellow, Bengio & Courville, 2016,
# section 5.6.1).
#
# **The picture**, on a loss simple enough to solve by hand: a quadratic bowl
# $L(w) = \frac12 (w-w^*)^\top H (w-w^*)$ with its training optimum at $w^*$. The penalized optimum
# is $w(\lambda) = (H + \lambda I)^{-1} H w^*$. It is also the best point inside the disc
# $\lVert w\rVert \le \lVert w(\lambda)\rVert$ (Lagrange multipliers): there the gradient of the loss
# points straight at the origin, $\nabla L(w) = -\lambda w$, so a loss contour just touches the
# disc's edge. The cell checks that, then draws three values of $\lambda$.

# %%
H = np.array(
    [[5.0, 2.0], [2.0, 1.5]]
)  # curvature of the bowl: steep in one direction, flat in the other
w_star = np.array([2.0, 1.5])  # the training optimum


def penalized_optimum(lam: float) -> np.ndarray:
    return np.linalg.solve(H + lam * np.eye(2), H @ w_star)


lams = (0.5, 2.0, 8.0)
for lam in lams:
    w = penalized_optimum(lam)
    tangency = np.abs(H @ (w - w_star) + lam * w).max()
    print(f"lambda {lam:>3}: w = {np.round(w, 3)}, |w| = {np.linalg.norm(w):.3f}, ", end="")
    print(f"|grad L(w) + lambda w| = {tangency:.1e}")

g1, g2 = np.meshgrid(np.linspace(-2.5, 3, 300), np.linspace(-2.5, 2.5, 300))
d = np.stack([g1 - w_star[0], g2 - w_star[1]], axis=-1)
bowl = 0.5 * np.einsum("...i,ij,...j->...", d, H, d)
path = np.array([penalized_optimum(lam) for lam in np.geomspace(1e-3, 1e3, 200)])
fig, ax = plt.subplots(figsize=(7.5, 4.5))
ax.contour(g1, g2, bowl, levels=np.geomspace(0.05, 40, 12), colors="grey", linewidths=0.4)
ax.plot(*path.T, color="black", lw=1, label=r"$w(\lambda)$ as $\lambda$ grows")
angle = np.linspace(0, 2 * np.pi, 200)
for lam, color in zip(lams, ("tab:blue", "tab:orange", "tab:red")):
    w = penalized_optimum(lam)
    r = np.linalg.norm(w)
    ax.fill(r * np.cos(angle), r * np.sin(angle), color=color, alpha=0.12)
    touching = 0.5 * (w - w_star) @ H @ (w - w_star)  # the loss contour through w(lambda)
    ax.contour(g1, g2, bowl, levels=[touching], colors=color, linewidths=1.2)
    ax.plot(*w, "o", color=color, label=rf"$\lambda$ = {lam}: optimum on the disc's edge")
ax.plot(*w_star, "k*", ms=12, label="training optimum $w^*$")
ax.set(xlabel="$w_1$", ylabel="$w_2$", aspect="equal", title="Larger $\\lambda$, smaller region")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
plt.show()

# %% [markdown]
# The path does not run straight from $w^*$ to the origin. In $H$'s eigenbasis each coordinate is
# multiplied by $h_i / (h_i + \lambda)$, so the weights along the flat direction (small
# curvature $h_i$: the data hardly care about them) shrink first, and the steep direction keeps
# its value longest (Goodfellow, Bengio & Courville, 2016, section 7.1.1).
#
# **Weight decay** shrinks the weights directly at every step. For plain SGD with learning rate
# $\eta$ the two are the same thing:
#
# $$w_{t+1} = w_t - \eta\,(g_t + \lambda w_t) = (1 - \eta\lambda)\,w_t - \eta\, g_t .$$
#
# For **Adam** they are not. With L2 the penalty goes through Adam's moments,
# $m_t = \beta_1 m_{t-1} + (1-\beta_1)(g_t + \lambda w_t)$,
# $v_t = \beta_2 v_{t-1} + (1-\beta_2)(g_t + \lambda w_t)^2$, and the step divides it by the
# running gradient size:
#
# $$w_{t+1} = w_t - \eta\,\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}
# \quad\Rightarrow\quad \text{decay part} \approx \frac{\eta\,\lambda}{\sqrt{\hat v_t} + \epsilon}\, w_t .$$
#
# A weight with small gradients (small $\hat v$) is decayed hard, one with large gradients hardly
# at all. **AdamW** (Loshchilov & Hutter, 2019) *decouples* the decay from the adaptive step:
#
# $$w_{t+1} = (1 - \eta\lambda)\, w_t - \eta\,\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}
# \qquad (m_t, v_t \text{ computed from } g_t \text{ only}),$$
#
# so every weight shrinks by the same factor $1 - \eta\lambda$ per step. Note that torch multiplies
# the decay by the learning rate $\eta$.
#
# The cell below runs each optimizer twice on the same sequence of gradients: once with the L2
# term (`weight_decay=λ`), once with decoupled decay (shrink by $1-\eta\lambda$, then a step with
# `weight_decay=0`), and prints the largest difference between the two weight vectors.


# %%
# NBVAL_CHECK_OUTPUT
def l2_minus_decoupled(make, wd: float = 0.1, step_lr: float = 0.05, steps: int = 30) -> float:
    """Largest |w_L2 - w_decoupled| after ``steps`` steps on the same random gradients (float64)."""
    gen = torch.Generator().manual_seed(0)
    w0, grads = (
        torch.randn(5, generator=gen, dtype=torch.float64),
        torch.randn(steps, 5, generator=gen, dtype=torch.float64),
    )
    a, b = torch.nn.Parameter(w0.clone()), torch.nn.Parameter(w0.clone())
    opt_l2, opt_plain = make([a], step_lr, wd), make([b], step_lr, 0.0)
    for g in grads:
        a.grad, b.grad = g.clone(), g.clone()
        opt_l2.step()
        with torch.no_grad():
            b.mul_(1 - step_lr * wd)  # decoupled: shrink, then the plain step
        opt_plain.step()
    return (a - b).abs().max().item()


# %%
# NBVAL_CHECK_OUTPUT
optimizers = {
    "SGD": lambda p, step_lr, wd: torch.optim.SGD(p, lr=step_lr, weight_decay=wd),
    "SGD, momentum 0.9": lambda p, step_lr, wd: torch.optim.SGD(
        p, lr=step_lr, momentum=0.9, weight_decay=wd
    ),
    "Adam": lambda p, step_lr, wd: torch.optim.Adam(p, lr=step_lr, weight_decay=wd),
}
gaps = {name: l2_minus_decoupled(make) for name, make in optimizers.items()}
for name, gap in gaps.items():
    print(
        f"{name:<18} L2 vs decoupled decay: {'equal (< 1e-12)' if gap < 1e-12 else f'differ by {gap:.2g}'}"
    )
print(
    "AdamW's default weight_decay:",
    torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))]).defaults["weight_decay"],
)

# %% [markdown]
# L2 equals weight decay for plain SGD only: momentum carries the $\lambda w$ term into its
# velocity, and Adam divides it by $\sqrt{\hat v}$. The next cell checks that `torch.optim.AdamW`
# *is* "shrink by $1-\eta\lambda$, then a plain Adam step".


# %%
# NBVAL_CHECK_OUTPUT
def adamw_vs_manual(wd: float = 0.1, step_lr: float = 0.05, steps: int = 30) -> float:
    """Largest |AdamW - (shrink by 1 - lr*wd, then Adam with weight_decay=0)| over ``steps`` steps."""
    gen = torch.Generator().manual_seed(0)
    w0, grads = (
        torch.randn(5, generator=gen, dtype=torch.float64),
        torch.randn(steps, 5, generator=gen, dtype=torch.float64),
    )
    a, b = torch.nn.Parameter(w0.clone()), torch.nn.Parameter(w0.clone())
    opt_w, opt_adam = (
        torch.optim.AdamW([a], lr=step_lr, weight_decay=wd),
        torch.optim.Adam([b], lr=step_lr),
    )
    for g in grads:
        a.grad, b.grad = g.clone(), g.clone()
        opt_w.step()
        with torch.no_grad():
            b.mul_(1 - step_lr * wd)
        opt_adam.step()
    return (a - b).abs().max().item()


print("AdamW equals shrink-then-Adam (< 1e-12):", adamw_vs_manual() < 1e-12)

# %%
others_differ = min(gaps["SGD, momentum 0.9"], gaps["Adam"]) > 1e-6
res.exact(
    "L2 regularization equals weight decay only for SGD without momentum",
    gaps["SGD"] if others_differ else float("inf"),
    1e-12,
    detail="; ".join(f"{k}: {v:.2g}" for k, v in gaps.items()) + " (largest |w_L2 - w_decoupled|)",
)
_ = res.exact(
    "torch's AdamW is a shrink by 1 - lr*weight_decay followed by a plain Adam step",
    adamw_vs_manual(),
    1e-12,
)

# %% [markdown]
# ## 2. Which parameters to decay: parameter groups
#
# `weight_decay=λ` applies to *every* parameter the optimizer gets, biases and the scale and shift
# of normalization layers included. Those are few, do not make the model more complex, and
# shrinking a norm layer's scale toward zero can hurt, so a common recipe decays only the weight
# matrices and kernels. Optimizers take **parameter groups**, each with its own settings:


# %%
def param_groups(net: torch.nn.Module, wd: float) -> list[dict]:
    """Weight matrices / kernels decay with ``wd``; biases and norm parameters (1-d) do not."""
    decay = [p for p in net.parameters() if p.ndim > 1]
    no_decay = [p for p in net.parameters() if p.ndim <= 1]
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(kind: str, net: torch.nn.Module, wd: float) -> torch.optim.Optimizer:
    """``adam``: L2 through Adam's moments; ``adamw``: decoupled decay. Biases are not decayed."""
    return {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind](
        param_groups(net, wd), lr=lr
    )


# %% [markdown]
# With a zero data gradient one AdamW step only applies the decay: the weights shrink by
# $1-\eta\lambda$, the biases and the batch-norm parameters stay where they were.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
before = {name: p.detach().clone() for name, p in net.named_parameters()}
opt = torch.optim.AdamW(param_groups(net, 0.5), lr=0.1)
for p in net.parameters():
    p.grad = torch.zeros_like(p)
opt.step()
for name, p in net.named_parameters():
    shrunk = torch.allclose(p.detach(), (1 - 0.1 * 0.5) * before[name])
    kept = torch.equal(p.detach(), before[name])
    print(
        f"{name:<9} ndim={p.ndim}: {'unchanged' if kept else 'shrunk by 1 - lr*wd = 0.95' if shrunk else 'other'}"
    )

# %% [markdown]
# ## 3. The weight-decay setup, on paired seeds
#
# As in notebook 02: a stratified 8:2 split, a small stratified training subset, a wide MLP, used
# in sections 4 and 5 to see what the decay does to the weights (section 7 asks what it does to
# held-out accuracy, on a CNN and in two regimes). For seed $s$ every compared setting gets the
# same subset, the same initial weights (`torch.manual_seed(s)` right before building the model)
# and the same batch order. The **gap**
# is measured on the *un-augmented* training subset and a validation sample, both in `eval()`
# mode: gap = training accuracy − validation accuracy.

# %%
val_x, val_y = cu.stratified_subset(
    val_part_x, val_part_y, cfg.pick(1000, 5000, 12000), seed=cfg.seed
)
test_x, test_y = cu.stratified_subset(
    ds.test_x, ds.test_y, cfg.pick(1000, 5000, 10000), seed=cfg.seed
)
val_loader, test_loader = (
    ds.loader(x, y, 2048, device=cfg.device) for x, y in ((val_x, val_y), (test_x, test_y))
)


def weight_norm(net: torch.nn.Module) -> float:
    """L2 norm of all weight matrices and kernels (parameters with more than one dimension)."""
    return (
        sum(float(p.detach().double().pow(2).sum()) for p in net.parameters() if p.ndim > 1) ** 0.5
    )


def grad_rms(opt: torch.optim.Optimizer, p: torch.Tensor) -> torch.Tensor:
    """Adam's running gradient size for ``p``: sqrt of the bias-corrected second moment."""
    state = opt.state[p]
    return (state["exp_avg_sq"] / (1 - 0.999 ** float(state["step"]))).sqrt().flatten()


# %%
def accuracies(net: torch.nn.Module, train_eval, test: bool = True) -> dict:
    """Accuracy on the un-augmented training subset, on validation and (``test``) on test; the gap."""
    tr, va = (cu.evaluate(net, loader)["acc"] for loader in (train_eval, val_loader))
    te = cu.evaluate(net, test_loader)["acc"] if test else float("nan")
    return {"train_acc": tr, "val_acc": va, "test_acc": te, "gap": tr - va}


def scores(net: torch.nn.Module, opt: torch.optim.Optimizer, train_eval, test: bool = True) -> dict:
    """Accuracies and gap, weight norm, the final weights and Adam's gradient sizes."""
    matrices = [p for p in net.parameters() if p.ndim > 1]
    return {
        "norm": weight_norm(net),
        **accuracies(net, train_eval, test),
        "w": torch.cat([p.detach().flatten() for p in matrices]),
        "g": torch.cat([grad_rms(opt, p) for p in matrices]),
    }


# %%
def train_setting(s: int, kind: str = "adam", wd: float = 0.0, test: bool = True) -> dict:
    """Train a fresh MLP on seed ``s``'s subset with one optimizer setting; return its scores
    (``test=False``: no test accuracy, for runs that only choose a setting)."""
    x, y = cu.stratified_subset(train_x, train_y, train_size, seed=s, name="train_size")
    torch.manual_seed(s)
    net = cu.build_model("mlp", ds.shape, ds.num_classes, hidden=(width, width)).to(cfg.device)
    opt = make_optimizer(kind, net, wd)
    train = ds.loader(x, y, batch_size, shuffle=True, seed=s, device=cfg.device)
    cu.fit(net, train, epochs=epochs, optimizer=opt, progress=False)
    return scores(net, opt, ds.loader(x, y, 2048, device=cfg.device), test)


# %% [markdown]
# ## 4. The weight-decay sweep: Adam's L2 and AdamW
#
# Because torch multiplies AdamW's decay by the learning rate, AdamW at `lr=1e-3` and its default
# `weight_decay=0.01` shrinks a weight by a factor $1 - \eta\lambda = 1 - 10^{-5}$ per step (the
# cell below prints what that adds up to over one training run here). The two optimizers
# therefore get their own grids, each a ladder of tenfold steps (AdamW's a hundred times
# higher), with 0 shared.

# %%
ADAM_GRID = cfg.pick(
    smoke=(0.0, 1e-2, 1.0), cpu=(0.0, 1e-3, 1e-2, 1e-1, 1.0), gpu=(0.0, 1e-3, 1e-2, 1e-1, 1.0)
)
ADAMW_GRID = cfg.pick(
    smoke=(0.0, 10.0, 100.0), cpu=(0.0, 0.1, 1.0, 10.0, 100.0), gpu=(0.0, 0.1, 1.0, 10.0, 100.0)
)
seed_list = cfg.seed_list(seeds)
start = time.perf_counter()
runs = {("adam", wd, s): train_setting(s, "adam", wd) for wd in ADAM_GRID for s in seed_list}
runs |= {
    ("adamw", wd, s): runs[("adam", 0.0, s)] if wd == 0 else train_setting(s, "adamw", wd)
    for wd in ADAMW_GRID
    for s in seed_list
}  # without decay Adam and AdamW are the same run
sweep_seconds = time.perf_counter() - start
print(
    f"{len(ADAM_GRID) + len(ADAMW_GRID) - 1} settings x {len(seed_list)} seeds in {sweep_seconds:.0f} s"
)
steps = epochs * -(-train_size // batch_size)
print(
    f"AdamW's default 0.01 at lr {lr:g} over {steps} steps: weights shrink by {1 - (1 - lr * 0.01) ** steps:.2%}"
)


# %%
def mean_of(kind: str, wd: float, key: str) -> float:
    return float(np.mean([runs[(kind, wd, s)][key] for s in seed_list]))


cu.table(
    [
        {
            "optimizer": kind,
            "weight_decay": wd,
            **{k: mean_of(kind, wd, k) for k in ("norm", "train_acc", "val_acc", "gap")},
        }
        for kind, grid in (("adam", ADAM_GRID), ("adamw", ADAMW_GRID))
        for wd in grid
    ],
    floatfmt=".3f",
)
# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for kind, grid, name in (
    ("adam", ADAM_GRID, "Adam (L2)"),
    ("adamw", ADAMW_GRID, "AdamW (decoupled)"),
):
    xs = [max(wd, grid[1] / 10) for wd in grid]  # 0 drawn one decade below the smallest value
    for ax, key in zip(axes, ("norm", "val_acc")):
        ax.plot(xs, [mean_of(kind, wd, key) for wd in grid], "o-", label=name)
        ax.set(
            xscale="log",
            xlabel="weight_decay (0 drawn one decade left)",
            ylabel=key.replace("_", " "),
        )
        ax.grid(alpha=0.3)
axes[0].legend()
fig.suptitle(
    f"Mean over {len(seed_list)} seed(s): MLP {width}x{width}, {train_size} images, {epochs} epochs"
)
fig.tight_layout()

# %% [markdown]
# **Claim, "larger weight decay means smaller weights"** — a monotone claim, so every step of each
# ladder is tested on its own. Metric per step and seed: how much smaller the weight norm is at
# the larger setting, in percent, $100\,(1 - \lVert w\rVert_{\lambda_{i+1}} / \lVert w\rVert_{\lambda_i})$;
# positive supports the claim. `min_effect` = 1 (one percent smaller).


# %%
def shrink_steps(kind: str, grid: tuple) -> dict[str, tuple]:
    """Per step of the grid: per-seed percentage by which the weight norm fell."""
    return {
        f"{a:g}->{b:g}": cu.paired(
            [
                100 * runs[(kind, b, s)]["norm"] / max(runs[(kind, a, s)]["norm"], 1e-12)
                for s in seed_list
            ],
            [100.0] * len(seed_list),
            better="lower",
            names=(f"norm at {b:g}, % of the norm at {a:g}", f"norm at {a:g} (100 %)"),
        )
        for a, b in zip(grid, grid[1:])
    }


WHY_ONE_PERCENT = "why 1 %: cu.MIN_EFFECTS has no unit for a relative weight norm"
res.compare_steps(
    "Larger weight decay means smaller weights (Adam's L2)",
    shrink_steps("adam", ADAM_GRID),
    1,
    unit="% smaller",
    detail=WHY_ONE_PERCENT,
)
_ = res.compare_steps(
    "Larger weight decay means smaller weights (AdamW)",
    shrink_steps("adamw", ADAMW_GRID),
    1,
    unit="% smaller",
    detail=WHY_ONE_PERCENT,
)

# %% [markdown]
# ## 5. Where Adam's L2 decay lands: weights with small gradients
#
# Section 1 predicted that Adam's L2 decays a weight in proportion to $1/\sqrt{\hat v}$. We can
# measure it: take each weight's gradient size $\sqrt{\hat v}$ from the run *without* decay
# (same seed, same start), sort the weights into five groups from smallest to largest gradients,
# and compare the size (RMS) of each group's final weights with and without decay. Adam's L2 at
# 0.01 and AdamW at 10 are compared, two settings that shrink the total norm by comparable
# amounts (the plot's title gives the norms).


# %%
def log_shrink_by_gradient(kind: str, wd: float, s: int, groups: int = 5) -> np.ndarray:
    """Per gradient-size group: log(RMS of final weights with decay / without decay)."""
    base, run = runs[("adam", 0.0, s)], runs[(kind, wd, s)]
    order = base["g"].argsort()
    return np.array(
        [
            float((run["w"][idx].pow(2).mean() / base["w"][idx].pow(2).mean()).sqrt().log())
            for idx in order.chunk(groups)
        ]
    )


shrink = {
    kind: np.array([log_shrink_by_gradient(kind, wd, s) for s in seed_list])
    for kind, wd in (("adam", 1e-2), ("adamw", 10.0))
}

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for kind, name in (("adam", "Adam, L2 0.01"), ("adamw", "AdamW, decay 10")):
    ax.plot(range(1, 6), np.exp(shrink[kind].mean(0)), "o-", label=name)
norms = {k: mean_of(*k, "norm") for k in (("adam", 0.0), ("adam", 1e-2), ("adamw", 10.0))}
ax.set(
    xlabel="gradient-size group (1 = smallest 20%)",
    ylabel="final weight RMS / no decay",
    yscale="log",
    title="weight norm: " + ", ".join(f"{k} {w:g}: {v:.1f}" for (k, w), v in norms.items()),
)
ax.xaxis.set_major_locator(MaxNLocator(integer=True))
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %% [markdown]
# The per-step decay rate Adam's L2 gives each weight is $\eta\lambda / (\sqrt{\hat v}+\epsilon)$;
# the cell below prints how widely it spreads over the weights of the run above, while AdamW's
# is the single number $\eta\lambda$:

# %%
g = runs[("adam", 1e-2, seed_list[0])]["g"]
rate = lr * 1e-2 / (g + 1e-8)
q10, q50, q90 = (float(rate.quantile(q)) for q in (0.1, 0.5, 0.9))
print(
    f"Adam L2 0.01, per-step relative decay: 10th percentile {q10:.1e}, median {q50:.1e}, 90th {q90:.1e} "
    f"({q90 / q10:.0f}x between them); AdamW 10: {lr * 10:.1e} for every weight"
)

# %% [markdown]
# **Claim, "Adam's L2 over-decays weights with small gradients and under-decays those with large
# gradients, where AdamW does not"** (Loshchilov & Hutter, 2019). Metric per seed: the log-shrink
# of the largest-gradient group minus that of the smallest-gradient group (how much *more* the
# small-gradient weights shrank), Adam's L2 minus AdamW. `min_effect` = 0.4 (a factor of 1.5).

# %%
spread = {kind: v[:, -1] - v[:, 0] for kind, v in shrink.items()}
_ = res.compare(
    "Adam's L2 decays small-gradient weights more than large-gradient ones, unlike AdamW",
    cu.paired(spread["adam"], spread["adamw"], names=("Adam L2 0.01", "AdamW 10")),
    0.4,
    unit="log ratio",
    detail="why 0.4: a factor of 1.5 (cu.MIN_EFFECTS has no unit for a log ratio of shrinks); "
    f"spread Adam L2 0.01: {cu.format_effect(spread['adam'])}, AdamW 10: {cu.format_effect(spread['adamw'])}",
)
# %% [markdown]
# **Claim, "AdamW generalizes better than Adam with L2"** (the paper's main result, there with
# ResNets on CIFAR-10 and on ImageNet downsampled to 32x32 pixels, trained with learning-rate
# schedules such as cosine annealing). Both get the same tuning budget: each picks its weight
# decay from its own non-zero grid values by mean **validation** accuracy on `tuning_seeds`
# **other seeds** (`seed + 100`, `seed + 101`, ...: other training subsets, initial weights and
# batch orders), and the picked settings are then compared on the measurement seeds' **test**
# images, so the choice never sees the runs that judge it. Metric: test accuracy, AdamW minus
# Adam, in points; min effect from `cu.MIN_EFFECTS` (half a point).

# %%
tuning_list = [cfg.seed + 100 + i for i in range(tuning_seeds)]
tuned = {
    (kind, wd, s): train_setting(s, kind, wd, test=False)
    for kind, grid in (("adam", ADAM_GRID), ("adamw", ADAMW_GRID))
    for wd in grid[1:]
    for s in tuning_list
}
pick = {
    kind: max(
        grid[1:], key=lambda wd: np.mean([tuned[(kind, wd, s)]["val_acc"] for s in tuning_list])
    )
    for kind, grid in (("adam", ADAM_GRID), ("adamw", ADAMW_GRID))
}
_ = res.compare(
    "AdamW generalizes better than Adam with L2 (each tuned on validation, on other seeds)",
    cu.paired(
        [runs[("adamw", pick["adamw"], s)]["test_acc"] for s in seed_list],
        [runs[("adam", pick["adam"], s)]["test_acc"] for s in seed_list],
        names=(f"AdamW {pick['adamw']:g}", f"Adam L2 {pick['adam']:g}"),
        scale=100,
    ),
    unit="accuracy points",
    detail=f"picked on validation of seeds {tuning_list}: Adam L2 {pick['adam']:g}, "
    f"AdamW {pick['adamw']:g}; measured on the test set of seeds {seed_list}",
)
# %% [markdown]
# ## 6. Data augmentation: new images from old ones
#
# When more data is hard to collect, we can create plausible new training images from the ones we
# have: statistical methods, generative models, or — cheapest — simple transforms such as a
# **random crop** after zero padding (a shift of up to `crop_padding` pixels) and a **horizontal
# flip** (Shorten & Khoshgoftaar, 2019). The rule: **an augmentation must keep the label.** A
# mirrored sneaker is still a sneaker, but a mirrored 2, 3 or 7 is no digit at all, so flips are
# wrong for MNIST. That is why `cu.Augment` never flips unless asked to, and
# `cu.Augment.for_dataset(name)` flips only where a mirror keeps the label:

# %%
# NBVAL_CHECK_OUTPUT
for name in FLIP_KEEPS_LABEL:
    print(f"{name:<14}", cu.Augment.for_dataset(name, crop_padding=2))


# %%
def render_digit(text: str, size: int = 28) -> np.ndarray:
    """A digit drawn by matplotlib as a size x size grey image (no dataset needed)."""
    fig = plt.figure(figsize=(1, 1), dpi=size)
    fig.text(0.5, 0.45, text, fontsize=22, ha="center", va="center")
    fig.canvas.draw()
    img = 255 - np.asarray(fig.canvas.buffer_rgba())[..., 0]
    plt.close(fig)
    return img


digits = [render_digit(d) for d in "2357"]
fig, axes = plt.subplots(2, 4, figsize=(5, 2.6))
for i, img in enumerate(digits):
    for row, shown in enumerate((img, img[:, ::-1])):
        axes[row, i].imshow(shown, cmap="gray")
        axes[row, i].axis("off")
fig.suptitle("digits (top) and their horizontal flips (bottom): the label is gone")
plt.show()

# %% [markdown]
# Here the notebook uses `crop_padding` and `flip` from its parameters (`flip="auto"` follows the
# table above). Next: do the per-image torchvision pipeline and the batched `cu.Augment` produce
# the same kind of output?

# %%
tv_pipeline = v2.Compose(
    [
        v2.ToImage(),  # PIL image -> uint8 tensor (C, H, W)
        v2.RandomCrop(ds.shape[1:], padding=crop_padding),
        v2.RandomHorizontalFlip(p=0.5 if use_flip else 0.0),
    ]
)
augment = cu.Augment(crop_padding=crop_padding, flip=use_flip)
tv_train = torchvision_dataset(
    cfg.dataset, train=True, transform=tv_pipeline, data_dir=cfg.data_dir
)
torch.manual_seed(cfg.seed)
tv_x = torch.stack([tv_train[i][0] for i in range(16)])
course_x = augment(ds.train_x[:16], torch.Generator().manual_seed(cfg.seed))
for name, out in (("torchvision v2, per image", tv_x), ("cu.Augment, per batch", course_x)):
    print(
        f"{name:<26} shape {tuple(out.shape)}, dtype {out.dtype}, values in [{int(out.min())}, {int(out.max())}]"
    )

# %% [markdown]
# A stronger check: is each crop a **shifted copy** of its zero-padded original? `crop_shifts`
# finds, for every output, the offset $(d_y, d_x)$ of the window of the padded original it equals.
# One pitfall shows up: a `v2` transform applied to a **batch tensor** draws *one* crop for the
# whole batch; it must be called per image (as a dataset does). `cu.Augment` draws one per image.


# %%
def crop_shifts(out: torch.Tensor, x: torch.Tensor, padding: int) -> list[tuple[int, int] | None]:
    """Per image, the offset of the window of its zero-padded original it equals (None: no window)."""
    padded, (h, w) = torch.nn.functional.pad(x, (padding,) * 4), x.shape[-2:]
    offsets = [(dy, dx) for dy in range(2 * padding + 1) for dx in range(2 * padding + 1)]
    return [
        next(
            ((dy, dx) for dy, dx in offsets if torch.equal(o, src[..., dy : dy + h, dx : dx + w])),
            None,
        )
        for o, src in zip(out, padded)
    ]


# %%
# NBVAL_CHECK_OUTPUT
x16 = ds.train_x[:16]
torch.manual_seed(0)
tv_crop = torch.stack([v2.RandomCrop(ds.shape[1:], padding=2)(img) for img in x16])
tv_batch_crop = v2.RandomCrop(ds.shape[1:], padding=2)(x16)  # the whole batch in one call
aug_crop = cu.Augment(crop_padding=2)(x16, torch.Generator().manual_seed(0))
aug_flip = cu.Augment(flip=True)(x16, torch.Generator().manual_seed(0))
for name, out in (
    ("v2 per image", tv_crop),
    ("v2 on the batch", tv_batch_crop),
    ("cu.Augment", aug_crop),
):
    shifts = crop_shifts(out, x16, 2)
    print(
        f"{name:<16}: every crop a shifted copy: {None not in shifts}; distinct shifts among 16: {len(set(shifts))}"
    )
print(
    "cu.Augment(flip=True): every image its original or its mirror:",
    all(torch.equal(o, s) or torch.equal(o, s.flip(-1)) for o, s in zip(aug_flip, x16)),
)

# %% [markdown]
# Both pipelines then normalize with the dataset's **per-channel mean and std** (`v2.Normalize`
# after scaling to [0, 1], or the batched `normalize` the course's loaders use) — the same numbers:

# %%
# NBVAL_CHECK_OUTPUT
tv_norm = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(ds.mean, ds.std)])
same = torch.allclose(
    torch.stack([tv_norm(img) for img in x16]), normalize(x16, ds.mean, ds.std), atol=1e-5
)
stats = f"mean {tuple(round(m, 4) for m in ds.mean)}, std {tuple(round(s, 4) for s in ds.std)}"
print(f"{stats}; v2.Normalize == normalize: {same}")

# %% [markdown]
# A gallery: originals, three batched augmentations of each, and one per-image `v2` version.

# %%
originals = ds.train_x[:8]
gen = torch.Generator().manual_seed(cfg.seed)
rows = [originals] + [augment(originals, gen) for _ in range(3)]
rows.append(torch.stack([tv_pipeline(v2.functional.to_pil_image(img)) for img in originals]))
cu.plots.show_images(
    torch.cat(rows),
    torch.cat([ds.train_y[:8]] * len(rows)),
    ds.classes,
    n=8 * len(rows),
    cols=8,
    title=f"row 1: originals; rows 2-4: cu.Augment(crop_padding={crop_padding}, flip={use_flip}); row 5: v2",
)
plt.show()

# %% [markdown]
# ### Does the network ever see the same image twice?
#
# It is often said that with augmentation "the network never sees exactly the same image twice".
# Count: a crop after padding $p$ has $(2p+1)^2$ offsets, and a flip doubles that, so $p = 2$ with
# flips gives $V = 25 \cdot 2 = 50$ versions of each image. Each epoch draws one version at
# random, so over $E$ epochs the chance that all draws differ is the birthday problem:
#
# $$P(\text{no repeat in } E \text{ epochs}) = \prod_{k=0}^{E-1}\Bigl(1 - \frac{k}{V}\Bigr).$$


# %%
# NBVAL_CHECK_OUTPUT
def p_no_repeat(versions: int, n_epochs: int) -> float:
    return float(np.prod([1 - k / versions for k in range(n_epochs)]))


for pad, fl in ((1, False), (2, False), (2, True), (4, True)):
    v = (2 * pad + 1) ** 2 * (2 if fl else 1)
    print(
        f"padding {pad}, flip {fl!s:<5}: {v:>3} versions; P(some repeat in 20 epochs) = {1 - p_no_repeat(v, 20):.3f}"
    )

# %% [markdown]
# And measured: 300 images, each augmented 20 times with `cu.Augment(crop_padding=2, flip=True)`
# (one draw per epoch); an image counts as repeated when two of its 20 versions are pixel-identical.

# %%
# NBVAL_CHECK_OUTPUT
gen, x300 = torch.Generator().manual_seed(0), ds.train_x[:300]
versions = torch.stack(
    [cu.Augment(crop_padding=2, flip=True)(x300, gen) for _ in range(20)], 1
)  # (300, 20, C, H, W)
repeated = [len({v.numpy().tobytes() for v in img}) < 20 for img in versions]
print(
    f"images with a pixel-identical repeat within 20 epochs: {np.mean(repeated):.3f} "
    f"(birthday formula for 50 versions: {1 - p_no_repeat(50, 20):.3f})"
)

# %% [markdown]
# So repeats are near certain; what augmentation really does is multiply the number of distinct
# training images, here by up to 50, and make each epoch's set a random sample of them.
#
# ### Beyond shifts and flips: cutout and mixup
#
# Two modern augmentations change more than the position. **Cutout** (DeVries & Taylor, 2017)
# blanks a random square of each training image, so the network cannot rely on any one part of
# the object; torchvision calls it `v2.RandomErasing`. **Mixup** (Zhang, Cissé, Dauphin &
# Lopez-Paz, 2018) trains on convex combinations of two images *and of their labels*:
# $\tilde x = \lambda x_i + (1-\lambda) x_j$, $\tilde y = \lambda y_i + (1-\lambda) y_j$ with
# $\lambda \sim \mathrm{Beta}(\alpha, \alpha)$, so the targets are soft, as with the label smoothing
# of notebook 07. Both run on whole batches in torchvision; the cell applies each to 8 training
# images and prints the soft targets mixup produced (this notebook does not train with them).

# %%
batch = ds.train_x[:8].float() / 255
torch.manual_seed(cfg.seed)
erased = v2.RandomErasing(p=1.0, scale=(0.1, 0.2), value=0.0)(batch)
mixed, soft = v2.MixUp(alpha=1.0, num_classes=ds.num_classes)(batch, ds.train_y[:8])
cu.plots.show_images(
    (torch.cat([batch, erased, mixed]) * 255).to(torch.uint8),
    n=24,
    cols=8,
    title="row 1: originals; row 2: cutout (v2.RandomErasing); row 3: mixup (v2.MixUp)",
)
plt.show()
for i in range(3):
    top = soft[i].topk(2)
    words = " + ".join(f"{w:.2f} {ds.classes[k]}" for w, k in zip(top.values, top.indices) if w > 0)
    print(f"mixup image {i}: target {words}")

# %% [markdown]
# ### Speed: per image vs per batch
#
# The per-image route pays Python overhead and a PIL → tensor conversion for every image; the
# batched route does a handful of tensor operations per batch. **Claim, "batched augmentation is
# faster than torchvision's per-image pipeline"**: both produce augmented uint8 batches of 256 from
# the same `speed_images` images, timed alternately 5 times (interleaved, so a busy moment hits
# both). Metric per repeat: the natural log of the time ratio, per image over per batch; min effect
# from `cu.MIN_EFFECTS` ($\log 1.1$: 10 % faster). On a loaded machine the course's rule says
# *inconclusive* whatever the numbers.

# %%
speed_loader = torch.utils.data.DataLoader(
    torch.utils.data.Subset(tv_train, range(speed_images)), batch_size=256, num_workers=0
)
speed_x = ds.train_x[:speed_images]


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_torchvision() -> None:
    for _ in speed_loader:
        pass


def run_batched() -> None:
    g = torch.Generator().manual_seed(0)
    for xb in speed_x.split(256):
        augment(xb, g)


# %%
pairs = [(seconds(run_torchvision), seconds(run_batched)) for _ in range(5)]
speedups = [np.log2(t_tv / t_b) for t_tv, t_b in pairs]
res.compare(
    "Batched augmentation is faster than torchvision's per-image pipeline",
    cu.paired(
        [np.log(t_b) for _, t_b in pairs],
        [np.log(t_tv) for t_tv, _ in pairs],
        better="lower",
        names=("cu.Augment per batch, log s", "torchvision per image, log s"),
    ),
    unit="log time ratio",
    timing=True,
    detail=f"median speed-up {2 ** np.median(speedups):.0f}x on {speed_images} images, 5 interleaved repeats",
)
print(
    f"images/s: torchvision per image {speed_images / np.median([p[0] for p in pairs]):,.0f}, "
    f"cu.Augment {speed_images / np.median([p[1] for p in pairs]):,.0f}"
)

# %% [markdown]
# ## 7. Where each regularizer helps: two regimes on a small CNN
#
# ### Why the regime decides
#
# A regularizer gives up some fit to the training images in exchange for a simpler or more
# invariant model. That exchange can only pay where the model fits *too* well: where its capacity
# exceeds what the training images pin down and it is trained long enough to **memorize** them.
# Zhang et al. (2017) showed how far this goes: standard image CNNs reach 100 % training accuracy
# even on randomly relabelled CIFAR-10, so capacity alone does not explain why they generalize;
# in their experiments weight decay and augmentation raised test accuracy somewhat but were
# neither necessary nor sufficient for generalization. With few images and many epochs the model
# memorizes, and a regularizer has something to take back. With plenty of images and a short
# budget the model has not even fitted its training set; a regularizer then makes an unfinished
# fit harder (augmentation shows it new variants of images it has not yet learned; decay pulls
# weights toward zero while they are still travelling toward a fit), and it can cost accuracy.
#
# **Augmentation and the model.** A shifted or mirrored copy of an image is only extra data if
# the model can use what it learns from the copy on the original. A **convolution is translation
# equivariant** (shift the input and its feature maps shift with it) and max-pooling makes the
# output nearly invariant to small shifts, so a CNN shares what it learns across positions. An MLP
# has a separate weight for every pixel: to it a shifted image is a new pattern, and shifts spend
# its capacity on positions the centred Fashion-MNIST images never show. Shifted crops and flips
# are the classic recipe for CNNs (Krizhevsky, Sutskever & Hinton, 2012, random crops and mirror
# images against AlexNet's overfitting; Simard, Steinkraus & Platt, 2003, distorted copies of
# MNIST digits for convolutional networks), so the regimes below use a CNN.
#
# **Weight decay's strength.** AdamW shrinks each weight by $1-\eta_t\lambda$ per step
# (Loshchilov & Hutter, 2019), so what a run's decay can do is set by $\lambda\sum_t \eta_t$, not
# by $\lambda$ alone: the cell below prints, for each candidate $\lambda$, how far the decay
# *alone* (with no data gradient) would shrink a weight over the overfitting regime's run.
#
# ### The experiment
#
# - **Model:** the source notes' small CNN (`cu.build_model("small_cnn", ...)`: two 5x5
#   Conv-BN-ReLU-MaxPool blocks, FC 120 → 64 → 10) with its dropout switched off, so the only
#   regularizer in a run is the one under test. AdamW at `lr` with parameter groups (biases and
#   batch-norm parameters not decayed), batch `cnn_batch_size`, and a cosine learning-rate schedule
#   that anneals to zero over the run (Loshchilov & Hutter, 2017; notebook 08 teaches schedules),
#   so every run ends at a settled point rather than wherever the last noisy step left it.
# - **Arms**, per seed: *plain* (no decay, no augmentation), *weight decay* (AdamW with the
#   $\lambda$ chosen below), *augmentation* (a `cu.Augment` chosen below).
# - **Regimes** (the factor `regime`): *overfitting* — `overfit_size` training images for
#   `overfit_epochs` epochs; *short budget* — `short_size` images for `short_epochs` epochs. For a
#   seed, the three arms of a regime share the training subset, the initial weights and the batch
#   order.
# - **Choices, on other seeds:** $\lambda$ from a ladder of about threefold steps, and the
#   augmentation from a shift of 1 pixel, a shift of 1 pixel with flips, and the notebook's
#   `crop_padding` with its flips (flips only where they keep the label). Each is picked by mean
#   validation accuracy in the overfitting regime on the `tuning_seeds` seeds `seed + 100, ...`,
#   which the measurement does not use (other subsets, initial weights and batch orders); the
#   picks are then used unchanged in both regimes. Passing `weight_decay` fixes $\lambda$.
#   A flip keeps every Fashion-MNIST label, but keeping the label is not the same as making a
#   *typical* image: the cell below prints how far each class's mean image is from its own mirror
#   image, and a class far from symmetric (items photographed facing one way) gets mirrored
#   training images unlike any validation image. Whether that costs accuracy is for the choice to
#   find out.
# - **Metric:** held-out (validation) accuracy, arm minus plain, in points; the test set is only
#   reported. Min effect from `cu.MIN_EFFECTS` (half a point).

# %%
REGIMES = {  # name -> (training images, epochs, the parameter that sets the size)
    "overfitting": (overfit_size, overfit_epochs, "overfit_size"),
    "short budget": (short_size, short_epochs, "short_size"),
}
augment_arm = cu.Augment(crop_padding=crop_padding, flip=use_flip)
curve_loader = ds.loader(
    *cu.stratified_subset(val_x, val_y, min(500, len(val_y)), seed=cfg.seed),
    2048,
    device=cfg.device,
)  # a validation sample for per-epoch curves


def train_cnn(
    s: int,
    regime: str,
    wd: float = 0.0,
    augment: cu.Augment | None = None,
    kind: str = "adamw",
    curves: bool = False,
    test: bool = True,
) -> dict:
    """Train a fresh small CNN in ``regime`` on seed ``s``'s subset; accuracies, gap, weight norm
    (``test=False``: no test accuracy, for runs that only choose a setting)."""
    n, n_epochs, name = REGIMES[regime]
    x, y = cu.stratified_subset(train_x, train_y, n, seed=s, name=name)
    torch.manual_seed(s)
    net = cu.build_model("small_cnn", ds.shape, ds.num_classes, dropout=0.0).to(cfg.device)
    opt = make_optimizer(kind, net, wd)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, n_epochs)
    train = ds.loader(
        x, y, cnn_batch_size, shuffle=True, seed=s, augment=augment, device=cfg.device
    )
    history = cu.fit(
        net, train, curve_loader if curves else None, epochs=n_epochs, optimizer=opt,
        scheduler=schedule, progress=False,
    )  # fmt: skip
    scored = accuracies(net, ds.loader(x, y, 2048, device=cfg.device), test)
    return {"history": history, "norm": weight_norm(net), **scored}


cu.table(
    [
        {"regime": r, "training images": n, "epochs": e, "steps": e * -(-n // cnn_batch_size)}
        for r, (n, e, _) in REGIMES.items()
    ]
)


# %%
def decay_alone(wd: float, regime: str = "overfitting") -> float:
    """The factor AdamW's decay alone (no data gradient) shrinks a weight by over ``regime``'s run,
    with the cosine schedule stepped once per epoch."""
    n, n_epochs, _ = REGIMES[regime]
    rates = lr * 0.5 * (1 + np.cos(np.pi * np.arange(n_epochs) / n_epochs))
    return float(np.prod((1 - rates * wd) ** -(-n // cnn_batch_size)))


WD_GRID = cfg.pick(smoke=(5.0,), cpu=(1.5, 5.0, 15.0), gpu=(1.5, 5.0, 15.0))
for wd in WD_GRID:
    print(
        f"AdamW decay {wd:g}: the decay alone would shrink a weight to {decay_alone(wd):.3f} of its value"
    )


# %%
def aug_name(aug: cu.Augment) -> str:
    return f"shift {aug.crop_padding}" + (" + flips" if aug.flip else "")


ladder = [cu.Augment(1), cu.Augment(1, use_flip), augment_arm]
candidates = cfg.pick(smoke=[augment_arm], cpu=ladder, gpu=ladder)
AUG_GRID = {aug_name(a): a for a in candidates}  # the same augmentation listed twice counts once
print("augmentation candidates:", ", ".join(AUG_GRID))
means = torch.stack([ds.train_x[ds.train_y == k].float().mean(0) for k in range(ds.num_classes)])
asymmetry = (means - means.flip(-1)).flatten(1).norm(dim=1) / means.flatten(1).norm(dim=1)
print(
    "mirror asymmetry of each class's mean image, |mean - mirrored mean| / |mean| (0 = symmetric):"
)
print(
    ", ".join(
        f"{c} {a:.2f}" for c, a in sorted(zip(ds.classes, asymmetry.tolist()), key=lambda t: -t[1])
    )
)


# %%
def choose(options: dict, arm: str) -> tuple[dict, str]:
    """Mean validation accuracy of each option on the tuning seeds (overfitting regime), and the
    best option; with one option there is nothing to choose and nothing is trained."""
    if len(options) == 1:
        return {}, next(iter(options))
    found = {
        name: float(
            np.mean(
                [
                    train_cnn(s, "overfitting", test=False, **{arm: value})["val_acc"]
                    for s in tuning_list
                ]
            )
        )
        for name, value in options.items()
    }
    return found, max(found, key=found.get)


start = time.perf_counter()
decays = (
    {f"{wd:g}": wd for wd in WD_GRID}
    if weight_decay is None
    else {f"{weight_decay:g}": weight_decay}
)
decay_scores, decay_pick = choose(decays, "wd")
aug_scores, aug_pick = choose(AUG_GRID, "augment")
cnn_decay, cnn_augment = decays[decay_pick], AUG_GRID[aug_pick]
for what, found, picked in (
    ("AdamW decay", decay_scores, decay_pick),
    ("augmentation", aug_scores, aug_pick),
):
    words = ", ".join(f"{k}: {v:.4f}" for k, v in found.items()) or "one candidate, no choice made"
    print(f"{what}: mean validation accuracy on tuning seeds {tuning_list}: {words} -> {picked}")
ARMS = {"plain": {}, "weight decay": {"wd": cnn_decay}, "augmentation": {"augment": cnn_augment}}
cnn = {
    (regime, arm, s): train_cnn(
        s, regime, curves=regime == "overfitting" and arm != "weight decay" and s == cfg.seed, **kw
    )
    for regime in REGIMES
    for arm, kw in ARMS.items()
    for s in seed_list
}
cnn_seconds = time.perf_counter() - start
tuning_runs = (len(decay_scores) + len(aug_scores)) * len(tuning_list)
cnn_images = (
    sum(REGIMES[r][0] * REGIMES[r][1] for r, _, _ in cnn)
    + tuning_runs * overfit_size * overfit_epochs
)
print(
    f"{len(cnn)} runs + {tuning_runs} tuning runs in {cnn_seconds:.0f} s: "
    f"{cnn_images / cnn_seconds:,.0f} training images/s (evaluation included)"
)


# %%
def mean_cnn(regime: str, arm: str, key: str) -> float:
    return float(np.mean([cnn[(regime, arm, s)][key] for s in seed_list]))


cu.table(
    [
        {
            "regime": r,
            "arm": a,
            **{k: mean_cnn(r, a, k) for k in ("train_acc", "val_acc", "gap", "test_acc")},
        }
        for r in REGIMES
        for a in ARMS
    ],
    floatfmt=".3f",
)

# %% [markdown]
# Did the overfitting regime overfit? The curves of the first seed (training accuracy on the
# training batches, in `train()` mode and augmented for the augmentation arm; validation accuracy
# on a 500-image validation sample after every epoch), and the printed check below them.

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
for arm, color in (("plain", "tab:blue"), ("augmentation", "tab:orange")):
    h = cnn[("overfitting", arm, cfg.seed)]["history"]
    ax.plot(h["epoch"], h["train_acc"], color=color, label=f"{arm}: training batches")
    ax.plot(h["epoch"], h["val_acc"], "--", color=color, label=f"{arm}: validation sample")
ax.set(
    xlabel="epoch", ylabel="accuracy", title=f"small CNN, {overfit_size} images, seed {cfg.seed}"
)
ax.xaxis.set_major_locator(MaxNLocator(integer=True))
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.show()
curve = cnn[("overfitting", "plain", cfg.seed)]["history"]["val_acc"]
print(
    f"plain CNN, overfitting regime: training accuracy {mean_cnn('overfitting', 'plain', 'train_acc'):.3f}, "
    f"validation {mean_cnn('overfitting', 'plain', 'val_acc'):.3f} (means over {len(seed_list)} seeds); "
    f"seed {cfg.seed}'s validation sample at half the epochs {curve[len(curve) // 2 - 1]:.3f}, "
    f"at the end {curve[-1]:.3f}"
)
print(
    f"plain CNN, short budget: training accuracy {mean_cnn('short budget', 'plain', 'train_acc'):.3f}, "
    f"validation {mean_cnn('short budget', 'plain', 'val_acc'):.3f}"
)

# %% [markdown]
# **Claims.** Two for the regime a regularizer is made for, "weight decay (augmentation) improves
# held-out accuracy when the model overfits", decided on the overfitting regime alone; and two
# that read as the general advice is often given, "... improves held-out accuracy in every
# training regime", decided by `res.across(..., factor="regime", target="every")`: confirmed only
# when both regimes confirm it, *depends* when the effect is significant with opposite signs in
# the two regimes (Bonferroni-corrected over the two).


# %%
def val_points(regime: str, arm: str) -> tuple:
    """Per seed: validation accuracy of ``arm`` minus the plain run's, in points (paired)."""
    return cu.paired(
        [cnn[(regime, arm, s)]["val_acc"] for s in seed_list],
        [cnn[(regime, "plain", s)]["val_acc"] for s in seed_list],
        names=(f"small CNN, {arm}, {regime}", f"small CNN, plain, {regime}"),
        scale=100,
    )


setting = (
    f"small CNN; AdamW decay {cnn_decay:g}; augmentation {aug_name(cnn_augment)}; "
    + "; ".join(f"{r}: {n} images x {e} epochs" for r, (n, e, _) in REGIMES.items())
)
verdicts = {}
for arm, noun in (("weight decay", "Weight decay"), ("augmentation", "Data augmentation")):
    verdicts[arm, "overfitting"] = res.compare(
        f"{noun} improves held-out accuracy when the model overfits",
        val_points("overfitting", arm),
        unit="accuracy points",
        detail=f"validation accuracy, {arm} minus plain; {setting}",
    )
    verdicts[arm, "every"] = res.across(
        f"{noun} improves held-out accuracy in every training regime",
        {r: val_points(r, arm) for r in REGIMES},
        factor="regime",
        target="every",
        unit="accuracy points",
        detail=f"validation accuracy, {arm} minus plain; {setting}",
    )

# %% [markdown]
# The per-seed differences, regime by regime (dots: seeds; bar: mean; dashed: ± the min effect):

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
for ax, arm in zip(axes, ("weight decay", "augmentation")):
    for i, regime in enumerate(REGIMES):
        d = val_points(regime, arm)
        ax.bar(i, np.mean(d), color="lightgray")
        ax.plot([i] * len(d), d, "o", color="tab:blue")
    for y in (-cu.MIN_EFFECTS["accuracy points"], 0, cu.MIN_EFFECTS["accuracy points"]):
        ax.axhline(y, color="black", lw=0.8 if y == 0 else 0.6, ls="-" if y == 0 else "--")
    ax.set(xticks=range(len(REGIMES)), xticklabels=list(REGIMES), title=f"{arm} minus plain")
    ax.grid(alpha=0.3, axis="y")
axes[0].set_ylabel("validation accuracy change (points)")
plt.show()
for arm in ("weight decay", "augmentation"):
    words = ", ".join(f"{r}: {cu.format_effect(val_points(r, arm), 'points')}" for r in REGIMES)
    print(f"{arm}: {words}; when the model overfits: {verdicts[arm, 'overfitting']}")
    if verdicts[arm, "overfitting"] != "confirmed":
        print(
            f"  -> {arm} did not measurably raise held-out accuracy even in the overfitting regime"
        )

# %% [markdown]
# **Reading the result.** The printed lines give each regularizer's effect per regime and the
# verdicts above decide it. Where a regularizer is confirmed in the overfitting regime and the
# short-budget effect is negative, that is the lesson in numbers: the same technique that repairs
# a memorizing model costs an unfinished one accuracy, so "use weight decay and augmentation" is
# advice for a regime, not a rule. Where a verdict is inconclusive or refuted, the printed effect
# and its interval are what this run could show, and the ledger says about how many seeds would
# decide it.
#
# ### Do they shrink the train–validation gap?
#
# Both are presented as cures for overfitting, so two more claims, in the overfitting regime and
# on the same runs: **"weight decay reduces the gap"** and **"data augmentation reduces the
# gap"**. Metric: gap with the regularizer minus gap without (training minus validation accuracy,
# both measured in `eval()` mode on un-augmented images), oriented so positive = smaller gap, in
# points; min effect from `cu.MIN_EFFECTS`. Each verdict prints the held-out accuracy change
# beside it, because a gap can also close by fitting the training set worse.

# %%
for arm, claim in (
    ("weight decay", "Weight decay reduces the gap between training and validation accuracy"),
    ("augmentation", "Data augmentation reduces the gap between training and validation accuracy"),
):
    res.compare(
        claim,
        cu.paired(
            [cnn[("overfitting", arm, s)]["gap"] for s in seed_list],
            [cnn[("overfitting", "plain", s)]["gap"] for s in seed_list],
            better="lower",
            names=(f"small CNN, {arm}, overfitting", "small CNN, plain, overfitting"),
            scale=100,
        ),
        unit="accuracy points",
        detail=f"small CNN, overfitting regime, {arm}; held-out (validation) accuracy change "
        f"{cu.format_effect(val_points('overfitting', arm), 'points')}",
    )

# %% [markdown]
# **What this shows.** A smaller gap means the training accuracy is a better guide to accuracy on
# new data, but a smaller gap is *not* automatically a better model: a regularizer can close the
# gap by fitting the training set worse without improving validation accuracy, which is why the
# held-out change is printed with each gap verdict. Compare the two numbers in each verdict.
#
# ## 8. Try it: weight decay and augmentation strength
#
# Pick a weight decay, an optimizer and an augmentation strength and press **Run**: a fresh small
# CNN trains in the overfitting regime (seed `seed`), and its curves, weight norm and gap appear.
# The settings the experiment above already ran with curves are shown without retraining.

# %%
demo_runs = {
    ("adamw", 0.0, 0, False): cnn[("overfitting", "plain", cfg.seed)],
    ("adamw", 0.0, cnn_augment.crop_padding, cnn_augment.flip): cnn[
        ("overfitting", "augmentation", cfg.seed)
    ],
}


def regularization_demo(
    weight_decay: float = 0.0, optimizer: str = "adamw", crop_padding: int = 0, flip: bool = False
) -> dict:
    """Train one setting (seed ``seed``, overfitting regime); plot its curves, print norm and gap."""
    key = (optimizer, float(weight_decay), crop_padding, flip)
    if key not in demo_runs:
        aug = cu.Augment(crop_padding, flip) if (crop_padding or flip) else None
        demo_runs[key] = train_cnn(
            cfg.seed, "overfitting", weight_decay, aug, optimizer, curves=True
        )
    r = demo_runs[key]
    fig = cu.plots.plot_history(
        r["history"],
        title=f"{optimizer} wd={weight_decay:g}, crop_padding={crop_padding}, flip={flip}",
    )
    for ax in fig.axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    print(
        f"weight norm {r['norm']:.2f}; train acc {r['train_acc']:.3f}, val acc {r['val_acc']:.3f}, gap {r['gap']:+.3f}"
    )
    return r


_ = regularization_demo(crop_padding=cnn_augment.crop_padding, flip=cnn_augment.flip)
# %%
controls = dict(
    weight_decay=cu.widgets.dropdown(
        "decay", [0.0, 1e-3, 1e-2, 1e-1, 1.0, 1.5, 5.0, 15.0, 100.0], 0.0
    ),
    optimizer=cu.widgets.dropdown("optimizer", ["adamw", "adam"]),
    crop_padding=cu.widgets.slider(
        "max shift (px)", cnn_augment.crop_padding, 0, max(6, crop_padding), 1, integer=True
    ),
    flip=cu.widgets.checkbox("horizontal flip", cnn_augment.flip),
)
for control in controls.values():  # room for the labels and a usable slider
    control.style.description_width, control.layout.width = "initial", "260px"
cu.widgets.panel(regularization_demo, live=False, title="Weight decay and augmentation", **controls)

# %% [markdown]
# ## 9. Exercises
#
# **Exercise 1** · about 5 min · ★☆☆ easy
#
# When the data gradient is zero, one AdamW step multiplies every decayed weight
# by a factor. Write `adamw_decay_factor(step_lr, wd)` returning it; the check runs
# `torch.optim.AdamW` for one step and compares.


# %%
def adamw_decay_factor(step_lr: float, wd: float) -> float | None:
    return None  # your code


def check_decay_factor(fn) -> None:
    settings_ = ((0.01, 0.1), (0.001, 1.0), (0.1, 0.5))
    answers = [fn(a, b) for a, b in settings_]
    measured = []
    for step_lr, wd in settings_:
        w = torch.nn.Parameter(torch.tensor([2.0]))
        w.grad = torch.zeros(1)
        torch.optim.AdamW([w], lr=step_lr, weight_decay=wd).step()
        measured.append(w.item() / 2.0)
    return check_close(
        "adamw_decay_factor",
        None if None in answers else answers,
        measured,
        rtol=1e-6,
        hint="torch multiplies the decay by the learning rate",
    )


check_decay_factor(adamw_decay_factor)


# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
def solution_adamw_decay_factor(step_lr: float, wd: float) -> float | None:
    return 1 - step_lr * wd


check_decay_factor(solution_adamw_decay_factor)

# %% [markdown]
# **Exercise 2** · about 10 min · ★★☆ medium
#
# Write `n_versions(padding, flip)`: how many different images can
# `cu.Augment(crop_padding=padding, flip=flip)` make from one image (assume every shift and the
# mirror image give different pixels)? The check counts them by brute force on a random image.


# %%
def n_versions(padding: int, flip: bool) -> int | None:
    return None  # your code


def check_versions(fn) -> None:
    img = torch.randint(
        1, 256, (1, 1, 9, 9), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    ok = True
    for padding, fl in ((1, False), (2, True), (3, True)):
        aug, gen = cu.Augment(padding, fl), torch.Generator().manual_seed(0)
        counted = len({aug(img, gen).numpy().tobytes() for _ in range(3000)})
        ok = (
            check_equal(
                f"n_versions({padding}, {fl})",
                fn(padding, fl),
                counted,
                hint="(2 * padding + 1) offsets in each direction, times 2 with flips",
            )
            and ok
        )
    return ok


check_versions(n_versions)


# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
def solution_n_versions(padding: int, flip: bool) -> int | None:
    return (2 * padding + 1) ** 2 * (2 if flip else 1)


check_versions(solution_n_versions)
# %% [markdown]
# ## Summary
#
# - **L2** adds $\lambda w$ to the gradient; **weight decay** shrinks $w$ by $1-\eta\lambda$ per
#   step. They are the same rule only for plain SGD.
# - In **Adam**, the L2 term is divided by $\sqrt{\hat v}$: weights with small gradients are
#   over-decayed, weights with large gradients barely decayed. **AdamW** decouples the decay and
#   shrinks every weight by the same factor; torch multiplies it by the learning rate, so AdamW's
#   default 0.01 is a gentle setting at small learning rates. Exclude biases and norm parameters
#   with parameter groups.
# - **Augmentation** must keep the label (no flips for digits). It multiplies the number of
#   distinct training images (50 per image for a 2-pixel shift plus flips), it does not make every
#   image new. Batched augmentation on uint8 tensors does the same work as the per-image route.
# - A regularizer can only pay where the model **overfits** (capacity beyond what the data pin
#   down, trained until it memorizes). This run measured weight decay and augmentation on a small
#   CNN in such a regime and in a short-budget one; the verdicts of section 7 say, for this run,
#   where each raised held-out accuracy, where it cost accuracy, and how much each closed the gap.
#   Augmentation belongs with models that can share what they learn across positions
#   (convolutions); weight decay's strength is $\lambda \sum_t \eta_t$, not $\lambda$ alone.
#
# ## References
#
# - Goodfellow, I., Bengio, Y., Courville, A. (2016). *Deep Learning.* MIT Press, sections
#   5.6.1, 7.1.1 and 7.2.
# - Krogh, A., Hertz, J. A. (1992). *A Simple Weight Decay Can Improve Generalization.* NIPS 4.
# - Loshchilov, I., Hutter, F. (2019). *Decoupled Weight Decay Regularization.* ICLR 2019.
# - Kingma, D. P., Ba, J. (2015). *Adam: A Method for Stochastic Optimization.* ICLR 2015.
# - Krizhevsky, A., Sutskever, I., Hinton, G. E. (2012). *ImageNet Classification with Deep
#   Convolutional Neural Networks.* NIPS 25.
# - Simard, P. Y., Steinkraus, D., Platt, J. C. (2003). *Best Practices for Convolutional Neural
#   Networks Applied to Visual Document Analysis.* ICDAR 2003.
# - Zhang, C., Bengio, S., Hardt, M., Recht, B., Vinyals, O. (2017). *Understanding deep learning
#   requires rethinking generalization.* ICLR 2017.
# - Loshchilov, I., Hutter, F. (2017). *SGDR: Stochastic Gradient Descent with Warm Restarts.*
#   ICLR 2017 (the cosine schedule).
# - DeVries, T., Taylor, G. W. (2017). *Improved Regularization of Convolutional Neural Networks
#   with Cutout.* arXiv:1708.04552.
# - Zhang, H., Cissé, M., Dauphin, Y. N., Lopez-Paz, D. (2018). *mixup: Beyond Empirical Risk
#   Minimization.* ICLR 2018.
# - Shorten, C., Khoshgoftaar, T. M. (2019). *A survey on Image Data Augmentation for Deep
#   Learning.* Journal of Big Data 6, 60.

# %%
for kind, grid in (("adam", ADAM_GRID), ("adamw", ADAMW_GRID)):
    for wd in grid:
        res.metric(f"{kind}_wd{wd:g}_weight_norm", mean_of(kind, wd, "norm"))
        res.metric(f"{kind}_wd{wd:g}_val_acc", mean_of(kind, wd, "val_acc"))
        res.metric(f"{kind}_wd{wd:g}_gap", mean_of(kind, wd, "gap"))
res.metric("regularizer_model", "small_cnn")
for regime, (n, e, _) in REGIMES.items():
    key = regime.replace(" ", "_")
    res.metric(f"{key}_images", n)
    res.metric(f"{key}_epochs", e)
    for arm in ARMS:
        for k in ("train_acc", "val_acc", "test_acc", "gap"):
            res.metric(f"cnn_{key}_{arm.replace(' ', '_')}_{k}", mean_cnn(regime, arm, k))
res.metric("cnn_weight_decay", cnn_decay)
res.metric("cnn_augmentation", aug_name(cnn_augment))
res.metric("cnn_seconds", cnn_seconds)
res.metric("cnn_images_per_s", cnn_images / cnn_seconds)
res.metric("augment_median_speedup", 2 ** np.median(speedups))
res.metric("sweep_seconds", sweep_seconds)
res.save()
