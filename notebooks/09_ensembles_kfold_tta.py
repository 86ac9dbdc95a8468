# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 09 · Ensembles, stratified k-fold and test-time augmentation
#
# One network makes mistakes; several *different* networks make *different* mistakes, and a vote
# among them cancels some of those out. This notebook trains a small zoo of models on the same data
# and measures what combining them buys, and what it costs.
#
# **You will learn to**
# - explain why an ensemble helps (different models catch different features) and measure it: the
#   members' pairwise disagreement and the ensemble's gain over its best member;
# - write **hard voting** (majority of labels, with a stated tie rule) and **soft voting** (argmax of
#   the mean probability) in a few lines, and **stacking** on out-of-fold probabilities;
# - tell **bagging** (variance reduction) from **boosting** (bias reduction) on a small tabular set;
# - use **stratified k-fold** (`sklearn.model_selection.StratifiedKFold`) and weigh its trade-off:
#   small k wastes training data, large k multiplies training time;
# - apply **test-time augmentation** (TTA) and test whether it helps with the augmentations the
#   model was trained with and hurts with one it never saw;
# - put a price on all of it: accuracy gained per extra second of training and inference, and see
#   what averaging does to the probabilities (NLL, ECE); know the cheap ensembles (snapshots, SWA)
#   and distillation.
#
# **Prerequisites:** notebooks 02 (validation split), 03 (augmentation) and 04 (the small CNN).
#
# **Run time** measured on a 2-core AMD EPYC (AVX-512 with bfloat16, no AMX), quiet:
# `smoke` ≈ 14 s, `cpu` ≈ 2.6 min; with AVX2 only (simulated: `ATEN_CPU_CAPABILITY=avx2
# ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2`): `cpu` ≈ 3.0 min (177 s, at the
# budget's edge; `-p seeds 4` or a smaller `train_size` shortens it). `gpu` (an estimate) a few
# minutes.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # first of the paired seeds
seeds: int | None = None  # paired replicates per compared setting; None = profile default
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
members: int | None = None  # ensemble size M (>= 2); small CNNs and MLPs alternate; None = profile
folds: int | None = None  # k of the k-fold ensemble and of stacking; None = profile default
tta: str | None = None  # test-time augmentations: hflip, shift, vflip (identity always included)
train_size: int | None = None  # images drawn per seed, 20% kept for validation; None = profile
test_size: int | None = None  # test images evaluated (a stratified subset); None = profile default
epochs: int | None = None  # training epochs of every model; None = profile default
batch_size: int = 128  # training mini-batch size
lr: float = 1e-3  # Adam learning rate

# %%
import itertools
import math
import os
import time

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.ensemble import AdaBoostClassifier, BaggingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.tree import DecisionTreeClassifier

import course_utils as cu
from course_utils import ensembles
from course_utils.data import normalize
from course_utils.exercises import check_close, check_equal

# %%
cfg = cu.setup(
    globals(),
    seeds=cu.integer(1, 20, smoke=1, cpu=5, gpu=5),
    members=cu.integer(2, 16, smoke=3, cpu=4, gpu=6),
    folds=cu.integer(2, 50, smoke=3, cpu=5, gpu=5),
    tta=cu.names("hflip", "shift", "vflip", smoke="hflip", cpu="hflip,shift", gpu="hflip,shift"),
    train_size=cu.integer(100, 60000, smoke=500, cpu=5000, gpu=60000),
    test_size=cu.integer(100, 10000, smoke=1000, cpu=5000, gpu=10000),
    epochs=cu.integer(1, 200, smoke=2, cpu=5, gpu=15),
    batch_size=cu.integer(8, 4096),
    lr=cu.number(0, 1, low_open=True),
)

# %%
res = cu.Results("09_ensembles_kfold_tta", results_path, cfg.profile)
ds = cu.load_dataset(cfg.dataset, cfg.data_dir)
seed_list = cfg.seed_list(seeds)
splits = {}  # per seed: (train_x, train_y, val_x, val_y), shared by every compared setting
for s in seed_list:
    x, y = cu.stratified_subset(ds.train_x, ds.train_y, train_size, seed=s, name="train_size")
    splits[s] = cu.train_val_split(x, y, 0.2, seed=s)
    ensembles.check_folds(folds, splits[s][1])  # k <= smallest class count, before any training
started = time.perf_counter()

# %% [markdown]
# `folds` was checked against the data before anything was trained: stratified k-fold puts at least
# one example of every class in every fold, so k can be at most the size of the smallest class of
# the training split.
#
# ## 1. Why ensembles work
# Suppose $M$ classifiers each err with probability $p < 1/2$, **independently** of each other.
# With an odd $M$, a vote can only be wrong when more than half of the members err at once, so
# $$P(\text{vote wrong}) \le \sum_{j > M/2} \binom{M}{j} p^{j} (1-p)^{M-j},$$
# which shrinks quickly with $M$ (exercise 2 computes it). With **two** classes this is an
# equality: every wrong member votes for the same wrong class. This is the **Condorcet jury
# theorem** (Condorcet, 1785): a majority of independent voters who are each right more often than
# not is right more often than any one of them, and almost surely right as $M$ grows. With ten
# classes the sum is only an *upper bound*: the wrong votes split over nine classes, so the
# plurality (the class with the most votes) can still be right when most members err. Real
# networks trained on the same data are far from independent: they fail on the same hard images.
# One way to see it: two independent members, each wrong with probability $p$, disagree at least
# whenever exactly one of them errs, so their disagreement rate is at least $2p(1-p)$ (more, since
# two wrong members may also pick different wrong classes). Members that disagree *less* than
# $2p(1-p)$ cannot be independent: their mistakes coincide. An ensemble therefore helps only as
# much as its members *disagree*, which is why the notes insist on combining *different* models:
# "different models catch different features". We make the members differ in two ways: by seed
# (initial weights and batch order: the recipe of deep ensembles, Lakshminarayanan et al., 2017,
# which keep one architecture) and by architecture (the small CNN of notebook 04 and an MLP).
#
# Every model trains on the same per-seed training split with the same augmentation (random crop
# with 2 pixels of padding, plus horizontal flips except on MNIST, where a mirrored digit is another
# symbol), the same epochs, batch size and learning rate. Test images are normalized once.


