"""Output heads: OB logits and depth (K=2 inverse-depth mixture or single regression channel)."""
from __future__ import annotations

import math

import torch
from torch import nn

from modot_ros import mixture
from modot_ros.model.blocks import SeparableConv

# Start the two means apart (one near, one far) and the weight at 0.5 so the mixture does not
# collapse to one component (reference/mixture_depth.md §8A item 8).
_INIT_DEPTHS = (1.5, 6.0)
_INIT_LOG_SIGMA = math.log(0.05)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


class BoundaryHead(nn.Module):
    """Separable conv -> 1x1 conv to one OB logit map (sigmoid applied by loss / read-out)."""

    def __init__(self, in_ch: int, norm: str = "batch") -> None:
        super().__init__()
        self.refine = SeparableConv(in_ch, in_ch, norm)
        self.logits = nn.Conv2d(in_ch, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(self.refine(x))


class DepthHead(nn.Module):
    """3x3 conv to raw channels, then ``mixture.activate`` (fp32) to canonical parameters."""

    def __init__(self, in_ch: int, out_ch: int, min_depth: float, max_depth: float) -> None:
        super().__init__()
        self.min_depth, self.max_depth = min_depth, max_depth
        self.raw = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self._init_bias()

    def _init_bias(self) -> None:
        lo, hi = mixture.inverse_depth_range(self.min_depth, self.max_depth)
        depths = [min(max(d, self.min_depth * 1.01), self.max_depth * 0.99) for d in _INIT_DEPTHS]
        mu_logits = [_logit((1.0 / d - lo) / (hi - lo)) for d in depths]
        with torch.no_grad():
            if self.raw.out_channels == 1:
                self.raw.bias.fill_(_logit((1.0 / math.sqrt(depths[0] * depths[1]) - lo) / (hi - lo)))
            else:
                self.raw.bias.copy_(torch.tensor([*mu_logits, _INIT_LOG_SIGMA, _INIT_LOG_SIGMA, 0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mixture.activate(self.raw(x), self.min_depth, self.max_depth)
