"""course_utils.ensembles: voting rules, their tie rule, TTA and the k-fold check (notebook 09)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.model_selection import StratifiedKFold

from course_utils import ensembles
from course_utils.models import build_model
from course_utils.train import predict_proba
from course_utils.validation import ParameterError


def random_probs(m: int = 5, n: int = 200, c: int = 10, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(m, n, c, generator=gen).softmax(-1)


def test_soft_vote_is_argmax_of_mean_probabilities() -> None:
    probs = random_probs()
    assert torch.equal(ensembles.soft_vote(probs), probs.mean(0).argmax(1))
    # a list of (N, C) members gives the same answer
    assert torch.equal(ensembles.soft_vote(list(probs)), probs.mean(0).argmax(1))


def test_soft_vote_weights() -> None:
    probs = random_probs(m=3)
    weights = [0.5, 2.0, 1.0]
    expected = (torch.tensor(weights)[:, None, None] * probs).sum(0).argmax(1)
    assert torch.equal(ensembles.soft_vote(probs, weights), expected)
    # weight on one member only -> that member's prediction
    assert torch.equal(ensembles.soft_vote(probs, [0, 1, 0]), probs[1].argmax(1))


def test_soft_vote_uses_confidence_where_hard_vote_counts_labels() -> None:
    # two members mildly prefer class 0, one is very sure of class 1
    probs = torch.tensor([[[0.55, 0.45]], [[0.55, 0.45]], [[0.01, 0.99]]])
    assert ensembles.hard_vote(probs.argmax(2)).item() == 0
    assert ensembles.soft_vote(probs).item() == 1


def test_hard_vote_majority() -> None:
    labels = torch.tensor([[1, 2, 3], [1, 0, 3], [4, 2, 0]])
    assert ensembles.hard_vote(labels).tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "votes, winner",
    [
        ([3, 7, 7, 3], 3),  # two-two tie: lowest index
        ([7, 3, 3, 7], 3),  # member order does not matter
        ([4, 9, 2], 2),  # one vote each
        ([9, 9, 5, 5, 0], 5),  # tie among the largest counts only
        ([8, 8, 1], 8),  # a real majority is not a tie
    ],
)
def test_hard_vote_tie_goes_to_lowest_class_index(votes, winner) -> None:
    labels = torch.tensor(votes)[:, None]
    assert ensembles.hard_vote(labels).item() == winner
    assert ensembles.hard_vote(labels, num_classes=10).item() == winner


def test_hard_vote_ties_on_random_votes_match_the_documented_rule() -> None:
    gen = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 10, (4, 2000), generator=gen)
    got = ensembles.hard_vote(labels, 10)
    for n in range(labels.shape[1]):
        counts = np.bincount(labels[:, n].numpy(), minlength=10)
        assert got[n].item() == int(np.flatnonzero(counts == counts.max()).min())


def test_one_member_gives_that_member_for_both_rules() -> None:
    probs = random_probs(m=1)
    member = probs[0].argmax(1)
    assert torch.equal(ensembles.soft_vote(probs), member)
    assert torch.equal(ensembles.hard_vote(member[None]), member)


def test_soft_vote_refuses_members_whose_shapes_disagree() -> None:
    with pytest.raises(ParameterError, match="probs.*shapes"):
        ensembles.soft_vote([torch.rand(10, 3), torch.rand(9, 3)])
    with pytest.raises(ParameterError, match="probs"):
        ensembles.soft_vote([torch.rand(10, 3), torch.rand(10, 4)])
    with pytest.raises(ParameterError, match="probs"):
        ensembles.soft_vote(torch.rand(10, 3))  # (N, C) without the member axis
    with pytest.raises(ParameterError, match="probs"):
        ensembles.soft_vote([])


@pytest.mark.parametrize("weights", [[1.0, 1.0], [1.0, -1.0, 1.0], [0.0, 0.0, 0.0]])
def test_soft_vote_refuses_bad_weights(weights) -> None:
    with pytest.raises(ParameterError, match="weights"):
        ensembles.soft_vote(random_probs(m=3), weights)


def test_hard_vote_refuses_probabilities_and_bad_shapes() -> None:
    with pytest.raises(ParameterError, match="labels"):
        ensembles.hard_vote(random_probs(m=2).argmax(2).float())
    with pytest.raises(ParameterError, match="labels"):
        ensembles.hard_vote(torch.tensor([1, 2, 3]))
    with pytest.raises(ParameterError, match="labels"):
        ensembles.hard_vote(torch.tensor([[1, -1]]))


def small_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("small_cnn", (1, 28, 28), 10)


def test_tta_with_identity_equals_a_plain_prediction() -> None:
    net, x = small_net(), torch.randn(50, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    plain = predict_proba(net, [(x, torch.zeros(50))])
    got = ensembles.tta_predict(net, x, [ensembles.identity], batch_size=16)
    assert torch.allclose(got, plain, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_tta_restores_the_mode_it_found(training) -> None:
    net = small_net().train(training)
    x = torch.randn(8, 1, 28, 28)
    ensembles.tta_predict(net, x, list(ensembles.tta_transforms(["hflip", "shift"]).values()))
    assert net.training is training
    assert all(m.training is training for m in net.modules())


def test_tta_averages_the_transforms_and_refuses_none() -> None:
    net, x = small_net(), torch.randn(8, 1, 28, 28)
    one = ensembles.tta_predict(net, x, [ensembles.identity])
    flipped = ensembles.tta_predict(net, x, [ensembles.hflip])
    both = ensembles.tta_predict(net, x, [ensembles.identity, ensembles.hflip])
    assert torch.allclose(both, (one + flipped) / 2, atol=1e-6)
    assert torch.allclose(both.sum(1), torch.ones(8), atol=1e-5)
    with pytest.raises(ParameterError, match="transforms"):
        ensembles.tta_predict(net, x, [])


def test_shift_moves_pixels_and_repeats_the_border() -> None:
    x = torch.arange(16.0).view(1, 1, 4, 4)
    right = ensembles.shift(1, 0)(x)
    assert torch.equal(right[..., 1:], x[..., :-1]) and torch.equal(right[..., 0], x[..., 0])
    up = ensembles.shift(0, -1)(x)
    assert torch.equal(up[..., :-1, :], x[..., 1:, :]) and torch.equal(
        up[..., -1, :], x[..., -1, :]
    )
    assert ensembles.shift(0, 0) is ensembles.identity


def test_tta_transforms_names_and_refusal() -> None:
    chosen = ensembles.tta_transforms(["hflip", "shift"])
    assert list(chosen)[0] == "identity" and "hflip" in chosen and len(chosen) == 6
    with pytest.raises(ParameterError, match="'tta'.*'hflip'"):
        ensembles.tta_transforms(["hflip", "rotate"])
    with pytest.raises(ParameterError, match="'tta'"):
        ensembles.tta_transforms("hflip")  # a string, not a list of names


def test_stratified_folds_keep_class_counts_within_one_example() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), [40, 33, 27, 50, 11])
    rng.shuffle(y)
    for k in (2, 3, 5, 11):
        skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=0)
        counts = np.stack(
            [np.bincount(y[held], minlength=5) for _, held in skf.split(np.zeros(len(y)), y)]
        )
        assert (counts.max(0) - counts.min(0)).max() <= 1, (k, counts)
        assert counts.sum() == len(y)  # every example held out exactly once


@pytest.mark.parametrize("folds", [1, 0, 12, 2.0, True])
def test_check_folds_refuses_impossible_k(folds) -> None:
    y = torch.tensor([0] * 20 + [1] * 11 + [2] * 30)
    with pytest.raises(ParameterError, match=r"'folds'.*\[2, 11\]"):
        ensembles.check_folds(folds, y)


def test_check_folds_accepts_up_to_the_smallest_class() -> None:
    y = torch.tensor([0] * 20 + [1] * 11 + [2] * 30)
    assert ensembles.check_folds(11, y) == 11 and ensembles.check_folds(2, y) == 2