# %%
def prep(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> normalized float batch on the device."""
    return normalize(x.to(cfg.device), ds.mean, ds.std)


def accuracy(pred: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of predicted labels equal to ``y``; for (M, N) labels, the mean over M models."""
    return (pred.cpu() == y).float().mean().item()


def mean(per_seed: dict) -> float:
    """Mean of a {seed: value} dict."""
    return float(np.mean(list(per_seed.values())))


# %%
test_x, test_y = cu.stratified_subset(
    ds.test_x, ds.test_y, test_size, seed=cfg.seed, name="test_size"
)
test_x = prep(test_x)  # the same test images for every seed
augment = cu.Augment(crop_padding=2, flip=cfg.dataset != "mnist")
ARCHS = ("small_cnn", "mlp")
TRANSFORMS = ensembles.tta_transforms(list(ensembles.TTA_GROUPS))  # all of them, cached once
n_train, n_val = len(splits[cfg.seed][1]), len(splits[cfg.seed][3])
print(
    f"{len(seed_list)} seed(s) x {members} members; {n_train} training, {n_val} validation, "
    f"{len(test_y)} test images; {epochs} epochs"
)


# %%
def train_model(model_name: str, x: torch.Tensor, y: torch.Tensor, init_seed: int, order_seed: int):
    """A freshly seeded model trained on (x, y); returns it and its training seconds."""
    torch.manual_seed(init_seed)
    net = cu.build_model(model_name, ds.shape, ds.num_classes).to(cfg.device)
    loader = ds.loader(
        x, y, batch_size, shuffle=True, augment=augment, seed=order_seed, device=cfg.device
    )
    start = time.perf_counter()
    cu.fit(net, loader, epochs=epochs, lr=lr, desc=model_name)
    return net, time.perf_counter() - start


# %%
def predictions(net: torch.nn.Module, x: torch.Tensor) -> tuple[dict, dict]:
    """Softmax on ``x`` under every TTA transform (name -> (N, C)) and the seconds each took."""
    probs, seconds = {}, {}
    for name, transform in TRANSFORMS.items():
        start = time.perf_counter()
        probs[name] = ensembles.tta_predict(net, x, [transform])
        seconds[name] = time.perf_counter() - start
    return probs, seconds


# %% [markdown]
# Member $i$ of seed $s$ is architecture `ARCHS[i % 2]`, initialized and shuffled with seed
# $s + 1000 i$, so member 0 is seeded exactly like the single models of the k-fold section below.
# We keep every member's test probabilities under every TTA transform: all later claims, the cost
# table and the Try-it panel are computed from these cached predictions, without retraining.


# %%
def train_member(s: int, i: int) -> dict:
    """Member i of seed s, with its validation accuracy and its cached test predictions."""
    train_x, train_y, val_x, val_y = splits[s]
    net, train_s = train_model(ARCHS[i % 2], train_x, train_y, s + 1000 * i, s + 1000 * i)
    val_acc = accuracy(
        ensembles.tta_predict(net, prep(val_x), [ensembles.identity]).argmax(1), val_y
    )
    probs, infer_s = predictions(net, test_x)
    test_acc = accuracy(probs["identity"].argmax(1), test_y)
    return dict(
        model=ARCHS[i % 2],
        train_s=train_s,
        val_acc=val_acc,
        test_acc=test_acc,
        probs=probs,
        infer_s=infer_s,
    )


warm_x, warm_y = splits[cfg.seed][0][:256], splits[cfg.seed][1][:256]
for model_name in ARCHS:  # warm-up: the first calls are slow, and no member should pay for it
    predictions(train_model(model_name, warm_x, warm_y, 0, 0)[0], test_x[:256])
member_runs = {s: [train_member(s, i) for i in range(members)] for s in seed_list}
cu.table(member_runs[cfg.seed], ["model", "train_s", "val_acc", "test_acc"])
print("members of the first seed; val_acc on the validation split, test_acc on the test set")

# %% [markdown]
# How different are they? The **disagreement rate** of two members is the fraction of test images
# on which their predicted labels differ. First the matrix for the first seed:


# %%
def member_probs(s: int, transforms=("identity",), count: int | None = None) -> torch.Tensor:
    """(M, N, C) probabilities of seed s's first ``count`` members, averaged over ``transforms``."""
    runs = member_runs[s][:count]
    return torch.stack([torch.stack([m["probs"][t] for t in transforms]).mean(0) for m in runs])


def member_labels(s: int, transforms=("identity",)) -> torch.Tensor:
    """(M, N) predicted labels of seed s's members (after averaging over ``transforms``)."""
    return member_probs(s, transforms).argmax(2)


labels0 = member_labels(cfg.seed)
disagree = (labels0[:, None, :] != labels0[None, :, :]).float().mean(2)
names0 = [f"{i} {m['model']}" for i, m in enumerate(member_runs[cfg.seed])]
cu.table([dict(member=n, **dict(zip(names0, row.tolist()))) for n, row in zip(names0, disagree)])
print("pairwise disagreement rate of the first seed's members")

# %% [markdown]
# If diversity is what an ensemble feeds on, pairs that disagree more should gain more, unless one
# member is much weaker than the other (then the vote mostly imports the weaker member's mistakes).
# For every pair of members of every seed: the pair's soft-vote accuracy minus the better member's,
# against their disagreement. As a yardstick, the least disagreement two *independent* members
# with the same error rates $p_i, p_j$ would show: $p_i(1-p_j) + p_j(1-p_i)$, the chance that
# exactly one of them errs ($2p(1-p)$ when $p_i = p_j$).

# %%
pairs = []  # one row per pair of members of a seed
for s in seed_list:
    labels, probs = member_labels(s), member_probs(s)
    for i, j in itertools.combinations(range(members), 2):
        acc_i, acc_j = accuracy(labels[i], test_y), accuracy(labels[j], test_y)
        gain = accuracy(ensembles.soft_vote(probs[[i, j]]), test_y) - max(acc_i, acc_j)
        mixed = member_runs[s][i]["model"] != member_runs[s][j]["model"]
        disagreement = (labels[i] != labels[j]).float().mean().item()
        floor = (1 - acc_i) * acc_j + (1 - acc_j) * acc_i  # P(exactly one errs) if independent
        pairs.append(dict(disagreement=disagreement, gain=gain, mixed=mixed, floor=floor))

# %%
for mixed in (False, True):
    sel = [p for p in pairs if p["mixed"] == mixed]
    if sel:
        d, g = np.mean([p["disagreement"] for p in sel]), np.mean([p["gain"] for p in sel])
        floor = np.mean([p["floor"] for p in sel])
        print(
            f"{'CNN + MLP' if mixed else 'same model'} pairs ({len(sel)}): mean disagreement "
            f"{d:.3f} (independent members: at least {floor:.3f}), "
            f"mean gain over the better member {100 * g:+.2f} points"
        )

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for mixed, colour in ((False, "tab:blue"), (True, "tab:orange")):
    sel = [p for p in pairs if p["mixed"] == mixed]
    label = "CNN + MLP" if mixed else "same architecture"
    x, y = [p["disagreement"] for p in sel], [100 * p["gain"] for p in sel]
    ax.scatter(x, y, c=colour, label=label)
ax.axhline(0, color="gray", lw=0.8)
ax.set(xlabel="disagreement rate of the pair", ylabel="gain over the better member (points)")
ax.set_title("Two-member soft votes: gain against diversity")
ax.legend()
plt.show()

# %% [markdown]
# ## 2. Hard voting and soft voting
# With $M$ members, predicted labels $\hat y_{m,n}$ and probabilities $p_{m,n,c}$ for example $n$:
# $$\text{hard: } \hat y_n = \arg\max_c \sum_{m=1}^{M} [\hat y_{m,n} = c], \qquad
# \text{soft: } \hat y_n = \arg\max_c \frac{1}{M}\sum_{m=1}^{M} w_m\, p_{m,n,c}$$
# ($w_m = 1$ unless weights are given). Hard voting needs only labels (handy when a member cannot
# give probabilities); soft voting also uses how *sure* each member is. **Tie rule** of hard voting:
# when classes share the largest number of votes, the lowest class index wins (`argmax` returns the
# first maximum), whatever the order of the members. With an even number of members ties are
# common, so the rule matters. Both rules in a few lines:


# %%
def my_hard_vote(labels: torch.Tensor) -> torch.Tensor:
    """(M, N) labels -> (N,): the most voted class; ties go to the lowest class index."""
    votes = F.one_hot(labels, ds.num_classes).sum(0)  # (N, C): votes per class
    return votes.argmax(1)  # argmax returns the first maximum: the lowest tied index


def my_soft_vote(probs: torch.Tensor) -> torch.Tensor:
    """(M, N, C) probabilities -> (N,): argmax of the mean probability."""
    return probs.mean(0).argmax(1)


# %% [markdown]
# `course_utils.ensembles` keeps the canonical copies (`hard_vote` and `soft_vote`, which also
# accepts weights and refuses members whose shapes disagree); the check below shows they agree with
# the cell above, on random votes (with many ties) and on our members.

# %%
# NBVAL_CHECK_OUTPUT
gen = torch.Generator().manual_seed(0)
votes = torch.randint(0, ds.num_classes, (4, 5000), generator=gen)
probs = torch.rand(4, 5000, ds.num_classes, generator=gen).softmax(-1)
print("hard voting agrees:", torch.equal(my_hard_vote(votes), ensembles.hard_vote(votes)))
print("soft voting agrees:", torch.equal(my_soft_vote(probs), ensembles.soft_vote(probs)))
probs0 = member_probs(cfg.seed)
same_hard = torch.equal(my_hard_vote(labels0), ensembles.hard_vote(labels0, ds.num_classes))
print(
    "on our members:", same_hard and torch.equal(my_soft_vote(probs0), ensembles.soft_vote(probs0))
)
tie = my_hard_vote(torch.tensor([[3], [7], [7], [3]])).item()
print(f"votes 3, 7, 7, 3 -> {tie} (a tie: the lowest class index wins)")

# %% [markdown]
# Now add members one at a time (CNN, MLP, CNN, ...) and follow the test accuracy of both votes,
# averaged over the seeds:


# %%
def vote_accuracy(s: int, rule: str, count: int | None = None, transforms=("identity",)) -> float:
    """Test accuracy of seed s's first ``count`` members under a voting rule."""
    probs = member_probs(s, transforms, count)
    pred = my_soft_vote(probs) if rule == "soft" else my_hard_vote(probs.argmax(2))
    return accuracy(pred, test_y)


sizes = list(range(1, members + 1))
fig, ax = plt.subplots(figsize=(6, 3.5))
for rule in ("soft", "hard"):
    curve = [np.mean([vote_accuracy(s, rule, m) for s in seed_list]) for m in sizes]
    ax.plot(sizes, curve, "o-", label=f"{rule} voting")
ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
ax.set(xlabel="members (CNN, MLP, CNN, ...)", ylabel="test accuracy (mean over seeds)")
ax.legend()
plt.show()

# %% [markdown]
# **Claim** (notes): *soft voting usually performs better than hard voting, because it uses the
# models' confidence.* Metric: test accuracy of the ensemble, soft minus hard, per seed (positive
# supports the claim). Smallest effect worth having: a tenth of an accuracy point (0.001), since
# the two rules cost exactly the same. With an even number of members a 2-2 split is a tie that
# the lowest-index rule decides, and part of soft voting's lead would be the tie rule's loss. So
# the claim compares the two rules on an **odd** number of members (the first $M$, or $M-1$ when
# $M$ is even); ties remain possible (three members voting for three different classes), and
# the **tie rate** (the share of test images whose most-voted classes tie) is printed for both
# sizes.


# %%
def tie_rate(s: int, count: int | None = None) -> float:
    """Share of test images where seed s's first ``count`` members' top vote count is shared."""
    votes = F.one_hot(member_labels(s)[:count], ds.num_classes).sum(0)  # (N, C)
    top2 = votes.topk(2, dim=1).values
    return float((top2[:, 0] == top2[:, 1]).double().mean())


odd = members if members % 2 else members - 1
soft_acc = {s: vote_accuracy(s, "soft", odd) for s in seed_list}
hard_acc = {s: vote_accuracy(s, "hard", odd) for s in seed_list}
ties = {m: mean({s: tie_rate(s, m) for s in seed_list}) for m in sorted({odd, members})}
tie_text = ", ".join(f"{m} members {100 * r:.2f} %" for m, r in ties.items())
detail = f"{odd} members; soft {mean(soft_acc):.4f}, hard {mean(hard_acc):.4f}; tie rate {tie_text}"
claim = "Soft voting usually beats hard voting"
if odd >= 3:
    soft_diffs = [soft_acc[s] - hard_acc[s] for s in seed_list]
    res.compare(claim, soft_diffs, 0.001, unit="accuracy", detail=detail)
else:
    res.untestable(claim, f"needs at least 3 members for an odd vote; members={members}")
print(f"mean test accuracy of {odd} members: soft {mean(soft_acc):.4f}, hard {mean(hard_acc):.4f}")
print(f"tie rate of the hard vote (share of test images): {tie_text}")

# %% [markdown]
# **Claim** (notes): *an ensemble of different models beats its best member.* Metric: test accuracy,
# soft-voting ensemble minus its best member, per seed; the best member is the one with the highest
# **validation** accuracy (choosing it on the test set would flatter the member). Smallest effect
# worth having: half an accuracy point (0.005), since the ensemble costs $M$ times the training.

# %%
best = {s: max(member_runs[s], key=lambda m: m["val_acc"]) for s in seed_list}  # on validation
best_acc = {s: accuracy(best[s]["probs"]["identity"].argmax(1), test_y) for s in seed_list}
detail = f"{members} members; ensemble {mean(soft_acc):.4f}, best member {mean(best_acc):.4f}"
best_diffs = [soft_acc[s] - best_acc[s] for s in seed_list]
claim = "An ensemble of different models beats its best member"
res.compare(claim, best_diffs, 0.005, unit="accuracy", detail=detail)
print("best members (chosen on validation):", ", ".join(best[s]["model"] for s in seed_list))

# %% [markdown]
# ## 3. Bagging and boosting
# The two classic ways to *build* an ensemble, shown on scikit-learn's 8x8 digits (1797 images, 64
# pixel features; train and test halves drawn per seed):
# - **Bagging** (Breiman, 1996) trains members *in parallel*, each on a bootstrap resample of the
#   training set, and votes. Averaging many high-variance models (fully grown trees) keeps their
#   low bias and cuts their **variance**; a random forest is bagging plus random feature subsets.
# - **Boosting** trains members *in series*: AdaBoost (Freund & Schapire, 1997) re-weights the
#   examples the previous members got wrong; gradient boosting (Friedman, 2001) fits each new member
#   to the current errors. Adding up many high-bias models (stumps, trees of depth 1) cuts **bias**.
#
# We measure variance as *how much the predictions change when the training set is resampled*: each
# model is fitted on a few bootstrap resamples of the training half and we take the mean pairwise
# disagreement of its test predictions. Bias shows as low accuracy on the very examples a model
# was trained on.

# %%
digits_x, digits_y = load_digits(return_X_y=True)
stump = DecisionTreeClassifier(max_depth=1)
SK_MODELS = {
    "deep tree": lambda r: DecisionTreeClassifier(random_state=r),
    "bagging": lambda r: BaggingClassifier(
        DecisionTreeClassifier(), n_estimators=25, random_state=r
    ),
    "stump": lambda r: DecisionTreeClassifier(max_depth=1, random_state=r),
    "AdaBoost": lambda r: AdaBoostClassifier(stump, n_estimators=60, random_state=r),
}
resamples = cfg.pick(smoke=2, cpu=3, gpu=5)  # bootstrap resamples of the training half per seed
print("bagging: 25 fully grown trees; AdaBoost: 60 stumps (trees of depth 1)")


# %%
def sk_scores(s: int, make) -> dict:
    """Train/test accuracy and prediction variance of one model type on seed s's split."""
    split = train_test_split(digits_x, digits_y, test_size=0.5, stratify=digits_y, random_state=s)
    tr_x, te_x, tr_y, te_y = split
    rng, preds, train_acc, test_acc = np.random.default_rng(s), [], [], []
    for r in range(resamples):
        idx = rng.integers(0, len(tr_y), len(tr_y))  # bootstrap resample of the training half
        model = make(1000 * s + r).fit(tr_x[idx], tr_y[idx])
        preds.append(model.predict(te_x))
        train_acc.append(model.score(tr_x[idx], tr_y[idx]))  # on the examples it trained on
        test_acc.append(model.score(te_x, te_y))
    variance = np.mean([np.mean(a != b) for a, b in itertools.combinations(preds, 2)])
    return dict(train_acc=np.mean(train_acc), test_acc=np.mean(test_acc), variance=variance)


# %%
sk = {name: {s: sk_scores(s, make) for s in seed_list} for name, make in SK_MODELS.items()}
rows = [dict(model=n, **{k: mean({s: r[s][k] for s in r}) for k in r[seed]}) for n, r in sk.items()]
cu.table(rows, ["model", "train_acc", "test_acc", "variance"])
print("means over seeds; variance = disagreement between fits on different resamples")

# %% [markdown]
# **Claim** (notes): *bagging reduces variance.* Metric: prediction variance (mean disagreement
# between resampled fits), deep tree minus bagging, per seed (positive supports). Smallest effect
# worth having: 0.02 (two test predictions in a hundred stop depending on the resample).
#
# **Claim** (notes): *boosting reduces bias.* Metric: training accuracy, AdaBoost minus a single
# stump, per seed (positive supports). Smallest effect worth having: 0.05 (five points).

# %%
var_diffs = [sk["deep tree"][s]["variance"] - sk["bagging"][s]["variance"] for s in seed_list]
bias_diffs = [sk["AdaBoost"][s]["train_acc"] - sk["stump"][s]["train_acc"] for s in seed_list]
detail = "digits; a deep tree vs 25 bagged deep trees"
res.compare("Bagging reduces variance", var_diffs, 0.02, unit="disagreement", detail=detail)
detail = "digits; one stump vs AdaBoost of 60 stumps"
res.compare("Boosting reduces bias", bias_diffs, 0.05, unit="training accuracy", detail=detail)
print(f"{len(res.claims)} claims recorded so far")

# %% [markdown]
# Read the training accuracies too: a fully grown tree fits the examples it was trained on (low
# bias), so bagging has little bias left to remove; a stump can split the ten digits into only two
# groups, so its bias is large until boosting adds dozens of stumps, each aimed at the examples the
# previous ones got wrong.
#
# ## 4. Stratified k-fold
# k-fold cross-validation (introduced by Stone, 1974, and Geisser, 1975; Kohavi, 1995, compared it
# with the bootstrap and recommended *stratified* ten-fold for choosing models) cuts the training
# data into $k$ folds and trains $k$ models, each on $k-1$ folds, with the remaining fold held out;
# every example is held out exactly once. *Stratified* k-fold keeps each class's share the same in
# every fold. The $k$ models can be evaluated on their held-out folds (the classic use: an estimate
# of accuracy), and they can be ensembled on the test set. We always use scikit-learn's
# `StratifiedKFold`, never a hand-written split. Here are the folds of the first seed's training
# split, with the class counts of each held-out fold:

# %%
train_y0 = splits[cfg.seed][1]
skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=cfg.seed)
held_outs = [held for _, held in skf.split(np.zeros(len(train_y0)), train_y0.numpy())]
counts = torch.stack([torch.bincount(train_y0[h], minlength=ds.num_classes) for h in held_outs])
rows = [
    {"fold": j, "held out": int(c.sum()), **{str(k): int(n) for k, n in enumerate(c)}}
    for j, c in enumerate(counts)
]
cu.table(rows)
spread = int((counts.max(0).values - counts.min(0).values).max())
print(f"class counts differ between folds by at most {spread} example(s); columns: classes")


