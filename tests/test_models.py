import pytest
import torch
from torch import nn

from course_utils.models import MLP, CapstoneCNN, SmallCNN, build_model, count_parameters
from course_utils.validation import ParameterError


@pytest.mark.parametrize("name", ["mlp", "small_cnn", "capstone_cnn", "resnet18", "resnet34"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_models_are_sized_from_the_input(name, shape):
    model = build_model(name, shape, 10)
    assert model(torch.randn(2, *shape)).shape == (2, 10)


def test_small_cnn_first_linear_layer_matches_input():
    assert SmallCNN((3, 32, 32), 10).classifier[1].in_features == 16 * 5 * 5
    assert SmallCNN((1, 28, 28), 10).classifier[1].in_features == 16 * 4 * 4


def test_resnet_parameter_counts_match_the_reference_architecture():
    # CIFAR ResNet-18 / 34 with 10 classes: about 11.17M / 21.28M parameters.
    assert count_parameters(build_model("resnet18", (3, 32, 32), 10)) == pytest.approx(
        11.17e6, rel=0.01
    )
    assert count_parameters(build_model("resnet34", (3, 32, 32), 10)) == pytest.approx(
        21.28e6, rel=0.01
    )


def test_dropout_never_follows_the_output_layer():
    for model in (MLP((1, 28, 28), 10, dropout=0.5), SmallCNN((1, 28, 28), 10, dropout=0.5)):
        layers = [m for m in model.modules() if not isinstance(m, (nn.Sequential, type(model)))]
        assert isinstance(layers[-1], nn.Linear)
        assert any(isinstance(m, nn.Dropout) for m in layers)


def test_batch_norm_switch():
    assert not any(
        isinstance(m, nn.BatchNorm2d) for m in SmallCNN((1, 28, 28), 10, batch_norm=False).modules()
    )
    assert sum(isinstance(m, nn.BatchNorm2d) for m in SmallCNN((1, 28, 28), 10).modules()) == 2


def test_bad_model_arguments_are_refused():
    with pytest.raises(ParameterError, match="'model'"):
        build_model("vgg", (1, 28, 28), 10)
    with pytest.raises(ParameterError, match="'dropout'"):
        MLP((1, 28, 28), 10, dropout=1.0)


def test_capstone_cnn_convs_per_stage():
    convs = lambda net: sum(isinstance(m, nn.Conv2d) for m in net.modules())  # noqa: E731
    assert convs(CapstoneCNN((1, 28, 28), 10)) == 6
    assert convs(CapstoneCNN((1, 28, 28), 10, convs=(1, 2, 2))) == 5
    with pytest.raises(ParameterError, match="'convs'"):
        CapstoneCNN((1, 28, 28), 10, convs=(0, 2, 2))
    with pytest.raises(ParameterError, match="'convs'"):
        CapstoneCNN((1, 28, 28), 10, convs=(2, 2))
