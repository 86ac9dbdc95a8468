# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 07 · Label smoothing: soft targets, calibration and over-confidence
#
# With one-hot targets, cross-entropy keeps rewarding a network for pushing the true class's
# probability towards 1, i.e. for making its logits ever larger. **Label smoothing** (Szegedy et
# al., 2016) trains against *soft* targets instead, so the best prediction is no longer "100%
# sure". It is meant to reduce overfitting and over-confidence. (Notebook 06 showed that
# DisturbLabel, Xie et al., 2016, is the same thing in expectation.)
#
# **You will learn to**
# - write the source notes' smoothed targets and loss, relate them to PyTorch's
#   `F.cross_entropy(..., label_smoothing=a)`, and prove numerically that the two agree when
#   $a = \alpha K/(K-1)$;
# - measure **calibration**: negative log-likelihood, the Brier score, the expected calibration
#   error (ECE, and how much it depends on its number of bins) and a reliability diagram;
# - test *"label smoothing reduces overfitting"* and *"reduces over-confidence"* as separate
#   claims with paired seeds, monitoring on a validation split;
# - fix over-confidence after training with **temperature scaling** fitted on validation data
#   (Guo et al., 2017), and know why a smoothed teacher distills worse (Müller et al., 2019).
#
# **Prerequisites:** notebooks 02 (overfitting, validation) and 06 (label noise as a regularizer).
#
# **Run time** measured on a 2-core AMD EPYC (AVX-512 with bfloat16, no AMX), quiet:
# `smoke` ≈ 11 s, `cpu` ≈ 61 s; with AVX2 only (simulated: `ATEN_CPU_CAPABILITY=avx2
# ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2`): `cpu` ≈ 41 s. `gpu` (an estimate)
# ≈ 1 min.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # seeds python, numpy and torch
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
seeds: int | None = None  # paired replicates per compared setting; None = profile default
smoothing: float = 0.2  # the notes' alpha: 1 - alpha on the true class, alpha/(K-1) elsewhere
train_size: int | None = (
    None  # training images per seed (stratified sample); None = profile default
)
val_size: int | None = None  # validation images per seed (monitoring, temperature scaling)
epochs: int | None = None  # training epochs (the overfitting regime); None = profile default
short_epochs: int | None = None  # epochs of the short-budget regime; None = profile default
lr: float = 1e-3  # Adam learning rate
batch_size: int = 128  # training mini-batch size
n_bins: int = 15  # confidence bins of the ECE and the reliability diagram

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.ticker import MaxNLocator

import course_utils as cu
from course_utils.regularizers import smoothing_loss, smoothing_to_torch
from course_utils.train import predict_logits

# %%
started = time.perf_counter()
cfg = cu.setup(
    globals(),
    seeds=cu.integer(1, 20, smoke=1, cpu=5, gpu=5),
    smoothing=cu.number(0, 0.9, low_open=True),
    train_size=cu.integer(100, 50000, smoke=500, cpu=4000, gpu=20000),
    val_size=cu.integer(100, 10000, smoke=500, cpu=2000, gpu=5000),
    epochs=cu.integer(1, 500, smoke=1, cpu=20, gpu=40),
    short_epochs=cu.integer(1, 500, smoke=1, cpu=2, gpu=2),
    lr=cu.number(0, 1, low_open=True),
    batch_size=cu.integer(1, 4096),
    n_bins=cu.integer(2, 100),
)
if batch_size > train_size:
    raise cu.ParameterError(
        f"parameter 'batch_size' got {batch_size}; allowed: at most train_size={train_size}"
    )
res = cu.Results("07_label_smoothing", results_path, cfg.profile)

# %% [markdown]
# ## 1. Two ways to write the soft target
#
# **The notes' form.** With $K$ classes and smoothing $\alpha$, the target of an example of class
# $y$ puts $1-\alpha$ on class $y$ and spreads $\alpha$ evenly over the $K-1$ others; the loss is
# the cross-entropy against that target, averaged over the batch of $N$ examples:
#
# $$t_k = \begin{cases} 1-\alpha & k = y \\ \dfrac{\alpha}{K-1} & k \ne y \end{cases}
# \qquad
# \ell = \frac1N \sum_{n=1}^{N} \sum_{k=1}^{K} -t_{nk}\, \log \mathrm{softmax}(z_n)_k .$$


# %%
def soft_targets(labels: torch.Tensor, K: int, alpha: float) -> torch.Tensor:
    """The notes' targets (N, K): 1 - alpha on the true class, alpha/(K-1) on the others."""
    one_hot = F.one_hot(labels, K).double()
    return one_hot * (1 - alpha) + (1 - one_hot) * alpha / (K - 1)


