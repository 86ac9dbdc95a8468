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
# - to write the forward pass of **dropout** (zero a fraction $p$, scale the rest by $1/(1-p)$,
#   nothing in `eval()`) and of **batch norm** (batch statistics in training, running statistics
#   in evaluation) yourself, and check both against `nn.Dropout` and `nn.BatchNorm2d`;
# - why dropout goes between hidden layers and what it does on the output layer (tested);
# - to test each technique in **three regimes**: a model that overfits clean labels (a few
#   hundred training images, trained long), the same model memorizing **noisy labels** (a fraction
#   of its training labels made random), and a short budget (more images, few epochs): the regimes
#   a regularizer is made for, and one where it has nothing to cure;
# - to use dropout at test time as an **uncertainty** estimate (MC dropout);
# - to test the source notes' claims with paired seeds: "batch norm generally improves results
#   more than dropout", and BN's real selling point, reaching a given accuracy in fewer epochs
#   (counted in epochs to a target);
# - BN's batch noise as a regularizer, and frozen BN for fine-tuning;
# - going further: LayerNorm / GroupNorm and batch norm with tiny batches, the dropout-BN variance
#   shift, L1 and max-norm.
#
# **Prerequisites**: notebook 02 (training vs validation curves) and 03 (regularization).
#
# **Run time** measured on a 2-core AMD EPYC (AVX-512 with bfloat16, no AMX), quiet: `smoke` ≈ 16 s,
# `cpu` ≈ 2.3 min; with AVX2 only (simulated: `ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
# MKL_ENABLE_INSTRUCTIONS=AVX2`): `cpu` ≈ 2.6 min (157 s). `gpu` (an estimate: 45 ResNet-18 runs, 30 of
# them 100 epochs long) ≈ 30 min.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # first of the paired seeds
seeds: int | None = None  # paired replicates per compared setting; None = profile default
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
model_name: str | None = None  # small_cnn | resnet18; None = profile default
dropout: float = 0.5  # dropout probability p (the notes' value), in [0, 1)
overfit_size: int | None = None  # training images, overfitting regimes; None = profile default
overfit_epochs: int | None = None  # epochs, overfitting regimes; None = profile default
overfit_batch: int = 32  # batch size, overfitting regimes
label_noise: float = 0.4  # noisy-labels regime: fraction of its training labels made random
train_size: int | None = None  # training images, short-budget regime; None = profile default
epochs: int | None = None  # epochs, short-budget regime; None = profile default
batch_size: int = 128  # batch size, short-budget regime
val_size: int | None = None  # validation images per seed and regime; None = profile default
lr: float = 2e-3  # Adam learning rate
small_batch: int = 4  # batch size of the "BN with tiny batches" experiment (going further)

# %%
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator
from torch import nn

import course_utils as cu
from course_utils.data import normalize
from course_utils.exercises import check_close

# %%
cfg = cu.setup(
    globals(),
    seeds=cu.integer(1, 20, smoke=1, cpu=5, gpu=5),
    model_name=cu.choice(
        "small_cnn", "resnet18", smoke="small_cnn", cpu="small_cnn", gpu="resnet18"
    ),
    dropout=cu.number(0, 1, high_open=True),
    overfit_size=cu.integer(50, 60000, smoke=200, cpu=400, gpu=1000),
    overfit_epochs=cu.integer(1, 500, smoke=3, cpu=35, gpu=100),
    overfit_batch=cu.integer(8, 4096),
    label_noise=cu.number(0, 1, low_open=True, high_open=True),
    train_size=cu.integer(100, 60000, smoke=600, cpu=4000, gpu=50000),
    epochs=cu.integer(1, 200, smoke=1, cpu=2, gpu=2),
    batch_size=cu.integer(8, 4096),
    val_size=cu.integer(50, 10000, smoke=200, cpu=500, gpu=5000),
    lr=cu.number(0, 1, low_open=True),
    small_batch=cu.integer(2, 64),
)
res = cu.Results("04_dropout_and_batchnorm", results_path, cfg.profile)
ds = cu.load_dataset(cfg.dataset, cfg.data_dir)

# %% [markdown]
# ## 1. Dropout, written out
# During training, dropout draws a keep mask $m_i \sim \mathrm{Bernoulli}(1-p)$ for every value
# and rescales the survivors ("inverted dropout"):
# $$y_i = \frac{m_i\,x_i}{1-p}, \qquad \mathbb{E}[y_i] = x_i .$$
# In `eval()` mode it is the identity, $y = x$: the whole network is used, and thanks to the
# $1/(1-p)$ scaling no correction is needed at test time. Each training step sees a different random
# sub-network, which is why dropout is described as training many architectures at once and
# discouraging units from relying on (co-adapting with) particular partners.
#
# Inverted dropout is the implementation convention (torch's `nn.Dropout`, Keras, and this
# notebook), not the original formulation: Srivastava et al. (2014) kept the survivors unscaled
# during training and instead multiplied the outgoing weights by the keep probability $1-p$ at
# test time. Both give each unit the same expected input in training and at test time; the
# inverted form puts the work into training, so the test-time network is the plain one.


