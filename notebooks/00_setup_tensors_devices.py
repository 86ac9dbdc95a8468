# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 00 · Setup, tensors, devices, the training loop — and your first lesson in speed
#
# **You will learn**
# - how the course picks a *profile* and a *device*, and how every notebook declares its
#   parameters once (bad values are refused before any work starts);
# - tensors on devices, and the autograd basics used everywhere later: `requires_grad`,
#   `backward()`, gradient accumulation, `retain_grad()`, `detach()` and `torch.no_grad()`;
# - the two numpy calls the later notebooks lean on: `np.mean(..., axis=...)` and `np.squeeze`;
# - **the training loop** itself (forward, loss, backward, step), written out in this notebook;
#   later notebooks call the same loop as `cu.fit`;
# - how to start a network well: Xavier/He initialization, the loss at initialization, overfitting
#   one batch first, the update/weight ratio and gradient clipping;
# - how to *measure* a claim ("GPU training is much faster", "`no_grad` is faster") instead of
#   repeating it, with repeated, interleaved timings;
# - why the input pipeline often decides how fast you train.
#
# **Prerequisites**: Python and a first look at PyTorch.
#
# **Run time** measured on a 2-core AMD EPYC with AVX2 only (simulated: `ATEN_CPU_CAPABILITY=avx2
# ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2`), quiet: `cpu` ≈ 63 s; on a 2-core Xeon
# with AMX bfloat16: `smoke` ≈ 15 s, `cpu` ≈ 30 s on a quiet day and 58 s on a day it ran 2x
# slower.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # seeds python, numpy and torch
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
repeats: int | None = None  # interleaved repeats of every timing; None = profile default
speed_images: int | None = None  # images per pipeline and repeat in the speed test; None = default
course_batch_size: int = 256  # batch size of the course's in-memory pipeline
source_batch_size: int = 32  # batch size of the source notes' DataLoader
source_workers: int = 2  # DataLoader worker processes of the source notes' pipeline
epochs: int | None = None  # epochs of the first real training run; None = profile default

# %%
import math
import time

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import torch
import torch.nn.functional as F

import course_utils as cu
from course_utils.config import accelerator, synchronize
from course_utils.speed import peak_rss_mib, source_notes_loader, train_throughput

cfg = cu.setup(
    globals(),
    repeats=cu.integer(5, 50, smoke=5, cpu=5, gpu=9),
    speed_images=cu.integer(64, 60000, smoke=256, cpu=3072, gpu=20000),
    course_batch_size=cu.integer(1, 4096),
    source_batch_size=cu.integer(1, 4096),
    source_workers=cu.integer(0, 16),
    epochs=cu.integer(1, 100, smoke=1, cpu=3, gpu=10),
)
res = cu.Results("00_setup_tensors_devices", results_path, cfg.profile)

# %% [markdown]
# The parameters cell above is the only place a value is set; the `cu.setup(globals(), ...)` call
# right after it is the only place each parameter's **allowed values** and **profile defaults** are
# declared. `setup` resolved the profile (`auto` means `$COURSE_PROFILE` if set, else `gpu` when
# CUDA is available, else `cpu`; `gpu` trains on CUDA, else Apple's MPS, else the CPU), replaced
# every `None` by the profile's default, seeded python, numpy and torch, and chose a device and a
# thread count.
#
# A bad value fails *before* any work starts, with the parameter's name, the value and what is
# allowed. Here the same declaration is applied to a small dictionary instead of the notebook's
# globals (this is the course's one demonstration of it; later notebooks just declare):

# %%
# NBVAL_CHECK_OUTPUT
declaration = {"epochs": cu.integer(1, 100, smoke=1, cpu=3, gpu=10)}  # as in the cell above
for bad in ({"epochs": 0}, {"epochs": 2.5}, {"profile": "fast", "epochs": None}):
    try:
        cu.setup(dict(bad), quiet=True, **declaration)
    except cu.ParameterError as err:
        print("refused:", err)

# %% [markdown]
# The course's command line reads the same declaration without running the notebook, so
# `python -m course_utils run 00 -p epochs 0` is refused before a kernel even starts.
#
# ## Tensors live on a device
# The course is written in PyTorch (Paszke et al., 2019), whose central object is the tensor.
# Every tensor has a `.device`. `.to(device)` returns a copy on another device (or the same tensor
# when it is already there). Operations need all their inputs on one device.

# %%
x = torch.arange(6, dtype=torch.float32).reshape(2, 3)
gpu = accelerator()  # "cuda", then "mps" (Apple silicon), or None
print("x lives on", x.device, "| GPU here:", gpu)
y = x.to(cfg.device)
print("after .to(cfg.device):", y.device, "| back with .to('cpu'):", y.to("cpu").device)
if gpu is not None:
    print(f"x.to({gpu!r}) ->", x.to(gpu).device)
else:
    print("no GPU here: x.to('cuda') or x.to('mps') would raise an error; use cfg.device")