def notes_loss(logits: torch.Tensor, labels: torch.Tensor, alpha: float) -> torch.Tensor:
    """mean over the batch of sum_k -t_k * log_softmax(logits)_k."""
    targets = soft_targets(labels, logits.shape[1], alpha).to(logits.dtype)
    return (-targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


# %% [markdown]
# **PyTorch's form.** `F.cross_entropy(logits, y, label_smoothing=a)` mixes the one-hot target
# with the uniform distribution, $t = (1-a)\,\mathbf e_y + a/K$: that is $1 - a + a/K$ on the true
# class and $a/K$ on *every* class, the true one included. We can read torch's target off its
# gradient, which is $\mathrm{softmax}(z) - t$:


# %%
def torch_target(label: int, K: int, a: float) -> torch.Tensor:
    """The soft target torch uses for label_smoothing=a, read off the gradient."""
    z = torch.zeros(1, K, dtype=torch.float64, requires_grad=True)
    F.cross_entropy(z, torch.tensor([label]), label_smoothing=a).backward()
    return torch.softmax(z, 1)[0].detach() - z.grad[0]


# %% [markdown]
# **When are they equal?** The wrong classes must get the same mass: $a/K = \alpha/(K-1)$, so
#
# $$a = \alpha\,\frac{K}{K-1},$$
#
# and then the true class gets $1 - a + a/K = 1 - a(K-1)/K = 1-\alpha$ as well. With the notes'
# $\alpha = 0.2$ and $K = 10$, torch needs $a = 0.2222\ldots$, not $0.2$. The canonical copy of
# the notes' loss is `course_utils.regularizers.smoothing_loss` (the capstone, notebook 11, uses
# torch's built-in form instead, with its own $a$); all three agree:

# %%
# NBVAL_CHECK_OUTPUT
print(
    "notes' target, class 0, K=10, alpha=0.2  :",
    " ".join(f"{v:.4f}" for v in soft_targets(torch.tensor([0]), 10, 0.2)[0]),
)
print(
    "torch's target, label_smoothing=0.2222...:",
    " ".join(f"{v:.4f}" for v in torch_target(0, 10, smoothing_to_torch(0.2, 10))),
)

# %%
# NBVAL_CHECK_OUTPUT
g = torch.Generator().manual_seed(0)
equivalence_error = 0.0
for K in (3, 10):
    logits = 3 * torch.randn(64, K, generator=g, dtype=torch.float64)
    labels = torch.randint(0, K, (64,), generator=g)
    for alpha in (0.0, 0.1, 0.2, 0.5):
        mine = notes_loss(logits, labels, alpha)
        builtin = F.cross_entropy(logits, labels, label_smoothing=alpha * K / (K - 1))
        canonical = smoothing_loss(logits, labels, alpha)
        equivalence_error = max(
            equivalence_error, (mine - builtin).abs().item(), (mine - canonical).abs().item()
        )
unconverted = F.cross_entropy(logits, labels, label_smoothing=0.2)
print(f"notes' loss = torch converted = canonical, to 1e-12: {equivalence_error < 1e-12}")
print(
    f"K=10, alpha=0.2: notes' loss {notes_loss(logits, labels, 0.2):.6f}, "
    f"torch with a=0.2 unconverted {unconverted:.6f}"
)

# %%
equivalence_verdict = res.exact(
    "The notes' smoothing loss equals torch's label_smoothing with a = alpha*K/(K-1)",
    equivalence_error,
    1e-12,
    detail="K in {3, 10}, alpha in {0, 0.1, 0.2, 0.5}, 64 random float64 logit vectors; "
    "also equal to course_utils.regularizers.smoothing_loss",
)

# %% [markdown]
# ## 2. Measuring calibration
#
# A model is **calibrated** when, among the predictions it makes with confidence 0.8, 80% are
# right. The confidence of a prediction is its top probability $\hat p_n = \max_k p_{nk}$. Four
# measures, each for $N$ test predictions:
#
# - **Over-confidence**: mean confidence minus accuracy, $\frac1N\sum_n \hat p_n - \mathrm{acc}$
#   (positive: over-confident on average). Its sign mixes two failures, so for a claim about
#   over-confidence we use its **over-confident part of the ECE** (below): the bins where
#   confidence exceeds accuracy, weighted by their size. Swinging past calibration into
#   under-confidence then earns no credit.
# - **Expected calibration error** (Naeini et al., 2015; Guo et al., 2017): sort the predictions
#   into $B$ equal-width confidence bins $S_b = \{n : \hat p_n \in (\frac{b-1}{B}, \frac bB]\}$;
#   in each bin compare accuracy with mean confidence; average the gaps, weighted by bin size:
#
#   $$\mathrm{ECE} = \sum_{b=1}^{B} \frac{|S_b|}{N}\,\bigl|\mathrm{acc}(S_b) - \mathrm{conf}(S_b)\bigr| .$$
#
# - **Negative log-likelihood** (NLL, the test cross-entropy) $-\frac1N\sum_n \log p_{n,y_n}$:
#   punishes confident mistakes hardest.
# - **Brier score** (Brier, 1950) $\frac1N\sum_n\sum_k \bigl(p_{nk} - [k = y_n]\bigr)^2$: the
#   squared error of the whole probability vector; like NLL it rewards accuracy and calibration
#   together, and unlike the ECE it has no bins to choose.


# %%
def reliability(probs: torch.Tensor, labels: torch.Tensor, n_bins: int):
    """Per confidence bin ((b-1)/B, b/B]: count, mean confidence, accuracy (nan when empty)."""
    confidence, predicted = probs.double().max(dim=1)
    correct = (predicted == labels).double()
    bins = (confidence * n_bins).ceil().long().clamp(1, n_bins) - 1  # bin index 0 .. B-1
    count = torch.bincount(bins, minlength=n_bins).double()
    mean_conf = torch.bincount(bins, weights=confidence, minlength=n_bins) / count
    accuracy = torch.bincount(bins, weights=correct, minlength=n_bins) / count
    return count, mean_conf, accuracy


def ece(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> float:
    count, mean_conf, accuracy = reliability(probs, labels, n_bins)
    filled = count > 0
    return float((count[filled] / count.sum() * (accuracy - mean_conf)[filled].abs()).sum())


# %%
def nll(probs: torch.Tensor, labels: torch.Tensor) -> float:
    return float(-probs.double().gather(1, labels[:, None]).clamp_min(1e-12).log().mean())


def brier(probs: torch.Tensor, labels: torch.Tensor) -> float:
    return float(((probs.double() - F.one_hot(labels, probs.shape[1])) ** 2).sum(1).mean())


def over_confidence(probs: torch.Tensor, labels: torch.Tensor) -> float:
    confidence, predicted = probs.double().max(dim=1)
    return float(confidence.mean() - (predicted == labels).double().mean())


def over_confidence_error(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> float:
    """The over-confident part of the ECE: sum over bins of weight * max(0, conf - acc)."""
    count, mean_conf, accuracy = reliability(probs, labels, n_bins)
    filled = count > 0
    gap = (mean_conf - accuracy)[filled].clamp_min(0)
    return float((count[filled] / count.sum() * gap).sum())


# %% [markdown]
# Four checks of these functions: the vectorised ECE equals a plain loop over the predictions;
# a hand example; predictions that are right exactly as often as they claim have an ECE near
# 0, while the same predictions claimed with confidence 0.99 have ECE = 0.99 − accuracy; and an
# under-confident model (right 90 % of the time, claiming 0.6) has a negative confidence minus
# accuracy but **no** over-confident part, so it cannot look "less over-confident" than a
# calibrated model.


# %%
def loop_ece(probs: torch.Tensor, labels: torch.Tensor, n_bins: int) -> float:
    """Reference: one prediction at a time, bins ((b-1)/B, b/B]."""
    sums = [[0.0, 0.0, 0] for _ in range(n_bins)]  # confidence, correct, count
    for p, y in zip(probs.tolist(), labels.tolist()):
        b = min(n_bins, max(1, int(np.ceil(max(p) * n_bins)))) - 1
        sums[b][0] += max(p)
        sums[b][1] += float(int(np.argmax(p)) == y)
        sums[b][2] += 1
    return sum(abs(s_acc - s_conf) / len(labels) for s_conf, s_acc, c in sums if c)


# %%
# NBVAL_CHECK_OUTPUT
g = torch.Generator().manual_seed(0)
probs = torch.softmax(2 * torch.randn(2000, 10, generator=g, dtype=torch.float64), 1)
labels = torch.randint(0, 10, (2000,), generator=g)
print(
    "ECE = loop reference (1, 10, 15 bins):",
    all(abs(ece(probs, labels, b) - loop_ece(probs, labels, b)) < 1e-12 for b in (1, 10, 15)),
)
hand = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]], dtype=torch.float64)
hand_y = torch.tensor([0, 1, 0, 1])
print(
    f"hand example: ECE {ece(hand, hand_y, 10):.4f} (0.2 + 0.1 + 0.075), "
    f"NLL {nll(hand, hand_y):.4f}, Brier {brier(hand, hand_y):.4f}"
)
conf = 0.5 + 0.5 * torch.rand(50_000, generator=g, dtype=torch.float64)
right = torch.rand(50_000, generator=g, dtype=torch.float64) < conf  # right with prob. conf
honest, sure = torch.stack([conf, 1 - conf], 1), torch.tensor([[0.99, 0.01]]).expand(50_000, 2)
print(
    f"honest ECE {ece(honest, (~right).long()):.3f}; claimed 0.99: ECE "
    f"{ece(sure.double(), (~right).long()):.3f} = 0.99 - accuracy {0.99 - right.double().mean():.3f}"
)
shy = torch.tensor([[0.6, 0.4]], dtype=torch.float64).expand(50_000, 2)
shy_y = (torch.rand(50_000, generator=g) > 0.9).long()  # class 0 (the top) right 90 % of the time
print(
    f"under-confident: conf - acc {over_confidence(shy, shy_y):+.3f}, over-confident part "
    f"{over_confidence_error(shy, shy_y):.3f}, ECE {ece(shy, shy_y):.3f}"
)

