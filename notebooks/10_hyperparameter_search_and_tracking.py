# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 10 · Hyperparameter search with Optuna, TensorBoard tracking, notebooks vs scripts
#
# Every notebook so far fixed its learning rate, weight decay, dropout and batch size by hand. This
# one lets a program choose them: it gives **ranges**, runs **trials**, and keeps the best
# configuration found on the **validation** split; then it asks whether that was worth it.
#
# **You will learn to**
# - write an Optuna **objective** (`trial.suggest_*`), run a **study**, and stop bad trials early
#   with a **MedianPruner** fed the per-epoch validation loss (`trial.report`,
#   `trial.should_prune`);
# - compare **TPE**, **random search** and a **grid** at the same number of trials, over paired
#   seeds, and place them among successive halving, Hyperband and Bayesian optimization with
#   Gaussian
#   processes;
# - see why a search's best validation score is optimistic (many trials overfit the validation set),
#   and count a search's compute, not only its pick's epochs;
# - read Optuna's plots (optimization history, parameter importances);
# - log every trial to **TensorBoard** (`SummaryWriter`), read the event files back and plot them;
# - turn the notebook's training into a **script** with `argparse`
#   (`python -m course_utils.train_script`), and know when each fits;
# - run a notebook as a resumable **sweep** on one machine or many (`python -m course_utils sweep`).
#
# **Prerequisites:** notebooks 02 (validation split), 03 (weight decay), 04 (dropout) and 07
# (label smoothing).
#
# **Run time** measured on a 2-core AMD EPYC (AVX-512 with bfloat16, no AMX), quiet:
# `smoke` ≈ 19 s, `cpu` ≈ 1.2 min (70 s; the committed run took 103 s); with AVX2 only
# (simulated: `ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2`):
# `cpu` ≈ 1.2 min (70 s). `gpu` (an estimate) a few minutes.

# %% tags=["parameters"]
profile: str = "auto"  # smoke | cpu | gpu | auto ($COURSE_PROFILE, else gpu with CUDA, else cpu)
dataset: str = "fashion_mnist"  # fashion_mnist | mnist | cifar10
seed: int = 0  # first of the paired seeds
seeds: int | None = None  # paired replicates per compared setting; None = profile default
data_dir: str | None = None  # folder with the dataset files; None = offline-first search
results_path: str | None = None  # JSON file for metrics and tested claims; None = don't save
trials: int | None = None  # trials per search, the same for every sampler; None = profile default
epochs: int | None = None  # training epochs per trial (pruning may stop it earlier); None = profile
train_size: int | None = None  # training images per seed (stratified); None = profile default
val_size: int | None = (
    None  # validation images per seed, the only data a search sees; None = profile
)
test_size: int | None = None  # test images per seed, for the chosen models only; None = profile
model_name: str | None = None  # mlp | small_cnn; None = profile default (mlp on cpu)
logdir: str | None = None  # TensorBoard run folder; None = a new temporary folder

# %%
import copy
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import optuna
import torch
import torch.nn.functional as F
from optuna.trial import TrialState
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter

import course_utils as cu
from course_utils.train import Callback

# %%
cfg = cu.setup(
    globals(),
    threads=1,  # a small MLP trains fastest on one thread (and a shared machine thanks you)
    seeds=cu.integer(1, 20, smoke=1, cpu=5, gpu=5),
    trials=cu.integer(4, 500, smoke=4, cpu=20, gpu=40),
    epochs=cu.integer(2, 200, smoke=2, cpu=3, gpu=10),
    train_size=cu.integer(100, 50000, smoke=300, cpu=1500, gpu=20000),
    val_size=cu.integer(100, 10000, smoke=200, cpu=1000, gpu=5000),
    test_size=cu.integer(100, 10000, smoke=300, cpu=2000, gpu=10000),
    model_name=cu.choice("mlp", "small_cnn", smoke="mlp", cpu="mlp", gpu="small_cnn"),
)
res = cu.Results("10_hyperparameter_search_and_tracking", results_path, cfg.profile)
logdir = logdir or tempfile.mkdtemp(prefix="course-10-tensorboard-")  # never the repo's files
optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
seed_list = cfg.seed_list(seeds)
print("TensorBoard run folder:", logdir)

