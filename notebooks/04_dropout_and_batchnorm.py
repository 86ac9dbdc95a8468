# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 04 · Dropout and batch normalization
#
# **You will learn**
# - what `nn.Dropout` does to a tensor in `train()` mode (zeroes a fraction `p`, scales the rest by
#   `1/(1-p)`) and in `eval()` mode (nothing), and why it never sits on the output layer;
# - what `nn.BatchNorm2d` does in a Conv-BN-ReLU block: batch statistics in training, running
#   statistics in evaluation, and how the running statistics are updated;
# - how to compare regularizers fairly: four variants of the same small CNN (none / dropout / BN /
#   both), the same data, the same number of epochs, averaged over seeds;
# - to test two claims of the source notes, "batch norm improves results more than dropout" and
#   "about 15-20% better", with numbers instead of belief.
#
# **Prerequisites**: notebook 02 (training vs validation curves) and 03 (regularization).
#
# **Run time** on a 2-core laptop CPU: `smoke` ~15 s, `cpu` ~2-3 min.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # seeds python, numpy and torch; the experiment uses seed, seed+1, ...
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
model: str | None = None  # small_cnn | resnet18; None = small_cnn (smoke, cpu), resnet18 (gpu)
dropout: float | None = None  # dropout probability p of the dropout variants, in [0, 1); None = 0.5 (the notes' value)
train_size: int | None = None  # training images drawn (stratified) before the 8:2 train/validation split; None = profile default
epochs: int | None = None  # epochs per variant (the same budget for all four); None = profile default
seeds: int | None = None  # seeds averaged per variant; None = profile default
batch_size: int = 128  # training batch size
lr: float = 2e-3  # Adam learning rate

# %%
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from torch import nn

import course_utils as cu
from course_utils.data import normalize
from course_utils.exercises import check_close, check_true
from course_utils.models import MLP
from course_utils.results import markdown_table
from course_utils.validation import check_choice, check_fraction, check_number
from course_utils.widgets import checkbox, panel, slider

cfg = cu.setup(profile, dataset, seed, results_path, data_dir)
model = check_choice("model", cfg.default(model, smoke="small_cnn", cpu="small_cnn", gpu="resnet18"), ("small_cnn", "resnet18"))
dropout = check_fraction("dropout", cfg.default(dropout, smoke=0.5, cpu=0.5, gpu=0.5), high_open=True)
train_size = check_number("train_size", cfg.default(train_size, smoke=800, cpu=6000, gpu=60000), low=50, integer=True)
epochs = check_number("epochs", cfg.default(epochs, smoke=1, cpu=5, gpu=15), low=1, integer=True)
seeds = check_number("seeds", cfg.default(seeds, smoke=1, cpu=2, gpu=2), low=1, high=10, integer=True)
check_number("batch_size", batch_size, low=1, integer=True)
check_number("lr", lr, low=0, low_open=True)
ds = cu.load_dataset(cfg.dataset, cfg.data_dir)
x_all, y_all = cu.stratified_subset(ds.train_x, ds.train_y, train_size, seed=cfg.seed, name="train_size")
res = cu.Results("04_dropout_and_batchnorm", results_path, cfg.profile)
print(f"model={model} dropout={dropout} train_size={train_size} epochs={epochs} seeds={seeds} batch_size={batch_size} lr={lr}")

# %% [markdown]
# Every hyperparameter is checked before any training. A dropout probability is a fraction of units
# to *zero*, so `p = 1` (drop everything) is refused as well as negative values:

# %%
# NBVAL_CHECK_OUTPUT
for bad in (1.0, -0.1, 50):
    try:
        check_fraction("dropout", bad, high_open=True)
    except cu.ParameterError as err:
        print("refused:", err)

