"""Depth at a smaller size without inventing or losing surfaces; a training batch at half the size.

``nearest_surface_resize`` brings a real frame's depth (dense, or sparse: a projected lidar, a few
hundred points) to the network input: every valid pixel lands in the target pixel whose footprint
holds its centre and the nearest surface there wins, so no point is dropped and none is made up
(a nearest-neighbour resize kept only one pixel in four of a 640x480 frame's points).

``halved``: more steps per CPU-hour early in a leg.

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


def nearest_surface_resize(depth: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(H, W) metric depth (NaN/<=0 invalid) at ``height`` x ``width``, keeping the nearest surface.

    Each target pixel takes the nearest valid depth among the source pixels whose centres fall in
    it, NaN where none does.

    Down-sizing only (a larger target leaves holes): a target at least as large as the source in
    either direction falls back to a nearest-neighbour resize.
    """
    h, w = depth.shape
    if height >= h or width >= w:
        return F.interpolate(depth[None, None], size=(height, width), mode="nearest-exact")[0, 0]
    valid = torch.isfinite(depth) & (depth > 0)
    rows, cols = torch.nonzero(valid, as_tuple=True)
    # the source pixel centre (i + 0.5) scaled to the target, floored: the target pixel it lands in
    target_row = ((rows.double() + 0.5) * height / h).long().clamp_(0, height - 1)
    target_col = ((cols.double() + 0.5) * width / w).long().clamp_(0, width - 1)
    out = torch.full((height * width,), math.inf, dtype=depth.dtype)
    out.scatter_reduce_(0, target_row * width + target_col, depth[rows, cols], reduce="amin")
    return torch.where(torch.isinf(out), math.nan, out).view(height, width)


def _nan_max_pool(x: torch.Tensor) -> torch.Tensor:
    """2x2 max over the known (non-NaN) values; NaN where a block has none."""
    known = ~torch.isnan(x)
    pooled = F.max_pool2d(torch.where(known, x, -math.inf), 2)
    return torch.where(torch.isinf(pooled) & (pooled < 0), math.nan, pooled)
