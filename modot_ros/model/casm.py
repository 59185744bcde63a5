"""CASM: Cross-Attention Strip Module (reference/modot.md §1.5).

Two channel-attention gates are applied crosswise: the OB feature's gate scales the depth
feature and the depth feature's gate scales the OB feature. A multi-scale strip-convolution
fusion (MSSF) of both features adds a residual to the depth side only:
    depth' = MSSF(fuse[ob, depth]) + depth * CA_ob(ob) + depth
    ob'    = ob + ob * CA_depth(depth)
``strip_conv="depthwise"`` makes every strip / 3x3 conv depthwise (the 1x1 output conv mixes
channels), the speed-up allowed by §8 item 2; "dense" is the paper's form.
"""
from __future__ import annotations

import torch
from torch import nn

from modot_ros.model.blocks import ConvNormAct


class ChannelAttention(nn.Module):
    """CBAM channel gate: sigmoid(MLP(global max pool) + MLP(global avg pool)), MLP shared."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(4, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(inplace=True),
                                 nn.Conv2d(hidden, channels, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled_max = torch.amax(x, dim=(2, 3), keepdim=True)
        pooled_avg = torch.mean(x, dim=(2, 3), keepdim=True)
        return torch.sigmoid(self.mlp(pooled_max) + self.mlp(pooled_avg))


class StripPair(nn.Module):
    """ReLU(S(1xk) + S(kx1)), each S = conv -> norm -> ReLU -> conv -> norm."""

    def __init__(self, channels: int, k: int, groups: int, norm: str) -> None:
        super().__init__()
        self.horizontal = nn.Sequential(ConvNormAct(channels, channels, (1, k), norm, groups),
                                        ConvNormAct(channels, channels, (1, k), norm, groups, act=False))
        self.vertical = nn.Sequential(ConvNormAct(channels, channels, (k, 1), norm, groups),
                                      ConvNormAct(channels, channels, (k, 1), norm, groups, act=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.horizontal(x) + self.vertical(x))


class StripFusion(nn.Module):
    """MSSF: strip pairs of each length + a 3x3 branch, concatenated, 1x1 conv back to C."""

    def __init__(self, channels: int, kernels: tuple[int, ...], depthwise: bool, norm: str) -> None:
        super().__init__()
        groups = channels if depthwise else 1
        self.strips = nn.ModuleList(StripPair(channels, k, groups, norm) for k in kernels)
        self.square = ConvNormAct(channels, channels, 3, norm, groups)
        self.project = ConvNormAct(channels * (len(kernels) + 1), channels, 1, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [strip(x) for strip in self.strips] + [self.square(x)]
        return self.project(torch.cat(branches, dim=1))


class CASM(nn.Module):
    """Exchange information between same-shape OB and depth features; returns (ob', depth')."""

    def __init__(self, channels: int, kernels: tuple[int, ...] = (7, 11), depthwise: bool = True,
                 reduction: int = 16, norm: str = "batch") -> None:
        super().__init__()
        self.depth_attention = ChannelAttention(channels, reduction)
        self.boundary_attention = ChannelAttention(channels, reduction)
        self.fuse = nn.Conv2d(2 * channels, channels, 1)
        self.strip_fusion = StripFusion(channels, kernels, depthwise, norm)

    def forward(self, boundary: torch.Tensor, depth: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        fused = self.strip_fusion(self.fuse(torch.cat([boundary, depth], dim=1)))
        depth_out = fused + depth * self.boundary_attention(boundary) + depth
        boundary_out = boundary + boundary * self.depth_attention(depth)
        return boundary_out, depth_out