# %% [markdown]
# ## Dropout on a tensor
# `nn.Dropout(p)` zeroes each value with probability `p` **during training** and multiplies the
# survivors by `1/(1-p)`, so the expected value of every unit stays the same ("inverted dropout").
# In `eval()` mode it is the identity: the whole network is used, and thanks to the scaling no
# correction is needed at test time. Each training step sees a different random sub-network, which is
# why dropout is described as training many architectures at once and discouraging neurons from
# relying on (co-adapting with) particular partners.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
drop = nn.Dropout(p=0.5)
x = torch.arange(1.0, 13.0).reshape(2, 6)
drop.train()
in_train = drop(x)
drop.eval()
in_eval = drop(x)
kept = in_train != 0
print("input\n", x)
print("train mode, p=0.5\n", in_train)
print("eval mode\n", in_eval)
print("survivors / input:", sorted(set((in_train[kept] / x[kept]).tolist())), "= 1/(1-p) =", 1 / (1 - 0.5))
print("eval output equals the input:", torch.equal(in_eval, x))

# %% [markdown]
# On a large tensor the fraction of zeros is close to `p`, and the mean is preserved:

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
big = torch.ones(1_000_000)
for p in (0.1, 0.3, 0.5, 0.8):
    out = nn.functional.dropout(big, p=p, training=True)
    print(f"p={p}: zeroed {(out == 0).float().mean().item():.4f}, survivors = {out.max().item():.4f}, mean {out.mean().item():.4f}")

# %% [markdown]
# ### Where dropout goes: never on the output layer
# Dropout belongs between hidden layers. On the output layer it would randomly delete class scores:
# the softmax would then be computed over a random subset of logits. Both course models put it after
# the hidden ReLUs and end with a plain `Linear` layer:

# %%
# NBVAL_CHECK_OUTPUT
cnn = cu.build_model("small_cnn", ds.shape, ds.num_classes, batch_norm=True, dropout=0.5)
mlp = MLP(ds.shape, ds.num_classes, hidden=(256, 128), dropout=0.5)
print("SmallCNN.classifier:", cnn.classifier, sep="\n")
print("MLP.net:", mlp.net, sep="\n")
for name, seq in (("SmallCNN", cnn.classifier), ("MLP", mlp.net)):
    where = [i for i, layer in enumerate(seq) if isinstance(layer, nn.Dropout)]
    print(f"{name}: dropout at positions {where} of {len(seq)}; last layer is {type(seq[-1]).__name__} "
          f"-> output layer free of dropout: {isinstance(seq[-1], nn.Linear) and max(where) < len(seq) - 1}")

# %% [markdown]
# ## Batch normalization in a Conv-BN-ReLU block
# Batch norm normalizes every channel over the mini-batch (mean 0, standard deviation 1 over the
# batch and the spatial positions), then applies a learned scale `weight` and shift `bias`. It usually
# sits right after a convolution and before the activation: **Conv -> BN -> ReLU** ("CBR"). The
# convolution then needs no bias of its own (BN's shift replaces it).
#
# In training mode BN uses the statistics of the current batch *and* updates its running estimates:
# `running = (1 - momentum) * running + momentum * batch_stat` with `momentum = 0.1`
# (the running variance uses the unbiased batch variance). In eval mode it uses the running estimates
# only, so a prediction no longer depends on which other images share the batch.
#
# The first numbers: one training-mode step on a batch of 256 real images.

# %%
# NBVAL_CHECK_OUTPUT
def fmt(t: torch.Tensor) -> str:
    return "[" + ", ".join(f"{v:+.4f}" for v in t.tolist()) + "]"


torch.manual_seed(0)
cbr = nn.Sequential(nn.Conv2d(ds.shape[0], 4, 5, bias=False), nn.BatchNorm2d(4), nn.ReLU())
conv, bn = cbr[0], cbr[1]
images = normalize(ds.train_x[:4096], ds.mean, ds.std)
batch = images[:256]
print("running mean before:", fmt(bn.running_mean), " running var before:", fmt(bn.running_var))
cbr.train()
with torch.no_grad():
    z = conv(batch)
    bn_out = bn(z)
batch_mean, batch_var = z.mean(dim=(0, 2, 3)), z.var(dim=(0, 2, 3), unbiased=True)
print("conv output, batch mean per channel:", fmt(batch_mean))
print("running mean after one step        :", fmt(bn.running_mean),
      "| equals 0.9*0 + 0.1*batch mean:", torch.allclose(bn.running_mean, 0.1 * batch_mean, atol=1e-6))