# %% [markdown]
# ## 1. Data: one subset per seed
#
# Each seed draws its own stratified training, validation and test subsets (the small sizes keep
# each trial short on a CPU; a search runs many). Within a seed, every configuration and every
# search sees exactly the same images, so the comparisons below are **paired**. The model
# is the course's MLP on the smoke and cpu profiles: a search trains hundreds of models, and the
# small CNN of notebook 04 (the gpu profile's choice, `-p model_name small_cnn`) would not fit the
# 3-minute budget of a laptop CPU.

# %%
ds = cu.load_dataset(cfg.dataset, cfg.data_dir)


def seed_data(s: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    train_x, train_y, val_x, val_y = cu.paired_split(ds, train_size, val_size, s)
    test_x, test_y = cu.stratified_subset(ds.test_x, ds.test_y, test_size, seed=s, name="test_size")
    return {"train": (train_x, train_y), "val": (val_x, val_y), "test": (test_x, test_y)}


data = {s: seed_data(s) for s in seed_list}
print(
    f"{model_name} on {cfg.dataset}: {train_size} train, {val_size} validation, "
    f"{test_size} test images per seed; seeds {seed_list}"
)

# %% [markdown]
# ## 2. One configuration, one training run
#
# The knobs searched here are the ones the earlier notebooks set by hand: the learning rate $\eta$
# of AdamW, its decoupled weight decay $\lambda$ (notebook 03), the dropout rate $p$ (04), the label
# smoothing $\alpha$ (07; PyTorch's form, $(1-\alpha)\,\text{one-hot} + \alpha/K$) and the batch
# size $B$. `DEFAULTS` is what a careful person would type without searching.
#
# The callback is the bridge to the tools of this notebook: after every epoch it writes the scalars
# to TensorBoard and **reports** the validation loss to the Optuna trial, which may answer "prune".

# %%
DEFAULTS = {"lr": 1e-3, "weight_decay": 0.0, "dropout": 0.0, "smoothing": 0.0, "batch_size": 128}


class ReportAndLog(Callback):
    """Per epoch: scalars to TensorBoard; validation loss to the trial, which may prune it."""

    def __init__(self, trial=None, writer: SummaryWriter | None = None) -> None:
        self.trial, self.writer, self.last = trial, writer, {}

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model) -> bool:
        self.last = logs
        if self.writer is not None:
            for tag, key in [
                ("loss/train", "train_loss"),
                ("loss/val", "val_loss"),
                ("accuracy/val", "val_acc"),
                ("lr", "lr"),
            ]:
                self.writer.add_scalar(tag, logs[key], epoch)
        if self.trial is not None:
            self.trial.set_user_attr("epochs_run", epoch)
            self.trial.set_user_attr("last_val_loss", logs["val_loss"])
            self.trial.report(logs["val_loss"], epoch)
            if self.trial.should_prune():
                raise optuna.TrialPruned(f"epoch {epoch}: validation loss above the median")
        return False