# %%
def dropout_forward(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout: zero each value with probability p, scale the survivors by 1/(1-p)."""
    if not training or p == 0:
        return x
    keep = torch.empty_like(x).bernoulli_(1 - p)  # 1 with probability 1-p
    return x * keep / (1 - p)


# %% [markdown]
# Torch draws its mask the same way, so from the same seed our function and `nn.Dropout` zero the
# same values:

# %%
# NBVAL_CHECK_OUTPUT
x = torch.arange(1.0, 13.0).reshape(2, 6)
torch.manual_seed(0)
ours = dropout_forward(x, 0.5, training=True)
torch.manual_seed(0)
theirs = nn.Dropout(p=0.5).train()(x)
print("input\n", x, "\ntrain mode, p=0.5\n", ours)
print("same zeros as nn.Dropout:", torch.equal(ours == 0, theirs == 0))
print("largest difference to nn.Dropout < 1e-6:", (ours - theirs).abs().max().item() < 1e-6)
print(
    "eval mode returns the input:",
    torch.equal(dropout_forward(x, 0.5, False), x),
    torch.equal(nn.Dropout(p=0.5).eval()(x), x),
)

# %% [markdown]
# On a large tensor the fraction of zeros is close to $p$ and the mean stays 1:

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
ones = torch.ones(1_000_000)
rows = []
for p in (0.1, 0.3, 0.5, 0.8):
    out = dropout_forward(ones, p, training=True)
    zeroed, mean = (out == 0).float().mean().item(), out.mean().item()
    rows.append(
        {
            "p": p,
            "zeroed": f"{zeroed:.3f}",
            "survivors": f"{out.max().item():.4f}",
            "mean": f"{mean:.3f}",
        }
    )
cu.table(rows)
# %% [markdown]
# ### Dropout on the output layer
# The syllabus says dropout belongs between hidden layers, never on the output layer. On the output
# layer it would act on the **logits**: with $p = 0.5$ it sets some of them to 0 and *doubles* the
# others. The softmax is still taken over all classes (a zeroed class is not removed, it gets the
# score 0), so the network is trained against scrambled class scores:

# %%
# NBVAL_CHECK_OUTPUT
logits = torch.tensor([[3.0, 1.0, -2.0, 0.5]])
torch.manual_seed(5)
dropped = dropout_forward(logits, 0.5, training=True)
print("logits               :", logits.tolist()[0])
print("after dropout p=0.5  :", dropped.tolist()[0])
print("softmax before       :", [round(v, 3) for v in logits.softmax(1).tolist()[0]])
print("softmax after        :", [round(v, 3) for v in dropped.softmax(1).tolist()[0]])
print("predicted class before / after:", logits.argmax().item(), "/", dropped.argmax().item())

# %% [markdown]
# Section 3 measures what that costs. The course models put dropout after hidden ReLUs only:

# %%
# NBVAL_CHECK_OUTPUT
cnn = cu.build_model("small_cnn", ds.shape, ds.num_classes, batch_norm=True, dropout=0.5)
print(cnn.classifier)

# %% [markdown]
# ## 2. Batch normalization, written out
# Batch norm (Ioffe & Szegedy 2015) normalizes every channel $c$ over the $m$ values of the batch
# and the spatial positions, then applies a learned scale $\gamma_c$ (`weight`) and shift
# $\beta_c$ (`bias`):
# $$\mu_B = \frac1m\sum_i z_i,\quad \sigma_B^2 = \frac1m\sum_i (z_i-\mu_B)^2,\quad
# y_i = \gamma\,\frac{z_i-\mu_B}{\sqrt{\sigma_B^2+\epsilon}} + \beta .$$
# In training mode it also updates running estimates, which `eval()` mode uses instead of the
# batch's statistics:
# $$\hat\mu \leftarrow (1-\alpha)\,\hat\mu + \alpha\,\mu_B,\qquad
# \hat\sigma^2 \leftarrow (1-\alpha)\,\hat\sigma^2 + \alpha\,\tfrac{m}{m-1}\sigma_B^2 .$$
# Torch's `momentum` is $\alpha = 0.1$ and weights the **new** batch statistic; Keras's
# `momentum=0.99` weights the **old** running value (it is torch's 0.01). It usually sits right
# after a convolution and before the activation, **Conv -> BN -> ReLU** ("CBR"); the convolution
# then needs no bias (BN's $\beta$ replaces it).


# %%
def batch_norm_forward(z, stats, weight, bias, training, momentum=0.1, eps=1e-5):
    """BatchNorm2d on z (N, C, H, W); stats = {"mean", "var"} running estimates, updated in training."""
    if training:
        mean = z.mean(dim=(0, 2, 3))
        var = z.var(dim=(0, 2, 3), unbiased=False)
        m = z.numel() / z.shape[1]  # values per channel
        stats["mean"] = (1 - momentum) * stats["mean"] + momentum * mean
        stats["var"] = (1 - momentum) * stats["var"] + momentum * var * m / (m - 1)
    else:
        mean, var = stats["mean"], stats["var"]
    shape = (1, -1, 1, 1)
    z_hat = (z - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    return weight.view(shape) * z_hat + bias.view(shape)


# %% [markdown]
# Check against `nn.BatchNorm2d` on real images: three training steps (outputs and running
# statistics), then one evaluation step.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
conv, bn = nn.Conv2d(ds.shape[0], 4, 5, bias=False), nn.BatchNorm2d(4)
nn.init.uniform_(bn.weight, 0.5, 1.5)
nn.init.uniform_(bn.bias, -0.5, 0.5)
images = normalize(ds.train_x[:4096], ds.mean, ds.std)
stats = {"mean": torch.zeros(4), "var": torch.ones(4)}
worst = 0.0
with torch.no_grad():
    for start in (0, 256, 512):
        z = conv(images[start : start + 256])
        out = batch_norm_forward(z, stats, bn.weight, bn.bias, training=True)
        worst = max(worst, (out - bn.train()(z)).abs().max().item())
    worst_stats = max(
        (stats["mean"] - bn.running_mean).abs().max().item(),
        (stats["var"] - bn.running_var).abs().max().item(),
    )
    z = conv(images[1024:1280])
    worst_eval = (
        (batch_norm_forward(z, stats, bn.weight, bn.bias, False) - bn.eval()(z)).abs().max()
    )
print("train-mode outputs agree to 1e-5:", worst < 1e-5)
print("running mean and variance agree to 1e-6:", worst_stats < 1e-6)
print("eval-mode outputs agree to 1e-5:", worst_eval.item() < 1e-5)

# %% [markdown]
# The practical difference between the two modes: in training mode the output for an image depends
# on the other images in its batch; in eval mode it does not. (Forgetting `net.eval()` before
# evaluating makes predictions depend on the batch.)


# %%
# NBVAL_CHECK_OUTPUT
def first_image_output(batch_of: int, training: bool) -> torch.Tensor:
    with torch.no_grad():
        z = conv(images[:batch_of])
        return batch_norm_forward(z, copy.deepcopy(stats), bn.weight, bn.bias, training)[0]


for training in (True, False):
    change = (first_image_output(256, training) - first_image_output(8, training)).abs().max()
    mode = "train" if training else "eval "
    print(f"{mode} mode: image 0 in a batch of 256 vs of 8 -> largest output change {change:.4f}")

# %% [markdown]
# **Why does BN help?** Ioffe & Szegedy motivated it by *internal covariate shift* (the input
# distribution of each layer changing as earlier layers learn). Santurkar et al. (NeurIPS 2018)
# showed that BN still helps when that shift is deliberately re-injected, and argued that it makes
# the loss landscape smoother (better-behaved gradients, larger usable learning rates). That
# explanation is an argument with evidence, not a settled question; that BN speeds up training is
# what the experiment below measures.
#
# **BN's batch noise is a regularizer.** In training mode an image is normalized with the mean
# and variance of the batch it happens to be in, so the same image gets a slightly different
# output every time it is seen (the cell above measured how much it moves between a batch of 256
# and one of 8). Like dropout's masks, this noise makes memorizing single examples harder; Ioffe &
# Szegedy (2015) found that with BN they could remove dropout or reduce its strength. The noise
# shrinks as batches grow and is gone in eval mode.
#
# **Frozen BN when fine-tuning.** When a pretrained network is fine-tuned on a small dataset or
# with small batches, its BN layers are usually *frozen*: kept in eval mode, so they normalize
# with the running statistics of pretraining instead of the noisy statistics of small batches
# from a different distribution (often with $\gamma$ and $\beta$ fixed too; torchvision calls
# such a layer `FrozenBatchNorm2d`). `net.train()` switches every BN layer back to batch
# statistics, so freezing has to be redone after each call:


# %%
# NBVAL_CHECK_OUTPUT
def freeze_batch_norm(net: nn.Module) -> nn.Module:
    """Put every BN layer of ``net`` in eval mode and stop training its scale and shift."""
    for module in net.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
            module.weight.requires_grad_(False)
            module.bias.requires_grad_(False)
    return net


frozen = freeze_batch_norm(copy.deepcopy(bn).train())  # train() first, as in a training loop
before = frozen.running_mean.clone()
with torch.no_grad():
    out_256, out_8 = frozen(conv(images[:256]))[0], frozen(conv(images[:8]))[0]
print(
    "frozen BN: running mean unchanged by a forward pass:", torch.equal(before, frozen.running_mean)
)
print(
    "frozen BN: image 0's output independent of its batch:",
    torch.allclose(out_256, out_8, atol=1e-5),
)

# %% [markdown]
# ### The notes' two architectures
# The experiments use the notes' **small CNN**: two blocks Conv(5×5) -> [BN] -> ReLU -> MaxPool 2 (3
# -> 6 and 6 -> 16 channels for colour images), then FC -> 120 -> ReLU -> Dropout -> 64 -> ReLU ->
# classes. The notes write the first FC layer as 512 -> 120 for 32×32 inputs, but two 5×5
# convolutions and two 2×2 pools leave 16×5×5 = 400 features there (16×4×4 = 256 for 28×28 images),
# so the course sizes that layer from the input.
#
# For the `gpu` profile the notes use a **ResNet-18 for CIFAR**: the ImageNet ResNet-18 of He,
# Zhang, Ren & Sun (2016), adapted to 32×32 images by replacing its 7×7 stride-2 stem and max-pool
# with one 3×3 convolution. (He et al.'s own CIFAR-10 ResNets are different, smaller networks: three
# stages of 16, 32 and 64 channels, $6n+2$ layers, e.g. ResNet-20 and ResNet-56.) It has a 3×3 stem
# with 64 channels, then four stages of *residual blocks* at 64, 128, 256 and 512 channels, with
# stride 2 from stage 2 on. Each block is two 3×3 Conv-BN layers whose output is added to a
# *shortcut* (the block's input, or a 1×1 Conv + BN of it when the shape changes), then ReLU. Global
# average pooling and one linear layer end it. ResNet-18 has [2, 2, 2, 2] blocks per stage,
# ResNet-34 has [3, 4, 6, 3]. The cell below builds both for a 32×32 colour image and follows one
# image through ResNet-18:

# %%
# NBVAL_CHECK_OUTPUT
small = cu.build_model("small_cnn", (3, 32, 32), 10)
print(
    "small CNN, 32x32x3 input: features into the first FC layer =", small.classifier[1].in_features
)
for name in ("resnet18", "resnet34"):
    net = cu.build_model(name, (3, 32, 32), 10)
    blocks = [sum(b.conv2.out_channels == w for b in net.stages) for w in (64, 128, 256, 512)]
    print(f"{name}: blocks per stage {blocks}, {cu.count_parameters(net) / 1e6:.2f} M parameters")
net = cu.build_model("resnet18", (3, 32, 32), 10).eval()
with torch.no_grad():
    x = net.stem(torch.zeros(1, 3, 32, 32))
    print("stem                       ->", tuple(x.shape))
    for i, block in enumerate(net.stages):
        x = block(x)
        kind = "1x1 conv" if isinstance(block.shortcut, nn.Sequential) else "identity"
        print(f"block {i} ({kind:8} shortcut) ->", tuple(x.shape))
    print("average pool + linear      ->", tuple(net.head(x).shape))
print(net.stages[2])  # stage 2's first block: stride 2 and a 1x1 Conv-BN shortcut

# %% [markdown]
# ## 3. The experiments: the regimes each technique is made for, and another
# A regularizer fights overfitting, so it can only help where there is overfitting to fight.
# Every variant is therefore trained in three **regimes** (the factor of the claims below):
# - **overfitting, clean labels**: `overfit_size` training images (a stratified draw), trained
#   for `overfit_epochs` epochs with batches of `overfit_batch`: long enough that the plain net's
#   training accuracy approaches 100% while its validation loss turns up (the table and plot
#   below show whether it did). A network with tens of thousands of weights can memorize a few
#   hundred images outright. This is the regime dropout was made for (Srivastava et al., 2014: "a
#   way to prevent neural networks from overfitting").
# - **overfitting, noisy labels**: the same images, initial weights and batches, but a fraction
#   `label_noise` of the *training* labels is replaced by a class drawn at random (the true class
#   one time in ten, so about 90% of those labels end up wrong). Zhang et al. (2017) showed that
#   networks memorize even completely random labels, and that the more labels are corrupted, the
#   higher the test error of a network that fits them; Arpit et al. (2017) found that networks
#   learn the patterns shared by clean examples first and memorize noisy ones later, and that
#   dropout can hinder that memorization without hurting what is learned from the clean
#   examples. Here a regularizer should pay off in accuracy, not only in loss.
# - **short budget**: `train_size` images seen for only `epochs` epoch(s): the model is still
#   underfitting (it has seen each image only a few times), so there is no overfitting to cure,
#   and whatever slows learning down costs accuracy. Srivastava et al. report that a dropout
#   network typically takes 2-3 times longer to train than the same network without it.
#
# Same optimizer (Adam) and **paired seeds** in every regime: for seed $s$ every variant trains on
# the same stratified draw (training images plus `val_size` validation images, drawn with seed
# $s$), starts from the same initial weights (`torch.manual_seed(s)` right before building it) and
# sees the same batches. *Held-out* accuracy is measured on the **test set**, used only for
# reporting; the validation split gives the learning curves and the epochs-to-target count.
# Variants:
# - `plain`: the small CNN without BN and without dropout;
# - `dropout`: dropout $p$ between the hidden fully-connected layers;
# - `BN`: Conv -> BN -> ReLU blocks, no dropout;
# - `dropout on logits` (short-budget regime only, to fit the budget): the plain net with dropout
#   $p$ on its output layer.
#
# Under the `gpu` profile the model is ResNet-18 (its "no BN" variants replace every BN layer by
# the identity; its hidden dropout sits on the pooled features, before the final linear layer).
# The validation and test labels stay clean in every regime (a small, carefully labelled
# validation set, as is common in practice).


# %%
def split_for(s: int, n: int, name: str):
    """Seed ``s``'s stratified draw of ``n`` training + ``val_size`` validation images."""
    x, y = cu.stratified_subset(ds.train_x, ds.train_y, n + val_size, seed=s, name=name)
    return cu.train_val_split(x, y, val_size / (n + val_size), seed=s)


CLEAN, NOISY, SHORT = "overfitting, clean labels", "overfitting, noisy labels", "short budget"
REGIMES = {
    CLEAN: {"n": overfit_size, "epochs": overfit_epochs, "batch": overfit_batch, "noise": 0.0},
    NOISY: {
        "n": overfit_size,
        "epochs": overfit_epochs,
        "batch": overfit_batch,
        "noise": label_noise,
    },
    SHORT: {"n": train_size, "epochs": epochs, "batch": batch_size, "noise": 0.0},
}
seed_list = cfg.seed_list(seeds)
SPLITS = {
    (regime, s): split_for(s, spec["n"], "train_size" if regime == SHORT else "overfit_size")
    for regime, spec in REGIMES.items()
    for s in seed_list
}


def slug(regime: str) -> str:
    """A regime's name as it appears in metric names: ``overfitting_clean_labels``."""
    return regime.replace(",", "").replace(" ", "_")


test_x, test_y = ds.test_x, ds.test_y
if cfg.is_smoke:
    test_x, test_y = cu.stratified_subset(test_x, test_y, 2000, seed=cfg.seed)
test = ds.loader(test_x, test_y, 1024, device=cfg.device)
for regime, spec in REGIMES.items():
    train_y, n_val = SPLITS[regime, cfg.seed][1], len(SPLITS[regime, cfg.seed][3])
    wrong = (
        (cu.noisy_labels(train_y, spec["noise"], ds.num_classes, cfg.seed) != train_y)
        .float()
        .mean()
    )
    print(
        f"{regime}: {spec['n']} training / {n_val} validation images per seed, "
        f"{spec['epochs']} epoch(s), batches of {spec['batch']}; {wrong:.0%} of the training "
        "labels wrong"
    )
print(f"test set (reporting only): {len(test_y)} images")


def replace_layers(net: nn.Module, kind: type, make) -> nn.Module:
    """Replace every submodule of type ``kind`` by ``make(module)`` (in place)."""
    for name, child in net.named_children():
        if isinstance(child, kind):
            setattr(net, name, make(child))
        else:
            replace_layers(child, kind, make)
    return net


# %%
def build_net(norm: str, p: float, where: str = "hidden") -> nn.Module:
    """The lesson's model: norm "bn", "none" or "gn" (GroupNorm); dropout p on "hidden" or "logits"."""
    hidden_p = p if where == "hidden" else 0.0
    if model_name == "small_cnn":
        net = cu.build_model(
            "small_cnn", ds.shape, ds.num_classes, batch_norm=norm != "none", dropout=hidden_p
        )
    else:
        net = cu.build_model(model_name, ds.shape, ds.num_classes)
        if hidden_p:
            net.head = nn.Sequential(*net.head[:-1], nn.Dropout(hidden_p), net.head[-1])
    if norm == "none":
        replace_layers(net, nn.BatchNorm2d, lambda m: nn.Identity())
    if norm == "gn":
        replace_layers(net, nn.BatchNorm2d, lambda m: nn.GroupNorm(2, m.num_features))
    return nn.Sequential(net, nn.Dropout(p)) if where == "logits" else net


# %%
VARIANTS = {
    "plain": ("none", 0.0, "hidden"),
    "dropout": ("none", dropout, "hidden"),
    "BN": ("bn", 0.0, "hidden"),
}
LOGITS = ("none", dropout, "logits")
RUNS: dict[tuple, dict] = {}


def run_variant(regime: str, norm: str, p: float, where: str, run_seed: int) -> dict:
    """Train one variant in ``regime`` from seed ``run_seed`` (memoized): history, test results."""
    key = (regime, norm, round(float(p), 4), where, run_seed)
    if key not in RUNS:
        spec = REGIMES[regime]
        torch.manual_seed(run_seed)  # same initial weights for every variant of this seed
        net = build_net(norm, p, where).to(cfg.device)
        train_x, train_y, val_x, val_y = SPLITS[regime, run_seed]
        train_y = cu.noisy_labels(train_y, spec["noise"], ds.num_classes, run_seed)
        train = ds.loader(
            train_x, train_y, spec["batch"], shuffle=True, seed=run_seed, device=cfg.device
        )
        val = ds.loader(val_x, val_y, 1024, device=cfg.device)
        start = time.perf_counter()
        history = cu.fit(net, train, val, epochs=spec["epochs"], lr=lr, progress=False)
        seconds = time.perf_counter() - start
        scored = cu.evaluate(net, test)
        RUNS[key] = {
            "history": history,
            "test_acc": scored["acc"],
            "test_loss": scored["loss"],
            "s": seconds,
            "net": net,
        }
    return RUNS[key]


# %%
runs = {
    (regime, name): [run_variant(regime, *spec, s) for s in seed_list]
    for regime in REGIMES
    for name, spec in VARIANTS.items()
}
runs[SHORT, "dropout on logits"] = [run_variant(SHORT, *LOGITS, s) for s in seed_list]


def arm(regime: str, name: str, key: str = "test_acc") -> np.ndarray:
    """Per-seed values of ``key`` (a test result, or a history column's last value)."""
    rs = runs[regime, name]
    return np.array([r[key] if key in r else r["history"][key][-1] for r in rs])


def curves(regime: str, name: str, key: str) -> np.ndarray:
    """Per-seed learning curves (seeds x epochs) of a history column."""
    return np.array([r["history"][key] for r in runs[regime, name]])


cu.table(
    [
        {
            "regime": regime,
            "variant": name,
            "test acc": arm(regime, name).mean(),
            "per seed": " ".join(f"{a:.3f}" for a in arm(regime, name)),
            "train acc": arm(regime, name, "train_acc").mean(),
            "val loss: min -> last": f"{curves(regime, name, 'val_loss').min(1).mean():.3f}"
            f" -> {arm(regime, name, 'val_loss').mean():.3f}",
            "test loss": arm(regime, name, "test_loss").mean(),
            "s / run": np.mean([r["s"] for r in runs[regime, name]]),
        }
        for regime, name in runs
    ],
    floatfmt=".4f",
)
print("train acc: last epoch, measured while training (dropout on) on the labels trained on")
print("(noisy ones included); means over seeds")


# %%
def plot_overfitting(regime: str) -> None:
    """Mean learning curves of an overfitting regime: accuracies (left), validation loss (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    xs = range(1, overfit_epochs + 1)
    for name in VARIANTS:
        (line,) = axes[0].plot(xs, curves(regime, name, "val_acc").mean(0), label=name)
        color = line.get_color()
        axes[0].plot(xs, curves(regime, name, "train_acc").mean(0), "--", color=color)
        axes[1].plot(xs, curves(regime, name, "val_loss").mean(0), color=color, label=name)
    axes[0].set(
        xlabel="epoch", ylabel="accuracy", title="training (dashed) and validation accuracy"
    )
    axes[1].set(xlabel="epoch", ylabel="validation loss (nats)", title="validation loss")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{regime}, {model_name}: mean of {seeds} paired seed(s)")
    plt.show()


plot_overfitting(CLEAN)
plot_overfitting(NOISY)


# %% [markdown]
# ### Claims about dropout
# Metric: test accuracy, dropout minus plain, per seed, in accuracy points (`cu.paired`: positive
# supports the claim); smallest effect worth having: the course's half point
# (`cu.MIN_EFFECTS["accuracy points"]`). The first claim is the one a learner might take away
# from a single experiment, "dropout improves accuracy", stated for every regime; it is decided
# with the factor `regime` named, and comes out *depends* when the effect is significant with
# opposite signs in different regimes. The next two ask about the regimes dropout is made for,
# one at a time: memorizing noisy labels, and overfitting clean ones. The last measures what
# dropout does to the held-out **loss** with clean labels (the mean cross-entropy, in nats;
# smallest effect `cu.MIN_EFFECTS["nats"]`): an overfitting network grows over-confident on the
# images it gets wrong, which shows in the loss before (or instead of) the accuracy.


# %%
def diffs(
    regime: str, treatment: str, baseline: str, key: str = "test_acc", better: str = "higher"
):
    """Paired per-seed differences of ``key`` in ``regime`` (accuracy in points)."""
    scale = 100.0 if key.endswith("acc") else 1.0
    return cu.paired(
        arm(regime, treatment, key),
        arm(regime, baseline, key),
        better=better,
        names=(f"{treatment}, {regime}", f"{baseline}, {regime}"),
        scale=scale,
    )


def by_regime(treatment: str, baseline: str) -> dict:
    """The test-accuracy differences at every level of the factor ``regime``."""
    return {regime: diffs(regime, treatment, baseline) for regime in REGIMES}


# %%
_ = res.across(
    "Dropout improves test accuracy, whatever the regime",
    by_regime("dropout", "plain"),
    factor="regime",
    target="every",
    unit="accuracy points",
    detail=f"p={dropout}, dropout minus plain",
)
dropout_helps = {
    NOISY: res.compare(
        "Dropout improves held-out accuracy when the model memorizes noisy labels",
        diffs(NOISY, "dropout", "plain"),
        unit="accuracy points",
        detail=f"{overfit_size} training images, label_noise {label_noise:g}, {overfit_epochs} "
        "epochs, held-out = test set",
    ),
    CLEAN: res.compare(
        "Dropout improves held-out accuracy when the model overfits clean labels",
        diffs(CLEAN, "dropout", "plain"),
        unit="accuracy points",
        detail=f"{overfit_size} training images, {overfit_epochs} epochs, held-out = test set",
    ),
}
dropout_loss = res.compare(
    "Dropout lowers the held-out loss when the model overfits clean labels",
    diffs(CLEAN, "dropout", "plain", "test_loss", better="lower"),
    unit="nats",
    detail="test cross-entropy, plain minus dropout",
)

# %% [markdown]
# ### MC dropout: dropout at test time as an uncertainty estimate
# Gal & Ghahramani (2016) showed that a network trained with dropout can be read as an
# approximate Bayesian model: keeping dropout **on** at test time and averaging the softmax of
# $T$ forward passes, $\bar p(y\mid x) = \frac1T\sum_{t=1}^{T} \mathrm{softmax}(f_{m_t}(x))$ with a
# fresh mask $m_t$ each time, approximates its predictive distribution, and the spread of the $T$
# predictions measures how unsure the model is. A common summary is the **predictive entropy**
# $H = -\sum_c \bar p_c \log \bar p_c$ (in nats; $\log 10 \approx 2.30$ for a uniform guess over
# ten classes). It costs $T$ forward passes per image, and nothing at training time. If it is a
# useful uncertainty, it should be higher on the images the model gets wrong. We test that with
# the dropout nets of the clean-labels regime, on `mc_images` test images (500 under the `cpu`
# profile), with $T$ = `mc_passes` (20 under `cpu`): per seed, the mean entropy on the
# misclassified images minus that on the correctly classified ones, in nats (positive supports
# the claim); smallest effect worth having: `cu.MIN_EFFECTS["nats"]`.


# %%
def mc_dropout_probs(net: nn.Module, x: torch.Tensor, passes: int) -> torch.Tensor:
    """Mean softmax of ``passes`` forward passes with dropout on (every other layer in eval)."""
    net.eval()
    for module in net.modules():
        if isinstance(module, nn.Dropout):
            module.train()  # a fresh mask on every pass
    with torch.no_grad():
        probs = torch.stack([net(x).softmax(1) for _ in range(passes)]).mean(0)
    net.eval()
    return probs.cpu()


def predictive_entropy(probs: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of each row of class probabilities."""
    return -(probs * probs.clamp_min(1e-12).log()).sum(1)


mc_images, mc_passes = cfg.pick(smoke=200, cpu=500, gpu=2000), cfg.pick(smoke=5, cpu=20, gpu=30)
mc_x, mc_y = cu.stratified_subset(test_x, test_y, mc_images, seed=cfg.seed, name="mc_images")
mc_inputs = normalize(mc_x, ds.mean, ds.std).to(cfg.device)
mc_rows = []
for s, run in zip(seed_list, runs[CLEAN, "dropout"]):
    torch.manual_seed(s)
    probs = mc_dropout_probs(run["net"], mc_inputs, mc_passes)
    wrong = probs.argmax(1) != mc_y
    h = predictive_entropy(probs)
    with torch.no_grad():
        single = run["net"].eval()(mc_inputs).argmax(1).cpu()
    mc_rows.append(
        {
            "seed": s,
            "accuracy, dropout off": (single == mc_y).float().mean().item(),
            f"accuracy, mean of {mc_passes} passes": 1 - wrong.float().mean().item(),
            "entropy, correct": h[~wrong].mean().item(),
            "entropy, misclassified": h[wrong].mean().item(),
        }
    )
cu.table(mc_rows, floatfmt=".3f")
mc_verdict = res.compare(
    "MC dropout's predictive entropy is higher on the test images the model misclassifies",
    cu.paired(
        [r["entropy, misclassified"] for r in mc_rows],
        [r["entropy, correct"] for r in mc_rows],
        names=("misclassified images", "correctly classified images"),
    ),
    unit="nats",
    detail=f"dropout nets of the {CLEAN} regime; {mc_passes} passes on {mc_images} test images",
)
print(
    f"entropy in nats; a uniform guess over {ds.num_classes} classes: {np.log(ds.num_classes):.2f}"
)

# %% [markdown]
# Where the verdict is confirmed, the entropy ranks the images by how likely the prediction is
# wrong, which is what one needs to flag predictions for a human to check. Higher entropy on
# errors is a low bar (a single pass's softmax often ranks errors too); what MC dropout adds is
# an estimate that also reflects uncertainty in the weights, and its calibration is a separate
# question (notebook 07 measures calibration).

# %% [markdown]
# ### Claims about batch norm
# The same two accuracy claims for BN. Then BN's real selling point. The notes quote BN raising
# GoogLeNet "from 0.5 to 0.7" and "in practice about 15-20% better". Neither number can be
# reproduced here (it was ImageNet, and "15-20% better" names no metric). Ioffe & Szegedy's headline
# result is speed: their BN-Inception with a 5 times larger learning rate reached the baseline's
# accuracy in 14 times fewer training steps. So we test speed, on **epochs to target**: per seed,
# the target is 95% of the best validation accuracy the plain net reached in the clean-labels
# overfitting regime's `overfit_epochs` epochs (that regime, because its long budget gives the count
# a resolution of one epoch in many); each net's count is the first epoch whose validation accuracy
# reaches it, and a net that never reaches it counts as `overfit_epochs` + 1. Metric: plain's count
# minus BN's, in epochs (positive supports the claim); smallest effect worth having: **one epoch**,
# the resolution of the count (`cu.MIN_EFFECTS` has no entry in epochs).

# %%
_ = res.across(
    "Batch norm improves test accuracy, whatever the regime",
    by_regime("BN", "plain"),
    factor="regime",
    target="every",
    unit="accuracy points",
    detail="BN minus plain",
)
bn_helps = res.compare(
    "Batch norm improves held-out accuracy when the model overfits clean labels",
    diffs(CLEAN, "BN", "plain"),
    unit="accuracy points",
    detail=f"{overfit_size} training images, {overfit_epochs} epochs, held-out = test set",
)


# %%
def epochs_to_reach(curve: np.ndarray, target: float) -> int:
    """First epoch (1-based) whose accuracy reaches ``target``; len(curve) + 1 if never."""
    hits = np.flatnonzero(curve >= target)
    return int(hits[0]) + 1 if len(hits) else len(curve) + 1


TARGET_FRACTION = 0.95
targets = TARGET_FRACTION * curves(CLEAN, "plain", "val_acc").max(axis=1)
reach = {
    name: [epochs_to_reach(c, t) for c, t in zip(curves(CLEAN, name, "val_acc"), targets)]
    for name in ("plain", "BN")
}
reached = {name: sum(e <= overfit_epochs for e in reach[name]) for name in reach}
faster = cu.paired(reach["BN"], reach["plain"], better="lower", names=("BN", "plain"))
SPEED_CLAIM = "BN lets a network reach a given accuracy in fewer epochs"
speed_detail = (
    f"target {TARGET_FRACTION:.0%} of plain's best validation accuracy (per seed: "
    f"{', '.join(f'{t:.3f}' for t in targets)}); epochs to target: plain {reach['plain']}, "
    f"BN {reach['BN']}; reached within {overfit_epochs} epochs: plain {reached['plain']} of "
    f"{seeds}, BN {reached['BN']} of {seeds} (a miss counts as {overfit_epochs + 1}); {CLEAN}; "
    "min effect 1 epoch, the resolution of the count (the course has no min effect in epochs)"
)
if len(faster) > 1 and len(set(faster)) == 1:  # no seed-to-seed variation: no interval
    _ = res.untestable(SPEED_CLAIM, f"every seed gave the same difference; {speed_detail}")
else:
    _ = res.compare(SPEED_CLAIM, faster, 1.0, unit="epochs", detail=speed_detail)
# %% [markdown]
# The GoogLeNet figures themselves get an explicit "not testable here", with this run's closest
# quantity (BN's relative reduction of the test error in the clean-labels overfitting regime)
# printed beside it:

# %%
err_plain, err_bn = 1 - arm(CLEAN, "plain"), 1 - arm(CLEAN, "BN")
error_reduction = float(np.mean((err_plain - err_bn) / err_plain))
_ = res.untestable(
    "BN raised GoogLeNet from 0.5 to 0.7; in practice about 15-20% better",
    "an ImageNet GoogLeNet result, and '15-20% better' names no metric; here BN's relative "
    f"test-error reduction in the {CLEAN} regime is {error_reduction:.1%} (mean over seeds)",
)
# %% [markdown]
# ### Claim: "batch norm generally improves results more than dropout"
# Metric: test accuracy, per seed, BN's gain over the plain net minus dropout's gain over the
# plain net, which is simply $\mathrm{acc}_{BN} - \mathrm{acc}_{dropout}$, in points; "generally"
# is read as *in every regime*; smallest effect worth having: half a point.

# %%
_ = res.across(
    "Batch norm generally improves results more than dropout",
    by_regime("BN", "dropout"),
    factor="regime",
    target="every",
    unit="accuracy points",
    detail="BN minus dropout",
)

# %% [markdown]
# ### Claim: "dropout belongs between hidden layers, never on the output layer"
# Metric: test accuracy in the short-budget regime, dropout $p$ between hidden layers minus the
# same $p$ on the logits, per seed (same initial weights: dropout layers have no parameters), in
# points; smallest effect worth having: half a point. (Measured in the cheap regime only, to fit
# the `cpu` budget.)

# %%
_ = res.compare(
    "Dropout belongs between hidden layers, never on the output layer",
    diffs(SHORT, "dropout", "dropout on logits"),
    unit="accuracy points",
    detail=f"p={dropout}; short-budget regime",
)

# %% [markdown]
# **Reading the results.** The regimes differ in what there is to fix. In the short-budget
# regime the models are still underfitting, so dropout's noise can only slow learning down
# (Srivastava et al., 2014), while BN, which speeds up training (Ioffe & Szegedy, 2015), can help
# even there. In both overfitting regimes the plain net memorizes its training labels (training
# accuracy near 100%, validation loss rising), which is where dropout is meant to pay off; what
# memorizing costs depends on the labels:
# - **noisy labels**: every wrong label the plain net learns to reproduce pulls its predictions
#   on similar test images towards a wrong class, so memorization costs accuracy, and whatever
#   slows it down (Arpit et al., 2017, found dropout does) should recover accuracy;
# - **clean labels**: memorizing a clean training set costs much less *accuracy* than *loss*
#   (the over-confident mistakes raise the loss long before they flip predictions), and Zhang et
#   al. (2017) found that explicit regularizers such as dropout are "neither necessary nor by
#   itself sufficient" for generalization: with a small network their gain in accuracy can be
#   small.
#
# BN is not built against memorization: with batches of `overfit_batch` its noise is small, and
# by speeding up training it may let a net reach the memorizing phase sooner (the train acc
# column of the first table shows how far each variant fit its labels). The verdicts above say,
# on paired seeds, which of these this run showed; the effects per regime, side by side
# (accuracy: the first of the pair minus the second; test-loss drop: the second's loss minus the
# first's, so a positive number always favours the first):

# %%
cu.table(
    [
        {
            "comparison": f"{t} - {b}",
            **{f"{regime} (points)": cu.format_effect(diffs(regime, t, b)) for regime in REGIMES},
            "clean labels, test-loss drop (nats)": cu.format_effect(
                diffs(CLEAN, t, b, "test_loss", better="lower")
            ),
        }
        for t, b in (("dropout", "plain"), ("BN", "plain"), ("BN", "dropout"))
    ]
)
for regime, verdict in dropout_helps.items():
    print(f"dropout improves held-out accuracy, {regime}: {verdict}")
print(f"dropout lowers the held-out loss, {CLEAN}: {dropout_loss}")
print(f"batch norm improves held-out accuracy, {CLEAN}: {bn_helps}")

# %% [markdown]
# ## Try it
# Pick a dropout probability and whether to use BN, then press **Run**: the variant is trained in
# the noisy-labels overfitting regime (first seed) and drawn against the plain net. Runs are
# remembered, so repeating a setting is instant. The static call below shows one setting for readers
# of the stored notebook.


# %%
def try_variant(dropout_p: float = 0.5, batch_norm: bool = True) -> dict:
    """Train (or recall) one variant and draw its validation curves next to the plain net."""
    run = run_variant(NOISY, "bn" if batch_norm else "none", dropout_p, "hidden", cfg.seed)
    base = run_variant(NOISY, "none", 0.0, "hidden", cfg.seed)
    label = f"BN={'on' if batch_norm else 'off'}, p={dropout_p:.2f}"
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    xs = range(1, overfit_epochs + 1)
    for ax, key in zip(axes, ("val_acc", "val_loss")):
        ax.plot(xs, base["history"][key], "o-", color="gray", ms=3, label="plain")
        ax.plot(xs, run["history"][key], "s-", ms=3, label=label)
        ax.set(xlabel="epoch", ylabel=key.replace("_", " "), title=model_name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    plt.show()
    print(f"test accuracy {run['test_acc']:.4f} (plain {base['test_acc']:.4f})")
    return run


_ = try_variant(dropout_p=dropout, batch_norm=False)
# %%
cu.widgets.panel(
    try_variant,
    live=False,
    title="Dropout p and batch norm",
    dropout_p=cu.widgets.slider("dropout p", dropout, 0.0, 0.9, 0.05),
    batch_norm=cu.widgets.checkbox("batch norm", True),
)

# %% [markdown]
# ## 4. Going further
# ### LayerNorm, GroupNorm, and batch norm with tiny batches
# BN's statistics come from the batch, so with a batch of 2-4 images they are noisy and the running
# estimates used at test time fit the training behaviour poorly. Normalizations that work **per
# example** avoid that: LayerNorm (Ba et al. 2016) normalizes over all features of one example (the
# standard choice in transformers and RNNs); GroupNorm (Wu & He 2018) normalizes over groups of
# channels of one example, $\mu_{n,g} = \frac{1}{|S_g|}\sum_{(c,h,w)\in S_g} z_{n,c,h,w}$, and
# behaves the same in training and evaluation. A brief paired test: the small CNN with BN vs with
# GroupNorm (2 groups), trained with batches of `small_batch` images on the clean-labels overfitting
# regime's training images for `tiny_epochs` epochs. Metric: test accuracy, GroupNorm minus BN, in
# points; smallest effect worth having: half a point.


# %%
def run_tiny_batches(norm: str, run_seed: int) -> float:
    """Test accuracy of the small CNN with ``norm`` trained with batches of ``small_batch``."""
    torch.manual_seed(run_seed)
    net = replace_layers(
        cu.build_model("small_cnn", ds.shape, ds.num_classes, batch_norm=True, dropout=0.0),
        nn.BatchNorm2d,
        (lambda m: nn.GroupNorm(2, m.num_features)) if norm == "gn" else (lambda m: m),
    ).to(cfg.device)
    train_x, train_y = SPLITS[CLEAN, run_seed][:2]
    train = ds.loader(train_x, train_y, small_batch, shuffle=True, seed=run_seed, device=cfg.device)
    cu.fit(net, train, None, epochs=tiny_epochs, lr=lr / 4, progress=False)
    return cu.evaluate(net, test)["acc"]


tiny_epochs = cfg.pick(smoke=1, cpu=2, gpu=10)
tiny = {norm: [run_tiny_batches(norm, s) for s in seed_list] for norm in ("bn", "gn")}
_ = res.compare(
    f"Going further: with batches of {small_batch}, GroupNorm beats BatchNorm",
    cu.paired(tiny["gn"], tiny["bn"], names=("GroupNorm", "BatchNorm"), scale=100),
    unit="accuracy points",
    detail=f"test accuracy BN {np.mean(tiny['bn']):.4f}, GroupNorm {np.mean(tiny['gn']):.4f}; "
    f"{tiny_epochs} epoch(s) on {overfit_size} images",
)
# %% [markdown]
# (The learning rate is a quarter of the main one: Adam with many tiny, noisy batches needs smaller
# steps.)
#
# ### The dropout-BN variance shift
# Dropout *before* a BN layer changes the variance BN sees: with inverted dropout, a unit with mean
# $\mu$ and variance $\sigma^2$ has, in training,
# $$\mathrm{Var}[y] = \frac{\sigma^2+\mu^2}{1-p} - \mu^2 ,$$
# but only $\sigma^2$ in evaluation. BN's running variance is learned in training, so at test time
# it normalizes with the wrong scale. Li et al. (CVPR 2019) traced the poor results of "dropout then
# BN" to this shift; the usual fixes are dropout only after the last BN layer, or a small $p$.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
units = 1.0 + torch.randn(1_000_000)  # mean 1, variance 1
train_var = dropout_forward(units, 0.5, training=True).var().item()
print(
    f"variance in training {train_var:.2f} (formula {(1 + 1) / 0.5 - 1:.2f}), in eval "
    f"{units.var().item():.2f}"
)

# %% [markdown]
# ### L1 and max-norm
# Two more weight penalties from the dropout paper's toolbox. **L1** adds $\lambda\sum_i |w_i|$ to
# the loss; its gradient $\lambda\,\mathrm{sign}(w)$ pulls every weight towards zero with the same
# force however small it is (L2's pull $\lambda w$ fades as $w$ shrinks), so the penalized optimum
# has many weights exactly at zero: sparse weights. (Plain gradient steps only make them hover
# around zero; a proximal step that clips at zero makes them exactly zero.) **Max-norm** (used
# with dropout by Srivastava et al. 2014) constrains every unit's incoming weight vector to
# $\lVert w\rVert_2 \le c$, rescaling it after each optimizer step:

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
layer = nn.Linear(8, 4)
with torch.no_grad():
    layer.weight.mul_(10)
    layer.weight.copy_(torch.renorm(layer.weight, p=2, dim=0, maxnorm=1.0))  # rows = units
print("row norms after max-norm (c = 1):", [round(v, 4) for v in layer.weight.norm(dim=1).tolist()])
l1_penalty = 1e-4 * layer.weight.abs().sum()  # add this to the loss for L1
print(f"L1 penalty term for lambda = 1e-4: {l1_penalty.item():.6f}")

# %% [markdown]
# ## Exercises
# **Exercise 1: Running statistics** · about 10 min · ★★☆ medium
#
# BN starts with running mean 0. If every training batch has the same
# channel mean $\mu_B$, what is the running mean after $k$ training steps with torch's momentum
# $\alpha$? Write `running_mean_after(k, batch_mean, momentum)`; the check feeds a real
# `nn.BatchNorm1d` $k$ times.


# %%
def running_mean_after(k: int, batch_mean: float, momentum: float) -> float | None:
    return None  # your code


def check_running_mean(fn) -> None:
    bn1 = nn.BatchNorm1d(1, momentum=0.1).train()
    batch = torch.tensor([[1.0], [3.0]])  # mean 2
    for _ in range(7):
        bn1(batch)
    answer = fn(7, 2.0, 0.1)
    return check_close(
        "exercise 1: running mean after 7 steps",
        answer,
        bn1.running_mean.item(),
        rtol=1e-5,
        hint="unroll the update: what fraction of the start is left?",
    )


check_running_mean(running_mean_after)


# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
def solution_running_mean_after(k: int, batch_mean: float, momentum: float) -> float:
    return (1 - (1 - momentum) ** k) * batch_mean


check_running_mean(solution_running_mean_after)

# %% [markdown]
# **Exercise 2: The variance shift** · about 15 min · ★★☆ medium
#
# Write `dropout_variance(mean, var, p)`: the variance, in training
# mode, of inverted dropout applied to a unit with the given mean and variance. The check measures
# it on a million samples.


# %%
def dropout_variance(mean: float, var: float, p: float) -> float | None:
    return None  # your code


def check_dropout_variance(fn) -> None:
    gen = torch.Generator().manual_seed(3)
    sample = 2.0 + 0.5 * torch.randn(2_000_000, generator=gen)
    keep = torch.rand(sample.shape, generator=gen) >= 0.3
    measured = (sample * keep / 0.7).var().item()
    return check_close(
        "exercise 2: variance under dropout",
        fn(2.0, 0.25, 0.3),
        measured,
        rtol=0.01,
        hint="E[y^2] = E[x^2] / (1 - p), and E[y] = E[x]",
    )


check_dropout_variance(dropout_variance)


# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
def solution_dropout_variance(mean: float, var: float, p: float) -> float:
    return (var + mean**2) / (1 - p) - mean**2


check_dropout_variance(solution_dropout_variance)
# %% [markdown]
# ## Summary
# - Dropout zeroes a fraction $p$ of hidden units in `train()` mode and rescales the rest by
#   $1/(1-p)$; `eval()` turns it off. On the output layer it scrambles the logits (zeros and
#   doubled values); the claim's verdict above says what that cost here.
# - Batch norm (Conv -> BN -> ReLU) normalizes with batch statistics while training and with
#   running statistics in eval mode; torch's momentum 0.1 weights the new batch statistic.
# - A regularizer can only help where there is overfitting to cure, and what it buys depends on
#   what the model memorizes: each technique was measured while the model memorized noisy
#   labels, while it overfit clean ones, and with a short budget; the verdicts name the regime,
#   and the table after them puts the three side by side.
# - With dropout left on at test time (MC dropout), the spread of the predictions is an
#   uncertainty estimate; its claim above says whether it was higher on the errors here.
# - BN's batch statistics add noise that regularizes a little; when fine-tuning with small
#   batches, BN is usually frozen (eval-mode statistics).
# - The claims were decided on paired seeds; "15-20% better" was not testable as stated, and was
#   replaced by what can be measured: epochs to a stated validation-accuracy target.
# - Per-example normalizations (LayerNorm, GroupNorm) do not depend on the batch; dropout before
#   BN shifts the variance BN learned.
#
# ## References
# - Srivastava, Hinton, Krizhevsky, Sutskever, Salakhutdinov (2014). Dropout: a simple way to
#   prevent neural networks from overfitting. JMLR 15.
# - Gal, Ghahramani (2016). Dropout as a Bayesian approximation: representing model uncertainty
#   in deep learning. ICML.
# - Arpit, Jastrzębski, Ballas, Krueger, Bengio, Kanwal, Maharaj, Fischer, Courville, Bengio,
#   Lacoste-Julien (2017). A closer look at memorization in deep networks. ICML.
# - Zhang, Bengio, Hardt, Recht, Vinyals (2017). Understanding deep learning requires rethinking
#   generalization. ICLR.
# - He, Zhang, Ren, Sun (2016). Deep residual learning for image recognition. CVPR.
# - Ioffe, Szegedy (2015). Batch normalization: accelerating deep network training by reducing
#   internal covariate shift. ICML.
# - Santurkar, Tsipras, Ilyas, Madry (2018). How does batch normalization help optimization?
#   NeurIPS.
# - Ba, Kiros, Hinton (2016). Layer normalization. arXiv:1607.06450.
# - Wu, He (2018). Group normalization. ECCV.
# - Li, Chen, Hu, Yang (2019). Understanding the disharmony between dropout and batch normalization
#   by variance shift. CVPR.

# %%
for regime, name in runs:
    tag = f"{slug(regime)}_{name}".replace(" ", "_").lower()
    res.metric(f"test_acc_{tag}", float(arm(regime, name).mean()))
    res.metric(f"train_acc_{tag}", float(arm(regime, name, "train_acc").mean()))
for name in reach:
    res.metric(f"epochs_to_target_{name.lower()}", float(np.mean(reach[name])))
    res.metric(f"reached_target_{name.lower()}", reached[name])
res.metric("bn_error_reduction", error_reduction)
res.metric("label_noise", label_noise)
for key in ("entropy, correct", "entropy, misclassified"):
    res.metric(f"mc_{key.replace(', ', '_')}", float(np.mean([r[key] for r in mc_rows])))
res.metric("epochs", epochs)
res.metric("overfit_epochs", overfit_epochs)
res.metric("overfit_size", overfit_size)
res.metric("seeds", seeds)
res.metric("seconds_per_run", float(np.mean([r["s"] for r in RUNS.values()])))
res.save()