print("running var after one step         :", fmt(bn.running_var),
      "| equals 0.9*1 + 0.1*batch var :", torch.allclose(bn.running_var, 0.9 + 0.1 * batch_var, atol=1e-5))
print("BN output (train mode): channel means", fmt(bn_out.mean(dim=(0, 2, 3))), "stds", fmt(bn_out.std(dim=(0, 2, 3))))

# %% [markdown]
# After many training-mode batches the running statistics settle near the statistics of the whole
# data, which is what eval mode then uses:

# %%
# NBVAL_CHECK_OUTPUT
with torch.no_grad():
    for start in range(0, 4096, 128):
        bn(conv(images[start:start + 128]))
    full = conv(images)
print("running mean after 32 more batches:", fmt(bn.running_mean))
print("mean over all 4096 images         :", fmt(full.mean(dim=(0, 2, 3))))
print("running var                        :", fmt(bn.running_var))
print("var over all 4096 images          :", fmt(full.var(dim=(0, 2, 3))))

# %% [markdown]
# The practical difference between the two modes: in training mode the output for an image depends on
# the other images in its batch; in eval mode it does not.

# %%
# NBVAL_CHECK_OUTPUT
def first_image_output(block: nn.Module, batch_of: int) -> torch.Tensor:
    with torch.no_grad():
        return block(images[:batch_of])[0]


state = copy.deepcopy(cbr.state_dict())  # training-mode calls below update the running stats: keep a copy
for mode in ("train", "eval"):
    cbr.load_state_dict(state)
    cbr.train(mode == "train")
    change = (first_image_output(cbr, 256) - first_image_output(cbr, 8)).abs().max().item()
    print(f"{mode:5s} mode: image 0 in a batch of 256 vs a batch of 8 -> largest output change {change:.4f}")
_ = cbr.load_state_dict(state)

# %% [markdown]
# Why does BN help? The original paper said it reduces *internal covariate shift* (the input
# distribution of each layer changing as earlier layers learn). Santurkar et al. (MIT, 2018) showed
# that BN helps even when that shift is deliberately re-injected, and that its benefit comes from a
# smoother loss landscape (better-behaved gradients, larger usable learning rates). The *effect* is
# not in doubt; the explanation changed.
#
# ## Four variants, one budget
# Same data (a stratified subset split 8:2 into training and validation), same epochs, same optimizer,
# same seeds; only the regularizer differs. Under the `gpu` profile the model is ResNet-18: its "no BN"
# variants replace every BN layer by the identity, and its dropout sits before the final linear layer
# (on the pooled features, never on the output).

# %%
VARIANTS = {"none": (False, 0.0), "dropout": (False, dropout), "BN": (True, 0.0), "BN + dropout": (True, dropout)}
train_x, train_y, val_x, val_y = cu.train_val_split(x_all, y_all, 0.2, seed=cfg.seed)
test_x, test_y = ds.test_x, ds.test_y
if cfg.is_smoke:
    test_x, test_y = cu.stratified_subset(test_x, test_y, 2000, seed=cfg.seed)
val = ds.loader(val_x, val_y, 1024, device=cfg.device)
test = ds.loader(test_x, test_y, 1024, device=cfg.device)
train_eval = ds.loader(train_x, train_y, 1024, device=cfg.device)


def without_batch_norm(net: nn.Module) -> nn.Module:
    """Replace every BatchNorm2d of ``net`` by an identity (in place)."""
    for name, child in net.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(net, name, nn.Identity())
        else:
            without_batch_norm(child)
    return net


def build_variant(batch_norm: bool, p: float, run_seed: int) -> nn.Module:
    """The lesson's model with or without BN and with dropout probability ``p``, seeded."""
    torch.manual_seed(run_seed)
    if model == "small_cnn":
        return cu.build_model("small_cnn", ds.shape, ds.num_classes, batch_norm=batch_norm, dropout=p)
    net = cu.build_model(model, ds.shape, ds.num_classes)
    if not batch_norm:
        without_batch_norm(net)
    if p:
        net.head = nn.Sequential(*net.head[:-1], nn.Dropout(p), net.head[-1])
    return net