# %%
def kfold(s: int, k: int, model_name: str = "small_cnn") -> dict:
    """k models trained on k-1 folds each (seed s: same init and batch order as member 0)."""
    train_x, train_y = splits[s][:2]
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=s)
    out = dict(oof=torch.zeros(len(train_y), ds.num_classes), test=[], train_s=0.0, infer_s=0.0)
    out["fold_acc"] = []  # each fold model's accuracy on the fold it did not train on
    for fit_idx, held in skf.split(np.zeros(len(train_y)), train_y.numpy()):
        net, train_s = train_model(model_name, train_x[fit_idx], train_y[fit_idx], s, s)
        out["oof"][held] = ensembles.tta_predict(net, prep(train_x[held]), [ensembles.identity])
        out["fold_acc"].append(accuracy(out["oof"][held].argmax(1), train_y[held]))
        start = time.perf_counter()
        out["test"].append(ensembles.tta_predict(net, test_x, [ensembles.identity]))
        out["infer_s"] += time.perf_counter() - start
        out["train_s"] += train_s
    out["test"] = torch.stack(out["test"])  # (k, N, C)
    out["model_acc"] = accuracy(out["test"].argmax(2), test_y)  # the mean fold model
    out["ensemble_acc"] = accuracy(ensembles.soft_vote(out["test"]), test_y)
    return out


