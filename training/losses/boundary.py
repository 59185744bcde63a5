"""Occlusion-boundary losses: class-balanced BCE (modot.md §2.2) and OBDCL (§2.3, §8.6 fixes)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from training.losses.common import LossInputError, check_4d, shift
from training.losses.config import DEFAULT_SIDE_WEIGHTS, ObdclForm


def balanced_bce_weights(gt_boundary: torch.Tensor, neg_lambda: float = 1.1) -> torch.Tensor:
    """Per-pixel class-balance weights of modot.md §2.2, pooled over the whole batch.

    ``w = N-/N`` on boundary pixels (label 1), ``w = 1.1 * neg_lambda * N+/N`` on label 0,
    and 0 on any other label (e.g. 255 or NaN = ignore). ``N`` counts all pixels.
    """
    pos = gt_boundary == 1
    neg = gt_boundary == 0
    n = float(gt_boundary.numel())
    n_pos = pos.sum().to(torch.float32)
    n_neg = neg.sum().to(torch.float32)
    w = torch.zeros_like(gt_boundary, dtype=torch.float32)
    w = torch.where(pos, n_neg / n, w)
    return torch.where(neg, 1.1 * neg_lambda * n_pos / n, w)


def balanced_bce_loss(logits_list: Sequence[torch.Tensor], gt_boundary: torch.Tensor,
                      side_weights: Sequence[float] = DEFAULT_SIDE_WEIGHTS,
                      neg_lambda: float = 1.1) -> torch.Tensor:
    """Class-balanced BCE-with-logits summed over all OB outputs, modot.md §2.2.

    ``sum_k beta_k * mean_p(w_p * BCE(z_k,p, Y_p))``. Outputs coarser than the GT
    (deep-supervision sides) are bilinearly upsampled (align_corners=False) to GT size.
    ``logits_list`` is ordered like ``side_weights`` ([side0..side3, final]).
    """
    check_4d("gt_boundary", gt_boundary)
    logits_list = list(logits_list)
    if len(logits_list) != len(side_weights):
        raise LossInputError(f"{len(logits_list)} OB outputs but {len(side_weights)} "
                             "side_weights; "
                             "pass one weight per output")
    weights = balanced_bce_weights(gt_boundary, neg_lambda)
    target = torch.where(gt_boundary == 1, 1.0, 0.0).to(torch.float32)
    total = torch.zeros((), device=gt_boundary.device)
    for beta, logits in zip(side_weights, logits_list):
        check_4d("OB logits", logits)
        if logits.shape[-2:] != gt_boundary.shape[-2:]:
            logits = F.interpolate(logits, size=gt_boundary.shape[-2:], mode="bilinear",
                                   align_corners=False)
        bce = F.binary_cross_entropy_with_logits(logits.float(), target, weight=weights,
                                                 reduction="mean")
        total = total + beta * bce
    return total


_NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def obdcl_loss(depth: torch.Tensor, boundary: torch.Tensor, form: ObdclForm = "improved",
               smooth: bool = True, saturation: float | None = None,
               disc_weight: float = 0.1, smooth_weight: float = 0.1,
               eps: float = 1e-3) -> torch.Tensor:
    """OB-Depth Constraint Loss, modot.md §2.3 ("original") or with the §8.6 fixes ("improved").

    ``boundary`` is the GT OB mask (label > 0.5 counts as boundary; the original never uses
    the predicted OB). Discontinuity on boundary pixels: ``1 - clip(delta / saturation, 0, 1)``
    with central differences ``dv = |D(i-1,j) - D(i+1,j)|``, ``dh = |D(i,j-1) - D(i,j+1)|``.

    * original: D = depth in its units, zero fill outside the image, ``delta = min(dv, dh)``,
      saturation 1, both terms divided by B*H*W; smoothness ``sum_n (1-M)|D - D_n|``.
    * improved: D = ln(depth), replicate padding (no border bias), ``delta = max(dv, dh)``,
      saturation 0.1 (log units), discontinuity averaged over boundary pixels and smoothness
      over neighbour pairs where **both** pixels are off-boundary (it never smooths across
      the boundary line).

    Returns ``disc_weight * L_disc + smooth_weight * L_smooth`` (the 0.1 weights of §2.3).
    """
    check_4d("depth", depth)
    if boundary.shape != depth.shape:
        raise LossInputError(f"boundary {tuple(boundary.shape)} must match "
                             f"depth {tuple(depth.shape)}")
    if form not in ("original", "improved"):
        raise LossInputError(f"form={form!r}; use 'original' or 'improved'")
    m = (boundary > 0.5).to(torch.float32)
    original = form == "original"
    if saturation is None:
        saturation = 1.0 if original else 0.1
    d = depth.float() if original else torch.log(depth.float().clamp_min(eps))
    mode = "constant" if original else "replicate"
    loss = disc_weight * _obdcl_discontinuity(d, m, mode, original, saturation)
    if smooth:
        loss = loss + smooth_weight * _obdcl_smoothness(d, m, mode, original)
    return loss


def _obdcl_discontinuity(d: torch.Tensor, m: torch.Tensor, mode: str, original: bool,
                         saturation: float) -> torch.Tensor:
    """``sum M (1 - clip(delta / saturation, 0, 1))`` / (B*H*W (original) or sum M (improved))."""
    dv = (shift(d, -1, 0, mode) - shift(d, 1, 0, mode)).abs()
    dh = (shift(d, 0, -1, mode) - shift(d, 0, 1, mode)).abs()
    delta = torch.minimum(dv, dh) if original else torch.maximum(dv, dh)
    penalty = (m * (1.0 - (delta / saturation).clamp(0.0, 1.0))).sum()
    return penalty / (m.numel() if original else m.sum().clamp_min(1.0))


def _obdcl_smoothness(d: torch.Tensor, m: torch.Tensor, mode: str, original: bool) -> torch.Tensor:
    """4-neighbour ``|D - D_n|`` off the boundary (see :func:`obdcl_loss` for both forms)."""
    total = d.new_zeros(())
    pairs = d.new_zeros(())
    for dy, dx in _NEIGHBOURS:
        diff = (d - shift(d, dy, dx, mode)).abs()
        if original:
            total = total + ((1.0 - m) * diff).sum()
        else:
            pair = (1.0 - m) * (1.0 - shift(m, dy, dx, "replicate"))
            total = total + (pair * diff).sum()
            pairs = pairs + pair.sum()
    if original:
        return total / m.numel()
    # Pairs are counted per direction, so this is the mean over off-boundary pixels of the
    # 4-neighbour sum, like the original's sum over directions.
    return 4.0 * total / pairs.clamp_min(1.0)
