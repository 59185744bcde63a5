"""Scale-invariant log loss on a depth map (modot.md §2.1)."""
from __future__ import annotations

import torch

from training.losses.common import (LossInputError, check_4d, sample_balanced_weights, valid_depth_mask,
                                    weighted_mean, zero_like_graph)


def silog_loss(pred_depth: torch.Tensor, gt_depth: torch.Tensor, valid: torch.Tensor | None = None,
               variance_focus: float = 0.85, scale: float = 1.0,
               eps: float = 1e-6, balanced: bool = False) -> torch.Tensor:
    """Scale-invariant log loss, modot.md §2.1 (square-root form, **no x10** by default).

    ``L = scale * sqrt(max(mean(g^2) - variance_focus * mean(g)^2, 1e-13))`` with
    ``g = ln(pred) - ln(gt)`` over valid pixels pooled across the batch. The prediction is
    clamped to ``eps`` and the loss is computed in fp32 even under autocast (§8.4).
    ``balanced``: the means weigh every sample alike instead of every pixel
    (``LossConfig.balance_samples``).
    """
    check_4d("pred_depth", pred_depth)
    if pred_depth.shape != gt_depth.shape:
        raise LossInputError(f"pred_depth {tuple(pred_depth.shape)} != "
                             f"gt_depth {tuple(gt_depth.shape)}")
    mask = valid_depth_mask(gt_depth, valid)
    if not bool(mask.any()):
        return zero_like_graph(pred_depth)
    g = torch.log(pred_depth.float().clamp_min(eps)) - torch.log(torch.where(mask, gt_depth.float(), 1.0))
    weights = sample_balanced_weights(mask) if balanced else None
    var = weighted_mean(g * g, weights, mask) - variance_focus * weighted_mean(g, weights, mask) ** 2
    return scale * torch.sqrt(var.clamp_min(1e-13))