# %% [markdown]
# ## Autograd in five small experiments
# 1. `requires_grad=True` makes torch record the operations; `backward()` fills `.grad`.
# 2. Gradients **accumulate**: a second `backward()` adds to `.grad` (that is why training loops
#    call `optimizer.zero_grad()`).
# 3. Intermediate (non-leaf) tensors do not keep `.grad` unless you ask with `retain_grad()`.
# 4. `detach()` gives a tensor that shares the values but is cut off from the graph.
# 5. Under `torch.no_grad()` nothing is recorded.
#
# With $h = w \odot w$ and $L = \sum_i h_i$, the gradient is $\partial L / \partial w = 2w$ and
# $\partial L / \partial h = 1$.

# %%
# NBVAL_CHECK_OUTPUT
w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
h = w * w  # intermediate tensor
h.retain_grad()
loss = h.sum()
loss.backward(retain_graph=True)
print("1. w.grad after one backward       :", w.grad.tolist())
loss.backward()
print("2. w.grad after a second backward  :", w.grad.tolist(), "(accumulated: 2 x 2w)")
print("3. h.grad thanks to retain_grad()  :", h.grad.tolist())
d = (w * 2).detach()
print("4. detached tensor requires_grad   :", d.requires_grad, "| values:", d.tolist())
with torch.no_grad():
    z = w * 2
print("5. grad_fn under no_grad:", z.grad_fn, "| outside:", type((w * 2).grad_fn).__name__)

# %% [markdown]
# ### What does `no_grad` save?
# During a forward pass with autograd on, every operation keeps the tensors it will need for
# `backward()` (its inputs and activations). Two claims from the notes, each measured on a small
# network (784-512-512-10) and a batch of 2048 images:
#
# - **"`no_grad` uses less memory."** Metric: the bytes autograd keeps for backward, counted
#   exactly with a saved-tensor hook, with and without `no_grad`. This is a count, not a sample of
#   process memory: the CPU allocator keeps freed pages for reuse, so the resident set size (RSS)
#   cannot isolate one forward pass, and the allocator's own counters exist only on CUDA
#   (`torch.cuda.max_memory_allocated`). Under `no_grad` nothing is kept *by design*, so the claim
#   is an **exact check that the switch works** (`res.exact`: at most 90 % of the bytes kept), not
#   a statistical one; the counts do not vary between repeats.
# - **"`no_grad` is faster."** Metric: $\log(t_\text{autograd} / t_\text{no\_grad})$ of the forward
#   pass, per repeat; the two are timed alternately (interleaved) so machine load hits both alike;
#   smallest effect worth having: $\log 1.1$ (10% faster).


# %%
def saved_bytes(net: torch.nn.Module, batch: torch.Tensor, grad: bool) -> int:
    """Bytes of the tensors autograd keeps for backward during one forward pass."""
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.set_grad_enabled(grad):
        net(batch)
    return total


# %%
def median_seconds(fn, device: torch.device, *args, times: int = 5) -> float:
    """Median wall time of ``fn(*args)``; CUDA and MPS run asynchronously: synchronize around the clock."""
    spent = []
    for _ in range(times + 1):  # the first call is a warm-up
        synchronize(device)
        start = time.perf_counter()
        fn(*args)
        synchronize(device)
        spent.append(time.perf_counter() - start)
    return float(np.median(spent[1:]))


# %%
def forward(net: torch.nn.Module, batch: torch.Tensor, grad: bool) -> None:
    with torch.set_grad_enabled(grad):
        net(batch)


mem_saved, log_speedups, rows = [], [], []
for r in range(repeats):
    torch.manual_seed(cfg.seed + r)  # new weights and batch per repeat
    net = cu.build_model("mlp", (1, 28, 28), 10, hidden=(512, 512))
    batch = torch.randn(2048, 1, 28, 28)
    kept = {grad: saved_bytes(net, batch, grad) for grad in (True, False)}
    order = (True, False) if r % 2 == 0 else (False, True)  # interleave, alternating who goes first
    secs = {grad: median_seconds(forward, cfg.device, net, batch, grad) for grad in order}
    mem_saved.append(1 - kept[False] / kept[True])
    log_speedups.append(math.log(secs[True] / secs[False]))
    rows.append(
        {
            "repeat": r,
            "MiB kept (autograd)": kept[True] / 2**20,
            "MiB kept (no_grad)": kept[False] / 2**20,
            "ms (autograd)": secs[True] * 1e3,
            "ms (no_grad)": secs[False] * 1e3,
        }
    )

# %%
cu.table(rows, floatfmt=".2f")
speedup = math.exp(float(np.median(log_speedups)))
res.metric("forward_grad_over_nograd", speedup)
# The bytes kept for backward do not vary with the seed (the same shapes every repeat), so this
# is an exact check that no_grad keeps at most 90% of them (10% less); it keeps none by design.
still_kept = res.metric("nograd_bytes_still_kept", 1 - min(mem_saved))
res.exact(
    "no_grad uses less memory",
    still_kept,
    0.9,
    detail=f"fraction of the saved-for-backward bytes still kept under no_grad (worst of "
    f"{repeats} repeats); {rows[0]['MiB kept (autograd)']:.1f} MiB kept with autograd on",
)
res.compare(
    "no_grad is faster",
    log_speedups,
    math.log(1.1),
    unit="log time ratio",
    detail=f"median speed-up {speedup:.2f}x over {repeats} interleaved repeats",
    timing=True,
)
print(f"forward pass under no_grad: {speedup:.2f}x as fast (median of {repeats} repeats)")

