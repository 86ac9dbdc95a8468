# %% [markdown]
# # 03 · Weight decay and data augmentation
#
# Notebook 02 made a wide network overfit a small training set. This lecture tries the two oldest
# remedies on exactly that situation and *measures* whether they help.
#
# **You will learn to**
# - add **L2 regularization / weight decay** through the optimizer's `weight_decay`, sweep its
#   strength, and watch the weights shrink and the train/validation gap close;
# - tell **Adam's L2** (the penalty's gradient goes through Adam's scaling) from **AdamW's
#   decoupled decay** (weights shrink directly), and why the same number means different things;
# - **augment** images with flips and shifted crops, per image with `torchvision.transforms.v2`
#   and per batch with `course_utils.data.Augment`: check they produce the same kind of output and
#   measure how much faster the batched version is;
# - test the claim that *both* techniques reduce the gap between training and validation.
#
# **Prerequisites:** notebook 02 (overfitting, validation split).
#
# **Expected run time:** smoke profile ≈ 15 s, cpu profile ≈ 1–2 min on a 2-core laptop,
# gpu profile ≈ 1 min.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # seeds python, numpy and torch
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
train_size: int | None = None  # training examples (a stratified subset, small so the model overfits); None = profile default
width: int | None = None  # units in each of the MLP's two hidden layers; None = profile default
epochs: int | None = None  # epochs per training run; None = profile default
lr: float = 1e-3  # learning rate of Adam / AdamW
batch_size: int = 64  # training mini-batch size
weight_decay: float = 1e-2  # Adam's L2 strength used for the "both reduce the gap" claim (>= 0)
crop_padding: int = 2  # augmentation: zero padding before the random crop = largest shift in pixels (>= 0)
flip: bool = True  # augmentation: random horizontal flips
speed_images: int | None = None  # images used to time the two augmentation pipelines; None = profile default

# %%
import time

import matplotlib.pyplot as plt
import torch
from torch.utils.data import DataLoader
from torchvision.transforms import v2

from course_utils import setup
from course_utils.config import describe_parameters
from course_utils.data import Augment, load_dataset, normalize, stratified_subset, torchvision_dataset, train_val_split
from course_utils.exercises import check_close
from course_utils.models import build_model
from course_utils.plots import plot_curves, plot_history, show_images
from course_utils.regularization import (
    check_subset_size, check_training, check_weight_decay, crop_shifts, generalization_gap, images_per_second,
    is_flip_or_same, is_shifted_crop, make_optimizer, weight_norm,
)
from course_utils.results import Results, verdict
from course_utils.train import fit
from course_utils.validation import check_number, check_type
from course_utils.widgets import checkbox, dropdown, panel, slider

cfg = setup(profile, dataset, seed, results_path, data_dir)
train_size = cfg.default(train_size, smoke=300, cpu=1000, gpu=2000)
width = cfg.default(width, smoke=64, cpu=256, gpu=512)
epochs = cfg.default(epochs, smoke=2, cpu=20, gpu=40)
speed_images = cfg.default(speed_images, smoke=256, cpu=2000, gpu=5000)
val_size = cfg.pick(smoke=1000, cpu=5000, gpu=12000)
# The sweep; 0 = no decay (Adam and AdamW then coincide).
WEIGHT_DECAYS = cfg.pick(smoke=(0.0, 1e-2, 1.0), cpu=(0.0, 1e-3, 1e-2, 1e-1, 1.0), gpu=(0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0))

# Every hyperparameter is checked before any training.
check_training(width=width, epochs=epochs, lr=lr, batch_size=batch_size)
check_weight_decay("weight_decay", weight_decay)
check_type("flip", flip, bool, "True or False")
ds = load_dataset(cfg.dataset, cfg.data_dir)
check_number("crop_padding", crop_padding, low=0, high=min(ds.shape[1:]) // 2, integer=True,
             hint="the padding is the largest shift; more than half the image leaves little of it")
