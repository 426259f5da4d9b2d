"""The 2D pose network: :class:`PoseNet` (one crop -> joint heatmaps) and
:class:`MultiViewPoseNet` (every view, then an optional cross-view fusion head)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..camera import Camera
from ..skeleton import SKELETON


def _conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity shortcut (He et al., 2016)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn_relu(channels, channels),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class PoseNet(nn.Module):
    """Joint heatmaps from an RGB crop: ``(N, 3, H, W)`` in [0, 1] -> ``(N, J, H/4, W/4)``.

    Four stride-2 stages (each a strided 3x3 convolution and a residual block) bring a
    64 x 64 crop down to 4 x 4, so that the deepest features see the whole person: a
    joint hidden behind a pillar can still be guessed from the rest of the body. Two
    nearest-neighbour upsamplings, each merged with the encoder's features at that
    scale (skip connections, as in an hourglass), return to stride 4, and a 1x1
    convolution gives one heatmap per joint. Leading dimensions other than ``N`` are
    kept: ``(B, V, 3, H, W)`` -> ``(B, V, J, H/4, W/4)``.

    The input is normalised inside the network, so callers pass plain RGB in [0, 1].
    """

    def __init__(self, n_joints: int = SKELETON.n_joints,
                 widths: Sequence[int] = (32, 64, 128, 128)):
        super().__init__()
        if len(widths) != 4 or min(widths) < 1:
            raise ValueError(f"widths must be four positive channel counts, got {widths!r}")
        w1, w2, w3, w4 = (int(w) for w in widths)
        self.n_joints, self.widths = int(n_joints), (w1, w2, w3, w4)
        self.down1 = nn.Sequential(_conv_bn_relu(3, w1, 2), ResidualBlock(w1))     # 1/2
        self.down2 = nn.Sequential(_conv_bn_relu(w1, w2, 2), ResidualBlock(w2))    # 1/4
        self.down3 = nn.Sequential(_conv_bn_relu(w2, w3, 2), ResidualBlock(w3))    # 1/8
        self.down4 = nn.Sequential(_conv_bn_relu(w3, w4, 2), ResidualBlock(w4))    # 1/16
        self.up3 = _conv_bn_relu(w4 + w3, w2)                                       # 1/8
        self.up2 = nn.Sequential(_conv_bn_relu(w2 + w2, w2), _conv_bn_relu(w2, w2))  # 1/4
        self.head = nn.Conv2d(w2, self.n_joints, 1)
        # mean and spread of the rendered crops' pixels (a fixed input normalisation)
        self.register_buffer("mean", torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1))

    #: input pixels per heatmap pixel
    stride = 4

    def forward(self, images) -> torch.Tensor:
        lead = images.shape[:-3]
        x = images.reshape(-1, *images.shape[-3:])
        x = (x - self.mean) / self.std
        x1 = self.down1(x)
        x2 = self.down2(x1)
        x3 = self.down3(x2)
        x4 = self.down4(x3)
        up = nn.functional.interpolate
        y = self.up3(torch.cat([up(x4, size=x3.shape[-2:]), x3], 1))
        y = self.up2(torch.cat([up(y, size=x2.shape[-2:]), x2], 1))
        out = self.head(y)
        return out.reshape(*lead, *out.shape[1:])


def count_parameters(module: nn.Module) -> int:
    """Number of trainable weights."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class MultiViewPoseNet(nn.Module):
    """A :class:`PoseNet` applied to every view, then an optional cross-view fusion head.

    ``fusion`` is ``None`` (single-view heatmaps), a
    :class:`crossview.learned_fusion.LearnedFusion` layer, or ``"analytic"``
    (:func:`crossview.fusion.epipolar_fusion`, differentiable through its torch
    backend; needs ``cameras`` and the heatmap ``affines`` at call time).

    ``forward(images (B, V, 3, H, W), cameras=None, affines=None)`` returns
    ``(single, fused)``, both ``(B, V, J, h, w)`` (``fused`` is ``single`` without a
    fusion head): the paper supervises both.
    """

    def __init__(self, backbone: PoseNet, fusion: nn.Module | str | None = None,
                 self_weight: float = 0.5):
        super().__init__()
        if isinstance(fusion, str) and fusion != "analytic":
            raise ValueError(f"fusion must be None, 'analytic' or a LearnedFusion module; "
                             f"got {fusion!r}")
        self.backbone = backbone
        self.fusion = fusion if isinstance(fusion, nn.Module) else None
        self.analytic = fusion == "analytic"
        self.self_weight = float(self_weight)

    def forward(self, images, cameras: Sequence[Camera] | None = None,
                affines=None) -> torch.Tensor:
        if images.ndim != 5:
            raise ValueError(f"images must have shape (B, V, 3, H, W), got {tuple(images.shape)}")
        single = self.backbone(images)
        if self.fusion is not None:
            return single, self.fusion(single)
        if self.analytic:
            if cameras is None or affines is None:
                raise ValueError("analytic fusion needs the cameras and the heatmap affines")
            from ..fusion import epipolar_fusion

            return single, epipolar_fusion(single, cameras, affines, self_weight=self.self_weight,
                                           backend="torch")
        return single, single