# %% [markdown]
# Read the speed-up from the line above rather than from an adjective: how much the bookkeeping
# of autograd (allocating and keeping every activation) adds to a forward pass depends on the
# machine, the model and the batch, and timings on a busy machine scatter (see the table), so the
# verdict says whether this run saw a clear difference. The memory saving does not depend on the
# machine. At inference the bigger saving is that no backward pass runs and no activations are
# stored at all, which is why evaluation code uses `torch.no_grad()` or its stricter sibling
# `torch.inference_mode()`.
#
# ## Two numpy calls used later
# `np.mean(a, axis=k)` averages *along* axis `k` (that axis disappears); `np.squeeze` drops axes
# of length 1 — e.g. the channel axis of a grayscale image before `plt.imshow`.

# %%
# NBVAL_CHECK_OUTPUT
a = np.arange(12).reshape(3, 4)
print("a =\n", a)
print("np.mean(a, axis=0) =", np.mean(a, axis=0), "(one mean per column)")
print("np.mean(a, axis=1) =", np.mean(a, axis=1), "(one mean per row)")
img = np.zeros((1, 28, 28))
print("np.squeeze on shape", img.shape, "->", np.squeeze(img).shape)

# %% [markdown]
# ## The data: Fashion-MNIST, in memory
# `load_dataset` works offline first. A folder you name (`data_dir` or `$COURSE_DATA_DIR`) is used
# exactly: missing files there are an error that names them. Otherwise it looks in the project's
# `data/` folder and the Debian package `dataset-fashion-mnist`, and downloads only as a last
# resort. The whole dataset stays in memory as **uint8** tensors (60 000 images x 784 bytes =
# 47 MB); batches are converted to float and normalized only when they are used. We hold out 20% of
# the training images as a stratified validation split (notebook 02 explains why).

# %%
ds = cu.load_dataset(cfg.dataset, cfg.data_dir)
print(ds)
counts = torch.bincount(ds.train_y, minlength=ds.num_classes)
print("images per class:", dict(zip(ds.classes, counts.tolist())))
train_x, train_y, val_x, val_y = cu.train_val_split(ds.train_x, ds.train_y, 0.2, seed=cfg.seed)
cu.plots.show_images(ds.train_x[:16], ds.train_y[:16], ds.classes, title="the first 16 images")
plt.show()

# %% [markdown]
# ## The training loop
# Every notebook of the course trains with the same five steps per mini-batch $B$: a **forward**
# pass computes the logits, the **loss** compares them with the labels,
# $L(\theta) = \frac{1}{|B|} \sum_{i \in B} -\log \operatorname{softmax}(f_\theta(x_i))_{y_i}$,
# `zero_grad` forgets the previous batch's gradients (they would accumulate, as seen above),
# **backward** fills every `p.grad` with $\partial L / \partial p$, and the optimizer's **step**
# updates the weights (for plain SGD: $\theta \leftarrow \theta - \eta \nabla_\theta L$; notebook
# 01 writes the other optimizers). Here it is, as a function you can edit:


# %%
def train_epoch(net: torch.nn.Module, batches, optimizer) -> dict[str, float]:
    """One pass over the training batches; returns the mean loss and accuracy."""
    net.train()  # training mode: dropout active, batch norm uses the batch's statistics
    total_loss, correct, n = 0.0, 0, 0
    for xb, yb in batches:
        logits = net(xb)  # 1. forward
        loss = F.cross_entropy(logits, yb)  # 2. loss
        optimizer.zero_grad(set_to_none=True)  # 3. forget the previous gradients
        loss.backward()  # 4. backward: fill p.grad for every weight
        optimizer.step()  # 5. update the weights
        total_loss += loss.item() * len(yb)
        correct += (logits.argmax(1) == yb).sum().item()
        n += len(yb)
    return {"train_loss": total_loss / n, "train_acc": correct / n}


# %% [markdown]
# Evaluation switches the network to **eval mode** (dropout off, batch norm uses its running
# statistics) and runs under `torch.inference_mode()`, a stricter `no_grad`: nothing is recorded.


# %%
@torch.inference_mode()
def evaluate_net(net: torch.nn.Module, batches) -> dict[str, float]:
    """Mean loss and accuracy over ``batches`` in eval mode, without recording gradients."""
    net.eval()
    total_loss, correct, n = 0.0, 0, 0
    for xb, yb in batches:
        logits = net(xb)
        total_loss += F.cross_entropy(logits, yb).item() * len(yb)
        correct += (logits.argmax(1) == yb).sum().item()
        n += len(yb)
    net.train()
    return {"loss": total_loss / n, "acc": correct / n}


# %% [markdown]
# Later notebooks call `cu.fit(net, train, val, epochs=...)`: the same loop plus a per-epoch
# history, callbacks (early stopping, checkpoints) and schedulers. To be sure it *is* the same
# loop, train two copies for one epoch from the same seed (same initial weights) on the same
# batches (same shuffling), one with `train_epoch`, one with `cu.fit`, and compare their weights.