for name, (bn_on, p) in VARIANTS.items():
    net = build_variant(bn_on, p, cfg.seed)
    print(f"{name:13s} {cu.count_parameters(net):>9,d} parameters, BN layers: "
          f"{sum(isinstance(m, nn.BatchNorm2d) for m in net.modules())}, dropout layers: {sum(isinstance(m, nn.Dropout) for m in net.modules())}")
print(f"{len(train_y)} training / {len(val_y)} validation / {len(test_y)} test images")

# %%
RUNS: dict[tuple[bool, float, int], dict] = {}


def run_variant(batch_norm: bool, p: float, run_seed: int) -> dict:
    """Train one variant on the shared budget (memoized); returns its history and final accuracies."""
    key = (batch_norm, round(float(p), 4), run_seed)
    if key not in RUNS:
        net = build_variant(batch_norm, p, run_seed).to(cfg.device)
        train = ds.loader(train_x, train_y, batch_size, shuffle=True, seed=run_seed, device=cfg.device)
        start = time.perf_counter()
        history = cu.fit(net, train, val, epochs=epochs, lr=lr, progress=False)
        RUNS[key] = {
            "history": history, "seconds": time.perf_counter() - start,
            "train_acc": cu.evaluate(net, train_eval)["acc"], "test_acc": cu.evaluate(net, test)["acc"],
        }
    return RUNS[key]


rows, summary = [], {}
for name, (bn_on, p) in VARIANTS.items():
    runs = [run_variant(bn_on, p, cfg.seed + i) for i in range(seeds)]
    test_accs = [r["test_acc"] for r in runs]
    summary[name] = {
        "test_acc": float(np.mean(test_accs)),
        "gap": float(np.mean([r["train_acc"] - r["test_acc"] for r in runs])),
        "val_acc_curve": np.mean([r["history"]["val_acc"] for r in runs], axis=0),
    }
    rows.append({
        "variant": name, "BN": "yes" if bn_on else "no", "dropout p": p,
        "train acc": f"{np.mean([r['train_acc'] for r in runs]):.4f}",
        "test acc (mean)": f"{summary[name]['test_acc']:.4f}",
        "test acc per seed": ", ".join(f"{a:.4f}" for a in test_accs),
        "train - test": f"{summary[name]['gap']:+.4f}",
        "s / run": f"{np.mean([r['seconds'] for r in runs]):.1f}",
    })
display(Markdown(f"**{model}, {epochs} epochs, {len(train_y)} training images, {seeds} seed(s)**\n\n"
                 + markdown_table(rows, list(rows[0]))))

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
for name, s in summary.items():
    ax1.plot(range(1, epochs + 1), s["val_acc_curve"], "o-", label=name)
ax1.set(xlabel="epoch", ylabel="validation accuracy", title=f"validation accuracy (mean of {seeds} seed(s))")
ax1.grid(alpha=0.3)
ax1.legend()
names = list(summary)
ax2.bar(names, [summary[n]["test_acc"] for n in names], color=["gray", "tab:orange", "tab:blue", "tab:green"])
low = min(summary[n]["test_acc"] for n in names)
ax2.set_ylim(max(0.0, low - 0.05), 1.0)
ax2.set(ylabel="test accuracy", title="test accuracy after the same budget")
fig.tight_layout()

# %% [markdown]
# ### The claims
# **"Batch norm generally improves results more than dropout."** Measured as the gain in mean test
# accuracy over the variant with neither, BN alone against dropout alone.
#
# **"In practice about 15-20% better."** A percentage needs a definition. We measure it as the
# *relative reduction of the test error* (error = 1 - accuracy) of the BN variant against the variant
# with neither: `(error_none - error_BN) / error_none`. We call that "about 15-20%" when it lies
# within 2.5 points of the range (12.5% to 22.5%). For comparison we also print the other common
# reading, the relative gain in accuracy `acc_BN / acc_none - 1`, which is much smaller whenever the
# baseline accuracy is already high.