# %% [markdown]
# ## 3. Experiment: with and without smoothing, paired seeds
#
# We train the same MLP (two hidden layers, Adam) on a small stratified sample of the training
# images for enough epochs that plain training overfits, once without smoothing and once with
# the notes' loss at $\alpha$ = `smoothing` (the source's 0.2). For each seed $s$ both runs share
# the sample, its split into training and validation images, the initial weights and the batch
# order. Training is monitored on the **validation** split; nothing is chosen on the test set,
# which is used once at the end. Claims, declared before they run (differences are per seed,
# oriented so that a positive value supports the claim):
#
# - **"Label smoothing reduces overfitting"**, two separate claims:
#   (a) *smaller train-test gap* (training accuracy on the training images minus test accuracy),
#   plain minus smoothed, smallest effect worth having **one accuracy point**;
#   (b) *higher test accuracy*, smoothed minus plain, smallest effect **half an accuracy point**.
# - **"Label smoothing reduces over-confidence"**, two separate claims:
#   (c) *a smaller over-confident part of the ECE* on the test set, plain minus smoothed,
#   smallest effect **one ECE point**; (d) *lower ECE* (`n_bins` bins), plain minus smoothed,
#   smallest effect **one ECE point** (0.01). Claim (c) asks whether the over-confidence goes
#   away (an overshoot into under-confidence is not counted as more of a cure); (d) whether the
#   model ends calibrated (over-shooting into under-confidence raises the ECE again).

