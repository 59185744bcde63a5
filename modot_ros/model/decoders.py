"""Depth decoder (U-Net style, one CASM per stage) and OB decoder (deep supervision).

Both run 4 stages at strides 16, 8, 4, 2 with widths ``channels`` and take the encoder pyramid
at strides 2..32 (reference/modot.md §1.1, §1.7, lightened per §8 item 8). Depth never depends on
the OB decoder, only on the OB features through CASM, so a depth-only run can skip it.
"""
from __future__ import annotations

import torch
from torch import nn

from modot_ros.model.blocks import ConvNormAct, SeparableConv, upsample_to
from modot_ros.model.casm import CASM

STAGE_STRIDES = (16, 8, 4, 2)


def skip_indices(reductions: list[int]) -> list[int]:
    """Index of the encoder feature at each decoder stride (ValueError when one is missing)."""
    missing = [s for s in (*STAGE_STRIDES, 32) if s not in reductions]
    if missing:
        raise ValueError(f"encoder must give features at strides 2..32; missing {missing} "
                         f"(it has {reductions})")
    return [reductions.index(s) for s in STAGE_STRIDES]


class DepthDecoder(nn.Module):
    """Upsample x2, concat the encoder skip, separable conv; then CASM with the OB feature."""

    def __init__(self, enc_channels: list[int], reductions: list[int], channels: tuple[int, ...],
                 casm: dict | None, norm: str) -> None:
        super().__init__()
        self.skips = skip_indices(reductions)
        previous = [enc_channels[reductions.index(32)], *channels[:-1]]
        self.stages = nn.ModuleList(
            SeparableConv(prev + enc_channels[i], ch, norm)
            for prev, i, ch in zip(previous, self.skips, channels))
        self.casms = nn.ModuleList(CASM(ch, norm=norm, **casm) for ch in channels) if casm else None
        self.out_channels = channels[-1]

    def forward(self, features: list[torch.Tensor], boundary: list[torch.Tensor] | None
                ) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """Returns the finest depth feature (stride 2) and the CASM-updated OB features."""
        x = features[-1]
        boundary_out = [] if boundary is not None else None
        for k, (stage, i) in enumerate(zip(self.stages, self.skips)):
            skip = features[i]
            x = stage(torch.cat([upsample_to(x, skip), skip], dim=1))
            if boundary is not None and self.casms is not None:
                ob, x = self.casms[k](boundary[k], x)
                boundary_out.append(ob)
            elif boundary is not None:
                boundary_out.append(boundary[k])
        return x, boundary_out


class BoundaryDecoder(nn.Module):
    """OB U-decoder over the per-stage OB features, with a linear side logit per stage.

    ``project`` builds the OB features (1x1 projections of the encoder skips); ``forward`` fuses
    them coarse to fine and returns the finest fused feature and the side logits.
    """

    def __init__(self, enc_channels: list[int], reductions: list[int], channels: tuple[int, ...],
                 norm: str) -> None:
        super().__init__()
        self.skips = skip_indices(reductions)
        self.projections = nn.ModuleList(
            ConvNormAct(enc_channels[i], ch, 1, norm) for i, ch in zip(self.skips, channels))
        self.fusions = nn.ModuleList(
            SeparableConv(prev + ch, ch, norm) for prev, ch in zip(channels[:-1], channels[1:]))
        # Linear side heads: the paper's ReLU before them keeps logits >= 0 (§1.7 quirk).
        self.side_heads = nn.ModuleList(nn.Conv2d(ch, 1, 1) for ch in channels)
        self.out_channels = channels[-1]

    def project(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        return [proj(features[i]) for proj, i in zip(self.projections, self.skips)]

    def forward(self, boundary: list[torch.Tensor], with_sides: bool
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Returns the stride-2 fused feature and side logits at their own strides (or [])."""
        x = boundary[0]
        sides = [self.side_heads[0](x)] if with_sides else []
        for k, fusion in enumerate(self.fusions, start=1):
            x = fusion(torch.cat([upsample_to(x, boundary[k]), boundary[k]], dim=1))
            if with_sides:
                sides.append(self.side_heads[k](x))
        return x, sides