# %% [markdown]
# The notes' trade-off: *small k wastes training data* (with k = 3 each model trains on 2/3 of it),
# *large k multiplies training time*. Each fold model is seeded like member 0 (the "one model"
# trained on all the training split), so for every seed the k = 3, k = 5 and single models share
# their initial weights and batch-order seed, and differ only in the data they see.
#
# **Claim** (notes): *k-fold with a small k wastes training data.* Metric: test accuracy of one model
# trained on the whole training split minus the mean test accuracy of the k = 3 fold models (which
# see 2/3 of it), per seed. Smallest effect worth having: half an accuracy point (0.005).
#
# **Claim** (notes): *k-fold with a large k multiplies training time.* Metric: training seconds of
# the k = 5 ensemble divided by those of the k = 3 ensemble, minus 1, per seed (the k models of each
# are trained back to back for every seed, so the two are interleaved). Each k = 5 model sees 4/5 of
# the data, so the ensemble processes $5 \cdot 4/5 = 4$ training splits per epoch against
# $3 \cdot 2/3 = 2$: we expect about +1.0. Smallest effect worth having: +0.5 (50% more time).

# %%
ks = sorted({3, 5, folds})
kfold_runs = {(s, k): kfold(s, k) for s in seed_list for k in ks}
one_acc = {s: member_runs[s][0]["test_acc"] for s in seed_list}
COLUMNS = ["model_acc", "ensemble_acc", "train_s"]
singles = [
    dict(member_runs[s][0], model_acc=one_acc[s], ensemble_acc=one_acc[s]) for s in seed_list
]
rows = [{"k": "1 (all data)", **{c: np.mean([m[c] for m in singles]) for c in COLUMNS}}]
for k in ks:
    rows.append(
        {"k": k, **{c: np.mean([kfold_runs[(s, k)][c] for s in seed_list]) for c in COLUMNS}}
    )