# %%
acc = {name: s["test_acc"] for name, s in summary.items()}
gain_bn, gain_dropout = acc["BN"] - acc["none"], acc["dropout"] - acc["none"]
error_reduction = ((1 - acc["none"]) - (1 - acc["BN"])) / (1 - acc["none"])
accuracy_gain = acc["BN"] / acc["none"] - 1
res.claim(
    "Batch norm generally improves results more than dropout",
    f"{model}, {epochs} epochs, mean of {seeds} seed(s): test accuracy none {acc['none']:.4f}, "
    f"BN {acc['BN']:.4f} ({gain_bn:+.4f}), dropout p={dropout} {acc['dropout']:.4f} ({gain_dropout:+.4f})",
    cu.verdict(gain_bn > gain_dropout),
)
if 0.125 <= error_reduction <= 0.225:
    size_verdict = "confirmed"
elif error_reduction > 0:
    size_verdict = "partly confirmed"  # BN helps, but by a clearly different amount
else:
    size_verdict = "refuted"
res.claim(
    "In practice BN is about 15-20% better",
    f"relative test-error reduction BN vs none: {error_reduction:.1%} (errors {1 - acc['none']:.4f} -> {1 - acc['BN']:.4f}); "
    f"relative accuracy gain: {accuracy_gain:.1%}",
    size_verdict,
)
res.claim(
    "Dropout reduces overfitting (a smaller train-test accuracy gap)",
    f"train - test accuracy gap: none {summary['none']['gap']:+.4f}, dropout {summary['dropout']['gap']:+.4f}",
    cu.verdict(summary["dropout"]["gap"] < summary["none"]["gap"]),
)
for name, a in acc.items():
    res.metric(f"test_acc_{name.replace(' + ', '_').replace(' ', '_').lower()}", a)
res.metric("bn_gain", gain_bn)
res.metric("dropout_gain", gain_dropout)
res.metric("bn_error_reduction", error_reduction)
print(f"BN reduces the test error by {error_reduction:.1%} relative to the baseline; "
      f"as a relative accuracy gain that is only {accuracy_gain:.1%}.")

# %% [markdown]
# **Reading the result.** The table and the printed verdicts are this run's evidence; read them with
# the budget in mind:
# - On a short budget BN usually helps most: it makes the optimization itself easier, so the BN
#   variants learn faster per epoch. That is an *optimization* benefit as much as a regularizing one.
# - Dropout regularizes by injecting noise, which slows learning; with few epochs and a model this
#   small there is little overfitting for it to cure, so its test accuracy can be *lower* than the
#   baseline. Compare the train - test gap column to see how much overfitting there was to fight.
#   Dropout's benefit shows with bigger models and longer training (more epochs, the `gpu` profile).
# - "About 15-20% better" is only meaningful once you say *better in what*: the two readings above
#   differ by a large factor. The source's GoogLeNet number (0.5 -> 0.7) is a relative accuracy gain
#   of 40% on a much harder task; it is not tested here.
# - Seeds matter: look at the per-seed column. A difference smaller than the spread between seeds is
#   not a result.

# %% [markdown]
# ## Try it
# Pick a dropout probability and whether to use BN, then press **Run**: the variant is trained on the
# same budget (first seed) and drawn against the baseline without either. Runs are remembered, so
# repeating a setting is instant. The static call below shows one setting for readers of the stored
# notebook.

# %%
def try_variant(dropout_p: float = 0.5, batch_norm: bool = True) -> dict:
    """Train (or recall) one variant and draw its validation accuracy next to the baseline."""
    check_fraction("dropout_p", dropout_p, high_open=True)
    run = run_variant(batch_norm, dropout_p, cfg.seed)
    base = run_variant(False, 0.0, cfg.seed)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(range(1, epochs + 1), base["history"]["val_acc"], "o-", color="gray", label="no BN, no dropout")
    ax.plot(range(1, epochs + 1), run["history"]["val_acc"], "s-", label=f"BN={'on' if batch_norm else 'off'}, p={dropout_p:.2f}")
    ax.set(xlabel="epoch", ylabel="validation accuracy", title=model)
    ax.grid(alpha=0.3)
    ax.legend()
    print(f"test accuracy {run['test_acc']:.4f} (baseline {base['test_acc']:.4f}), "
          f"train - test gap {run['train_acc'] - run['test_acc']:+.4f}")
    return run


try_variant(dropout_p=dropout, batch_norm=True);

