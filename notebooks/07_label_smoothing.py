# %% [markdown]
# # 07 · Label smoothing: soft targets, calibration and over-confidence
#
# With one-hot targets, cross-entropy keeps rewarding a network for pushing the true class's probability
# towards 1, i.e. for making its logits ever larger. **Label smoothing** trains against *soft* targets
# instead, so the best prediction is no longer "100% sure". It is meant to reduce overfitting and
# over-confidence.
#
# **You will learn to**
# - build the source notes' smoothed targets (`1 - alpha` on the true class, `alpha/(K-1)` elsewhere) and
#   their loss `mean(sum(-target * log_softmax(logits)))`;
# - relate them to PyTorch's built-in `F.cross_entropy(..., label_smoothing=a)`, which spreads `a/K` over
#   *all* classes, and prove numerically that the two agree when `a = alpha*K/(K-1)`;
# - measure **calibration**: negative log-likelihood, expected calibration error (ECE) and a reliability
#   diagram;
# - test the claim *"label smoothing reduces overfitting / over-confidence"*, with separate verdicts for
#   the accuracy gap and for confidence.
#
# **Prerequisites:** notebooks 02 (overfitting) and 06 (label noise as a regularizer).
#
# **Expected run time:** smoke profile ≈ 15 s, cpu profile ≈ 1–2 min on a 2-core laptop, gpu ≈ 1 min.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # seeds python, numpy and torch
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
smoothing: float = 0.2  # the notes' alpha in [0, 1): target 1 - alpha on the true class, alpha/(K-1) elsewhere
train_size: int | None = None  # training examples (stratified sample); None = profile default
epochs: int | None = None  # training epochs; None = profile default
eval_size: int | None = None  # held-out test images for accuracy, NLL and calibration; None = profile default
lr: float = 1e-3  # Adam learning rate
batch_size: int = 128  # training mini-batch size
n_bins: int = 15  # confidence bins of the reliability diagram and the ECE

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from course_utils import setup
from course_utils.calibration import (expected_calibration_error, mean_confidence, negative_log_likelihood,
                                      plot_reliability, reliability)
from course_utils.config import describe_parameters
from course_utils.data import load_dataset, stratified_subset
from course_utils.exercises import check_close
from course_utils.models import build_model
from course_utils.regularizers import check_smoothing, smoothed_targets, smoothing_loss, smoothing_loss_fn, smoothing_to_torch
from course_utils.results import Results, verdict
from course_utils.train import evaluate, fit, predict_proba
from course_utils.validation import check_number, check_positive
from course_utils.widgets import panel, slider

started = time.perf_counter()
cfg = setup(profile, dataset, seed, results_path, data_dir)
train_size = cfg.default(train_size, smoke=500, cpu=10000, gpu=20000)
epochs = cfg.default(epochs, smoke=1, cpu=20, gpu=40)
eval_size = cfg.default(eval_size, smoke=1000, cpu=10000, gpu=10000)
alphas = sorted({0.0, smoothing} if cfg.is_smoke else {0.0, 0.1, smoothing})

# every hyperparameter is checked here, before any training
NUM_CLASSES = 10  # all course datasets have 10 classes
check_smoothing(smoothing, NUM_CLASSES)
for name, value in (("train_size", train_size), ("epochs", epochs), ("eval_size", eval_size), ("batch_size", batch_size)):
    check_positive(name, value, integer=True)
check_positive("lr", lr)
check_number("n_bins", n_bins, low=2, high=100, integer=True)
print(describe_parameters(smoothing=smoothing, alphas=alphas, train_size=train_size, epochs=epochs, eval_size=eval_size,
                          lr=lr, batch_size=batch_size, n_bins=n_bins))
res = Results("07_label_smoothing", results_path, cfg.profile)