cu.table(rows)
print("model_acc: the mean single model; ensemble_acc: their soft vote; means over seeds")

# %%
waste = [one_acc[s] - kfold_runs[(s, 3)]["model_acc"] for s in seed_list]
detail = "one model on the whole training split vs the mean k=3 fold model"
claim = "k-fold: a small k (3) wastes training data"
res.compare(claim, waste, 0.005, unit="accuracy", detail=detail)
ratio = [kfold_runs[(s, 5)]["train_s"] / kfold_runs[(s, 3)]["train_s"] - 1 for s in seed_list]
detail = "training seconds of the k=5 ensemble / the k=3 ensemble - 1 (expected about +1)"
claim = "k-fold: a large k (5) multiplies training time"
res.compare(claim, ratio, 0.5, unit="relative time", timing=True, detail=detail)
print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {cfg.threads} threads")

# %% [markdown]
# The single model passes over the training split once per epoch; a k-fold ensemble passes over it
# $k - 1$ times per epoch, so weigh the ensemble's accuracy against its training seconds, not only
# against the single model's accuracy.
#
# ### The cross-validation estimate
# The classic use of the k folds is an **estimate** of how well a model trained this way does on
# new data, without a test set: every training example is predicted once by the fold model that
# did not see it, and the **out-of-fold accuracy** is the estimate. The spread over the k folds
# says how much one fold's score could differ from another's. Both are set here against what the
# estimate is for: the fold models' mean accuracy on the test set, which cross-validation never
# touched. The fold models train on $(k-1)/k$ of the data, so the estimate is of a model trained
# on slightly less data than the final one (Kohavi, 1995). The standard deviation over folds is
# not a standard error of the estimate: the folds share training data, so their scores are
# correlated, and no unbiased variance estimate of k-fold exists (Bengio & Grandvalet, 2004).

# %%
cv_rows = []
for s in seed_list:
    run = kfold_runs[(s, folds)]
    oof_acc = accuracy(run["oof"].argmax(1), splits[s][1])
    cv_rows.append(
        {
            "seed": s,
            "out-of-fold acc": oof_acc,
            "sd over folds": float(np.std(run["fold_acc"], ddof=1)),
            "fold models' test acc": run["model_acc"],
            "estimate - test": oof_acc - run["model_acc"],
        }
    )
cu.table(cv_rows)
gap = [r["estimate - test"] for r in cv_rows]
print(
    f"{folds}-fold estimate minus the fold models' test accuracy: {100 * np.mean(gap):+.2f} points "
    f"on average over {len(gap)} seed(s), from {100 * min(gap):+.2f} to {100 * max(gap):+.2f}"
)
_ = res.metric("cv_estimate_minus_test", float(np.mean(gap)))

# %% [markdown]
# ### Going further: stacking
# Voting weights every member equally. **Stacking** (Wolpert, 1992) *learns* how to combine them: a
# second-level model (here a logistic regression) takes the members' predicted probabilities as its
# features. It must be trained on predictions for examples the members did **not** train on, or it
# learns to trust over-fitted members; k-fold provides exactly that: the **out-of-fold**
# probabilities, where every training example is predicted by the fold model that held it out. We
# stack a small-CNN and an MLP k-fold ensemble (k = `folds`) and compare with soft voting over the
# same 2k fold models. Note the mismatch this recipe accepts: the stacker is *trained* on
# out-of-fold probabilities of **single** fold models, but *tested* on the **average** of the $k$
# fold models' test probabilities (the `mean(0)` below), which are smoother and usually more
# accurate than any single model's. Its features at test time therefore come from a slightly
# different distribution than the ones it was fitted on; the usual, mild approximation (the
# alternative is to feed it each fold model's test probabilities separately and average its
# $k$ outputs).


# %%
def stack(s: int) -> dict:
    """Test accuracy of stacking and of soft voting over seed s's CNN and MLP fold models."""
    cnn, mlp = kfold_runs[(s, folds)], kfold(s, folds, "mlp")
    features = torch.cat([cnn["oof"], mlp["oof"]], 1).clamp_min(1e-6).log()  # log-probabilities
    stacker = LogisticRegression(max_iter=2000).fit(features.numpy(), splits[s][1].numpy())
    test_features = torch.cat([cnn["test"].mean(0), mlp["test"].mean(0)], 1).clamp_min(1e-6).log()
    stacked = accuracy(torch.from_numpy(stacker.predict(test_features.numpy())), test_y)
    voted = accuracy(ensembles.soft_vote(torch.cat([cnn["test"], mlp["test"]])), test_y)
    return dict(seed=s, stacking_acc=stacked, soft_vote_acc=voted, difference=stacked - voted)


stacking = [stack(s) for s in seed_list]
cu.table(stacking)
print(
    f"stacking minus soft voting, mean over seeds: {np.mean([r['difference'] for r in stacking]):+.4f}"
)

