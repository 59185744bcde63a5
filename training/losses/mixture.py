"""Supervised mixture-head losses: the plain NLL and the near/far assigned loss.

Formulas restated from ``mixture_depth.md`` §6 / §8.C.5; the assignment is SMD-Nets-style.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from training.losses.common import (LossInputError, check_4d, sample_balanced_weights, shift, valid_depth_mask,
                                    weighted_mean, zero_like_graph)
from training.losses.depth import silog_loss

_LOG_2PI = math.log(2.0 * math.pi)


def mixture_nll_loss(mu_inv: torch.Tensor, sigma_inv: torch.Tensor, weight: torch.Tensor,
                     gt_depth: torch.Tensor, valid: torch.Tensor | None = None,
                     min_sigma: float = 1e-6) -> torch.Tensor:
    """Supervised Gaussian-mixture NLL in inverse depth (K = 2), mixture_depth.md §6 / §8.C.5.

    ``-log sum_k pi_k N(1/gt; mu_k, sigma_k)`` averaged over valid pixels, evaluated with
    logsumexp in fp32. ``weight`` is ``(B,2,H,W)`` (pi_1, pi_2) or ``(B,1,H,W)`` = pi_1 with
    pi_2 = 1 - pi_1. Targets must be in the space of the means (the trainer applies any
    canonical-depth scaling to ``gt_depth`` before calling). Includes the 0.5 log(2 pi) constant.
    """
    for name, t in (("mu_inv", mu_inv), ("sigma_inv", sigma_inv), ("weight", weight),
                    ("gt_depth", gt_depth)):
        check_4d(name, t)
    if mu_inv.shape[1] != 2 or sigma_inv.shape != mu_inv.shape:
        raise LossInputError(f"mu_inv {tuple(mu_inv.shape)} and "
                             f"sigma_inv {tuple(sigma_inv.shape)} "
                             "must both be (B,2,H,W)")
    if weight.shape[1] == 1:
        weight = torch.cat([weight, 1.0 - weight], dim=1)
    if weight.shape != mu_inv.shape or gt_depth.shape[1] != 1:
        raise LossInputError(f"weight {tuple(weight.shape)} must be (B,1|2,H,W) and gt_depth "
                             f"{tuple(gt_depth.shape)} (B,1,H,W) matching "
                             f"mu_inv {tuple(mu_inv.shape)}")
    mask = valid_depth_mask(gt_depth, valid)[:, 0]
    if not bool(mask.any()):
        return zero_like_graph(mu_inv) + zero_like_graph(sigma_inv) + zero_like_graph(weight)
    target = torch.where(mask.unsqueeze(1), gt_depth.float(), 1.0).reciprocal()
    sigma = sigma_inv.float().clamp_min(min_sigma)
    z = (target - mu_inv.float()) / sigma
    # A zero weight must drop its component exactly, without the inf * 0 = NaN gradient of log(0).
    w = weight.float()
    log_w = torch.where(w > 0, torch.log(torch.where(w > 0, w, 1.0)), float("-inf"))
    log_comp = log_w - 0.5 * z * z - torch.log(sigma) - 0.5 * _LOG_2PI
    nll = -torch.logsumexp(log_comp, dim=1)
    return nll[mask].mean()


class EdgeSurfaces(NamedTuple):
    """Per-pixel GT surfaces around depth edges (all (B,1,H,W)).

    near, far: the closest and farthest valid GT depth in the window where ``band`` is set, the
    pixel's own depth elsewhere. band: within ``window // 2`` px of a depth edge (a 4-neighbour
    pair whose depth ratio exceeds ``jump``). own_near: the pixel's depth is closer (in log depth)
    to ``near`` than to ``far`` (True off the band): the pixel lies on the occluding side.
    """

    near: torch.Tensor
    far: torch.Tensor
    band: torch.Tensor
    own_near: torch.Tensor


def edge_surfaces(gt_depth: torch.Tensor, window: int = 5, jump: float = 1.1) -> EdgeSurfaces:
    """Near and far surface depths at GT depth edges (the targets of the mixture assignment)."""
    check_4d("gt_depth", gt_depth)
    valid = valid_depth_mask(gt_depth)
    log_z = torch.where(valid, torch.log(gt_depth.float().clamp_min(1e-6)), 0.0)
    edge = torch.zeros_like(valid)
    for dy, dx in ((0, 1), (1, 0)):
        other = shift(log_z, dy, dx, "replicate")
        both = valid & shift(valid.float(), dy, dx, "replicate").bool()
        step = both & ((log_z - other).abs() > math.log(jump))
        edge = edge | step | shift(step.float(), -dy, -dx, "constant").bool()
    pad = window // 2
    band = F.max_pool2d(edge.float(), window, 1, pad).bool() & valid
    inf = torch.full_like(log_z, float("inf"))
    near = -F.max_pool2d(-torch.where(valid, log_z, inf), window, 1, pad)
    far = F.max_pool2d(torch.where(valid, log_z, -inf), window, 1, pad)
    near, far = torch.where(band, near, log_z), torch.where(band, far, log_z)
    own_near = (log_z - near) <= (far - log_z)
    return EdgeSurfaces(near.exp(), far.exp(), band, own_near)


def _log_nll(log_target: torch.Tensor, log_mean: torch.Tensor, rel_sigma: torch.Tensor) -> torch.Tensor:
    """Gaussian NLL in log depth (without the constant), per pixel."""
    z = (log_target - log_mean) / rel_sigma
    return 0.5 * z * z + torch.log(rel_sigma)


def assigned_mixture_loss(params: torch.Tensor, gt_depth: torch.Tensor, variance_focus: float = 0.85,
                          readout_weight: float = 1.0, assignment_weight: float = 1.0,
                          window: int = 5, jump: float = 1.1, min_sigma: float = 1e-4,
                          balanced: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Mixture loss with an explicit component assignment (SMD-Nets-style supervision, §6).

    ``params`` (B,5,H,W) in inverse depth (``modot_ros.mixture`` layout), GT in the same space.
    At depth edges (``edge_surfaces``) component 1 is assigned the near and component 2 the far
    surface; elsewhere both are assigned the pixel's depth. The pixel's *own* component (1 on the
    occluding side and off edges, 2 on the far side) regresses the pixel's depth, the other one
    the other surface:

    * ``nll``: Gaussian NLL of each component mean against its target in log depth, with the
      relative std sigma_k / mu_k (this trains the std too);
    * ``readout``: SILog (``variance_focus``) of the own component's depth: the depth the
      dominant-mode read-out must give once the weight is right (keeps metric scale explicit);
    * ``assignment``: BCE of w_1 toward "own component is 1", averaged separately over near-side
      band, far-side band and off-band pixels so the rare far side is not out-voted.

    A plain NLL lets one component explain every pixel (the collapse measured in
    reference/model_experiments.md); the assignment gives each a role that the weight switches
    between within one pixel, which is what makes the read-out sharp.

    ``balanced``: every mean weighs the batch's samples alike, not its pixels
    (``LossConfig.balance_samples``; sparse real frames beside rendered ones).
    """
    check_4d("params", params)
    if params.shape[1] != 5:
        raise LossInputError(f"params must be a (B,5,H,W) mixture, got {tuple(params.shape)}")
    s = edge_surfaces(gt_depth, window, jump)
    mask = valid_depth_mask(gt_depth)
    if not bool(mask.any()):
        zero = zero_like_graph(params)
        return zero, {"nll": zero.detach(), "readout": zero.detach(), "assignment": zero.detach()}
    params = params.float()
    mu, sigma, w1 = params[:, 0:2], params[:, 2:4], params[:, 4:5]
    log_mean = -torch.log(mu.clamp_min(1e-8))
    rel_sigma = (sigma / mu.clamp_min(1e-8)).clamp_min(min_sigma)
    log_gt = torch.log(torch.where(mask, gt_depth.float(), 1.0))
    t1 = torch.where(s.own_near, log_gt, torch.log(s.near.clamp_min(1e-6)))
    t2 = torch.where(s.own_near, torch.log(s.far.clamp_min(1e-6)), log_gt)
    nll_map = (_log_nll(t1, log_mean[:, 0:1], rel_sigma[:, 0:1])
               + _log_nll(t2, log_mean[:, 1:2], rel_sigma[:, 1:2])) / 2
    # Band and off-band pixels weigh half each: the band (a few % of pixels) is the only place
    # where the two means are told apart, and a pixel-mean let the off-band out-vote it.
    weights = sample_balanced_weights(mask) if balanced else None
    nll = torch.stack([weighted_mean(nll_map, weights, g) for g in (mask & s.band, mask & ~s.band)
                       if bool(g.any())]).mean()
    own = torch.where(s.own_near, mu[:, 0:1], mu[:, 1:2])
    readout = silog_loss(1.0 / own.clamp_min(1e-8), gt_depth, variance_focus=variance_focus, balanced=balanced)
    bce = F.binary_cross_entropy(w1.clamp(1e-6, 1 - 1e-6), s.own_near.float(), reduction="none")
    groups = (mask & s.band & s.own_near, mask & s.band & ~s.own_near, mask & ~s.band)
    parts = [weighted_mean(bce, weights, g) for g in groups if bool(g.any())]
    assignment = torch.stack(parts).mean()
    total = nll + readout_weight * readout + assignment_weight * assignment
    return total, {"nll": nll.detach(), "readout": readout.detach(),
                   "assignment": assignment.detach()}