# %% [markdown]
# ## 1. Two ways to write the soft target
#
# **The notes' form.** With `K` classes and smoothing `alpha`, the target of an example of class `y` is
# `1 - alpha` on class `y` and `alpha/(K-1)` on each of the other `K-1` classes (it still sums to 1). The
# loss is the cross-entropy against that target, averaged over the batch:
# `mean(sum(-target * log_softmax(logits)))`.
#
# **PyTorch's form.** `F.cross_entropy(logits, y, label_smoothing=a)` mixes the one-hot target with the
# uniform distribution: `(1 - a) * one_hot + a/K`. That is `1 - a + a/K` on the true class and `a/K` on
# every class, *including* the true one.
#
# **When are they equal?** The wrong classes must get the same mass: `a/K = alpha/(K-1)`, so
# `a = alpha*K/(K-1)`. Then the true class gets `1 - a + a/K = 1 - a(K-1)/K = 1 - alpha` as well. With the
# notes' `alpha = 0.2` and `K = 10`, torch needs `a = 0.2222...`, not `0.2`.

# %%
# NBVAL_CHECK_OUTPUT
g = torch.Generator().manual_seed(0)
logits = 3 * torch.randn(8, 10, generator=g, dtype=torch.float64)  # a fixed batch of 8 examples, K = 10
labels = torch.randint(0, 10, (8,), generator=g)
alpha_notes = 0.2
a_torch = smoothing_to_torch(alpha_notes, 10)
print("notes' target of example 0:", " ".join(f"{t:.4f}" for t in smoothed_targets(labels[:1], 10, alpha_notes, torch.float64)[0].tolist()))
notes = smoothing_loss(logits, labels, alpha_notes).item()
builtin = F.cross_entropy(logits, labels, label_smoothing=a_torch).item()
naive = F.cross_entropy(logits, labels, label_smoothing=alpha_notes).item()
print(f"notes' loss (alpha={alpha_notes})                 : {notes:.6f}")
print(f"torch label_smoothing=alpha*K/(K-1)={a_torch:.6f}: {builtin:.6f}")
print(f"torch label_smoothing=alpha={alpha_notes} (unconverted)   : {naive:.6f}")
print("equal to 1e-6 with the conversion   :", abs(notes - builtin) < 1e-6)
print("equal to 1e-6 without the conversion:", abs(notes - naive) < 1e-6)

# %% [markdown]
# The two losses agree to 1e-6 with the conversion and differ without it (the unit tests check several
# `alpha` and `K`). Since both are the same function, the experiment below can use either; it trains
# with the notes' loss through `fit(..., loss_fn=smoothing_loss_fn(alpha))`.
#
# Bad values are refused before training: `alpha` must be a fraction in `[0, 1)`, and for `K` classes at
# most `(K-1)/K` (beyond that the true class would get less mass than a wrong one):

# %%
for bad in (20, 1.0, 0.95):
    try:
        check_smoothing(bad, 10)
    except ValueError as err:
        print(type(err).__name__, ":", err)

# %% [markdown]
# ## 2. Experiment: with and without smoothing
#
# We train the same MLP (two hidden layers, Adam, same initial weights) on a stratified sample of the
# training images for enough epochs that plain training overfits, once per smoothing value, and measure on
# held-out test images:
# - **accuracy** and the **train-test accuracy gap** (overfitting);
# - **negative log-likelihood** (NLL, the test cross-entropy): punishes confident mistakes;
# - **mean confidence** (average top probability) against accuracy: over-confident when confidence > accuracy;
# - **expected calibration error** (ECE): bin the predictions by confidence; in each bin compare the
#   accuracy with the average confidence; average the gaps, weighted by how many predictions fall in the bin.

# %%
ds = load_dataset(cfg.dataset, cfg.data_dir)
check_number("number of classes", ds.num_classes, low=NUM_CLASSES, high=NUM_CLASSES)
train_x, train_y = stratified_subset(ds.train_x, ds.train_y, train_size, seed=cfg.seed, name="train_size")
eval_x, eval_y = stratified_subset(ds.test_x, ds.test_y, eval_size, seed=cfg.seed, name="eval_size")
eval_loader = ds.loader(eval_x, eval_y, 1000, device=cfg.device)
train_eval_loader = ds.loader(train_x, train_y, 1000, device=cfg.device)

