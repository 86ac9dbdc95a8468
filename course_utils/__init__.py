"""Shared helpers for the course on training neural networks well (``import course_utils as cu``).

Notebooks use: ``setup`` with parameter specs (``integer``, ``number``, ``choice``, ``names``),
``load_dataset`` / ``paired_split`` / ``Batches`` / ``Augment`` (in-memory data), ``build_model``,
``fit`` / ``evaluate`` / callbacks, ``Results`` (metrics and claims decided by ``paired_verdict``
on ``paired`` differences), ``table`` (printed tables), ``Panel`` / ``slider`` (widgets) and the exercise checks.
"""

from . import claims, exercises, plots, widgets
from .claims import decide, effect_interval, format_effect, paired_verdict
from .config import Config, setup
from .data import (
    Augment,
    Batches,
    ImageDataset,
    load_dataset,
    paired_split,
    stratified_subset,
    train_val_split,
)
from .models import build_model, count_parameters
from .paired import MIN_EFFECTS, min_effect_for, paired
from .params import choice, integer, names, number, split_names
from .regularizers import noisy_labels
from .results import Results
from .tables import table
from .train import Callback, EarlyStopping, History, ModelCheckpoint, evaluate, fit, predict_proba
from .validation import ParameterError

__all__ = [
    "MIN_EFFECTS",
    "claims",
    "exercises",
    "plots",
    "widgets",
    "Augment",
    "Batches",
    "Callback",
    "Config",
    "EarlyStopping",
    "History",
    "ImageDataset",
    "ModelCheckpoint",
    "ParameterError",
    "Results",
    "build_model",
    "noisy_labels",
    "choice",
    "count_parameters",
    "decide",
    "effect_interval",
    "evaluate",
    "fit",
    "format_effect",
    "integer",
    "load_dataset",
    "names",
    "number",
    "min_effect_for",
    "paired",
    "paired_split",
    "paired_verdict",
    "predict_proba",
    "setup",
    "split_names",
    "stratified_subset",
    "table",
    "train_val_split",
]