# %% [markdown]
# Stacking gains most when the members differ in quality or in *where* they are reliable;
# otherwise it re-learns something close to the average. Here the logistic regression sees
# log-probabilities and learns a weight per member *and per class*, so it can also re-weight the
# two kinds of members and correct how each is calibrated, which soft voting cannot. It stays a
# "going further" without a claim: with a few thousand images the second level can also
# over-fit; the table shows how it went here.
#
# ## 5. Test-time augmentation
# TTA predicts on several transformed copies of each test image and averages the probabilities:
# $$\bar p(x) = \frac{1}{T}\sum_{t=1}^{T} \operatorname{softmax}\big(f(\tau_t(x))\big),$$
# with $\tau_1$ the identity. It is a cheap ensemble: one trained model, $T$ forward passes. The
# transforms here: `hflip` (left-right mirror), `shift` (one pixel in each of the four directions)
# and `vflip` (upside down). Our models were trained with random crops (shifts of up to 2 pixels)
# and horizontal flips, never with vertical flips.


# %%
def my_tta(net: torch.nn.Module, x: torch.Tensor, transforms) -> torch.Tensor:
    """Mean softmax over transformed copies of x, in eval mode without gradients."""
    was_training = net.training
    net.eval()  # dropout off, batch norm uses its running statistics
    with torch.inference_mode():  # no autograd bookkeeping: less memory, faster
        probs = torch.stack([net(t(x)).softmax(1) for t in transforms]).mean(0)
    net.train(was_training)  # leave the model in the mode we found it
    return probs


fig, axes = plt.subplots(1, len(TRANSFORMS), figsize=(1.6 * len(TRANSFORMS), 1.9))
for ax, (name, transform) in zip(axes, TRANSFORMS.items()):
    ax.imshow(transform(test_x[:1].cpu())[0].mean(0), cmap="gray")  # channels averaged
    ax.set_title(name, fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown]
# `ensembles.tta_predict` is the canonical copy (it also splits large inputs into batches). It
# agrees with the cell above, and it leaves a model that was in training mode in training mode:

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
probe_net = cu.build_model("small_cnn", ds.shape, ds.num_classes).train()
probe_x = torch.randn(64, *ds.shape, generator=torch.Generator().manual_seed(0))
chosen = [TRANSFORMS[name] for name in ("identity", "hflip", "shift_up")]
mine = my_tta(probe_net, probe_x, chosen)
gap = (mine - ensembles.tta_predict(probe_net, probe_x, chosen)).abs().max().item()
print(f"largest difference below 1e-6: {gap < 1e-6}")
print("still in training mode afterwards:", probe_net.training)

# %% [markdown]
# **Claim** (notes): *TTA improves accuracy* — with augmentations the model was trained with (the
# `tta` parameter, by default `hflip,shift`). Metric: test accuracy with TTA minus without, averaged
# over the members, per seed. Smallest effect worth having: a fifth of an accuracy point (0.002),
# as TTA costs nothing at training time.
#
# **Claim:** *TTA with a transform the model never saw in training can hurt accuracy.* Swept over
# two settings, each measuring what **adding** the vertical flip does: identity + vflip against no
# TTA, and the `tta` set + vflip against the `tta` set alone (the marginal effect, so the good views
# cannot mask its cost). Metric: test accuracy without the flip minus with it, averaged over the
# members, per seed. Smallest effect: half a point (0.005).

# %%
tta_set = list(ensembles.tta_transforms(cu.split_names(tta)))


def tta_gain(s: int, transforms, base=("identity",)) -> float:
    """Mean over seed s's members of test accuracy with ``transforms`` minus with ``base``."""
    return accuracy(member_labels(s, transforms), test_y) - accuracy(member_labels(s, base), test_y)


detail = f"transforms {', '.join(tta_set)}; mean over {members} members"
gains = [tta_gain(s, tta_set) for s in seed_list]
res.compare("TTA improves accuracy", gains, 0.002, unit="accuracy", detail=detail)
settings = {  # name -> (views with the flip, the same views without it)
    "identity+vflip vs identity": (["identity", "vflip"], ["identity"]),
    f"{tta}+vflip vs {tta}": (tta_set + ["vflip"], tta_set),
}
harm = {name: [-tta_gain(s, t, base) for s in seed_list] for name, (t, base) in settings.items()}
claim = "TTA with a transform never seen in training (vertical flip) can hurt accuracy"
res.can_happen(
    claim, harm, 0.005, unit="accuracy", detail="accuracy without minus with the vertical flip"
)
print("TTA transforms:", ", ".join(tta_set))

# %% [markdown]
# ## 6. What it costs
# Every method below is computed from the same per-seed models. Training seconds add up over the
# models a method needs; inference seconds add up over their forward passes on the test set (one
# per model and per TTA transform). "points per extra s" divides the accuracy gained over one model
# (member 0, a small CNN) by the seconds spent beyond it. Two more columns say how good the
# predicted *probabilities* are, with notebook 07's measures: the test NLL (mean $-\log p$ of the
# true class, nats) and the ECE (mean |confidence - accuracy| over 15 equal-width confidence bins,
# in points).


# %%
def cost(s: int) -> dict:
    """Per method: (test accuracy, training seconds, inference seconds) for seed s."""
    runs, fold = member_runs[s], kfold_runs[(s, folds)]
    train = [m["train_s"] for m in runs]

    def infer(transforms, count=None):  # inference seconds of the first ``count`` members
        return sum(m["infer_s"][t] for m in runs[:count] for t in transforms)

    return {
        "one": (one_acc[s], train[0], infer(["identity"], 1)),
        "ensemble": (soft_acc[s], sum(train), infer(["identity"])),
        "kfold": (fold["ensemble_acc"], fold["train_s"], fold["infer_s"]),
        "tta": (vote_accuracy(s, "soft", 1, tta_set), train[0], infer(tta_set, 1)),
        "ensemble_tta": (vote_accuracy(s, "soft", None, tta_set), sum(train), infer(tta_set)),
    }


costs = {s: cost(s) for s in seed_list}


def method_probs(s: int) -> dict[str, torch.Tensor]:
    """Per method: the (N, C) test probabilities whose argmax is its prediction, for seed s."""
    return {
        "one": member_probs(s, count=1)[0],
        "ensemble": member_probs(s).mean(0),
        "kfold": kfold_runs[(s, folds)]["test"].mean(0),
        "tta": member_probs(s, tta_set, 1)[0],
        "ensemble_tta": member_probs(s, tta_set).mean(0),
    }