# %%
def one_epoch(use_fit: bool) -> tuple[torch.nn.Module, dict[str, float]]:
    """One epoch of the small CNN on 1000 images, by the notebook's loop or by ``cu.fit``."""
    torch.manual_seed(cfg.seed)  # the same initial weights (and dropout masks) for both
    net = cu.build_model("small_cnn", ds.shape, ds.num_classes).to(cfg.device)
    sub_x, sub_y = cu.stratified_subset(train_x, train_y, 1000, seed=cfg.seed)
    batches = ds.loader(sub_x, sub_y, 100, shuffle=True, seed=cfg.seed, device=cfg.device)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    if use_fit:
        return net, cu.fit(net, batches, epochs=1, optimizer=optimizer, progress=False).last
    return net, train_epoch(net, batches, optimizer)


# %%
# NBVAL_CHECK_OUTPUT
(mine, my_logs), (theirs, fit_logs) = one_epoch(False), one_epoch(True)
mine_state, fit_state = mine.state_dict(), theirs.state_dict()
weight_gap = max(
    (mine_state[k].float() - fit_state[k].float()).abs().max().item() for k in mine_state
)
val_batches = ds.loader(val_x[:2000], val_y[:2000], 1000, device=cfg.device)
eval_gap = abs(evaluate_net(mine, val_batches)["loss"] - cu.evaluate(theirs, val_batches)["loss"])
print(f"max |weight difference| after one epoch < 1e-6: {weight_gap < 1e-6}")
loss_gap = abs(my_logs["train_loss"] - fit_logs["train_loss"])
print(f"same mean training loss (to 1e-6): {loss_gap < 1e-6}")
print(f"evaluate_net and cu.evaluate agree (to 1e-6): {eval_gap < 1e-6}")

# %%
res.exact(
    "The notebook's training loop and cu.fit give the same weights after one epoch",
    weight_gap,
    1e-6,
    detail="same seed, same batches, Adam lr 2e-3, 1000 images",
)
print("bit-for-bit identical weights:", weight_gap == 0)

# %% [markdown]
# ## Starting well: initialization and sanity checks
# ### Why initialization matters
# Consider a layer $y = W x$ with $n_\text{in}$ inputs, weights drawn independently with variance
# $\operatorname{Var}[w]$ and zero mean. Then
# $\operatorname{Var}[y_j] = n_\text{in} \operatorname{Var}[w]\, \mathbb{E}[x_i^2]$. Stack many
# layers and this factor multiplies: if it is below 1 the signal (and the gradients) vanish
# exponentially with depth, above 1 they explode. Glorot & Bengio (2010) keep it near 1 for
# linear/tanh layers with $\operatorname{Var}[w] = 2 / (n_\text{in} + n_\text{out})$
# ("Xavier"); after a ReLU only half of the units are active, $\mathbb{E}[x^2] =
# \operatorname{Var}[y]/2$, so He et al. (2015) double it: $\operatorname{Var}[w] = 2/n_\text{in}$.
# Below, a batch of random inputs goes through 20 ReLU layers of width 256 and we print the
# standard deviation of the activations after layers 1, 5, 10 and 20 for four initializations.

# %%
INITS = {
    "N(0, 0.01^2)": lambda w: torch.nn.init.normal_(w, std=0.01),
    "N(0, 1)": lambda w: torch.nn.init.normal_(w, std=1.0),
    "Xavier (Glorot)": torch.nn.init.xavier_normal_,
    "He (Kaiming)": lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu"),
}


def activation_stds(init, depth: int = 20, width: int = 256) -> list[float]:
    """Std of the activations after each ReLU layer of a deep MLP with weights from ``init``."""
    torch.manual_seed(cfg.seed)
    h, stds = torch.randn(1024, width), []
    for _ in range(depth):
        h = torch.relu(h @ init(torch.empty(width, width)).T)
        stds.append(h.std().item())
    return stds


# %%
stds = {name: activation_stds(init) for name, init in INITS.items()}
cu.table(
    [{"init": k, **{f"layer {i}": v[i - 1] for i in (1, 5, 10, 20)}} for k, v in stds.items()],
    floatfmt=".3g",
)
fig, ax = plt.subplots(figsize=(7, 3.2))
for name, values in stds.items():
    ax.semilogy(range(1, 21), values, "o-", ms=3, label=name)
ax.set(xlabel="layer", ylabel="activation std (log scale)", title="20 ReLU layers of width 256")
ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Only He's scale keeps the activations at a usable size all the way down; Xavier's loses a factor
# $\sqrt 2$ per ReLU layer (it was derived for symmetric activations). PyTorch's `nn.Linear` and
# `nn.Conv2d` default to a uniform initialization with a smaller scale than He's; it works for the
# shallow networks of this course, and `torch.nn.init.kaiming_normal_` is one line away when a net
# gets deep. What this does to training: the same 10-layer ReLU MLP (width 128), trained for one
# epoch with the loop above (SGD with momentum, 5000 images), once per initialization.