# %%
def train_config(hp: dict, s: int, trial=None, writer=None):
    """Train the model with hyperparameters ``hp`` on seed ``s``'s data; returns (net, history)."""
    train = ds.loader(*data[s]["train"], hp["batch_size"], shuffle=True, seed=s, device=cfg.device)
    val = ds.loader(*data[s]["val"], 1000, device=cfg.device)
    torch.manual_seed(s)  # the same initial weights for every configuration of this seed
    net = cu.build_model(model_name, ds.shape, ds.num_classes, dropout=hp["dropout"]).to(cfg.device)
    opt = torch.optim.AdamW(net.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
    smoothing = hp["smoothing"]
    history = cu.fit(
        net,
        train,
        val,
        epochs=epochs,
        optimizer=opt,
        progress=False,
        loss_fn=lambda logits, t: F.cross_entropy(logits, t, label_smoothing=smoothing),
        callbacks=[ReportAndLog(trial, writer)],
    )
    return net, history


def test_scores(net, s: int) -> dict[str, float]:
    """Test loss (plain cross-entropy, like ``val_loss``) and accuracy on seed ``s``'s test images."""
    return cu.evaluate(net, ds.loader(*data[s]["test"], 1000, device=cfg.device))


# %% [markdown]
# ## 3. The objective, the samplers, the pruner
#
# An Optuna **objective** takes a `trial`, asks it for values (`suggest_float(..., log=True)`
# samples uniformly in $\log\eta$, the right scale for rates that matter by factors of ten) and
# returns the
# number to minimize: here the final **validation** loss. The test images are used only to score
# the configuration a search finally picks: the objective keeps the weights of the best trial so
# far, and after the search those weights, and no other trial's, are scored on the test images.
#
# - **Random search** draws every trial independently. Bergstra & Bengio (2012) showed it beats a
#   grid when only a few of the knobs matter: a grid of $n$ points per axis tries only $n$ values of
#   the one knob that matters, random search tries a new value every trial.
# - **TPE** (tree-structured Parzen estimator; Bergstra et al., 2011) starts randomly, then models
#   the densities $\ell(x)$ of good and $g(x)$ of bad trials and proposes the $x$ that maximizes
#   $\ell(x)/g(x)$.
# - **A grid** (`GridSampler`) tries combinations of listed values. It varies the same five knobs
#   as the other searches, so with the same number of trials the lattice must be coarse: the
#   learning rate at a few values, every other knob at two; when the lattice has more points than
#   there are trials, Optuna visits a random (seeded) subset of them.
# - **MedianPruner** stops a trial at epoch $t$ when its best validation loss so far is worse than
#   the median of the earlier trials' losses at epoch $t$: the *median stopping rule* of Google's
#   Vizier service (Golovin et al., 2017). Optuna itself is described in Akiba et al. (2019).
#
# Two families of methods go further than these, and Optuna has both. **Successive halving**
# (Jamieson & Talwalkar, 2016) starts many configurations on a small budget (a few epochs), keeps
# the best fraction (say a third), gives the survivors three times the budget, and repeats until
# one is left: most of the compute goes to the promising configurations. Its weakness is the
# first cut, made after very little training; **Hyperband** (Li et al., 2018) runs successive
# halving several times, from aggressive (many configurations, tiny first budget) to cautious (few
# configurations, full budget), and so does not need to know how early a cut is safe. In Optuna
# they are the pruners `SuccessiveHalvingPruner` and `HyperbandPruner`, drop-in replacements for
# the `MedianPruner` below. **Bayesian optimization** fits a probabilistic *surrogate* of the
# objective to the trials so far and proposes the point where an *acquisition function* (e.g. the
# expected improvement over the best value) is highest. The classic surrogate is a **Gaussian
# process** (Snoek et al., 2012); TPE is Bayesian optimization with density models instead of a
# Gaussian process, which copes better with categorical and conditional knobs and scales to more
# trials (Optuna also has a Gaussian-process sampler, `GPSampler`).


# %%
def suggest(trial) -> dict:
    return {
        "lr": trial.suggest_float("lr", 1e-4, 3e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "smoothing": trial.suggest_float("smoothing", 0.0, 0.2),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256, 512]),
    }


best_weights: dict[str, tuple[float, dict]] = {}  # study name -> (val loss, weights) of its best


def objective(trial, s: int, log_to: str | None = None) -> float:
    hp = suggest(trial)
    writer = SummaryWriter(f"{log_to}/trial-{trial.number:02d}") if log_to else None
    try:
        net, history = train_config(hp, s, trial, writer)
    finally:
        if writer is not None:  # hyperparameters and the last validation loss: the HPARAMS tab
            last = trial.user_attrs.get("last_val_loss", float("nan"))
            writer.add_hparams(hp, {"hparam/val_loss": last}, run_name=".")
            writer.close()
    val_loss = history.rows[-1]["val_loss"]
    name = trial.study.study_name
    if name not in best_weights or val_loss < best_weights[name][0]:
        best_weights[name] = (val_loss, copy.deepcopy(net.state_dict()))
    return val_loss


def pick_scores(study: optuna.Study) -> dict[str, float]:
    """Test loss and accuracy of the study's best trial: the only model its test images score."""
    val_loss, weights = best_weights[study.study_name]
    assert val_loss == study.best_value, "the kept weights are not the best trial's"
    dropout = study.best_trial.params["dropout"]
    net = cu.build_model(model_name, ds.shape, ds.num_classes, dropout=dropout).to(cfg.device)
    net.load_state_dict(weights)
    return test_scores(net, study.user_attrs["seed"])