runs = {}
for a in alphas:
    torch.manual_seed(cfg.seed)
    model = build_model("mlp", ds.shape, ds.num_classes, hidden=(256, 128)).to(cfg.device)
    loader = ds.loader(train_x, train_y, batch_size, shuffle=True, seed=cfg.seed, device=cfg.device)
    history = fit(model, loader, eval_loader, epochs=epochs, lr=lr, loss_fn=smoothing_loss_fn(a), progress=False)
    probs = predict_proba(model, eval_loader)
    acc = (probs.argmax(1) == eval_y).double().mean().item()
    runs[a] = {
        "history": history, "probs": probs, "test_acc": acc,
        "train_acc": evaluate(model, train_eval_loader)["acc"],
        "nll": negative_log_likelihood(probs, eval_y),
        "ece": expected_calibration_error(probs, eval_y, n_bins),
        "confidence": mean_confidence(probs),
    }
    r = runs[a]
    print(f"alpha={a:.2f}: train acc {r['train_acc']:.3f}  test acc {acc:.4f}  gap {r['train_acc'] - acc:+.3f}  "
          f"NLL {r['nll']:.3f}  ECE {r['ece']:.4f}  confidence {r['confidence']:.3f} (confidence - accuracy {r['confidence'] - acc:+.3f})")

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
for a in alphas:
    h = runs[a]["history"]
    axes[0].plot(h["epoch"], h["val_loss"], "o-", ms=3, label=f"alpha={a:g}")
axes[0].set(title="test NLL per epoch", xlabel="epoch", ylabel="cross-entropy (one-hot)")
axes[0].grid(alpha=0.3)
axes[0].legend(fontsize=8)
plot_reliability({f"alpha={a:g}": reliability(runs[a]["probs"], eval_y, n_bins) for a in alphas}, ax=axes[1])
for a in alphas:
    conf = runs[a]["probs"].max(1).values.numpy()
    axes[2].hist(conf, bins=np.linspace(0, 1, 41), histtype="step", lw=2, label=f"alpha={a:g}")
axes[2].set(title="confidence of the test predictions", xlabel="top probability", ylabel="predictions")
axes[2].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# **Reading the plots.** In the reliability diagram a point below the diagonal is a bin where the model is
# more confident than it is accurate (over-confident), a point above it is under-confident. The histogram
# shows where the confidence mass sits: a smoothed model cannot put its top probability at 1.0, because its
# training target never was 1.0 (with `alpha = 0.2` the ideal training prediction is 0.8).
#
# The test NLL curves can show overfitting in a second way: when a model's test cross-entropy climbs back
# up after its best epoch while its accuracy barely moves, it is growing more confident on the examples it
# gets wrong. The claim below prints how far each curve rose after its minimum.
#
# **Verdicts, computed from the numbers above.** Accuracy differences smaller than half a percentage point
# count as "no change".
# - *Overfitting*: confirmed if smoothing shrinks the train-test accuracy gap without costing test accuracy;
#   "partly confirmed" if only one of the two improves (the gap shrinks but test accuracy drops, or test
#   accuracy rises while the model still fits its training set just as much better than the test set).
# - *Over-confidence*: confirmed if `confidence - accuracy` goes down **and** the ECE goes down; "partly
#   confirmed" if the model becomes less confident but the ECE does not improve (it overshoots into
#   under-confidence); "inconclusive" if the plain model was not over-confident in the first place (as
#   after a very short training run).

# %%
MARGIN = 0.005


def nll_rise(run: dict) -> float:
    """How far the test NLL climbed after its lowest epoch (0 when it never rose): a sign of overfitting."""
    return run["history"].last["val_loss"] - min(run["history"]["val_loss"])


base, smooth = runs[0.0], runs[smoothing]
gap_base, gap_smooth = base["train_acc"] - base["test_acc"], smooth["train_acc"] - smooth["test_acc"]
acc_change = smooth["test_acc"] - base["test_acc"]
gap_shrinks = gap_smooth < gap_base - MARGIN
if gap_shrinks and acc_change > -MARGIN:
    overfit_verdict = "confirmed"
elif gap_shrinks or acc_change > MARGIN:
    overfit_verdict = "partly confirmed"  # either the gap shrinks at a cost, or test accuracy improves without a smaller gap
else:
    overfit_verdict = "refuted"