tr_x, tr_y, va_x, va_y = train_val_split(ds.train_x, ds.train_y, 0.2, seed=cfg.seed)
check_subset_size("train_size", train_size, len(tr_y), minimum=ds.num_classes)
check_subset_size("speed_images", speed_images, len(tr_y))
print(describe_parameters(train_size=train_size, width=width, epochs=epochs, lr=lr, batch_size=batch_size,
                          weight_decay=weight_decay, crop_padding=crop_padding, flip=flip, speed_images=speed_images))
res = Results("03_weight_decay_and_augmentation", cfg.results_path, cfg.profile)

# %% [markdown]
# ## 1. The overfitting setup
#
# As in notebook 02: a stratified 8:2 split of the training data, a small stratified training
# subset, a wide MLP, and every run starting from the same initial weights (`torch.manual_seed`
# before building each model). To measure the **gap** fairly, the final model is evaluated on the
# *un-augmented* training subset and on the validation sample, both in `eval()` mode:
# `gap_acc = train accuracy − validation accuracy` and `gap_loss = validation loss − training loss`.

# %%
sub_x, sub_y = stratified_subset(tr_x, tr_y, train_size, seed=cfg.seed, name="train_size")
val_x, val_y = stratified_subset(va_x, va_y, val_size, seed=cfg.seed, name="val_size")
eval_train = ds.loader(sub_x, sub_y, 2048, device=cfg.device)
eval_val = ds.loader(val_x, val_y, 2048, device=cfg.device)


def train_setting(optimizer: str = "adam", wd: float = 0.0, augment: Augment | None = None,
                  n_epochs: int = epochs, x: torch.Tensor = sub_x, y: torch.Tensor = sub_y) -> dict:
    """Train a fresh MLP with one regularization setting; return its history, gap and weight norm."""
    torch.manual_seed(cfg.seed)
    net = build_model("mlp", ds.shape, ds.num_classes, hidden=(width, width)).to(cfg.device)
    start = time.perf_counter()
    history = fit(net, ds.loader(x, y, batch_size, shuffle=True, seed=cfg.seed, augment=augment, device=cfg.device),
                  eval_val, epochs=n_epochs, optimizer=make_optimizer(optimizer, net.parameters(), lr, wd), progress=False)
    train_loader = eval_train if x is sub_x else ds.loader(x, y, 2048, device=cfg.device)
    return {"history": history, "norm": weight_norm(net), "seconds": time.perf_counter() - start,
            **generalization_gap(net, train_loader, eval_val)}


def show_row(name: str, r: dict) -> None:
    print(f"{name:<27} {r['norm']:>11.2f} {r['train_acc']:>9.3f} {r['val_acc']:>7.3f} {r['gap_acc']:>7.3f} "
          f"{r['train_loss']:>10.4f} {r['val_loss']:>8.4f} {r['gap_loss']:>8.4f}")


HEADER = f"{'setting':<27} {'weight norm':>11} {'train acc':>9} {'val acc':>7} {'gap acc':>7} {'train loss':>10} {'val loss':>8} {'gap loss':>8}"

# %% [markdown]
# ## 2. Weight decay: L2 in Adam vs AdamW's decoupled decay
#
# **L2 regularization** adds `λ/2 · ‖w‖²` to the loss, so every gradient gets an extra `λ·w`
# that pulls each weight toward zero. Geometrically: the optimum of the penalized loss lies where
# the pull of the data and the pull toward the origin balance — inside a region around zero,
# away from the unconstrained training optimum. Larger `λ` = smaller region = stronger penalty.
# In PyTorch it is the optimizer's `weight_decay` (the source notes use
# `Adam(lr=1e-3, weight_decay=1e-3)`).
#
# With plain SGD, "add `λ·w` to the gradient" and "shrink the weights by `lr·λ` each step" are the
# same thing. With **Adam** they are not: Adam divides the whole gradient — penalty included — by
# the running size of the gradient, so the pull toward zero is rescaled per weight.
# **AdamW** (Loshchilov & Hutter) *decouples* the decay: `w ← w − lr·λ·w` directly, then the
# ordinary Adam step on the data gradient. A one-step experiment with **no data gradient at all**
# shows the difference:

# %%
# NBVAL_CHECK_OUTPUT
def one_step(cls, wd: float, step_lr: float = 0.01) -> torch.Tensor:
    """Weights after one optimizer step when the data gradient is exactly zero."""
    w = torch.nn.Parameter(torch.tensor([2.0, 0.5, -0.1]))
    opt = cls([w], lr=step_lr, weight_decay=wd)
    w.grad = torch.zeros_like(w)
    opt.step()
    return w.detach()


print("start                 :", [2.0, 0.5, -0.1])
for wd in (0.01, 1.0):
    print(f"Adam  (L2),  wd={wd:<4}:", [round(v, 5) for v in one_step(torch.optim.Adam, wd).tolist()])
    print(f"AdamW (decay), wd={wd:<4}:", [round(v, 5) for v in one_step(torch.optim.AdamW, wd).tolist()])

# %% [markdown]
# With Adam's L2 every weight moved by about the learning rate (0.01) toward zero — *whatever*
# its size and *whatever* `λ`: Adam normalized the penalty's gradient away. With AdamW each weight
# was multiplied by `1 − lr·λ`: big weights shrink more, and `λ` sets the strength directly.
# Over many steps with real data gradients the two behave differently again, so the same
# `weight_decay` number means a much stronger regularizer in Adam than in AdamW at these learning
# rates. The sweep below measures it: for every strength, the final weight norm (L2 norm of all
# weight matrices) and the train/validation gap.

# %%
runs: dict[tuple[str, float], dict] = {}
sweep_start = time.perf_counter()
for wd in WEIGHT_DECAYS:
    runs[("adam", wd)] = train_setting("adam", wd)
    runs[("adamw", wd)] = runs[("adam", wd)] if wd == 0 else train_setting("adamw", wd)
sweep_seconds = time.perf_counter() - sweep_start
print(f"{len(WEIGHT_DECAYS) * 2 - 1} runs of {epochs} epochs on {train_size} images in {sweep_seconds:.1f} s\n")
print(HEADER)
for (kind, wd), r in runs.items():
    if kind == "adamw" and wd == 0:
        continue  # identical to Adam without decay
    show_row(f"{'Adam (L2)' if kind == 'adam' else 'AdamW (decoupled)'} wd={wd:g}", r)

fig, axes = plt.subplots(1, 3, figsize=(14, 3.5))
xs = [max(wd, 1e-4) for wd in WEIGHT_DECAYS]  # 0 drawn at 1e-4 on the log axis
for ax, key, label in zip(axes, ("norm", "gap_acc", "val_acc"), ("weight norm", "train acc − val acc", "validation accuracy")):
    plot_curves({name: [runs[(kind, wd)][key] for wd in WEIGHT_DECAYS] for kind, name in (("adam", "Adam (L2)"), ("adamw", "AdamW"))},
                x=xs, xlabel="weight_decay (0 drawn at 1e-4)", ylabel=label, logx=True, ax=ax, marker="o-")
fig.suptitle(f"Weight-decay sweep: MLP {width}x{width}, {train_size} training images, {epochs} epochs")
fig.tight_layout()

# %% [markdown]
# **Reading the sweep** (numbers in the table above). With Adam's L2, as `weight_decay` grows
# the weight norm falls and the gap between training and validation closes: the penalty stops the network from
# fitting its training set as tightly. Past some strength the model also stops fitting the
# *signal*: training and validation accuracy fall together (underfitting). For the same number,
# Adam's L2 acts far more strongly than AdamW's decoupled decay here, because AdamW shrinks by
# only `lr·λ` per step; AdamW's useful values are correspondingly larger. Whether a setting helps
# the *validation accuracy* (not just the gap) is a separate question — compare the last plot.
#
# ## 3. Data augmentation: per image (torchvision) vs per batch (course_utils)
#
# When collecting more data is hard, we can create plausible new training images from the ones we
# have: statistical methods, generative models, or — cheapest — simple transforms such as a
# **horizontal flip** and a **random crop** after padding (= a small shift). A new random version
# of each image is drawn every epoch, so the network never sees exactly the same image twice.
#
# The usual way is `torchvision.transforms` (here the current `v2` API), applied **to one image
# at a time** inside the dataset. `course_utils.data.Augment` does the same on a **whole uint8
# batch at once**, with one tensor operation per step. First, do they produce the same kind of
# output?

