# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 00 · Setup, tensors, devices — and your first lesson in speed
#
# **You will learn**
# - how the course picks a *profile* and a *device*, and why every notebook starts with `setup(...)`;
# - tensors on devices, and the autograd basics used everywhere later: `requires_grad`, `backward()`,
#   gradient accumulation, `retain_grad()`, `detach()` and `torch.no_grad()`;
# - the two numpy calls the later notebooks lean on: `np.mean(..., axis=...)` and `np.squeeze`;
# - how to *measure* a claim ("GPU training is much faster") instead of repeating it;
# - why the input pipeline often decides how fast you train: the source notes' per-image
#   `DataLoader` against the course's in-memory batched pipeline, on the same model.
#
# **Prerequisites**: Python and a first look at PyTorch.
#
# **Run time** on a 2-core laptop CPU: `smoke` ~15 s, `cpu` ~1-2 min.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # seeds python, numpy and torch
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
speed_images: int | None = None  # images per pipeline in the speed test; None = profile default
course_batch_size: int = 256  # batch size of the course's in-memory pipeline
source_batch_size: int = 32  # batch size of the source notes' DataLoader
source_workers: int = 2  # DataLoader worker processes of the source notes' pipeline
epochs: int | None = None  # epochs of the first real training run; None = profile default

# %%
import time

import numpy as np
import torch

import course_utils as cu
from course_utils.data import normalize
from course_utils.exercises import check_close
from course_utils.plots import plot_history, show_images
from course_utils.speed import matmul_seconds, peak_rss_mib, source_notes_loader, train_throughput
from course_utils.validation import check_number
from course_utils.widgets import Panel, slider

cfg = cu.setup(profile, dataset, seed, results_path, data_dir)
speed_images = check_number("speed_images", cfg.default(speed_images, smoke=1024, cpu=12000, gpu=30000), low=64, integer=True)
epochs = check_number("epochs", cfg.default(epochs, smoke=1, cpu=3, gpu=10), low=1, integer=True)
check_number("course_batch_size", course_batch_size, low=1, integer=True)
check_number("source_batch_size", source_batch_size, low=1, integer=True)
check_number("source_workers", source_workers, low=0, high=16, integer=True)
res = cu.Results("00_setup_tensors_devices", results_path, cfg.profile)

# %% [markdown]
# `setup` did four things: it resolved the profile (`auto` means `$COURSE_PROFILE` if set, else
# `gpu` when CUDA is available, else `cpu`), checked every parameter (try `setup(profile="fast")`),
# seeded python, numpy and torch, and chose a device and a thread count. A bad value fails *before*
# any work starts, with the parameter's name, the value and what is allowed:

# %%
# NBVAL_CHECK_OUTPUT
for bad in (dict(profile="fast"), dict(dataset="imagenet"), dict(seed=-1)):
    try:
        cu.setup(**bad, quiet=True)
    except cu.ParameterError as err:
        print("refused:", err)

# %% [markdown]
# ## Tensors live on a device
# Every tensor has a `.device`. `.to(device)` returns a copy on another device (or the same tensor
# when it is already there). Operations need all their inputs on one device.

# %%
x = torch.arange(6, dtype=torch.float32).reshape(2, 3)
print("x lives on", x.device, "| CUDA available:", torch.cuda.is_available(), "| course device:", cfg.device)
y = x.to(cfg.device)
print("after .to(cfg.device):", y.device, "| back with .to('cpu'):", y.to("cpu").device)
if torch.cuda.is_available():
    print("x.to('cuda') ->", x.to("cuda").device)
else:
    print("no GPU here: x.to('cuda') would raise an error, so code should use cfg.device instead of 'cuda'")

# %% [markdown]
# ## Autograd in five small experiments
# 1. `requires_grad=True` makes torch record the operations; `backward()` fills `.grad`.
# 2. Gradients **accumulate**: a second `backward()` adds to `.grad` (that is why training loops call
#    `optimizer.zero_grad()`).
# 3. Intermediate (non-leaf) tensors do not keep `.grad` unless you ask with `retain_grad()`.
# 4. `detach()` gives a tensor that shares the values but is cut off from the graph.
# 5. Under `torch.no_grad()` nothing is recorded: less memory, faster inference.