def nll_and_ece(probs: torch.Tensor, y: torch.Tensor, n_bins: int = 15) -> tuple[float, float]:
    """Test NLL (nats) and ECE (points; ``n_bins`` equal-width confidence bins, as in 07)."""
    p = probs.cpu().double()
    nll = -p[torch.arange(len(y)), y].clamp_min(1e-12).log().mean().item()
    confidence, predicted = p.max(1)
    bins = (confidence * n_bins).ceil().long().clamp(1, n_bins) - 1
    sum_conf = torch.bincount(bins, weights=confidence, minlength=n_bins)
    sum_correct = torch.bincount(bins, weights=(predicted == y).double(), minlength=n_bins)
    return nll, 100 * ((sum_conf - sum_correct).abs().sum() / len(y)).item()


calibration = {
    s: {key: nll_and_ece(probs, test_y) for key, probs in method_probs(s).items()}
    for s in seed_list
}
METHODS = {"one": "one model", "ensemble": f"soft ensemble of {members}"}
METHODS.update(kfold=f"{folds}-fold ensemble", tta="one model + TTA")
METHODS.update(ensemble_tta="ensemble + TTA")
print("methods:", ", ".join(METHODS.values()))

# %%
summary = []
for key, name in METHODS.items():
    acc, train_s, infer_s = (mean({s: costs[s][key][i] for s in seed_list}) for i in range(3))
    summary.append(dict(key=key, method=name, test_acc=acc, train_s=train_s, inference_s=infer_s))
    summary[-1]["test_nll"] = mean({s: calibration[s][key][0] for s in seed_list})
    summary[-1]["ece_points"] = mean({s: calibration[s][key][1] for s in seed_list})
for row in summary:
    row["total_s"] = row["train_s"] + row["inference_s"]
    row["extra_s"] = row["total_s"] - summary[0]["total_s"]
    row["gain_points"] = 100 * (row["test_acc"] - summary[0]["test_acc"])
    row["points_per_extra_s"] = row["gain_points"] / row["extra_s"] if row["extra_s"] > 0 else None
columns = "method test_acc test_nll ece_points train_s inference_s extra_s gain_points".split()
columns.append("points_per_extra_s")
cu.table(summary, columns)
print("means over seeds; points_per_extra_s is None where a method costs no extra time")

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for row in summary:
    ax.scatter(row["total_s"], 100 * row["test_acc"], s=40)
    offset = dict(xytext=(4, 4), textcoords="offset points", fontsize=8)
    ax.annotate(row["method"], (row["total_s"], 100 * row["test_acc"]), **offset)
ax.set_xscale("log")
ax.set(xlabel="training + inference seconds (log scale)", ylabel="test accuracy (%)")
ax.set_title("Accuracy against time spent")
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# **Claim** (notes): *ensembles cost training time.* Metric: training seconds of the $M$-member
# ensemble divided by one model's, minus 1, per seed. Smallest effect worth having: +0.5.
#
# **Claim** (notes): *TTA costs inference time.* Metric: inference seconds of one model with TTA
# divided by without, minus 1, per seed. Smallest effect worth having: +0.5. Both are timing claims:
# when something else computes (load average above the cores plus half a core; this run's own
# threads already keep it near the core count) they are inconclusive by rule.

# %%
train_ratio = [costs[s]["ensemble"][1] / costs[s]["one"][1] - 1 for s in seed_list]
infer_ratio = [costs[s]["tta"][2] / costs[s]["one"][2] - 1 for s in seed_list]
timing = dict(unit="relative time", timing=True)
detail = f"{members} members vs member 0"
res.compare("Ensembles cost training time", train_ratio, 0.5, detail=detail, **timing)
detail = f"{len(tta_set)} forward passes vs 1"
res.compare("TTA costs inference time", infer_ratio, 0.5, detail=detail, **timing)
print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {cfg.threads} threads")

# %% [markdown]
# Where the MLP members train faster than the CNNs (compare their training seconds in section 1), an
# ensemble of $M$ costs less than $M$ CNNs. TTA costs nothing at training time but multiplies
# inference, which matters when a model serves many requests. Read "points per extra s" as the
# exchange rate: spend seconds where they buy the most accuracy.
#
# **Ensembles and calibration.** Averaging probabilities also tends to improve them, not only the
# argmax: where the members disagree, the average spreads its mass over their answers instead of
# being sure of one, so an ensemble is usually less over-confident than its members. Deep
# ensembles (Lakshminarayanan et al., 2017) were proposed for exactly this, as a simple way to
# get predictive uncertainty, and measured lower NLL and better-calibrated confidences than single
# networks. The `test_nll` and `ece_points` columns above show what happened here (lower is
# better; no claim is decided on them). The two can disagree. Averaging lowers the confidence
# wherever members differ; members that were over-confident (large networks trained long, as in
# that paper) move towards calibration, but members that were already about calibrated (small
# networks after a few epochs, as here) become *under*-confident, and ECE counts that as
# miscalibration too, while NLL still rewards the ensemble's extra correct answers and its hedged
# mistakes. So where the table shows the ensemble's NLL lower but its ECE higher than one
# model's, the likely reason is under-confidence (a reliability diagram, notebook 07, would show
# its mean confidence below its accuracy), and temperature scaling on validation data is the
# cheap fix.
#
# **Cheaper ensembles.** Training $M$ networks costs $M$ trainings; three ideas get much of the
# benefit for about one. *Snapshot ensembles* (Huang et al., 2017) train one network with a cyclic
# (restarting cosine) learning rate and keep a copy at the end of every cycle, when the rate is
# low: the copies sit in different minima and vote like independent members. *Stochastic weight
# averaging* (SWA; Izmailov et al., 2018) averages the *weights* (not the predictions) of the
# points a run visits late in training at a constant or cyclic rate: one network at the price of
# one forward pass, whose minimum is flatter and often generalizes better (batch-norm statistics
# must be recomputed for the averaged weights; `torch.optim.swa_utils` does both). And
# *knowledge distillation* (Hinton et al., 2015) trains one small student to match the ensemble's
# averaged soft probabilities, so the ensemble's accuracy is partly kept while inference costs
# one model again (notebook 07 discussed why a label-smoothed teacher distills worse).
#
# ## 7. Try it
# Everything below is recomputed instantly from the cached predictions of the first seed: how many
# members vote (in the order CNN, MLP, CNN, ...), hard or soft voting, and which TTA transforms each
# member averages over (the identity is always included).


# %%
def try_ensemble(n_members=members, voting="soft", hflip=True, shift=False, vflip=False) -> float:
    """Test accuracy of the first n_members members of the first seed, with the chosen TTA."""
    groups = [g for g, on in (("hflip", hflip), ("shift", shift), ("vflip", vflip)) if on]
    transforms = list(ensembles.tta_transforms(groups))
    acc = vote_accuracy(cfg.seed, voting, n_members, transforms)
    print(f"{n_members} member(s), {voting} voting, TTA over {', '.join(transforms)}: {acc:.4f}")
    return acc


print("test accuracy:", round(try_ensemble(), 4))