# %%
tv_pipeline = v2.Compose([
    v2.ToImage(),  # PIL image -> uint8 tensor (C, H, W)
    v2.RandomCrop(ds.shape[1:], padding=crop_padding),
    v2.RandomHorizontalFlip(p=0.5 if flip else 0.0),
])
batched = Augment(crop_padding=crop_padding, flip=flip)
tv_train = torchvision_dataset(cfg.dataset, train=True, transform=tv_pipeline, data_dir=cfg.data_dir)
torch.manual_seed(cfg.seed)
tv_x = torch.stack([tv_train[i][0] for i in range(16)])
course_x = batched(ds.train_x[:16], torch.Generator().manual_seed(cfg.seed))
for name, out in (("torchvision v2, per image", tv_x), ("course_utils Augment, batch", course_x)):
    print(f"{name:<28} shape {tuple(out.shape)}, dtype {out.dtype}, values in [{int(out.min())}, {int(out.max())}]")

# %% [markdown]
# Both give uint8 images of the original shape with values in 0–255. Now the stronger check:
# is each crop really a **shifted copy** of its (zero-padded) original, and is each flip really a
# **mirror image**? `crop_shifts` finds, for every output, the offset of the window of the padded
# original it equals. (We check crop and flip separately, with a fixed padding of 2, so the result
# is the same under every profile.)
#
# One pitfall shows up on the way: a `v2` transform applied to a **batch** tensor draws *one*
# random crop for the whole batch — every image gets the same shift. It must be called per image
# (which is what a torchvision dataset does); `Augment` draws an independent shift per image.

# %%
# NBVAL_CHECK_OUTPUT
x16 = ds.train_x[:16]
torch.manual_seed(0)
tv_crop = torch.stack([v2.RandomCrop(ds.shape[1:], padding=2)(img) for img in x16])
tv_flip = torch.stack([v2.RandomHorizontalFlip()(img) for img in x16])
tv_batch_crop = v2.RandomCrop(ds.shape[1:], padding=2)(x16)  # the whole batch in one call
gen = torch.Generator().manual_seed(0)
aug_crop, aug_flip = Augment(crop_padding=2)(x16, gen), Augment(flip=True)(x16, gen)
print("v2 per image : every crop is a shifted copy:", is_shifted_crop(tv_crop, x16, 2),
      "| every flip is a mirror or the original:", is_flip_or_same(tv_flip, x16))
print("Augment batch: every crop is a shifted copy:", is_shifted_crop(aug_crop, x16, 2),
      "| every flip is a mirror or the original:", is_flip_or_same(aug_flip, x16))
print("distinct shifts among 16 images: v2 per image", len(set(crop_shifts(tv_crop, x16, 2))),
      "| v2 on the batch tensor", len(set(crop_shifts(tv_batch_crop, x16, 2))),
      "| Augment", len(set(crop_shifts(aug_crop, x16, 2))))
print("flipped images: v2", sum(not torch.equal(o, s) for o, s in zip(tv_flip, x16)), "of 16 | Augment",
      sum(not torch.equal(o, s) for o, s in zip(aug_flip, x16)), "of 16")

# %% [markdown]
# After augmentation both pipelines normalize with the dataset's **per-channel mean and std**
# (`v2.Normalize` after scaling to [0, 1], or `course_utils.data.normalize` on the whole batch) —
# the same numbers:

# %%
# NBVAL_CHECK_OUTPUT
tv_norm = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(ds.mean, ds.std)])
same = torch.allclose(torch.stack([tv_norm(img) for img in x16]), normalize(x16, ds.mean, ds.std), atol=1e-5)
print(f"mean {tuple(round(m, 4) for m in ds.mean)}, std {tuple(round(s, 4) for s in ds.std)}; v2.Normalize == normalize: {same}")

