"""A training batch at half the size: more steps per CPU-hour early in a leg.

Every 2x2 block of pixels becomes one: colour is averaged (what a camera of half the resolution
sees), depth takes the block's nearest valid surface and the boundary map the block's maximum, so
no depth between two surfaces is invented at an occluding edge and thin boundaries survive. The
intrinsics follow the block centres (pixel centres at integers, as K's cx, cy): a block covering
pixels 2i and 2i+1 sits at 2i + 0.5, so cx' = (cx - 0.5) / 2 and fx' = fx / 2. Metric depth is
unchanged; the network's canonical-focal depth scales with fx, so the target stays consistent.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def halved(batch: dict) -> dict:
    """The batch at half height and width (H and W must be even); other keys as they were."""
    out = dict(batch)
    out["rgb"] = F.avg_pool2d(batch["rgb"], 2)
    if "sources" in batch:  # (B,S,3,H,W)
        out["sources"] = F.avg_pool2d(batch["sources"].flatten(0, 1), 2).unflatten(0, batch["sources"].shape[:2])
    out["depth"] = -_nan_max_pool(-batch["depth"])
    out["boundary"] = _nan_max_pool(batch["boundary"])
    K = batch["K"].clone()
    K[:, :2, :2] /= 2.0
    K[:, :2, 2] = (K[:, :2, 2] - 0.5) / 2.0
    out["K"] = K
    return out


def _nan_max_pool(x: torch.Tensor) -> torch.Tensor:
    """2x2 max over the known (non-NaN) values; NaN where a block has none."""
    known = ~torch.isnan(x)
    pooled = F.max_pool2d(torch.where(known, x, -math.inf), 2)
    return torch.where(torch.isinf(pooled) & (pooled < 0), math.nan, pooled)