# %%
ds = cu.load_dataset(cfg.dataset, cfg.data_dir)
K = ds.num_classes
test_loader = ds.loader(ds.test_x, ds.test_y, 2000, device=cfg.device)
seed_ids = cfg.seed_list(seeds)
ALPHAS = (0.0, smoothing)


def train_mlp(alpha: float, train_x, train_y, val_loader, s: int, n_epochs: int = epochs):
    """A fresh MLP trained with the notes' loss at alpha: same weights and batches for each alpha."""
    torch.manual_seed(s)
    net = cu.build_model("mlp", ds.shape, K, hidden=(256, 128)).to(cfg.device)
    loader = ds.loader(train_x, train_y, batch_size, shuffle=True, seed=s, device=cfg.device)
    loss_fn = lambda z, y: notes_loss(z, y, alpha)  # noqa: E731
    history = cu.fit(net, loader, val_loader, epochs=n_epochs, lr=lr, loss_fn=loss_fn)
    return net, history


# %% [markdown]
# ### Temperature scaling
#
# Guo et al. (2017) found that modern networks are over-confident, and that one parameter fixes
# most of it after training: divide the logits by a temperature $T$ fitted on validation data,
#
# $$p = \mathrm{softmax}(z / T), \qquad T^\star = \arg\min_{T > 0}\; \mathrm{NLL}_{\text{val}}(T).$$
#
# $T > 1$ softens the predictions, $T < 1$ sharpens them; the argmax, hence the accuracy, never
# changes. We fit $\log T$ (so $T$ stays positive) with L-BFGS on each model's validation logits:


# %%
def fit_temperature(val_logits: torch.Tensor, val_labels: torch.Tensor) -> float:
    """T > 0 minimising the validation NLL of softmax(logits / T) (L-BFGS on log T)."""
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(val_logits / log_t.exp(), val_labels)
        loss.backward()
        return loss

    opt.step(closure)
    return log_t.exp().item()