# %%
# NBVAL_CHECK_OUTPUT
w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
h = w * w  # intermediate tensor
h.retain_grad()
loss = h.sum()  # d loss / d w = 2 w
loss.backward(retain_graph=True)
print("1. w.grad after one backward       :", w.grad.tolist())
loss.backward()
print("2. w.grad after a second backward  :", w.grad.tolist(), "(accumulated: 2 x 2w)")
print("3. h.grad thanks to retain_grad()  :", h.grad.tolist())
w.grad = None
d = (w * 2).detach()
print("4. detached tensor requires_grad   :", d.requires_grad, "| shares values:", d.tolist())
with torch.no_grad():
    z = w * 2
print("5. result under no_grad has grad_fn:", z.grad_fn, "| outside no_grad:", type((w * 2).grad_fn).__name__)

# %% [markdown]
# How much does `no_grad` save? During a forward pass with autograd on, every operation keeps the
# tensors it will need for `backward()` (its inputs and activations). We count those bytes with a
# saved-tensor hook on a small network and a batch of 2048 images, then time both forward passes.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
model = cu.build_model("mlp", (1, 28, 28), 10, hidden=(512, 512))
batch = torch.randn(2048, 1, 28, 28)


def saved_for_backward_mib(grad: bool) -> float:
    """MiB of tensors autograd keeps for the backward pass during one forward pass."""
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.set_grad_enabled(grad):
        model(batch)
    return total / 2**20


print(f"kept for backward with autograd on: {saved_for_backward_mib(True):.1f} MiB | under no_grad: {saved_for_backward_mib(False):.1f} MiB")


