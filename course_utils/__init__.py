"""Shared helpers for the course on training neural networks well.

Notebooks use: ``setup`` (profiles, seeding, device), ``load_dataset`` / ``Batches`` / ``Augment``
(in-memory data), ``build_model``, ``fit`` / ``evaluate`` / callbacks, ``Results`` (metrics and
tested claims), ``Panel`` / ``slider`` (widgets) and the checks in ``validation`` and ``exercises``.
"""
from .config import Config, setup
from .data import Augment, Batches, ImageDataset, load_dataset, stratified_subset, train_val_split
from .models import build_model, count_parameters
from .results import Results, verdict
from .train import EarlyStopping, History, ModelCheckpoint, evaluate, fit, predict_proba
from .validation import ParameterError

__all__ = [
    "Augment", "Batches", "Config", "EarlyStopping", "History", "ImageDataset", "ModelCheckpoint",
    "ParameterError", "Results", "build_model", "count_parameters", "evaluate", "fit", "load_dataset",
    "predict_proba", "setup", "stratified_subset", "train_val_split", "verdict",
]