# %%
def measure(probs: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    acc = float((probs.argmax(1) == labels).double().mean())
    return {
        "acc": acc,
        "over": over_confidence(probs, labels),
        "oe": over_confidence_error(probs, labels, n_bins),
        "ece": ece(probs, labels, n_bins),
        "nll": nll(probs, labels),
        "brier": brier(probs, labels),
    }


# %%
runs = {}  # (seed, alpha) -> measurements
for s in seed_ids:
    train_x, train_y, val_x, val_y = cu.paired_split(ds, train_size, val_size, s)
    val_loader = ds.loader(val_x, val_y, 2000, device=cfg.device)
    for a in ALPHAS:
        net, history = train_mlp(a, train_x, train_y, val_loader, s)
        logits = predict_logits(net, test_loader)
        val_logits = predict_logits(net, val_loader).clone()  # clone: leave inference mode
        T = fit_temperature(val_logits, val_y)
        train_acc = cu.evaluate(net, ds.loader(train_x, train_y, 2000, device=cfg.device))["acc"]
        runs[s, a] = {
            "history": history,
            "train_acc": train_acc,
            "T": T,
            "logits": logits,
            "test": measure(logits.softmax(1), ds.test_y),
            "scaled": measure((logits / T).softmax(1), ds.test_y),
        }

# %% [markdown]
# Averages over the seeds (accuracies and calibration errors in points, i.e. percent; "TS" =
# after temperature scaling fitted on validation):


# %%
def seed_mean(a: float, part: str, key: str | None = None) -> float:
    """Mean over the seeds of runs[s, a][part] (or of runs[s, a][part][key])."""
    return float(
        np.mean([runs[s, a][part] if key is None else runs[s, a][part][key] for s in seed_ids])
    )


rows = [
    {
        "alpha": a,
        "train acc": 100 * seed_mean(a, "train_acc"),
        "test acc": 100 * seed_mean(a, "test", "acc"),
        "gap": 100 * (seed_mean(a, "train_acc") - seed_mean(a, "test", "acc")),
        "conf - acc": 100 * seed_mean(a, "test", "over"),
        "over-conf. part": 100 * seed_mean(a, "test", "oe"),
        "ECE": 100 * seed_mean(a, "test", "ece"),
        "NLL": seed_mean(a, "test", "nll"),
        "Brier": seed_mean(a, "test", "brier"),
        "T": seed_mean(a, "T"),
        "ECE (TS)": 100 * seed_mean(a, "scaled", "ece"),
        "NLL (TS)": seed_mean(a, "scaled", "nll"),
    }
    for a in ALPHAS
]
cu.table(rows, floatfmt=".3g")

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
first = seed_ids[0]
for a in ALPHAS:
    h = runs[first, a]["history"]
    axes[0].plot(h["epoch"], h["val_loss"], "o-", ms=3, label=f"alpha={a:g}")
    probs = runs[first, a]["logits"].softmax(1)
    count, mean_conf, accuracy = reliability(probs, ds.test_y, n_bins)
    keep = count >= 10  # bins with at least 10 predictions
    axes[1].plot(mean_conf[keep], accuracy[keep], "o-", label=f"alpha={a:g}")
    conf = probs.max(1).values.numpy()
    axes[2].hist(conf, bins=np.linspace(0, 1, 41), histtype="step", lw=2, label=f"alpha={a:g}")
axes[0].set(title=f"validation NLL per epoch (seed {first})", xlabel="epoch", ylabel="NLL")
axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
axes[1].plot([0, 1], [0, 1], "--", color="gray", label="calibrated")
axes[1].set(title="reliability diagram (test)", xlabel="mean confidence in bin", ylabel="accuracy")
axes[2].set(title="confidence of the test predictions", xlabel="top probability")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **Reading the plots.** In the reliability diagram a point below the diagonal is a bin where the
# model is more confident than it is accurate (over-confident), a point above it is
# under-confident. A smoothed model cannot put its top probability at 1.0, because its training
# target never was 1.0 (with $\alpha = 0.2$ the ideal training prediction is 0.8). When the
# validation NLL climbs back up after its best epoch while accuracy barely moves, the model is
# growing more confident on the examples it gets wrong: over-confidence, seen on validation data.
#
# The verdicts, computed from the per-seed differences:


# %%
def plain_minus_smoothed(value) -> list[float]:
    """Per seed, value(run without smoothing) - value(run with smoothing), in points."""
    return [100 * (value(runs[s, 0.0]) - value(runs[s, smoothing])) for s in seed_ids]


detail = f"alpha={smoothing:g} vs 0, train_size={train_size}, {epochs} epochs"
gap_verdict = res.compare(
    "Label smoothing reduces overfitting (smaller train-test accuracy gap)",
    plain_minus_smoothed(lambda r: r["train_acc"] - r["test"]["acc"]),
    1.0,
    unit="accuracy points",
    detail=detail,
)
acc_verdict = res.compare(
    "Label smoothing reduces overfitting (higher test accuracy)",
    [-d for d in plain_minus_smoothed(lambda r: r["test"]["acc"])],
    0.5,
    unit="accuracy points",
    detail=detail,
)

# %%
over_claim = "Label smoothing reduces over-confidence (smaller over-confident part of the ECE)"
if all(runs[s, 0.0]["test"]["oe"] == 0 for s in seed_ids):  # e.g. a 1-epoch model
    over_verdict = res.untestable(
        over_claim,
        "the plain model is not over-confident in any bin on any seed: nothing to reduce",
    )
else:
    over_verdict = res.compare(
        over_claim,
        plain_minus_smoothed(lambda r: r["test"]["oe"]),
        1.0,
        unit="ECE points",
        detail=f"{detail}, {n_bins} bins; smoothed conf - acc "
        f"{100 * seed_mean(smoothing, 'test', 'over'):+.1f} points (negative: under-confident)",
    )
ece_verdict = res.compare(
    "Label smoothing reduces over-confidence (lower ECE)",
    plain_minus_smoothed(lambda r: r["test"]["ece"]),
    1.0,
    unit="ECE points",
    detail=f"{detail}, {n_bins} bins",
)

# %% [markdown]
# **What it shows.** Smoothing caps how confident the model can become on its training data, so
# the top probability of its predictions drops; whether that makes it *calibrated* depends on
# how over-confident the plain model was and on how strong the smoothing is. Smoothing pulls an
# over-confident model towards the diagonal, but it can overshoot into under-confidence (points
# above the diagonal, a negative confidence minus accuracy in the table), and the ECE then rises
# even though the confidence went down; the weaker the plain model's over-confidence, the easier
# that is. That is why (c) and (d) are separate claims.
#
# ### Where smoothing helps: a second regime
#
# Smoothing is a regularizer: it keeps the network from driving its training targets to
# certainty, which matters once training runs long enough to memorize. The experiment above
# trains `epochs` epochs on `train_size` images, long enough that the plain model's training
# accuracy pulls away from its test accuracy. In a **short budget** (`short_epochs` epochs on
# the same images, same seeds, weights and batch order) nothing has been memorized yet. The
# claim "label smoothing improves test accuracy in every training regime" is decided over the
# factor `regime` with target *every*: confirmed only if both regimes confirm it, *depends* if
# the effect is significant with opposite signs.

# %%
short = {}  # (seed, alpha) -> (training accuracy, test accuracy) after short_epochs
for s in seed_ids:
    train_x, train_y, val_x, val_y = cu.paired_split(ds, train_size, val_size, s)
    val_loader = ds.loader(val_x, val_y, 2000, device=cfg.device)
    for a in ALPHAS:
        net, _ = train_mlp(a, train_x, train_y, val_loader, s, n_epochs=short_epochs)
        train_acc = cu.evaluate(net, ds.loader(train_x, train_y, 2000, device=cfg.device))["acc"]
        short[s, a] = (train_acc, cu.evaluate(net, test_loader)["acc"])


def test_points(test_acc) -> tuple:
    """Per seed: test accuracy with smoothing minus without, in points (paired)."""
    return cu.paired(
        [test_acc(s, smoothing) for s in seed_ids],
        [test_acc(s, 0.0) for s in seed_ids],
        names=(f"alpha={smoothing:g}", "alpha=0"),
        scale=100,
    )


regimes = {
    f"overfitting ({epochs} epochs)": test_points(lambda s, a: runs[s, a]["test"]["acc"]),
    f"short budget ({short_epochs} epochs)": test_points(lambda s, a: short[s, a][1]),
}
print(
    f"plain model, train - test accuracy: overfitting "
    f"{100 * (seed_mean(0.0, 'train_acc') - seed_mean(0.0, 'test', 'acc')):.1f} points, "
    f"short budget {100 * np.mean([short[s, 0.0][0] - short[s, 0.0][1] for s in seed_ids]):.1f} points"
)
regime_verdict = res.across(
    "Label smoothing improves test accuracy in every training regime",
    regimes,
    factor="regime",
    target="every",
    unit="accuracy points",
    detail=f"alpha={smoothing:g} vs 0, train_size={train_size}",
)

# %% [markdown]
# ## 4. Calibration beyond ECE
#
# ### Temperature scaling, fitted on validation data
#
# The table above already lists the fitted temperatures and the test ECE and NLL after scaling.
# Guo et al.'s main result, stated as a claim for our plain model: **"temperature scaling fitted
# on validation data lowers the test ECE"**, plain model's ECE before minus after, smallest effect
# **half an ECE point** (0.005). The accuracy is unchanged by construction.

# %%
ts_verdict = res.compare(
    "Temperature scaling fitted on validation data lowers the test ECE (plain training)",
    [100 * (runs[s, 0.0]["test"]["ece"] - runs[s, 0.0]["scaled"]["ece"]) for s in seed_ids],
    0.5,
    unit="ECE points",
    detail="T fitted per seed by minimising validation NLL; temperatures "
    + ", ".join(f"{runs[s, 0.0]['T']:.2f}" for s in seed_ids),
)

# %% [markdown]
# ### How many bins? ECE is an estimate, and its bins matter
#
# The ECE depends on $B$: with few bins, over- and under-confident predictions that share a
# bin cancel out; with many, each bin holds few predictions and the noise of their accuracy
# adds a positive bias. The same test predictions at several bin counts (mean over the seeds):


# %%
def mean_ece(a: float, n_bins: int, scaled: bool = False) -> float:
    """Test ECE in points, mean over the seeds; scaled=True after temperature scaling."""
    T = lambda s: runs[s, a]["T"] if scaled else 1.0  # noqa: E731
    return 100 * float(
        np.mean(
            [ece((runs[s, a]["logits"] / T(s)).softmax(1), ds.test_y, n_bins) for s in seed_ids]
        )
    )


models = {
    "plain": (0.0, False),
    f"alpha={smoothing:g}": (smoothing, False),
    "plain + TS": (0.0, True),
}
BIN_COUNTS = (5, 10, 15, 30, 100)
ece_by_bins = {
    name: {b: mean_ece(a, b, ts) for b in BIN_COUNTS} for name, (a, ts) in models.items()
}
cu.table(
    [
        {"model": name, **{f"{b} bins": e for b, e in row.items()}}
        for name, row in ece_by_bins.items()
    ],
    floatfmt=".2f",
)
rankings = {b: " < ".join(sorted(models, key=lambda n: ece_by_bins[n][b])) for b in BIN_COUNTS}
if len(set(rankings.values())) == 1:
    print(f"ranking by ECE (lowest first) at every bin count: {rankings[BIN_COUNTS[0]]}")
else:
    print("the ranking by ECE changes with the bin count:")
    for b, ranking in rankings.items():
        print(f"  {b:>3} bins: {ranking}")

# %% [markdown]
# The ranking of the models *can* change with $B$ when two models' ECEs are close, since the bins
# move each estimate by a different amount; the line under the table says whether it changed in
# this run (it rarely does when the models' ECEs lie several points apart).
# That possibility is one reason to report NLL and the Brier score (no bins) next to the ECE, and
# to state $B$ whenever an ECE is quoted.
#
# ### Smoothing and distillation
#
# Müller, Kornblith and Hinton (2019) looked inside smoothed networks. Smoothing pulls the
# penultimate-layer activations of each class into a tight cluster, at the same distance from
# every other class's cluster: the network is trained to treat all wrong classes alike, so it
# forgets *which* wrong classes are similar (a shirt looks more like a T-shirt than like a
# sneaker). Those "dark knowledge" similarities are exactly what a student learns from its
# teacher's soft outputs in knowledge distillation (Hinton et al., 2015). So a smoothed teacher
# can be more accurate and better calibrated and still produce a *worse* student. Temperature
# scaling, by contrast, calibrates after training without touching what the network learned.
#
# ## 5. Try it: the smoothed target and the loss on one fixed logit vector
#
# Move $\alpha$ and compare the notes' target (equal to torch's with $a = \alpha K/(K-1)$) with
# the target torch would use if you passed $\alpha$ unconverted, and the losses of one fixed
# logit vector.

# %%
FIXED_LOGITS = torch.tensor([[4.0, 1.0, 0.5, 0.0, -0.5, -1.0, 2.0, 0.0, -2.0, 1.5]]).double()
FIXED_LABEL = torch.tensor([0])


def smoothing_view(alpha: float = 0.2) -> dict[str, float]:
    """Plot the targets for alpha (K = 10, true class 0); return the losses of FIXED_LOGITS."""
    losses = {
        "notes": notes_loss(FIXED_LOGITS, FIXED_LABEL, alpha).item(),
        "torch unconverted": F.cross_entropy(
            FIXED_LOGITS, FIXED_LABEL, label_smoothing=alpha
        ).item(),
    }
    x = np.arange(10)
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar(x - 0.2, soft_targets(FIXED_LABEL, 10, alpha)[0], 0.4, label="notes' target")
    ax.bar(x + 0.2, torch_target(0, 10, alpha), 0.4, label=f"torch with a={alpha:g}")
    ax.plot(x, F.softmax(FIXED_LOGITS, 1)[0], "k_", ms=20, mew=2, label="softmax of the logits")
    ax.set(
        xticks=x,
        ylim=(0, 1.05),
        xlabel="class (true class 0)",
        ylabel="probability",
        title=f"alpha={alpha:g}: loss notes {losses['notes']:.4f}, "
        f"torch unconverted {losses['torch unconverted']:.4f}",
    )
    ax.legend(fontsize=8)
    return losses


smoothing_view(smoothing)
plt.show()

# %%
cu.widgets.panel(
    smoothing_view,
    title="Label smoothing: target distribution and loss",
    alpha=cu.widgets.slider("alpha", smoothing, 0.0, 0.9, 0.01),
)

# %% [markdown]
# ## 6. Exercises
#
# **Exercise 1** · about 5 min · ★☆☆ easy
#
# A colleague uses the notes' form with $\alpha = 0.1$ on a 5-class problem.
# Which `label_smoothing` must they pass to `F.cross_entropy` to get exactly the same loss?

# %%
a_for_colleague = None  # your answer: a number
cu.exercises.check_close(
    "torch's label_smoothing for alpha=0.1, K=5",
    a_for_colleague,
    smoothing_to_torch(0.1, 5),
    hint="the wrong classes must get the same mass: a/K = alpha/(K-1)",
)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
solution_a_for_colleague = 0.1 * 5 / (5 - 1)  # a = alpha * K / (K - 1)
cu.exercises.check_close(
    "torch's label_smoothing for alpha=0.1, K=5",
    solution_a_for_colleague,
    smoothing_to_torch(0.1, 5),
)

# %% [markdown]
# **Exercise 2** · about 10 min · ★☆☆ easy
#
# Write `my_torch_target(label, K, a)`: the $K$ target probabilities torch
# uses for `label_smoothing=a`, as a formula (no autograd). It is checked against the target
# read off torch's gradient by `torch_target`.


# %%
def my_torch_target(label: int, K: int, a: float) -> torch.Tensor | None:
    """(1 - a) on a one-hot vector plus a/K everywhere."""
    return None  # your code


cu.exercises.check_close(
    "torch's smoothed target", my_torch_target(3, 10, 0.3), torch_target(3, 10, 0.3), rtol=1e-9
)


# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
def solution_my_torch_target(label: int, K: int, a: float) -> torch.Tensor:
    return (1 - a) * F.one_hot(torch.tensor(label), K).double() + a / K


cu.exercises.check_close(
    "torch's smoothed target",
    solution_my_torch_target(3, 10, 0.3),
    torch_target(3, 10, 0.3),
    rtol=1e-9,
)

# %% [markdown]
# **Exercise 3 (open)** · about 15 min · ★★☆ medium
#
# Re-run with `-p smoothing 0.05` and with a larger `train_size`. When
# does smoothing make the model *under*-confident (check the sign of confidence minus accuracy)?
# Does temperature scaling on top of smoothing still help?
#
# ## Summary
# - The notes' soft target is $1-\alpha$ / $\alpha/(K-1)$; torch's `label_smoothing=a` is
#   $1 - a + a/K$ / $a/K$. They are the same loss when $a = \alpha K/(K-1)$ (0.2222 for
#   $\alpha = 0.2$, $K = 10$).
# - Overfitting and over-confidence are different questions, each with its own verdict above;
#   judge a model by accuracy **and** calibration (NLL, Brier, ECE with its number of bins, the
#   reliability diagram).
# - Temperature scaling, one parameter fitted on validation data, calibrates without changing
#   the accuracy; label smoothing changes what the network learns (Müller et al. found that this
#   hurts distillation).
#
# ## References
# - Szegedy, C., Vanhoucke, V., Ioffe, S., Shlens, J., Wojna, Z. (2016). *Rethinking the
#   Inception Architecture for Computer Vision*. CVPR 2016.
# - Müller, R., Kornblith, S., Hinton, G. (2019). *When Does Label Smoothing Help?* NeurIPS 2019.
# - Guo, C., Pleiss, G., Sun, Y., Weinberger, K. Q. (2017). *On Calibration of Modern Neural
#   Networks*. ICML 2017.
# - Naeini, M. P., Cooper, G., Hauskrecht, M. (2015). *Obtaining Well Calibrated Probabilities
#   Using Bayesian Binning*. AAAI 2015.
# - Brier, G. W. (1950). *Verification of Forecasts Expressed in Terms of Probability*. Monthly
#   Weather Review 78(1).
# - Hinton, G., Vinyals, O., Dean, J. (2015). *Distilling the Knowledge in a Neural Network*.
#   NIPS 2014 Deep Learning Workshop (arXiv:1503.02531).
# - Xie, L. et al. (2016). *DisturbLabel: Regularizing CNN on the Loss Layer*. CVPR 2016.

# %%
res.metric("smoothing", smoothing)
res.metric("torch_label_smoothing", smoothing_to_torch(smoothing, K))
for a in ALPHAS:
    tag = "plain" if a == 0 else "smoothed"
    for key in ("acc", "over", "oe", "ece", "nll", "brier"):
        res.metric(f"{tag}_test_{key}", np.mean([runs[s, a]["test"][key] for s in seed_ids]))
    res.metric(f"{tag}_ece_after_ts", np.mean([runs[s, a]["scaled"]["ece"] for s in seed_ids]))
    res.metric(f"{tag}_train_acc", np.mean([runs[s, a]["train_acc"] for s in seed_ids]))
res.metric("seconds", round(time.perf_counter() - started, 1))
res.save()