# %%
cu.widgets.panel(
    try_ensemble,
    live=True,
    title="Ensemble and TTA from cached predictions",
    n_members=cu.widgets.slider("members", members, 1, members, integer=True),
    voting=cu.widgets.dropdown("voting", ["soft", "hard"]),
    hflip=cu.widgets.checkbox("hflip", True),
    shift=cu.widgets.checkbox("shift", False),
    vflip=cu.widgets.checkbox("vflip", False),
)

# %% [markdown]
# ## 8. Exercises
# **Exercise 1** · about 5 min · ★☆☆ easy
#
# Three members predict the classes 4, 9 and 2 for one image. Which label does
# `ensembles.hard_vote` return? (Use the tie rule, not the code.)

# %%
tie_label = None  # your answer: a class index
check_equal(
    "hard-vote tie",
    tie_label,
    ensembles.hard_vote(torch.tensor([[4], [9], [2]])).item(),
    hint="every class has one vote; read the tie rule in section 2",
)
# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
solution_tie_label = min(4, 9, 2)  # one vote each: the lowest tied class index wins
check_equal(
    "hard-vote tie", solution_tie_label, ensembles.hard_vote(torch.tensor([[4], [9], [2]])).item()
)

# %% [markdown]
# **Exercise 2** · about 15 min · ★★☆ medium
#
# Write `majority_error(M, p)`: the probability that more than half of $M$
# **independent** members (odd $M$), each wrong with probability $p$, are wrong (the sum in
# section 1; `math.comb` helps): the vote's error for two classes, an upper bound on it for more.
# Then compare with the measured members: why is the real ensemble's gain so much smaller?


# %%
def majority_error(M: int, p: float) -> float | None:
    """P(more than half of M independent members are wrong)."""
    return None  # your code


check_close(
    "majority_error",
    None
    if majority_error(5, 0.2) is None
    else [majority_error(M, p) for M, p in ((5, 0.2), (11, 0.3), (1, 0.1))],
    [stats.binom.sf(M // 2, M, p) for M, p in ((5, 0.2), (11, 0.3), (1, 0.1))],
    rtol=1e-9,
)


# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
def solution_majority_error(M: int, p: float) -> float:
    return sum(math.comb(M, j) * p**j * (1 - p) ** (M - j) for j in range(M // 2 + 1, M + 1))


check_close(
    "majority_error",
    [solution_majority_error(M, p) for M, p in ((5, 0.2), (11, 0.3), (1, 0.1))],
    [stats.binom.sf(M // 2, M, p) for M, p in ((5, 0.2), (11, 0.3), (1, 0.1))],
    rtol=1e-9,
)
# Independent members would rarely be wrong together. Section 1 prints our members' disagreement
# next to the least that independent members would show (2p(1-p) for equal error rates p): where
# it is lower, their mistakes coincide, and the vote can fix only the images where they differ.

# %% [markdown]
# **Exercise 3 (open)** · about 15 min · ★★☆ medium
#
# Re-run with `-p members 8` and with `-p tta vflip`
# (`python -m course_utils run 09 -p members 8`). Does the gain over the best member keep growing
# with M? Which verdicts change when TTA uses only a transform the models never trained with?
#
# ## Summary
# - An ensemble helps as much as its members disagree; section 1 compares the diversity of pairs
#   that differ only by seed with pairs that also differ by architecture. Hard voting counts labels
#   (ties: lowest class index), soft voting averages probabilities; stacking learns the combination
#   from out-of-fold probabilities.
# - Bagging averages high-variance models on resamples (less variance); boosting adds high-bias
#   models in series (less bias).
# - Stratified k-fold keeps class proportions in every fold; small k trains each model on less data,
#   large k trains more models on more data each: the cost grows like $k - 1$ training sets.
# - TTA averages predictions over transformed copies: use the augmentations the model was trained
#   with; a transform it never saw (upside-down clothes) is a distribution shift.
# - Every one of these costs seconds; the cost table above gives the exchange rate on this machine,
#   and its NLL and ECE columns show what averaging does to the probabilities. Snapshot ensembles,
#   SWA and distillation buy part of an ensemble's benefit for about one training or one model.
#
# ## References
# - Breiman, L. (1996). Bagging predictors. *Machine Learning*, 24(2), 123–140.
# - Freund, Y., & Schapire, R. E. (1997). A decision-theoretic generalization of on-line learning
#   and an application to boosting. *Journal of Computer and System Sciences*, 55(1), 119–139.
# - Friedman, J. H. (2001). Greedy function approximation: a gradient boosting machine. *Annals of
#   Statistics*, 29(5), 1189–1232.
# - Wolpert, D. H. (1992). Stacked generalization. *Neural Networks*, 5(2), 241–259.
# - Lakshminarayanan, B., Pritzel, A., & Blundell, C. (2017). Simple and scalable predictive
#   uncertainty estimation using deep ensembles. *NeurIPS 2017*.
# - Kohavi, R. (1995). A study of cross-validation and bootstrap for accuracy estimation and model
#   selection. *IJCAI 1995*.
# - Stone, M. (1974). Cross-validatory choice and assessment of statistical predictions. *Journal
#   of the Royal Statistical Society, Series B*, 36(2), 111–147.
# - Geisser, S. (1975). The predictive sample reuse method with applications. *Journal of the
#   American Statistical Association*, 70(350), 320–328.
# - Condorcet, M. J. A. N. de Caritat, marquis de (1785). *Essai sur l'application de l'analyse à
#   la probabilité des décisions rendues à la pluralité des voix*. Paris, Imprimerie Royale.
# - Huang, G., Li, Y., Pleiss, G., Liu, Z., Hopcroft, J. E., & Weinberger, K. Q. (2017). Snapshot
#   ensembles: train 1, get M for free. *ICLR 2017*.
# - Izmailov, P., Podoprikhin, D., Garipov, T., Vetrov, D., & Wilson, A. G. (2018). Averaging
#   weights leads to wider optima and better generalization. *UAI 2018*.
# - Hinton, G., Vinyals, O., & Dean, J. (2015). Distilling the knowledge in a neural network.
#   *NIPS 2014 Deep Learning Workshop*, arXiv:1503.02531.
# - Bengio, Y., & Grandvalet, Y. (2004). No unbiased estimator of the variance of k-fold
#   cross-validation. *Journal of Machine Learning Research*, 5, 1089–1105.

# %%
for row in summary:  # e.g. "ensemble_tta_test_acc", "kfold_train_s", "tta_inference_s"
    for field in ("test_acc", "train_s", "inference_s", "points_per_extra_s"):
        res.metric(f"{row['key']}_{field}", row[field])
res.metric("members", members)
res.metric("folds", folds)
res.metric("stacking_acc", np.mean([r["stacking_acc"] for r in stacking]))
res.metric("stacking_soft_vote_acc", np.mean([r["soft_vote_acc"] for r in stacking]))
res.metric("mean_disagreement", np.mean([p["disagreement"] for p in pairs]))
res.metric("fold_class_count_spread", spread)
res.metric("seconds", round(time.perf_counter() - started, 1))
res.save()