res.claim(
    "Label smoothing reduces overfitting",
    f"alpha={smoothing:g} vs 0: train-test accuracy gap {gap_base:.3f} -> {gap_smooth:.3f}, "
    f"test accuracy {base['test_acc']:.4f} -> {smooth['test_acc']:.4f} ({100 * acc_change:+.2f} points); "
    f"test NLL rise from its best epoch to the last {nll_rise(base):.3f} -> {nll_rise(smooth):.3f}",
    overfit_verdict,
)
best_ece_alpha = min(alphas, key=lambda a: runs[a]["ece"])
over_base, over_smooth = base["confidence"] - base["test_acc"], smooth["confidence"] - smooth["test_acc"]
less_confident = over_smooth < over_base
better_ece = smooth["ece"] < base["ece"]
if over_base <= 0:
    confidence_verdict = "inconclusive"  # the plain model was not over-confident: nothing to reduce
elif less_confident and better_ece:
    confidence_verdict = "confirmed"
elif less_confident:
    confidence_verdict = "partly confirmed"
else:
    confidence_verdict = "refuted"
res.claim(
    "Label smoothing reduces over-confidence",
    f"alpha={smoothing:g} vs 0: confidence - accuracy {over_base:+.3f} -> {over_smooth:+.3f}, "
    f"ECE {base['ece']:.4f} -> {smooth['ece']:.4f}, NLL {base['nll']:.3f} -> {smooth['nll']:.3f}; "
    f"lowest ECE of the alphas tried: {runs[best_ece_alpha]['ece']:.4f} at alpha={best_ece_alpha:g}",
    confidence_verdict,
)
res.claim(
    "The notes' smoothing loss equals torch's label_smoothing with a = alpha*K/(K-1)",
    f"|difference| = {abs(notes - builtin):.2e} on a fixed batch (alpha={alpha_notes}, a={a_torch:.6f})",
    verdict(abs(notes - builtin) < 1e-6),
)
for a in alphas:
    tag = f"alpha{a:g}".replace(".", "p")
    for key in ("test_acc", "train_acc", "nll", "ece", "confidence"):
        res.metric(f"{tag}_{key}", runs[a][key]);

# %% [markdown]
# **What it shows.** The printed numbers and the verdicts above are the measurement; read them in this
# light. Smoothing caps how confident the model can become on its training data, so the top probability of
# its predictions drops; whether that makes it *calibrated* depends on how over-confident the plain model
# was. A plain model that overfits is over-confident, and smoothing pulls it towards the diagonal; on a
# model that is already well calibrated, the same smoothing can overshoot and make it under-confident
# (points above the diagonal), and the ECE then gets worse even though the confidence went down. Accuracy
# usually moves much less than calibration. NLL combines both effects.
#
# ## 3. Try it: the smoothed target and the loss on one fixed logit vector
#
# Move `alpha` and see the notes' target (which equals torch's target with `a = alpha*K/(K-1)`), the
# target torch would use if you passed `alpha` unconverted, and the losses of one fixed logit vector.

# %%
FIXED_LOGITS = torch.tensor([[4.0, 1.0, 0.5, 0.0, -0.5, -1.0, 2.0, 0.0, -2.0, 1.5]], dtype=torch.float64)
FIXED_LABEL = torch.tensor([0])


def smoothing_view(alpha: float = 0.2) -> dict[str, float]:
    """Plot the soft targets for ``alpha`` (K = 10, true class 0) and return the losses of ``FIXED_LOGITS``."""
    K = FIXED_LOGITS.shape[1]
    a = smoothing_to_torch(alpha, K)
    notes_target = smoothed_targets(FIXED_LABEL, K, alpha, dtype=torch.float64)[0]
    naive_target = (1 - alpha) * F.one_hot(FIXED_LABEL, K)[0].double() + alpha / K
    losses = {
        "notes": smoothing_loss(FIXED_LOGITS, FIXED_LABEL, alpha).item(),
        "torch_converted": F.cross_entropy(FIXED_LOGITS, FIXED_LABEL, label_smoothing=a).item(),
        "torch_unconverted": F.cross_entropy(FIXED_LOGITS, FIXED_LABEL, label_smoothing=alpha).item(),
        "one_hot": F.cross_entropy(FIXED_LOGITS, FIXED_LABEL).item(),
    }
    fig, ax = plt.subplots(figsize=(8, 3))
    x = np.arange(K)
    ax.bar(x - 0.2, notes_target.numpy(), 0.4, label=f"notes' target (= torch with a={a:.3f})")
    ax.bar(x + 0.2, naive_target.numpy(), 0.4, label=f"torch with a={alpha:g} (unconverted)")
    ax.plot(x, F.softmax(FIXED_LOGITS, 1)[0].numpy(), "k_", ms=20, mew=2, label="softmax of the fixed logits")
    ax.set(xticks=x, ylim=(0, 1.05), xlabel="class (true class 0)", ylabel="probability",
           title=f"alpha={alpha:g}: loss notes {losses['notes']:.4f} = torch {losses['torch_converted']:.4f}; "
                 f"unconverted {losses['torch_unconverted']:.4f}; one-hot {losses['one_hot']:.4f}")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return losses