# %%
dropout_panel = panel(try_variant, live=False, title="Dropout p and batch norm",
                      dropout_p=slider("dropout p", dropout, 0.0, 0.9, 0.05), batch_norm=checkbox("batch norm", True))
dropout_panel

# %% [markdown]
# ## Exercises
# **1. Inverted dropout by hand.** Write `my_dropout(x, p, training, generator)`: in training, keep each
# value with probability `1 - p` (draw `torch.rand(x.shape, generator=generator)` and keep where it is
# `>= p`) and scale the kept values by `1/(1-p)`; outside training return `x` unchanged.

# %%
def my_dropout(x: torch.Tensor, p: float, training: bool, generator: torch.Generator) -> torch.Tensor | None:
    return None  # your code


def check_dropout(fn) -> bool:
    x = torch.rand(200_000) + 1.0
    out = fn(x, 0.3, True, torch.Generator().manual_seed(1))
    if out is None:
        return check_true("exercise 1: dropout", False, "no answer yet (the function returned None)")
    mask = torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) >= 0.3
    ok = check_close("exercise 1: training-mode output", out, torch.where(mask, x / 0.7, torch.zeros_like(x)), rtol=1e-6,
                     hint="keep where rand >= p, divide the kept values by (1 - p)")
    same = fn(x, 0.3, False, torch.Generator().manual_seed(1))
    return check_true("exercise 1: eval mode returns the input", same is not None and torch.equal(same, x),
                      "with training=False the output must equal x") and ok


check_dropout(my_dropout);

# %% tags=["solution"] jupyter={"source_hidden": true}
def my_dropout(x: torch.Tensor, p: float, training: bool, generator: torch.Generator) -> torch.Tensor:
    if not training:
        return x
    keep = torch.rand(x.shape, generator=generator) >= p
    return torch.where(keep, x / (1 - p), torch.zeros_like(x))


check_dropout(my_dropout);

# %% [markdown]
# **2. Batch norm by hand.** For a batch `z` of shape `(N, C, H, W)`, write `my_batch_norm(z, weight, bias,
# eps)` returning the training-mode output of `nn.BatchNorm2d`: per channel, subtract the mean and
# divide by `sqrt(var + eps)` (mean and *biased* variance over N, H and W), then scale by `weight` and
# shift by `bias`. The check compares with PyTorch.

# %%
def my_batch_norm(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor | None:
    return None  # your code


def check_batch_norm(fn) -> bool:
    gen = torch.Generator().manual_seed(2)
    z = torch.randn(16, 3, 5, 5, generator=gen) * 3 + 1
    ref = nn.BatchNorm2d(3)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor([0.5, 1.0, 2.0]))
        ref.bias.copy_(torch.tensor([0.0, -1.0, 0.3]))
        expected = ref.train()(z)
        answer = fn(z, ref.weight, ref.bias, ref.eps)
    return check_close("exercise 2: batch norm (train mode)", answer, expected, rtol=1e-4, atol=1e-5,
                       hint="mean and var over dims (0, 2, 3) with unbiased=False, shaped (1, C, 1, 1)")


check_batch_norm(my_batch_norm);

# %% tags=["solution"] jupyter={"source_hidden": true}
def my_batch_norm(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    mean = z.mean(dim=(0, 2, 3), keepdim=True)
    var = z.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    return (z - mean) / torch.sqrt(var + eps) * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)


check_batch_norm(my_batch_norm);

# %% [markdown]
# ## Summary
# - Dropout zeroes a fraction `p` of hidden units in `train()` mode and rescales the rest by `1/(1-p)`;
#   `eval()` turns it off. It goes between hidden layers, never on the output layer.
# - Batch norm (Conv -> BN -> ReLU) normalizes with batch statistics while training and with running
#   statistics (updated with momentum 0.1) in eval mode; forgetting `model.eval()` makes predictions
#   depend on the batch.
# - The claims were measured on one budget: see the verdicts above and the caveats about budget,
#   model size and seeds. "X% better" needs a definition before it can be tested.

# %%
res.metric("epochs", epochs)
res.metric("train_images", len(train_y))
res.metric("seconds_per_run", float(np.mean([r["seconds"] for r in RUNS.values()])))
res.save();
