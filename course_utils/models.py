"""The course's models, all sized from the dataset's image shape and class count."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .config import autocast_dtype
from .validation import ParameterError, check_choice, check_fraction

MODELS = ("mlp", "small_cnn", "capstone_cnn", "resnet18", "resnet34")


class MLP(nn.Module):
    """Flatten -> [Linear -> ReLU -> Dropout] * len(hidden) -> Linear (no dropout on the output).

    Taught in notebook 00.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        num_classes: int,
        hidden: Sequence[int] = (256, 128),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_fraction("dropout", dropout, high_open=True)
        layers: list[nn.Module] = [nn.Flatten()]
        width = int(torch.tensor(in_shape).prod())
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SmallCNN(nn.Module):
    """The source notes' small CNN: two Conv(k5)-[BN]-ReLU-MaxPool blocks, then FC 120 -> 64 -> classes.

    The notes list ``FC 512 -> 120`` for 32x32 inputs; with two k5 convolutions and two
    2x2 pools a 32x32 input gives 16*5*5 = 400 features (28x28 gives 16*4*4 = 256), so the
    first linear layer is sized from the actual input shape instead.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        num_classes: int,
        *,
        batch_norm: bool = True,
        dropout: float = 0.5,
        channels: tuple[int, int] = (6, 16),
    ) -> None:
        super().__init__()
        check_fraction("dropout", dropout, high_open=True)
        c, h, w = in_shape
        c1, c2 = channels

        def block(cin: int, cout: int) -> list[nn.Module]:
            return (
                [nn.Conv2d(cin, cout, 5, bias=not batch_norm)]
                + ([nn.BatchNorm2d(cout)] if batch_norm else [])
                + [nn.ReLU(), nn.MaxPool2d(2)]
            )

        self.features = nn.Sequential(*block(c, c1), *block(c1, c2))
        fh, fw = ((h - 4) // 2 - 4) // 2, ((w - 4) // 2 - 4) // 2
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c2 * fh * fw, 120),
            nn.ReLU(),
            nn.Dropout(dropout) if dropout else nn.Identity(),
            nn.Linear(120, 64),
            nn.ReLU(),
            nn.Linear(64, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class CapstoneCNN(nn.Module):
    """Three stages of two 3x3 Conv-[BN]-ReLU layers (widths 32, 64, 128), global average pool, FC.

    Notebook 11 (the capstone) writes this model in a cell and checks that it equals this copy,
    which ``benchmarks/fast_lane.py`` reuses. Max-pooling halves the image after stages 1 and 2.
    ``convs`` sets the number of conv layers per stage (the fast lane uses one at full size).
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        num_classes: int,
        *,
        batch_norm: bool = True,
        widths: tuple[int, int, int] = (32, 64, 128),
        convs: tuple[int, int, int] = (2, 2, 2),
    ) -> None:
        super().__init__()
        if len(convs) != len(widths) or min(convs) < 1:
            raise ParameterError(
                f"parameter 'convs' got {convs!r}; "
                f"allowed: one count >= 1 for each of the {len(widths)} stages"
            )
        layers: list[nn.Module] = []
        cin = in_shape[0]
        for stage, (cout, n_convs) in enumerate(zip(widths, convs)):
            for _ in range(n_convs):
                layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=not batch_norm)]
                layers += [nn.BatchNorm2d(cout)] if batch_norm else []
                layers += [nn.ReLU(inplace=True)]
                cin = cout
            if stage < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class FastCPU(nn.Module):
    """Run ``net`` in channels-last memory layout, optionally under bfloat16 autocast.

    On CPUs with bfloat16 matrix units (AMX, AVX-512 BF16) this trains convolutions several times
    faster than float32; elsewhere it can be slower, so notebook 11 measures both and keeps the
    faster (``course_utils.speed.choose_cpu_setup``). ``channels_last=False`` keeps the default
    layout. Logits come back as float32, so losses and softmax stay in full precision. On a GPU
    ``bf16`` means the device's autocast dtype (``config.autocast_dtype``: float16 on MPS).
    """

    def __init__(self, net: nn.Module, bf16: bool = True, channels_last: bool = True) -> None:
        super().__init__()
        self.bf16, self.channels_last = bf16, channels_last
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.net = net.to(memory_format=self.memory_format)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=self.memory_format)
        with torch.autocast(x.device.type, dtype=autocast_dtype(x.device), enabled=self.bf16):
            return self.net(x).float()


class BasicBlock(nn.Module):
    """Two 3x3 Conv-BN layers with an identity (or 1x1 Conv-BN) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR-style ResNet: 3x3 stem, four stages (stride 2 from stage 2), global average pool, FC.

    Taught in notebook 04.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        num_classes: int,
        blocks: Sequence[int] = (2, 2, 2, 2),
        width: int = 64,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_shape[0], width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        stages, cin = [], width
        for i, n in enumerate(blocks):
            cout = width * 2**i
            for j in range(n):
                stages.append(BasicBlock(cin, cout, stride=2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def resnet18(in_shape: Sequence[int], num_classes: int, width: int = 64) -> ResNet:
    return ResNet(in_shape, num_classes, (2, 2, 2, 2), width)


def resnet34(in_shape: Sequence[int], num_classes: int, width: int = 64) -> ResNet:
    return ResNet(in_shape, num_classes, (3, 4, 6, 3), width)


def build_model(name: str, in_shape: Sequence[int], num_classes: int, **kwargs) -> nn.Module:
    """Build a course model by name: one of :data:`MODELS`. Taught in notebook 00."""
    check_choice("model", name, MODELS)
    factory = {
        "mlp": MLP,
        "small_cnn": SmallCNN,
        "capstone_cnn": CapstoneCNN,
        "resnet18": resnet18,
        "resnet34": resnet34,
    }[name]
    return factory(tuple(in_shape), num_classes, **kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