smoothing_view(smoothing)
plt.show()

# %%
smoothing_panel = panel(smoothing_view, title="Label smoothing: target distribution and loss",
                        alpha=slider("alpha", smoothing, 0.0, 0.9, 0.01))
smoothing_panel

# %% [markdown]
# ## 4. Exercises
#
# **Exercise 1.** A colleague uses the notes' form with `alpha = 0.1` on a 5-class problem. Which
# `label_smoothing` must they pass to `F.cross_entropy` to get exactly the same loss?

# %%
a_for_colleague = None  # your answer: a number
check_close("torch's label_smoothing for alpha=0.1, K=5", a_for_colleague, 0.125, rtol=1e-6,
            hint="the wrong classes must get the same mass: a/K = alpha/(K-1)");

# %% tags=["solution"] jupyter={"source_hidden": true}
a_for_colleague = 0.1 * 5 / (5 - 1)
check_close("torch's label_smoothing for alpha=0.1, K=5", a_for_colleague, 0.125, rtol=1e-6);

# %% [markdown]
# **Exercise 2.** Write `my_soft_targets(labels, K, alpha)` returning the notes' `(N, K)` target matrix
# without a Python loop (hint: `torch.full` and `scatter_`, or `F.one_hot`).

# %%
def my_soft_targets(labels: torch.Tensor, K: int, alpha: float) -> torch.Tensor | None:
    """The notes' smoothed targets: 1 - alpha on the true class, alpha/(K-1) elsewhere."""
    return None  # your code


check_close("soft targets", my_soft_targets(torch.tensor([3, 0, 9]), 10, 0.2),
            smoothed_targets(torch.tensor([3, 0, 9]), 10, 0.2), rtol=1e-6);

# %% tags=["solution"] jupyter={"source_hidden": true}
def my_soft_targets(labels: torch.Tensor, K: int, alpha: float) -> torch.Tensor | None:
    one_hot = F.one_hot(labels, K).float()
    return one_hot * (1 - alpha) + (1 - one_hot) * alpha / (K - 1)


check_close("soft targets", my_soft_targets(torch.tensor([3, 0, 9]), 10, 0.2),
            smoothed_targets(torch.tensor([3, 0, 9]), 10, 0.2), rtol=1e-6);

# %% [markdown]
# **Exercise 3 (open).** Re-run with `smoothing=0.05` and with a larger `train_size`. When does smoothing
# make the model *under*-confident? Check the sign of `confidence - accuracy`.
#
# ## Summary
# - The notes' soft target is `1 - alpha` / `alpha/(K-1)`; torch's `label_smoothing=a` is `1 - a + a/K` /
#   `a/K`. They are the same loss when `a = alpha*K/(K-1)` (0.2222 for `alpha = 0.2`, `K = 10`).
# - Smoothing caps the confidence a model learns; judge it by accuracy **and** calibration (NLL, ECE,
#   reliability diagram), and read the verdicts above for what it did here.
# - Refuse `alpha` outside `[0, 1)` (and above `(K-1)/K`) before training; `20` means `0.2`.

# %%
res.metric("smoothing", smoothing)
res.metric("torch_label_smoothing", smoothing_to_torch(smoothing, NUM_CLASSES))
res.metric("seconds", round(time.perf_counter() - started, 1))
res.save();