# %% [markdown]
# A gallery: the first row shows originals, the next rows three random augmentations of each
# (batched `Augment`, then per-image `v2`), with the notebook's `crop_padding` and `flip`.

# %%
originals = ds.train_x[:8]
gen = torch.Generator().manual_seed(cfg.seed)
rows = [originals] + [batched(originals, gen) for _ in range(3)] + [torch.stack([tv_pipeline(v2.functional.to_pil_image(img)) for img in originals])]
show_images(torch.cat(rows), torch.cat([ds.train_y[:8]] * len(rows)), ds.classes, n=8 * len(rows), cols=8,
            title=f"row 1: originals; rows 2-4: Augment(crop_padding={crop_padding}, flip={flip}); row 5: torchvision v2");

# %% [markdown]
# **Speed.** The per-image route pays Python overhead and a PIL → tensor conversion for every
# image; the batched route does a handful of tensor operations per batch. We time both producing
# augmented uint8 batches of 256 from the same images (the torchvision route through a
# `DataLoader` with `num_workers=0`, as inside a notebook).

# %%
speed_loader = DataLoader(torch.utils.data.Subset(tv_train, range(speed_images)), batch_size=256, shuffle=False, num_workers=0)
speed_x = ds.train_x[:speed_images]


def run_torchvision() -> int:
    return sum(len(xb) for xb, _ in speed_loader)


def run_batched() -> int:
    g = torch.Generator().manual_seed(cfg.seed)
    return sum(len(batched(xb, g)) for xb in speed_x.split(256))


tv_speed = images_per_second(run_torchvision, repeats=2)
batch_speed = images_per_second(run_batched, repeats=3)
speedup = batch_speed / tv_speed
print(f"torchvision v2, per image : {tv_speed:>12,.0f} images/s")
print(f"course_utils Augment batch: {batch_speed:>12,.0f} images/s")
print(f"batched augmentation is {speedup:.0f}x faster on {speed_images} images")

# %% [markdown]
# The ratio is what matters (absolute numbers depend on the machine). On a small CPU the
# per-image pipeline can become the bottleneck of training a small model; extra `DataLoader`
# workers help but cost cores the model could use.
#
# ## 4. Claim: both weight decay and augmentation reduce the train/validation gap
#
# Same setup, four runs: nothing, weight decay only (Adam's L2 with the notebook's
# `weight_decay`), augmentation only (the notebook's `crop_padding` and `flip`), and both.

# %%
aug = Augment(crop_padding=crop_padding, flip=flip)
claim_runs = {
    "none": runs[("adam", 0.0)],
    f"weight decay {weight_decay:g}": runs.get(("adam", weight_decay)) or train_setting("adam", weight_decay),
    "augmentation": train_setting("adam", 0.0, aug),
    "both": train_setting("adam", weight_decay, aug),
}
print(HEADER)
for name, r in claim_runs.items():
    show_row(name, r)
base, wd_run, aug_run, both_run = claim_runs.values()
fig, axes = plt.subplots(1, 4, figsize=(16, 3.2), sharey=True)
for ax, (name, r) in zip(axes, claim_runs.items()):
    h = r["history"]
    ax.plot(h["epoch"], h["train_loss"], "o-", label="train (as trained)")
    ax.plot(h["epoch"], h["val_loss"], "s-", label="validation")
    ax.set(title=name, xlabel="epoch")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("loss")
axes[0].legend()
fig.tight_layout()

