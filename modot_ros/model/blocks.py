"""Small convolution blocks shared by the decoders, CASM and heads."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def norm_layer(channels: int, norm: str) -> nn.Module:
    """BatchNorm, or GroupNorm (for tiny training batches) with up to 8 groups."""
    if norm == "group":
        return nn.GroupNorm(math.gcd(8, channels), channels)
    return nn.BatchNorm2d(channels)


class ConvNormAct(nn.Sequential):
    """Conv (no bias) -> norm -> ReLU; ``groups=in_ch`` gives a depthwise conv."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int | tuple[int, int] = 1,
                 norm: str = "batch", groups: int = 1, act: bool = True) -> None:
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        layers = [nn.Conv2d(in_ch, out_ch, (kh, kw), padding=(kh // 2, kw // 2), groups=groups,
                            bias=False), norm_layer(out_ch, norm)]
        super().__init__(*layers, *([nn.ReLU(inplace=True)] if act else []))


class SeparableConv(nn.Sequential):
    """Depthwise 3x3 -> pointwise 1x1, each with norm + ReLU (MobileNet-style, cheap on CPU)."""

    def __init__(self, in_ch: int, out_ch: int, norm: str = "batch") -> None:
        super().__init__(ConvNormAct(in_ch, in_ch, 3, norm, groups=in_ch),
                         ConvNormAct(in_ch, out_ch, 1, norm))


def upsample_to(x: torch.Tensor, like_or_size: torch.Tensor | tuple[int, int]) -> torch.Tensor:
    """Bilinear resize (align_corners=False) to the spatial size of a tensor or to (H, W)."""
    size = like_or_size.shape[-2:] if hasattr(like_or_size, "shape") else like_or_size
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)
