"""Pieces every loss shares: the input error, shape check, GT validity and neighbour shifts."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from modot_ros import depth_units


class LossInputError(ValueError):
    """A loss received tensors of the wrong shape or an unknown option."""


def check_4d(name: str, t: torch.Tensor) -> None:
    """Raise ``LossInputError`` unless ``t`` is a batched (B,C,H,W) map."""
    if t.dim() != 4:
        raise LossInputError(f"{name} must be (B,C,H,W), got shape {tuple(t.shape)}")


def valid_depth_mask(gt_depth: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean mask of usable GT pixels (``depth_units.valid_depth_mask``), within ``valid``."""
    mask = depth_units.valid_depth_mask(gt_depth)
    if valid is not None:
        mask = mask & valid.to(torch.bool)
    return mask


def sample_balanced_weights(mask: torch.Tensor) -> torch.Tensor:
    """Per-pixel weights (float, ``mask``'s shape) under which every sample with a pixel weighs alike.

    Each ``mask`` pixel of sample b gets 1 / (its sample's count); pixels outside ``mask`` 0. A
    weighted mean over any subset then averages samples, not pixels: a sparse frame (a lidar row,
    a few hundred points) is not out-voted by a dense one in the same batch.
    """
    mask = mask.to(torch.float32)
    counts = mask.flatten(1).sum(1).clamp_min(1.0)
    return mask / counts.view(-1, *([1] * (mask.dim() - 1)))


def weighted_mean(values: torch.Tensor, weights: torch.Tensor | None, where: torch.Tensor) -> torch.Tensor:
    """Mean of ``values[where]``, weighted by ``weights`` when given (e.g. sample-balanced)."""
    if weights is None:
        return values[where].mean()
    w = weights[where]
    return (values[where] * w).sum() / w.sum().clamp_min(1e-12)


def zero_like_graph(t: torch.Tensor) -> torch.Tensor:
    """A zero loss that stays connected to the graph (empty masks must not break backward)."""
    return t.sum() * 0.0


def shift(x: torch.Tensor, dy: int, dx: int, mode: str) -> torch.Tensor:
    """Neighbour map ``x(i+dy, j+dx)``; outside the image: 0 ("constant") or edge value."""
    padded = F.pad(x, (1, 1, 1, 1), mode=mode)
    h, w = x.shape[-2:]
    return padded[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