# %%
def forward_seconds(grad: bool, repeats: int = 10) -> float:
    """Median time of a forward pass with or without autograd recording."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.set_grad_enabled(grad):
            model(batch)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


with_grad, without_grad = forward_seconds(True), forward_seconds(False)
print(f"forward with autograd: {with_grad * 1e3:.2f} ms | under no_grad: {without_grad * 1e3:.2f} ms "
      f"| ratio {with_grad / without_grad:.2f}x")
res.metric("forward_grad_over_nograd", with_grad / without_grad);

# %% [markdown]
# The memory saving is large and certain; the time saving of the forward pass itself is small on a CPU
# (the bookkeeping is cheap next to the matrix products). The big saving at inference is that no
# backward pass and no stored activations are needed at all.

# %% [markdown]
# ## Two numpy calls used later
# `np.mean(a, axis=k)` averages *along* axis `k` (that axis disappears); `np.squeeze` drops axes of
# length 1 — e.g. the channel axis of a grayscale image before `plt.imshow`.

# %%
# NBVAL_CHECK_OUTPUT
a = np.arange(12).reshape(3, 4)
print("a =\n", a)
print("np.mean(a, axis=0) =", np.mean(a, axis=0), "(one mean per column)")
print("np.mean(a, axis=1) =", np.mean(a, axis=1), "(one mean per row)")
img = np.zeros((1, 28, 28))
print("np.squeeze on shape", img.shape, "->", np.squeeze(img).shape)

# %% [markdown]
# ## Claim: "GPU training is much faster"
# CPUs are built for fast sequential work on a few cores; GPUs for thousands of simple operations in
# parallel — exactly what a matrix product is. Instead of repeating the claim we time the same matrix
# product on every device this machine has.

# %%
sizes = cfg.pick(smoke=[256, 512], cpu=[256, 512, 1024, 2048], gpu=[512, 1024, 2048, 4096])
devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
timing = {dev: [matmul_seconds(n, dev) for n in sizes] for dev in devices}
print(f"{'n':>6} " + " ".join(f"{dev + ' (ms)':>12}" for dev in devices) + "   GFLOP/s on cpu")
for i, n in enumerate(sizes):
    print(f"{n:>6} " + " ".join(f"{timing[dev][i] * 1e3:>12.2f}" for dev in devices) + f"   {2 * n**3 / timing['cpu'][i] / 1e9:>8.1f}")
res.metric("cpu_matmul_gflops", 2 * sizes[-1] ** 3 / timing["cpu"][-1] / 1e9)
if "cuda" in timing:
    speedup = timing["cpu"][-1] / timing["cuda"][-1]
    res.claim("GPU training is much faster than CPU", f"{sizes[-1]}x{sizes[-1]} matmul: GPU {speedup:.1f}x faster than CPU", cu.verdict(speedup > 2))
else:
    res.claim("GPU training is much faster than CPU", "no GPU on this machine: only the CPU row could be measured; "
              "rerun with a CUDA device (profile gpu) to fill in the GPU row", "inconclusive")

# %% [markdown]
# ## The data: Fashion-MNIST, in memory
# `load_dataset` looks for the files offline first (your `data_dir`, `$COURSE_DATA_DIR`, the project's
# `data/` folder, the Debian package `dataset-fashion-mnist`) and downloads only as a last resort. The
# whole dataset stays in memory as **uint8** tensors (60 000 images x 784 bytes = 47 MB); batches are
# converted to float and normalized only when they are used.

# %%
ds = cu.load_dataset(cfg.dataset, cfg.data_dir)
print(ds)
print("train images:", ds.train_x.dtype, tuple(ds.train_x.shape), f"{ds.train_x.numel() / 2**20:.1f} MiB")
counts = torch.bincount(ds.train_y, minlength=ds.num_classes)
print("images per class:", dict(zip(ds.classes, counts.tolist())))
show_images(ds.train_x[:16], ds.train_y[:16], ds.classes, title=f"{ds.name}: the first 16 training images");

# %% [markdown]
# ## First lesson in speed: the input pipeline
# The source notes feed the network like this: a torchvision dataset that turns **each image** into a
# PIL image, applies random crop and flip, converts it to a tensor and normalizes it, then a
# `DataLoader(batch_size=32, num_workers=2)` collates the images into batches in two worker processes.
#
# The course does the same work on **whole batches** of in-memory uint8 tensors: one indexing
# operation picks the batch, one crops every image at its own random offset, one flips a random half,
# one normalizes. Same model, same optimizer, same augmentation — only the pipeline differs. A third
# row separates the two causes: the per-image pipeline at the course's batch size.

# %%
def compare_pipelines(source_batch: int, workers: int, course_batch: int, images: int) -> dict[str, float]:
    """Training images/s of the source notes' pipeline vs the course's, on identical small CNNs."""
    runs = {
        f"source notes: per-image transforms, batch {source_batch}, {workers} workers": source_notes_loader(ds, source_batch, workers, seed=cfg.seed),
        f"per-image transforms, batch {course_batch}, {workers} workers": source_notes_loader(ds, course_batch, workers, seed=cfg.seed),
        f"course: in-memory batches, batch {course_batch}": ds.loader(ds.train_x, ds.train_y, course_batch, shuffle=True, augment=cu.Augment(crop_padding=2, flip=True), seed=cfg.seed),
    }
    speeds = {}
    for name, batches in runs.items():
        torch.manual_seed(cfg.seed)
        net = cu.build_model("small_cnn", ds.shape, ds.num_classes)
        speeds[name] = train_throughput(net, batches, images)["images_per_s"]
        print(f"{speeds[name]:>9.0f} images/s  {name}")
    return speeds


speeds = compare_pipelines(source_batch_size, source_workers, course_batch_size, speed_images)
source_speed, course_speed = list(speeds.values())[0], list(speeds.values())[-1]
ratio = course_speed / source_speed
print(f"\nthe course pipeline trains {ratio:.1f}x faster than the source notes' pipeline")
res.metric("source_pipeline_images_per_s", source_speed)
res.metric("course_pipeline_images_per_s", course_speed)
res.metric("pipeline_speedup", ratio)
res.claim("The in-memory batched pipeline trains the same model at least 5x faster than the per-image DataLoader (batch 32, 2 workers)",
          f"{course_speed:.0f} vs {source_speed:.0f} images/s: {ratio:.1f}x", cu.verdict(ratio >= 5))

# %% [markdown]
# Read the three rows: with a small batch, the per-image work (PIL conversion, transforms, collation)
# and the per-batch overhead of the optimizer step dominate; the model itself is tiny. Raising the
# batch size helps only a little while each image still takes the per-image path. Moving the whole
# pipeline to batched tensor operations removes that cost altogether. On a GPU the gap grows further,
# because the GPU would wait for the CPU-bound workers.

# %% [markdown]
# ### Try it
# Change the source pipeline's batch size and worker count, and the course pipeline's batch size, then
# press **Run** (each run trains for a few seconds).

# %%
speed_panel = Panel(
    lambda source_batch, workers, course_batch: compare_pipelines(source_batch, workers, course_batch, min(speed_images, 4096)),
    {
        "source_batch": slider("source batch size", source_batch_size, 8, 512, integer=True),
        "workers": slider("workers", source_workers, 0, 4, integer=True),
        "course_batch": slider("course batch size", course_batch_size, 32, 1024, integer=True),
    },
    live=False, title="Input pipeline speed",
)
speed_panel

# %% [markdown]
# ## A first real training run
# With a fast pipeline, a few epochs of the small CNN on the full training set take seconds per epoch.
# We keep 20% of the training set as a stratified validation split (notebook 02 explains why) and
# touch the test set once, at the end.

# %%
train_x, train_y, val_x, val_y = cu.train_val_split(ds.train_x, ds.train_y, 0.2, seed=cfg.seed)
if cfg.is_smoke:
    train_x, train_y = cu.stratified_subset(train_x, train_y, 4000, seed=cfg.seed)
train = ds.loader(train_x, train_y, course_batch_size, shuffle=True, augment=cu.Augment(crop_padding=2, flip=True), seed=cfg.seed, device=cfg.device)
val = ds.loader(val_x, val_y, 2048, device=cfg.device)
test = ds.loader(ds.test_x, ds.test_y, 2048, device=cfg.device)
torch.manual_seed(cfg.seed)
net = cu.build_model("small_cnn", ds.shape, ds.num_classes).to(cfg.device)
history = cu.fit(net, train, val, epochs=epochs, lr=2e-3)
test_metrics = cu.evaluate(net, test)
print(f"{cu.count_parameters(net)} parameters, {len(train_y)} training images, {epochs} epochs")
print(f"test accuracy {test_metrics['acc']:.4f}, test loss {test_metrics['loss']:.4f}")
res.metric("test_acc", test_metrics["acc"])
res.metric("epoch_seconds", float(np.mean(history["time"])))
plot_history(history, title="small CNN on " + ds.name);

# %% [markdown]
# ## Exercises
# **1.** A tensor `v = torch.tensor([3.0, -1.0], requires_grad=True)`; `loss = (v ** 3).sum()`;
# you call `loss.backward()` **twice** (keeping the graph). What is `v.grad`? Fill in `my_grad`.

# %%
my_grad = None  # your answer, e.g. [..., ...]

v = torch.tensor([3.0, -1.0], requires_grad=True)
cube = (v ** 3).sum()
cube.backward(retain_graph=True)
cube.backward()
check_close("exercise 1: v.grad after two backward calls", my_grad, v.grad,
                         hint="d/dv of v**3 is 3 v**2, and gradients accumulate");

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution: each backward adds 3 v**2 = [27, 3]; two calls give [54, 6].
my_grad = [54.0, 6.0]
check_close("exercise 1: v.grad after two backward calls", my_grad, v.grad);

# %% [markdown]
# **2.** The course pipeline normalizes a uint8 batch with the dataset's mean and std. Write
# `my_normalize(xb)` that returns float images with mean ~0 and std ~1 per channel (use `ds.mean`,
# `ds.std`; pixel values must be scaled to [0, 1] first).

# %%
def my_normalize(xb: torch.Tensor) -> torch.Tensor | None:
    return None  # your code


sample = ds.train_x[:512]
check_close("exercise 2: normalization", my_normalize(sample), normalize(sample, ds.mean, ds.std), rtol=1e-5, atol=1e-5,
                         hint="(x / 255 - mean) / std, with mean and std shaped (1, C, 1, 1)");

# %% tags=["solution"] jupyter={"source_hidden": true}
def my_normalize(xb: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(ds.mean).view(1, -1, 1, 1)
    std = torch.tensor(ds.std).view(1, -1, 1, 1)
    return (xb.float() / 255 - mean) / std


check_close("exercise 2: normalization", my_normalize(sample), normalize(sample, ds.mean, ds.std), rtol=1e-5, atol=1e-5);

# %% [markdown]
# ## Summary
# - `setup(...)` validates, seeds and picks the device; use `cfg.device`, never a hard-coded `"cuda"`.
# - Gradients accumulate; `retain_grad()`, `detach()` and `no_grad()` control what autograd keeps.
# - Claims get measured: the CPU/GPU row above is a measurement on *this* machine.
# - The input pipeline can matter more than the model: the numbers above compare both pipelines on the
#   same model, and the course's batched in-memory pipeline is what every later notebook uses.

# %%
res.metric("peak_rss_mib", peak_rss_mib())
print(f"peak memory of this kernel: {peak_rss_mib():.0f} MiB")
res.save();