# %%
GRID_LRS = [float(f"{v:.2g}") for v in np.geomspace(1e-4, 3e-2, max(2, trials // 4))]
GRID = {  # the same five knobs as suggest(), each inside its range
    "lr": GRID_LRS,
    "weight_decay": [1e-5, 1e-2],
    "dropout": [0.0, 0.3],
    "smoothing": [0.0, 0.1],
    "batch_size": [128, 256],
}
GRID_POINTS = int(np.prod([len(v) for v in GRID.values()]))


def make_study(kind: str, s: int, pruned: bool = True) -> optuna.Study:
    samplers = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=s, n_startup_trials=min(5, trials // 2)),
        "random": lambda: optuna.samplers.RandomSampler(seed=s),
        "grid": lambda: optuna.samplers.GridSampler(GRID, seed=s),
    }
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=3) if pruned else optuna.pruners.NopPruner()
    )
    study = optuna.create_study(direction="minimize", sampler=samplers[kind](), pruner=pruner)
    study.set_user_attr("seed", s)
    return study


print(
    "grid:", GRID, f"= {GRID_POINTS} points; {min(trials, GRID_POINTS)} visited in {trials} trials"
)

# %% [markdown]
# ## 4. The experiment: four searches per seed, the same number of trials
#
# The claims, stated before they are measured (all on paired seeds; anything chosen is chosen on
# validation loss):
#
# 1. *"A search finds better hyperparameters than the defaults (same epochs per model)"*: test
#    accuracy of the TPE search's pick minus that of `DEFAULTS`, both trained for the same epochs
#    on the same images and initial weights; higher supports the claim; smallest effect worth
#    having: half an accuracy point (0.005). Only the two picks are scored on the test images.
#    Same epochs *per model* is not the same compute: the search trained `trials` models (pruned
#    ones for fewer epochs) to find its pick, the defaults one. The cell after the verdicts prints
#    the ratio.
# 2. *"TPE beats random search at the same number of trials"*: best validation loss found by random
#    search minus TPE's (positive = TPE better); smallest effect 0.02 nats (the course's value for
#    a validation loss). TPE's first trials
#    are random draws from the same seed as random search's, so only its later, model-guided trials
#    can differ; at a budget of a few tens of trials the difference may well be too small to
#    decide, and an **inconclusive** verdict is then an honest answer, not a failure.
# 3. *"Random search beats a grid at the same number of trials"* (Bergstra & Bengio, 2012): best
#    validation loss of the grid minus random search's, both over the same five knobs; smallest
#    effect 0.02 nats.
# 4. *"Pruning saves time"*: the fraction of training epochs a pruned TPE search saves against the
#    same search without a pruner (epochs are the unit of work; wall time on a shared machine is
#    noisy and reported beside it); smallest effect 10% (0.1), the course's threshold for a speed
#    ratio (`log 1.1`), here as a share of the work.
# 5. *"Pruning loses the best result"*: best validation loss with pruning minus without (positive
#    = pruning lost); smallest effect 0.02. The promise of pruning is the opposite, that it keeps
#    the best result, and the rule can only test a claim of a difference; so the claim is stated
#    as the risk, and a **refuted** verdict (the interval's upper end below 0.02) means: pruning
#    keeps the best result within 0.02 of the unpruned search's. When the pruned search finds
#    exactly the unpruned one's best in every seed (it never stopped the trial that wins), the
#    differences are all 0 and have no spread to build an interval from: the claim is then
#    recorded as not testable, with that reason.
#
# For every seed the four searches run back to back, so slow moments of the machine hit all of them.

# %%
KINDS = ("tpe", "random", "grid", "tpe_noprune")
studies, seconds = {}, {}
for s in seed_list:
    for kind in KINDS:
        study = make_study(kind.split("_")[0], s, pruned=kind != "tpe_noprune")
        log_to = f"{logdir}/tpe-seed{s}" if (kind, s) == ("tpe", seed) else None
        start = time.perf_counter()
        study.optimize(lambda t, s=s, log_to=log_to: objective(t, s, log_to), n_trials=trials)
        studies[kind, s], seconds[kind, s] = study, time.perf_counter() - start
picks = {key: pick_scores(study) for key, study in studies.items()}  # the picks' test scores
defaults = {}
for s in seed_list:
    net, history = train_config(DEFAULTS, s)
    test = test_scores(net, s)
    defaults[s] = {
        "val_loss": history.rows[-1]["val_loss"],
        "test_acc": test["acc"],
        "test_loss": test["loss"],
    }


# %%
def epochs_run(study) -> int:
    return sum(t.user_attrs.get("epochs_run", 0) for t in study.trials)


rows = []
for kind in KINDS:
    best = [studies[kind, s].best_trial for s in seed_list]
    rows.append(
        {
            "search": kind,
            "best val loss": np.mean([b.value for b in best]),
            "test acc of pick": np.mean([picks[kind, s]["acc"] for s in seed_list]),
            "trials": trials,
            "pruned": np.mean(
                [len(studies[kind, s].get_trials(states=(TrialState.PRUNED,))) for s in seed_list]
            ),
            "epochs run": np.mean([epochs_run(studies[kind, s]) for s in seed_list]),
            "seconds": np.mean([seconds[kind, s] for s in seed_list]),
        }
    )
rows.append(
    {
        "search": "defaults",
        "best val loss": np.mean([d["val_loss"] for d in defaults.values()]),
        "test acc of pick": np.mean([d["test_acc"] for d in defaults.values()]),
        "trials": 1,
        "pruned": "-",
        "epochs run": epochs,
        "seconds": "-",
    }
)
cu.table(
    rows,
    ["search", "best val loss", "test acc of pick", "trials", "pruned", "epochs run", "seconds"],
)
print(
    f"means over {len(seed_list)} seeds; best configuration of TPE at seed {seed}:",
    {
        k: round(v, 5) if isinstance(v, float) else v
        for k, v in studies["tpe", seed].best_params.items()
    },
)

# %%
best = {k: np.array([studies[k, s].best_value for s in seed_list]) for k in KINDS}
pick_acc = np.array([picks["tpe", s]["acc"] for s in seed_list])
default_acc = np.array([defaults[s]["test_acc"] for s in seed_list])
work = {k: np.array([epochs_run(studies[k, s]) for s in seed_list]) for k in KINDS}
res.compare(
    "a search finds better hyperparameters than the defaults (same epochs per model)",
    cu.paired(pick_acc, default_acc, names=("TPE's pick", "DEFAULTS")),
    unit="accuracy",
    detail=f"test accuracy of TPE's validation-selected pick minus DEFAULTS', {epochs} epochs each",
)
res.compare(
    "TPE beats random search at the same number of trials",
    best["random"] - best["tpe"],
    unit="val loss",
    detail=f"best validation loss, random minus TPE, {trials} trials each",
)
res.compare(
    "random search beats a grid at the same number of trials",
    best["grid"] - best["random"],
    unit="val loss",
    detail=f"best validation loss, grid minus random, {trials} trials each over the same five "
    f"knobs (grid: {GRID_POINTS} lattice points)",
)
res.compare(
    "pruning saves time",
    1 - work["tpe"] / work["tpe_noprune"],
    0.1,
    unit="fraction of epochs",
    detail="MedianPruner vs none, TPE, epochs trained",
)
lost = cu.paired(best["tpe"], best["tpe_noprune"], names=("with pruning", "without pruning"))
_ = res.compare(
    "pruning loses the best result",
    lost,
    unit="val loss",
    detail="best validation loss with minus without pruning (positive = pruning lost); "
    "refuted = pruning keeps the best result within the min effect",
    when_constant="pruning never stopped the trial that turned out best in any seed",
)

# %%
search_epochs = work["tpe"].mean()
print(
    f"compute: TPE trained {search_epochs:.1f} epochs per seed over its {trials} trials (pruned "
    f"ones stopped early) to find its pick; DEFAULTS trained {epochs}: "
    f"{search_epochs / epochs:.1f}x the training epochs, for a pick that itself trains {epochs}"
)
kept = best["tpe"] - best["tpe_noprune"]
print(
    f"pruning kept the best within {kept.max():+.4f} val loss on every seed (mean {kept.mean():+.4f}),"
    f" training {work['tpe'].mean() / work['tpe_noprune'].mean():.0%} of the unpruned epochs"
)
flattery = {  # test loss minus validation loss: how much the validation loss flattered the model
    "TPE's pick (best of the trials)": [
        picks["tpe", s]["loss"] - studies["tpe", s].best_value for s in seed_list
    ],
    "DEFAULTS (chosen by no search)": [
        defaults[s]["test_loss"] - defaults[s]["val_loss"] for s in seed_list
    ],
}
for name, gaps in flattery.items():
    print(f"test loss minus validation loss, {name}: {cu.format_effect(gaps, 'nats')}")
added = np.subtract(*flattery.values())
print(f"the pick's gap minus the defaults' (paired by seed): {cu.format_effect(added, 'nats')}")

# %% [markdown]
# Read the verdicts above, not the means alone: with a handful of seeds, a difference between two
# searches has a wide interval, and a search's advantage tends to grow with the budget (TPE needs
# trials to learn from). The table shows how many epochs each search trained: a pruner can only
# shorten trials, and claim 5 says whether the shortened trials included the one that would have
# been best. The first printed line puts claim 1 in proportion: "same epochs per model" hides a
# search that trained many models; a fair question for a practitioner is whether the same
# training epochs spent otherwise (a longer run, an ensemble of the defaults) would buy more. The
# second line states claim 5 positively: where its verdict is refuted, the pruned search's best
# validation loss stayed within the printed margin of the unpruned search's on every seed, for the
# fraction of the epochs it printed.
#
# **Overfitting the validation set.** A search picks the trial with the lowest validation loss out
# of many. Each trial's validation loss is its true loss plus noise (which images happen to be in
# the validation set, which seed), and the minimum of many noisy numbers is biased low: the winner
# is partly the best configuration and partly the luckiest draw. The more trials and the smaller the
# validation set, the larger this optimism, and a search with hundreds of trials can fit the
# validation set much as a network fits its training set. The last three lines above measure it: for
# each model the test loss minus the validation loss. The defaults were chosen by no one, so their
# gap is only the difference between the two image sets; whatever the pick's gap adds on top (the
# last line, paired by seed; where it is clearly positive) is what the selection flattered it by.
# With a few seeds and `trials` trials it may be too small to see. The cures: score the final pick
# once on data no choice has seen (the test set here), use a larger validation set, or, for small
# data, nested cross-validation (an outer split that scores the whole search).
#
# ## 5. Optuna's plots
#
# The **optimization history** shows each trial's value and the best so far; the **parameter
# importances** say which knobs this search space actually turns. Optuna computes them with
# **fANOVA** (Hutter, Hoos & Leyton-Brown, 2014): it fits a random forest (Breiman, 2001) that
# predicts a trial's validation loss from its hyperparameters, then splits the variance of that
# prediction over the whole search space into the shares explained by each parameter (and their
# interactions). They are computed from the few trials of one study, so treat them as a hint, not
# a measurement.

# %%
history_study = studies["tpe_noprune", seed]  # all trials complete (none pruned)
ax = optuna.visualization.matplotlib.plot_optimization_history(history_study)
ax.figure.set_size_inches(6, 3.6)
ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
plt.show()
ax = optuna.visualization.matplotlib.plot_param_importances(history_study)
ax.figure.set_size_inches(6, 3.2)
plt.show()

# %% [markdown]
# ## 6. TensorBoard: log, then look
#
# `SummaryWriter(folder)` writes an **event file** into `folder`; `add_scalar(tag, value, step)`
# appends one point of a curve, `add_hparams(hparams, metrics)` the configuration for the HPARAMS
# tab. The searches above logged every trial of the TPE study of the first seed (`seed`) into its
# own folder under the run folder. (Weights & Biases, `wandb`, is a hosted alternative with the same
# idea, log scalars and configurations per run; it needs an account and is not used here.) To look
# at them live, run in a terminal
#
# ```bash
# tensorboard --logdir /the/run/folder/printed/above   # then open http://localhost:6006
# make tensorboard                                     # the same for the course's runs/ folder
# ```
#
# A stored notebook cannot embed the live dashboard, so here the event files are read back with
# TensorBoard's own reader (`EventAccumulator`) and drawn with matplotlib: the same curves.

# %%
trial_dirs = sorted(Path(logdir, f"tpe-seed{seed}").glob("trial-*"))
fig, ax = plt.subplots(figsize=(7, 3.8))
logged_points = 0
for folder in trial_dirs:
    events = EventAccumulator(str(folder)).Reload()
    points = events.Scalars("loss/val")
    logged_points += len(points)
    ax.plot([p.step for p in points], [p.value for p in points], "o-", alpha=0.7)
ax.set(xlabel="epoch", ylabel="validation loss", title=f"{len(trial_dirs)} trials from TensorBoard")
ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
plt.show()
print(
    f"{len(trial_dirs)} trial folders, tags {sorted(events.Tags()['scalars'])}; "
    f"{logged_points} validation-loss points (short curves: pruned trials)"
)

# %% [markdown]
# ## 7. Notebooks vs scripts
#
# A notebook is the right place to **explore**: look at data, try an idea, plot, explain. It is a
# poor unit of **production**: hidden state from cells run out of order, parameters buried in the
# text, hard to call a hundred times on a cluster. A script with `argparse` is the opposite: every
# choice is on the command line (so the command *is* the record of the run), it runs the same way
# every time, and schedulers, sweeps and CI can call it. The usual path is: explore in a notebook,
# move the code that works into a module, call it from a script, and keep the notebook for the
# story. (Papermill, which runs this course's notebooks with parameters, is the middle ground.)
#
# `course_utils/train_script.py` trains one configuration exactly like `train_config` above and
# logs to TensorBoard. Here it reruns TPE's pick for the first seed in a separate process:

# %%
pick = studies["tpe", seed].best_params
script_json = Path(logdir, "script.json")
command = [
    sys.executable,
    "-m",
    "course_utils.train_script",
    "--model",
    {"small_cnn": "cnn"}.get(model_name, model_name),
    "--epochs",
    str(epochs),
    "--train-size",
    str(train_size),
    "--val-size",
    str(val_size),
    "--threads",
    "1",
    "--seed",
    str(seed),
    "--logdir",
    str(Path(logdir, "script")),
    "--results",
    str(script_json),
    "--dataset",
    cfg.dataset,
] + (["--data-dir", str(cfg.data_dir)] if cfg.data_dir else [])
for name, value in pick.items():
    command += [f"--{name.replace('_', '-')}", str(value)]
done = subprocess.run(command, capture_output=True, text=True, timeout=600)
print(
    " ".join(command[1:4]),
    "...",
    f"(exit {done.returncode})\n" + done.stdout[-300:] + done.stderr[-300:],
)
script = json.loads(script_json.read_text())
script_loss = script["metrics"]["val_loss"]
notebook_loss = studies["tpe", seed].best_value
print(
    f"validation loss, script {script_loss:.6f} vs notebook {notebook_loss:.6f} "
    f"(difference {abs(script_loss - notebook_loss):.1e})"
)

# %% [markdown]
# The same seed gives the same images, weights and batches in both processes, so the script
# reproduces the notebook's trial (up to floating-point noise from threading). Its `--help` lists
# every option: `python -m course_utils.train_script --help`.
#
# **Sweeps of whole notebooks.** The course CLI runs a notebook as the objective of an Optuna study
# stored in a database: each trial is one papermill run, its value a metric of the results JSON.
#
# ```bash
# # one machine, two worker processes, SQLite in the sweep folder; rerun the same line to resume
# python -m course_utils sweep 07 --study ls --profile smoke --metric plain_test_acc \
#     -p lr 3e-4,1e-3,3e-3,1e-2 --workers 2
# # many machines: the same command on each, sharing a PostgreSQL study
# python -m course_utils sweep 07 --study ls --storage postgresql://me@dbhost:5432/sweeps \
#     --metric plain_test_acc -p lr 1e-4:1e-1:log --trials 40
# ```
#
# ## 8. Try it
#
# **Run a search**: choose the sampler and the number of trials (the first seed's data, with
# pruning).


# %%
def search_demo(sampler: str = "tpe", n_trials: int = 4) -> optuna.Study:
    study = make_study(sampler, seed)
    study.optimize(lambda t: objective(t, seed), n_trials=n_trials)
    b = study.best_trial
    print(
        f"{sampler}: best validation loss {b.value:.4f} (trial {b.number}), its test acc "
        f"{pick_scores(study)['acc']:.4f}; pruned {len(study.get_trials(states=(TrialState.PRUNED,)))}"
    )
    return study


_ = search_demo("random", 3)

# %%
cu.widgets.panel(
    search_demo,
    live=False,
    title="Search",
    sampler=cu.widgets.dropdown("sampler", ["tpe", "random", "grid"]),
    n_trials=cu.widgets.slider("trials", 4, 2, 30, integer=True),
)


# %% [markdown]
# **Look at a finished study** (instant: the studies of section 4, any sampler and seed).


# %%
def view_study(kind: str = "tpe", s: int = seed) -> None:
    study = studies[kind, s]
    values = [t.value if t.state == TrialState.COMPLETE else np.nan for t in study.trials]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(range(len(values)), values, "o", label="complete trial")
    ax.plot(range(len(values)), np.fmin.accumulate(np.nan_to_num(values, nan=np.inf)), label="best")
    ax.set(xlabel="trial", ylabel="validation loss", title=f"{kind}, seed {s}")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.legend()
    plt.show()


view_study("tpe", seed)

# %%
cu.widgets.panel(
    view_study,
    live=True,
    title="Finished study",
    kind=cu.widgets.dropdown("search", list(KINDS)),
    s=cu.widgets.dropdown("seed", seed_list),
)

# %% [markdown]
# ## 9. Exercise
#
# **Exercise 1** · about 5 min · ★☆☆ easy
#
# Write `count_pruned(study)`: how many trials of a study did the pruner stop? (Hint:
# `study.get_trials(states=...)` filters by `TrialState`.)


# %%
def count_pruned(study) -> int | None:
    return None  # your code


def check_count_pruned(fn) -> None:
    study = studies["tpe", seed]
    expected = sum(t.state.name == "PRUNED" for t in study.trials)
    return cu.exercises.check_equal("pruned trials", fn(study), expected, hint="TrialState.PRUNED")


check_count_pruned(count_pruned)


# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution (expand to read).
def solution_count_pruned(study) -> int:
    return len(study.get_trials(states=(TrialState.PRUNED,)))


check_count_pruned(solution_count_pruned)

# %% [markdown]
# ## Summary
# - A study runs trials of an objective; samplers decide what to try (random, TPE, grid), pruners
#   decide what to stop (MedianPruner on the reported validation loss). Choose on validation data;
#   score only the final pick on test.
# - At a small budget the samplers' differences can be small and noisy; the verdicts above say what
#   showed up here. Pruning saves work by stopping trials that start badly (median stopping rule;
#   successive halving and Hyperband go further); Bayesian optimization (Gaussian processes, TPE)
#   models the objective to choose the next trial.
# - A search's best validation score is optimistic: many trials overfit the validation set, so
#   score the final pick once on untouched data, and count the search's compute, not only the
#   pick's epochs.
# - TensorBoard: `SummaryWriter.add_scalar` per epoch and `add_hparams` per trial, then
#   `tensorboard --logdir` (or `make tensorboard`); event files are also readable from Python.
# - Explore in notebooks; make reproducible, schedulable runs with scripts; `course_utils sweep`
#   runs notebooks as trials of a resumable study (SQLite, or PostgreSQL for many machines).
#
# ## References
# - Akiba, T., Sano, S., Yanase, T., Ohta, T., Koyama, M. (2019). Optuna: a next-generation
#   hyperparameter optimization framework. KDD.
# - Bergstra, J., Bengio, Y. (2012). Random search for hyper-parameter optimization. JMLR 13.
# - Bergstra, J., Bardenet, R., Bengio, Y., Kégl, B. (2011). Algorithms for hyper-parameter
#   optimization. NeurIPS.
# - Li, L., Jamieson, K., DeSalvo, G., Rostamizadeh, A., Talwalkar, A. (2018). Hyperband: a novel
#   bandit-based approach to hyperparameter optimization. JMLR 18 (first at ICLR 2017).
# - Jamieson, K., Talwalkar, A. (2016). Non-stochastic best arm identification and hyperparameter
#   optimization. AISTATS.
# - Snoek, J., Larochelle, H., Adams, R. P. (2012). Practical Bayesian optimization of machine
#   learning algorithms. NeurIPS.
# - Golovin, D., Solnik, B., Moitra, S., Kochanski, G., Karro, J., Sculley, D. (2017). Google
#   Vizier: a service for black-box optimization. KDD.
# - Hutter, F., Hoos, H., Leyton-Brown, K. (2014). An efficient approach for assessing
#   hyperparameter importance. ICML.
# - Breiman, L. (2001). Random forests. Machine Learning 45(1).

# %%
for kind in KINDS:
    res.metric(f"{kind}_best_val_loss", float(best[kind].mean()))
    res.metric(f"{kind}_epochs_run", float(work[kind].mean()))
    res.metric(f"{kind}_seconds", float(np.mean([seconds[kind, s] for s in seed_list])))
res.metric("tpe_pick_test_acc", float(pick_acc.mean()))
res.metric("defaults_test_acc", float(default_acc.mean()))
res.metric("tensorboard_trials", len(trial_dirs))
res.metric("tensorboard_val_points", logged_points)
res.metric("script_val_loss", script_loss)
res.metric("script_minus_notebook_val_loss", abs(script_loss - notebook_loss))
res.metric("trials", trials)
res.metric("epochs", epochs)
res.metric("seeds", seeds)
res.save()