# %%
def deep_mlp_after_one_epoch(init) -> dict[str, float]:
    torch.manual_seed(cfg.seed)
    net = cu.build_model("mlp", ds.shape, ds.num_classes, hidden=(128,) * 10).to(cfg.device)
    for layer in net.modules():
        if isinstance(layer, torch.nn.Linear):
            init(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    sub_x, sub_y = cu.stratified_subset(train_x, train_y, cfg.pick(1000, 5000, 5000), seed=cfg.seed)
    batches = ds.loader(sub_x, sub_y, 64, shuffle=True, seed=cfg.seed, device=cfg.device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    logs = train_epoch(net, batches, optimizer)
    return {
        **logs,
        **evaluate_net(net, ds.loader(val_x[:4000], val_y[:4000], 4000, device=cfg.device)),
    }


cu.table([{"init": k, **deep_mlp_after_one_epoch(f)} for k, f in INITS.items()], floatfmt=".3g")
print("train_loss, train_acc: during the epoch | loss, acc: on the validation split")

# %% [markdown]
# Read the table: a training loss stuck near $\ln 10 \approx 2.30$ means the network is still
# guessing (the signal vanished), `nan` or a huge loss means it exploded.
#
# ### Sanity check 1: the loss at initialization
# A freshly initialized classifier should be unsure: its logits are small, its softmax close to
# uniform, $p_c \approx 1/C$, so its cross-entropy is $-\ln(1/C) = \ln C$. A first loss far
# above $\ln C$ means over-confident random logits (e.g. a too-large last layer); far below, a
# bug such as labels leaking into the input.

# %%
torch.manual_seed(cfg.seed)
net = cu.build_model("small_cnn", ds.shape, ds.num_classes).to(cfg.device)
first = ds.loader(val_x[:1000], val_y[:1000], 1000, device=cfg.device)
init_loss = res.metric("init_loss", evaluate_net(net, first)["loss"])
ln_c = math.log(ds.num_classes)
print(f"loss at initialization {init_loss:.3f} vs ln C = ln {ds.num_classes} = {ln_c:.3f}")
print(f"within 0.1 of ln C: {abs(init_loss - ln_c) < 0.1}")

# %% [markdown]
# ### Sanity check 2: overfit one small batch first
# Before a long run, train on **one** batch of 32 images again and again. A correct model, loss and
# loop drive the training loss towards 0 and the accuracy on that batch to 100% within a few
# hundred steps; if they do not, look for a bug before spending hours of training. (Dropout is
# switched off here, so nothing stops the network from memorizing.)

# %%
torch.manual_seed(cfg.seed)
net = cu.build_model("small_cnn", ds.shape, ds.num_classes, dropout=0.0).to(cfg.device)
one_batch = [next(iter(ds.loader(train_x[:32], train_y[:32], 32, device=cfg.device)))]
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
steps = cfg.pick(smoke=60, cpu=150, gpu=150)
logs = [train_epoch(net, one_batch, optimizer) for _ in range(steps)]
res.metric("one_batch_final_loss", logs[-1]["train_loss"])
for step in sorted({1, 10, 30, steps}):
    print(
        f"step {step:>3}: loss {logs[step - 1]['train_loss']:.4f}, "
        f"accuracy on the batch {logs[step - 1]['train_acc']:.2f}"
    )

# %% [markdown]
# ### Sanity check 3: the update/weight ratio
# How far does one step move the weights? For each weight matrix $W$, compare the size of the
# update with the size of the weights, $\lVert \Delta W \rVert / \lVert W \rVert$. A common rule of
# thumb (Karpathy's CS231n notes) is about $10^{-3}$: much larger (say $10^{-1}$) and the learning
# rate is probably too high, much smaller ($10^{-5}$) and it is probably too low. Below, the median
# ratio over the first steps of Adam at two learning rates, per weight matrix of the small CNN.
# Adam moves each weight by at most about `lr` per step, so its ratio is roughly `lr` divided by the
# typical size of a weight: layers with larger weights (few inputs) get smaller ratios.


# %%
def update_ratios(lr: float, steps: int = 20) -> dict[str, float]:
    """Median ||W_after - W_before|| / ||W_before|| per weight matrix, over ``steps`` Adam steps."""
    torch.manual_seed(cfg.seed)
    net = cu.build_model("small_cnn", ds.shape, ds.num_classes).to(cfg.device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    weights = {k: p for k, p in net.named_parameters() if p.ndim > 1}
    ratios = {k: [] for k in weights}
    batches = ds.loader(train_x, train_y, 128, shuffle=True, seed=cfg.seed, device=cfg.device)
    for _, batch in zip(range(steps), batches):
        before = {k: p.detach().clone() for k, p in weights.items()}
        train_epoch(net, [batch], optimizer)
        for k, p in weights.items():
            ratios[k].append(((p.detach() - before[k]).norm() / before[k].norm()).item())
    return {k: float(np.median(v)) for k, v in ratios.items()}


# %%
steps = cfg.pick(smoke=8, cpu=20, gpu=20)
low_lr, high_lr = update_ratios(1e-3, steps), update_ratios(1e-1, steps)
res.metric("median_update_ratio_lr1e-3", float(np.median(list(low_lr.values()))))
cu.table(
    [{"weights": k, "lr 1e-3": low_lr[k], "lr 1e-1": high_lr[k]} for k in low_lr], floatfmt=".2e"
)
print("rule of thumb: about 1e-3")

# %% [markdown]
# ### Gradient clipping
# A rare batch can produce a huge gradient and throw the weights far away in one step. **Clipping
# by norm** rescales the whole gradient when its norm $\lVert g \rVert$ (over all parameters)
# exceeds a threshold $c$: $g \leftarrow g \cdot \min(1, c / \lVert g \rVert)$. The direction is
# kept, only the length is capped (Pascanu et al., 2013). In the loop it goes between `backward()`
# and `step()`: `torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=c)`, which also
# returns the norm before clipping. Here we clip to half the gradient's own norm and check both.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(cfg.seed)
net = cu.build_model("small_cnn", ds.shape, ds.num_classes, dropout=0.0)
xb, yb = one_batch[0]
F.cross_entropy(net(xb.cpu()), yb.cpu()).backward()
before = torch.cat([p.grad.flatten() for p in net.parameters()]).clone()
norm = torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=float("inf"))  # only measures
torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=norm.item() / 2)
after = torch.cat([p.grad.flatten() for p in net.parameters()])
print(f"norm after clipping / norm before = {(after.norm() / before.norm()).item():.3f}")
cosine = F.cosine_similarity(before, after, dim=0).item()
print(f"direction kept (cosine = 1 to 1e-5): {cosine > 1 - 1e-5}")

# %% [markdown]
# ## Claim: "GPU training is much faster"
# CPUs are built for fast sequential work on a few cores; GPUs for thousands of simple operations
# in parallel — exactly what a matrix product or a convolution is. We time the same training step
# (small CNN, batch 256, Adam) on every device this machine has. Metric: $\log(t_\text{cpu} /
# t_\text{gpu})$ per interleaved repeat; positive supports the claim; smallest effect worth having:
# $\log 2$ (twice as fast, our reading of "much"). Without a GPU only the CPU row exists.


# %%
def training_step(device: torch.device):
    """One Adam step of the small CNN on a fixed random batch of 256 images, on ``device``."""
    torch.manual_seed(cfg.seed)
    net = cu.build_model("small_cnn", ds.shape, ds.num_classes).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    xb = torch.randn(256, *ds.shape, device=device)
    yb = torch.randint(0, ds.num_classes, (256,), device=device)
    return lambda: train_epoch(net, [(xb, yb)], optimizer)


gpu = accelerator()
devices = [torch.device("cpu")] + ([torch.device(gpu)] if gpu else [])
step_fns = {dev.type: training_step(dev) for dev in devices}
step_ms = {dev.type: [] for dev in devices}
for r in range(repeats):
    for dev in devices if r % 2 == 0 else devices[::-1]:
        step_ms[dev.type].append(1e3 * median_seconds(step_fns[dev.type], dev, times=3))

# %%
cu.table(
    [
        {"device": k, "median ms/step": np.median(v), "min": min(v), "max": max(v)}
        for k, v in step_ms.items()
    ],
    floatfmt=".2f",
)
res.metric("cpu_ms_per_step", float(np.median(step_ms["cpu"])))
claim = "GPU training is much faster than CPU training"
if gpu is not None:
    ratios = [math.log(c / g) for c, g in zip(step_ms["cpu"], step_ms[gpu])]
    res.compare(
        claim,
        ratios,
        math.log(2),
        unit="log time ratio",
        timing=True,
        detail=f"median speed-up {math.exp(float(np.median(ratios))):.1f}x",
    )
else:
    res.untestable(
        claim,
        "no GPU on this machine (neither CUDA nor Apple's MPS), so only the CPU row was "
        "measured; the GPU row needs a GPU and a torch build for it (CUDA, or MPS on Apple "
        "silicon): rerun with profile gpu and the "
        "same cell decides it on log(CPU time / GPU time), min effect log 2",
    )

# %% [markdown]
# ## First lesson in speed: the input pipeline
# The source notes feed the network like this: a torchvision dataset that turns **each image**
# into a PIL image, applies random crop and flip, converts it to a tensor and normalizes it, then a
# `DataLoader(batch_size=32, num_workers=2)` collates the images into batches in two worker
# processes. The course does the same work on **whole batches** of in-memory uint8 tensors: one
# indexing operation picks the batch, one crops every image at its own random offset, one flips a
# random half, one normalizes. Same model, optimizer and augmentation; only the pipeline differs.
# A middle row separates the two causes: the per-image pipeline at the course's batch size.
#
# **Claim** (the course's design notes, "Performance"): "the in-memory batched
# pipeline trains the small CNN at least 5x faster than the notes' per-image DataLoader". Metric:
# $\log(\text{course images/s} / \text{source images/s})$ per interleaved repeat; smallest effect
# worth having: $\log 5$. Confirmed needs a mean ratio of at least 5x, clearly above 1x; a ratio
# that is clearly between 1/5x and 5x refutes "at least 5x".


# %%
def pipelines(source_batch: int, workers: int, course_batch: int) -> dict:
    augment = cu.Augment(crop_padding=2, flip=True)
    return {
        f"source notes: per-image, batch {source_batch}, {workers} workers": source_notes_loader(
            ds, source_batch, workers, seed=cfg.seed
        ),
        f"per-image, batch {course_batch}, {workers} workers": source_notes_loader(
            ds, course_batch, workers, seed=cfg.seed
        ),
        f"course: in-memory batches, batch {course_batch}": ds.loader(
            train_x, train_y, course_batch, shuffle=True, augment=augment, seed=cfg.seed
        ),
    }


# %%
def compare_pipelines(source_batch: int, workers: int, course_batch: int, reps: int = 1) -> dict:
    """Training images/s of each pipeline (same small CNN), in ``reps`` interleaved repeats."""
    runs = pipelines(source_batch, workers, course_batch)
    speeds = {name: [] for name in runs}
    for r in range(reps):
        for name in list(runs) if r % 2 == 0 else list(runs)[::-1]:
            torch.manual_seed(cfg.seed)
            net = cu.build_model("small_cnn", ds.shape, ds.num_classes)
            speeds[name].append(train_throughput(net, runs[name], speed_images)["images_per_s"])
    cu.table(
        [
            {"pipeline": k, "median images/s": np.median(v), "min": min(v), "max": max(v)}
            for k, v in speeds.items()
        ],
        floatfmt=".0f",
    )
    return speeds


speeds = compare_pipelines(source_batch_size, source_workers, course_batch_size, repeats)

# %%
source_speed, course_speed = list(speeds.values())[0], list(speeds.values())[-1]
log_ratios = [math.log(c / s) for c, s in zip(course_speed, source_speed)]
ratio = res.metric("pipeline_speedup", math.exp(float(np.median(log_ratios))))
res.metric("source_pipeline_images_per_s", float(np.median(source_speed)))
res.metric("course_pipeline_images_per_s", float(np.median(course_speed)))
res.compare(
    "The in-memory batched pipeline trains the same model at least 5x faster than the "
    "per-image DataLoader (batch 32, 2 workers)",
    log_ratios,
    math.log(5),
    unit="log speed ratio",
    timing=True,
    detail=f"median ratio {ratio:.1f}x (range {math.exp(min(log_ratios)):.1f}x-"
    f"{math.exp(max(log_ratios)):.1f}x) over {repeats} interleaved repeats",
)
print(f"median ratio course / source notes: {ratio:.1f}x")

# %% [markdown]
# How to read the three rows: with a small batch, the per-image work (PIL conversion, transforms,
# collation) and the per-batch overhead of the optimizer step dominate; the model itself is tiny.
# The middle row shows how much of the gap a larger batch closes while each image still takes the
# per-image path; the last row moves the whole pipeline to batched tensor operations. On a GPU the
# gap is expected to grow further, because the GPU would wait for the CPU-bound workers (not
# measured here). The verdict is inconclusive whenever something else was computing (load average
# above the core count plus half a core; this run's own threads already keep it near the core
# count): timings on a loaded machine decide nothing.
#
# ### Try it
# Change the source pipeline's batch size and worker count and the course pipeline's batch size,
# then press **Run** (one repeat, a few seconds).

# %%
cu.widgets.panel(
    compare_pipelines,
    live=False,
    title="Input pipeline speed",
    source_batch=cu.widgets.slider("source batch", source_batch_size, 8, 512, integer=True),
    workers=cu.widgets.slider("workers", source_workers, 0, 4, integer=True),
    course_batch=cu.widgets.slider("course batch", course_batch_size, 32, 1024, integer=True),
)

# %% [markdown]
# ## A first real training run
# With a fast pipeline, a few epochs of the small CNN on 48 000 training images take seconds per
# epoch. From here on the course calls `cu.fit`, the loop written above with a history; the test
# set is touched once, at the end.

# %%
if cfg.is_smoke:
    train_x, train_y = cu.stratified_subset(train_x, train_y, 2000, seed=cfg.seed)
    val_x, val_y = val_x[:2000], val_y[:2000]
augment = cu.Augment(crop_padding=2, flip=True)
train = ds.loader(
    train_x,
    train_y,
    course_batch_size,
    shuffle=True,
    augment=augment,
    seed=cfg.seed,
    device=cfg.device,
)
val = ds.loader(val_x, val_y, 2048, device=cfg.device)
torch.manual_seed(cfg.seed)
net = cu.build_model("small_cnn", ds.shape, ds.num_classes).to(cfg.device)
history = cu.fit(net, train, val, epochs=epochs, lr=2e-3)
test_metrics = cu.evaluate(net, ds.loader(ds.test_x, ds.test_y, 2048, device=cfg.device))
print(f"{cu.count_parameters(net)} parameters, {len(train_y)} training images, {epochs} epochs")
print(f"test accuracy {test_metrics['acc']:.4f}, test loss {test_metrics['loss']:.4f}")
res.metric("test_acc", test_metrics["acc"])
res.metric("epoch_seconds", float(np.mean(history["time"])))
cu.plots.plot_history(history, title="small CNN on " + ds.name)
plt.show()

# %% [markdown]
# ## Exercises
# **Exercise 1** · about 5 min · ★☆☆ easy
#
# A tensor `v = torch.tensor([3.0, -1.0], requires_grad=True)`; `loss = (v ** 3).sum()`;
# you call `loss.backward()` **twice** (keeping the graph). What is `v.grad`? Return it as a list.


# %%
def grad_after_two_backwards() -> list[float] | None:
    return None  # your answer, e.g. [..., ...]


def check_grad(fn) -> None:
    v = torch.tensor([3.0, -1.0], requires_grad=True)
    cube = (v**3).sum()
    cube.backward(retain_graph=True)
    cube.backward()
    cu.exercises.check_close(
        "exercise 1: v.grad after two backward calls",
        fn(),
        v.grad,
        hint="d/dv of v**3 is 3 v**2, and gradients accumulate",
    )


check_grad(grad_after_two_backwards)


# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
def solution_grad_after_two_backwards() -> list[float]:
    v = torch.tensor([3.0, -1.0])
    one_backward = 3 * v**2  # d/dv of v**3
    return (2 * one_backward).tolist()  # the second backward adds the same again


check_grad(solution_grad_after_two_backwards)

# %% [markdown]
# **Exercise 2** · about 10 min · ★☆☆ easy
#
# The course pipeline normalizes a uint8 batch with the dataset's mean and std. Write
# `my_normalize(xb)` that returns float images with mean ~0 and std ~1 per channel (use `ds.mean`,
# `ds.std`; pixel values must be scaled to [0, 1] first).


# %%
def my_normalize(xb: torch.Tensor) -> torch.Tensor | None:
    return None  # your code


def check_normalize(fn) -> None:
    sample = ds.train_x[:512]
    cu.exercises.check_close(
        "exercise 2: normalization",
        fn(sample),
        cu.data.normalize(sample, ds.mean, ds.std),
        rtol=1e-5,
        atol=1e-5,
        hint="(x / 255 - mean) / std, with mean and std shaped (1, C, 1, 1)",
    )


check_normalize(my_normalize)


# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
def solution_my_normalize(xb: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(ds.mean).view(1, -1, 1, 1)
    std = torch.tensor(ds.std).view(1, -1, 1, 1)
    return (xb.float() / 255 - mean) / std


check_normalize(solution_my_normalize)

# %% [markdown]
# **Exercise 3** · about 5 min · ★☆☆ easy
#
# Write `he_std(fan_in)`: the standard deviation of He's normal initialization for a
# layer with `fan_in` inputs followed by a ReLU. It is checked against PyTorch's own formula for
# several layer sizes.


# %%
def he_std(fan_in: int) -> float | None:
    return None  # your code


def check_he(fn) -> None:
    fans = [16, 256, 784, 4096]
    answer = None if fn(fans[0]) is None else [fn(n) for n in fans]
    expected = [torch.nn.init.calculate_gain("relu") / math.sqrt(n) for n in fans]
    cu.exercises.check_close(
        "exercise 3: He's standard deviation", answer, expected, hint="Var[w] = 2 / fan_in"
    )


check_he(he_std)


# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
def solution_he_std(fan_in: int) -> float:
    return math.sqrt(2 / fan_in)


check_he(solution_he_std)

# %% [markdown]
# ## Summary
# - One declaration per parameter: `cu.setup(globals(), ...)` checks every value before any work,
# fills in the profile's defaults, seeds and picks the device; use `cfg.device`, never `"cuda"` or
#   `"mps"`.
# - Gradients accumulate; `retain_grad()`, `detach()` and `no_grad()` control what autograd keeps.
# - The training loop is five lines per batch (forward, loss, zero_grad, backward, step); `cu.fit`
#   is that loop with a history, and the exact check above compares their weights.
# - Start well: He initialization for ReLU networks, a first loss near $\ln C$, a model that can
#   overfit one batch, a sensible update/weight ratio, gradient clipping against spikes. CS231n's
#   rule of thumb of about $10^{-3}$ was stated for SGD, where the step is `lr` times the gradient.
#   Adam's step is about `lr` per weight whatever the gradient's size, so for Adam the ratio is
#   about `lr` divided by the typical size of a weight: read the table above for what Adam's
#   healthy `lr` $= 10^{-3}$ gives on this network, several times the SGD rule's $10^{-3}$
#   because the small CNN's typical weight is well below 1.
# - Claims get measured with repeats and a declared smallest effect: the GPU row, `no_grad`'s
#   savings and the input pipeline's ratio above are measurements on *this* machine.
#
# ## References
# - Glorot, X. & Bengio, Y. (2010). Understanding the difficulty of training deep feedforward
#   neural networks. *AISTATS 2010*.
# - He, K., Zhang, X., Ren, S. & Sun, J. (2015). Delving deep into rectifiers: surpassing
#   human-level performance on ImageNet classification. *ICCV 2015*.
# - Pascanu, R., Mikolov, T. & Bengio, Y. (2013). On the difficulty of training recurrent neural
#   networks. *ICML 2013*.
# - Karpathy, A. et al. CS231n: Convolutional Neural Networks for Visual Recognition, course
#   notes "Neural Networks Part 3: Learning and Evaluation", Stanford University.
# - Paszke, A. et al. (2019). PyTorch: an imperative style, high-performance deep learning
#   library. *NeurIPS 2019*.

# %%
res.metric("peak_rss_mib", peak_rss_mib())
res.save()
print(f"peak memory of this kernel: {peak_rss_mib():.0f} MiB")
