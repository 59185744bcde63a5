"""Multi-scale gradient matching on log depth (MiDaS: Ranftl et al., TPAMI 2020, its term L_reg).

``/work/shared/reference/sim_to_real.md`` lists it among the levers for synthetic-to-real transfer.
"""
from __future__ import annotations

import torch

from training.losses.common import LossInputError, check_4d, valid_depth_mask, zero_like_graph


def gradient_matching_loss(pred_depth: torch.Tensor, gt_depth: torch.Tensor,
                           valid: torch.Tensor | None = None, scales: int = 4,
                           eps: float = 1e-6) -> torch.Tensor:
    """Scale-invariant gradient matching of log depth, summed over ``scales`` resolutions.

    ``L = sum_k [mean |d_x R^k| + mean |d_y R^k|]`` with ``R = ln(pred) - ln(gt) - mean(R)``
    (MiDaS L_reg, there on scale-and-shift-aligned disparity; here on log depth). Scale k keeps
    every 2^k-th pixel; a difference counts where both of its pixels have valid GT, and each
    mean is pooled over the batch. SILog fits the values up to scale; this term asks the *shape*
    to match: discontinuities sharp and where the GT has them (the reason MiDaS gives), which a
    per-pixel residual rewards only over the few pixels an edge covers.

    The per-image mean of R (the global scale of ``pred``) cancels in every difference, so it is
    not subtracted: ``pred = c * gt`` gives 0 up to rounding. In fp32, ``pred`` clamped to ``eps``.
    """
    check_4d("pred_depth", pred_depth)
    if pred_depth.shape != gt_depth.shape:
        raise LossInputError(f"pred_depth {tuple(pred_depth.shape)} != gt_depth {tuple(gt_depth.shape)}")
    mask = valid_depth_mask(gt_depth, valid)
    if not bool(mask.any()):
        return zero_like_graph(pred_depth)
    gt = torch.where(mask, gt_depth.float(), 1.0)  # NaN GT would reach the gradient through log
    residual = torch.where(mask, torch.log(pred_depth.float().clamp_min(eps)) - torch.log(gt), 0.0)
    total = zero_like_graph(pred_depth)
    for k in range(scales):
        step = 2 ** k
        r, m = residual[..., ::step, ::step], mask[..., ::step, ::step]
        total = total + _mean_abs_difference(r, m, -1) + _mean_abs_difference(r, m, -2)
    return total


def _mean_abs_difference(residual: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Mean |R(i+1) - R(i)| along ``dim`` over neighbour pairs that are both valid (0 if none)."""
    n = residual.shape[dim]
    if n < 2:
        return zero_like_graph(residual)
    diff = (residual.narrow(dim, 1, n - 1) - residual.narrow(dim, 0, n - 1)).abs()
    both = mask.narrow(dim, 1, n - 1) & mask.narrow(dim, 0, n - 1)
    if not bool(both.any()):
        return zero_like_graph(residual)
    return diff[both].mean()