# %%
wd_helps = wd_run["gap_acc"] < base["gap_acc"] and wd_run["gap_loss"] < base["gap_loss"]
aug_helps = aug_run["gap_acc"] < base["gap_acc"] and aug_run["gap_loss"] < base["gap_loss"]
res.claim(
    "Both weight decay and data augmentation reduce the gap between training and validation",
    f"accuracy gap {base['gap_acc']:.3f} without, {wd_run['gap_acc']:.3f} with weight decay {weight_decay:g}, "
    f"{aug_run['gap_acc']:.3f} with augmentation, {both_run['gap_acc']:.3f} with both; loss gap {base['gap_loss']:.3f} / "
    f"{wd_run['gap_loss']:.3f} / {aug_run['gap_loss']:.3f} / {both_run['gap_loss']:.3f}",
    verdict(wd_helps and aug_helps) if wd_helps == aug_helps else "partly confirmed",
)
norms = {kind: [runs[(kind, wd)]["norm"] for wd in WEIGHT_DECAYS] for kind in ("adam", "adamw")}
res.claim(
    "Larger weight decay means a stronger penalty (smaller weights)",
    "weight norm for weight_decay " + ", ".join(f"{wd:g}" for wd in WEIGHT_DECAYS) + ": Adam (L2) "
    + ", ".join(f"{n:.2f}" for n in norms["adam"]) + "; AdamW " + ", ".join(f"{n:.2f}" for n in norms["adamw"]),
    verdict(all(a > b for ns in norms.values() for a, b in zip(ns, ns[1:]))),
)
best_val = max(claim_runs, key=lambda k: claim_runs[k]["val_acc"])
best_loss = min(claim_runs, key=lambda k: claim_runs[k]["val_loss"])
print(f"highest validation accuracy of the four: {best_val} ({claim_runs[best_val]['val_acc']:.3f}, "
      f"vs {base['val_acc']:.3f} without regularization)")
print(f"lowest final validation loss of the four: {best_loss} ({claim_runs[best_loss]['val_loss']:.4f}, "
      f"vs {base['val_loss']:.4f} without regularization)")

# %% [markdown]
# **What this shows.** A smaller gap means the model's training performance is a better guide to
# its performance on new data — the point of the claim, measured in the verdict above. A smaller
# gap is *not* automatically a better model: a regularizer can close the gap by making the
# training fit worse without improving validation accuracy. The last two printed lines say which
# setting won on validation accuracy and which on validation loss here; they need not agree, since
# an unregularized model can stay right as often while becoming over-confident (higher loss) on
# the images it gets wrong. Augmentation in particular makes each epoch harder, so
# it usually needs more epochs than this short budget to pay off in accuracy; the gpu profile
# trains longer.
#
# ## 5. Try it: weight decay and augmentation strength
#
# Pick a weight decay and an augmentation strength (the crop padding is the largest shift in
# pixels) and press **Run**: a fresh model trains on a smaller subset for a few epochs, and the
# curves, weight norm and gap appear.

# %%
demo_x, demo_y = stratified_subset(tr_x, tr_y, cfg.pick(200, 500, 1000), seed=cfg.seed, name="demo size")


