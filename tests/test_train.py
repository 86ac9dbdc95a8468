import pytest
import torch
from torch import nn

from course_utils.data import Batches
from course_utils.train import evaluate, fit, predict_logits, predict_proba
from course_utils.validation import ParameterError


def separable_batches(n: int = 256, seed: int = 0, batch_size: int = 32) -> Batches:
    """Two classes told apart by the brightness of the left half of a tiny image."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randint(0, 100, (n, 1, 4, 4), generator=g, dtype=torch.uint8)
    x[y == 1, :, :, :2] += 150
    return Batches(x, y, batch_size, mean=(0.3,), std=(0.3,), shuffle=True, seed=seed)


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2)
    )


def test_fit_learns_and_records_history():
    model = tiny_model()
    train, val = separable_batches(), separable_batches(seed=1)
    history = fit(model, train, val, epochs=5, lr=0.05, progress=False)
    assert len(history) == 5 and history["epoch"] == [1, 2, 3, 4, 5]
    assert set(history.rows[0]) >= {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "time"}
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history.last["val_acc"] > 0.9
    assert len(history.batch_loss) == 5 * len(train) == len(history.batch_lr)
    assert history.best("val_loss")["val_loss"] == min(history["val_loss"])


def test_label_transform_changes_targets_but_not_accuracy_labels():
    calls = []

    def flip_all(y):
        calls.append(len(y))
        return 1 - y

    history = fit(
        tiny_model(),
        separable_batches(),
        epochs=3,
        lr=0.05,
        label_transform=flip_all,
        progress=False,
    )
    assert sum(calls) == 3 * 256
    assert (
        history.last["train_acc"] < 0.2
    )  # it learned the flipped labels, scored against the true ones


def test_evaluate_uses_eval_mode_and_restores_it():
    model = tiny_model()
    model.train()
    seen = []
    model[3].register_forward_hook(lambda m, i, o: seen.append(m.training))
    metrics = evaluate(model, separable_batches())
    assert seen and not any(seen) and model.training
    assert 0 <= metrics["acc"] <= 1 and metrics["loss"] > 0
    model.eval()
    evaluate(model, separable_batches())
    assert not model.training


def test_predict_proba_rows_sum_to_one_and_keep_order():
    model = tiny_model()
    loader = Batches(
        torch.zeros(10, 1, 4, 4, dtype=torch.uint8),
        torch.zeros(10, dtype=torch.long),
        3,
        mean=(0.0,),
        std=(1.0,),
    )
    probs = predict_proba(model, loader)
    assert probs.shape == (10, 2) and torch.allclose(probs.sum(1), torch.ones(10))
    assert torch.allclose(predict_logits(model, loader).softmax(1), probs)


def test_epoch_scheduler_steps_once_per_epoch_after_the_optimizer():
    model = tiny_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    history = fit(
        model, separable_batches(), epochs=5, optimizer=opt, scheduler=step, progress=False
    )
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_plateau_scheduler_needs_the_monitored_metric():
    model = tiny_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
    with pytest.raises(ParameterError, match="val_loss"):
        fit(model, separable_batches(), epochs=1, optimizer=opt, scheduler=plateau, progress=False)


@pytest.mark.parametrize(
    "kwargs, name",
    [(dict(epochs=0), "epochs"), (dict(epochs=2, lr=-1.0), "lr"), (dict(epochs=2.5), "epochs")],
)
def test_bad_training_parameters_fail_before_training(kwargs, name):
    model = tiny_model()
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ParameterError, match=f"'{name}'"):
        fit(model, separable_batches(), progress=False, **kwargs)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_same_seed_same_metrics():
    runs = [
        fit(tiny_model(), separable_batches(), epochs=2, lr=0.05, progress=False)["train_loss"]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
