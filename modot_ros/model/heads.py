"""Output heads: OB logits and depth (K=2 inverse-depth mixture or single regression channel)."""
from __future__ import annotations

import math

import torch
from torch import nn

from modot_ros import mixture
from modot_ros.model.blocks import SeparableConv

# Both means start at a typical indoor depth and component 1 (the near / surface component)
# starts dominant: the assignment loss (training) then pulls component 2 to the far side of
# depth edges. Inverse-linear heads (legacy) started the means apart instead.
_INIT_DEPTH = 3.0
_INIT_DEPTHS_LEGACY = (1.5, 6.0)
# Initial std per parametrisation: log-depth heads predict a relative std, and at 0.05 their NLL
# started near 260 with its gradient clipped for ~30 steps (docs/experiments, leg 1); 0.3 does not.
# Inverse-linear (legacy) heads predict an absolute std in 1/m.
_INIT_LOG_SIGMA = {"log_depth": math.log(0.3), "inverse_linear": math.log(0.05)}
_INIT_WEIGHT = 0.9


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

    def __init__(self, in_ch: int, out_ch: int, min_depth: float, max_depth: float,
                 param: str = "log_depth") -> None:
        super().__init__()
        self.min_depth, self.max_depth, self.param = min_depth, max_depth, param
        self.raw = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self._init_bias()

    def _init_bias(self) -> None:
        lo, hi = self.min_depth * 1.01, self.max_depth * 0.99
        if self.param == "log_depth":
            depths, weight = (_INIT_DEPTH, _INIT_DEPTH), _INIT_WEIGHT
        else:
            depths, weight = _INIT_DEPTHS_LEGACY, 0.5
        depths = [min(max(d, lo), hi) for d in depths]
        logits = [mixture.mean_logit(d, self.min_depth, self.max_depth, self.param) for d in depths]
        with torch.no_grad():
            if self.raw.out_channels == 1:
                middle = math.sqrt(depths[0] * depths[1])
                self.raw.bias.fill_(mixture.mean_logit(middle, self.min_depth, self.max_depth,
                                                       self.param))
            else:
                log_sigma = _INIT_LOG_SIGMA[self.param]
                self.raw.bias.copy_(torch.tensor([*logits, log_sigma, log_sigma, _logit(weight)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mixture.activate(self.raw(x), self.min_depth, self.max_depth, self.param)