def regularization_demo(weight_decay: float = 0.0, crop_padding: int = 0, flip: bool = False,
                        optimizer: str = "adam", demo_epochs: int = cfg.pick(2, 10, 20)) -> dict:
    """Train one setting on the demo subset; plot its curves and print its weight norm and gap."""
    check_weight_decay("weight_decay", weight_decay)
    check_number("crop_padding", crop_padding, low=0, high=min(ds.shape[1:]) // 2, integer=True)
    augment = Augment(crop_padding, flip) if (crop_padding or flip) else None
    r = train_setting(optimizer, weight_decay, augment, n_epochs=demo_epochs, x=demo_x, y=demo_y)
    plot_history(r["history"], title=f"{optimizer} wd={weight_decay:g}, crop_padding={crop_padding}, flip={flip}")
    print(f"weight norm {r['norm']:.2f}; train acc {r['train_acc']:.3f}, val acc {r['val_acc']:.3f}, "
          f"gap {r['gap_acc']:+.3f} (un-augmented training data, eval mode)")
    return r


demo = regularization_demo(weight_decay=1e-2, crop_padding=2, flip=True)

# %%
try_it = panel(
    regularization_demo, live=False, title="Weight decay and augmentation",
    weight_decay=dropdown("weight_decay", [0.0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 1.0], 1e-2),
    crop_padding=slider("crop padding (max shift, px)", 2, 0, 6, 1, integer=True),
    flip=checkbox("horizontal flip", True),
    optimizer=dropdown("optimizer", ["adam", "adamw"]),
)
try_it

# %% [markdown]
# ## 6. Exercises
#
# **Exercise 1.** Compute the weight norm used above by hand: the square root of the sum of the
# squares of every parameter with more than one dimension (weight matrices, not biases).

# %%
def my_weight_norm(net: torch.nn.Module) -> float | None:
    # YOUR CODE HERE
    return None


torch.manual_seed(cfg.seed)
probe = build_model("mlp", ds.shape, ds.num_classes, hidden=(32, 16))
check_close("my_weight_norm", my_weight_norm(probe), weight_norm(probe), rtol=1e-5,
            hint="sum p.pow(2).sum() over parameters with p.ndim > 1, then take the square root");

# %% tags=["solution"] jupyter={"source_hidden": true}
def my_weight_norm(net: torch.nn.Module) -> float | None:
    return sum(float(p.detach().pow(2).sum()) for p in net.parameters() if p.ndim > 1) ** 0.5


check_close("my_weight_norm", my_weight_norm(probe), weight_norm(probe), rtol=1e-5,
            hint="sum p.pow(2).sum() over parameters with p.ndim > 1, then take the square root");

# %% [markdown]
# **Exercise 2.** When the data gradient is zero, one AdamW step multiplies every weight by a
# factor. Write `adamw_decay_factor(lr, wd)` returning it; the self-check runs
# `torch.optim.AdamW` for one step and compares.

# %%
def adamw_decay_factor(step_lr: float, wd: float) -> float | None:
    # YOUR CODE HERE
    return None


def check_decay_factor(fn) -> bool:
    answers = [fn(a, b) for a, b in ((0.01, 0.1), (0.001, 1.0), (0.1, 0.5))]
    measured = [float(one_step(torch.optim.AdamW, b, a)[0] / 2.0) for a, b in ((0.01, 0.1), (0.001, 1.0), (0.1, 0.5))]
    return check_close("adamw_decay_factor", None if None in answers else answers, measured, rtol=1e-6,
                       hint="decoupled decay subtracts lr * wd * w from w")


check_decay_factor(adamw_decay_factor);

# %% tags=["solution"] jupyter={"source_hidden": true}
def adamw_decay_factor(step_lr: float, wd: float) -> float | None:
    return 1 - step_lr * wd


check_decay_factor(adamw_decay_factor);

# %% [markdown]
# ## Summary
#
# - **Weight decay** penalizes large weights; the optimizer's `weight_decay` sets the strength.
#   In Adam it is an L2 term whose gradient Adam rescales; **AdamW** decouples it into a direct
#   shrink by `lr·λ` per step, so the same number is a much weaker setting there.
# - **Augmentation** shows the model a new random version of every image each epoch. Flip and
#   shifted crop can be done per image (`torchvision.transforms.v2`) or, much faster, per batch on
#   uint8 tensors (`course_utils.data.Augment`) — the outputs are the same kind.
# - Both reduced the train/validation gap in the overfitting regime here (see the verdicts); how
#   much they help validation *accuracy* depends on the strength and the training budget.

# %%
for wd in WEIGHT_DECAYS:
    res.metric(f"adam_wd{wd:g}_gap_acc", runs[("adam", wd)]["gap_acc"])
    res.metric(f"adam_wd{wd:g}_weight_norm", runs[("adam", wd)]["norm"])
    res.metric(f"adamw_wd{wd:g}_gap_acc", runs[("adamw", wd)]["gap_acc"])
    res.metric(f"adamw_wd{wd:g}_weight_norm", runs[("adamw", wd)]["norm"])
for name, key in (("none", base), ("weight_decay", wd_run), ("augmentation", aug_run), ("both", both_run)):
    res.metric(f"{name}_val_acc", key["val_acc"])
    res.metric(f"{name}_gap_acc", key["gap_acc"])
res.metric("augment_speedup", speedup)
res.metric("torchvision_images_per_s", tv_speed)
res.metric("batched_images_per_s", batch_speed)
res.metric("sweep_seconds", sweep_seconds)
res.save();
