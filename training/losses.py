"""Supervised training losses for modot_ros (depth, occlusion boundaries, mixture head).

Every function works on batched ``(B, C, H, W)`` torch tensors on any device and
returns a scalar tensor. Ground-truth depth is metres with NaN (or <= 0) marking
invalid pixels. The self-supervised mixture photometric loss lives in
:mod:`training.photometric` and is re-exported here.

Formulas are restated from the digests in ``/work/shared/reference/``:
``modot.md`` §2 (SILog, class-balanced BCE, OBDCL) and §8.6 (OBDCL fixes),
``mixture_depth.md`` §6 / §8.C.5 (supervised mixture NLL).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple, Sequence

import torch
import torch.nn.functional as F

from modot_ros import depth_units
from training.photometric import (  # noqa: F401  (re-exported for one import site)
    PhotometricConfig,
    depth_photometric_loss,
    mixture_photometric_loss,
    multiscale_photometric_loss,
    relative_pose,
)

ObdclForm = Literal["original", "improved"]
MIXTURE_LOSSES = ("assigned", "nll")
# Side weights (side0..side3, final) for synthetic data, modot.md §2 table.
DEFAULT_SIDE_WEIGHTS: tuple[float, ...] = (0.1, 0.3, 0.3, 0.5, 2.3)
_LOG_2PI = math.log(2.0 * math.pi)


class LossInputError(ValueError):
    """A loss received tensors of the wrong shape or an unknown option."""


@dataclass(frozen=True)
class LossConfig:
    """Weights and options of every training loss term (the trainer composes them).

    Attributes
    ----------
    depth_weight: lambda_d on SILog or on the mixture NLL (modot.md §2: 1.2).
    variance_focus: SILog lambda in [0, 1]; 1 makes it fully scale invariant (§2.1: 0.85).
    silog_scale: factor on the SILog square root; MoDOT uses 1 (no x10, §2.1).
    ob_weight: lambda_ob on the summed OB BCE terms (§2: 1.0 synthetic, 5.0 NYUD).
    side_weights: beta_k per OB output in list order [side0..side3, final] (§2).
    bce_neg_lambda: lambda_neg in w- = 1.1 * lambda_neg * N+/N
        (§2.2: 1.1 Hypersim/NYUD, 1.7 OB-FUTURE).
    obdcl_weight: multiplier on the OBDCL total (the 0.1 inner weights are in obdcl_loss).
    obdcl_form: "original" reproduces §2.3; "improved" applies the §8.6 fixes.
    obdcl_smooth: include the off-boundary smoothness term (off for Hypersim in §2). It is not
        edge-aware (it smooths across texture and any unlabelled depth edge), so it is off.
    obdcl_saturation: jump size at which the discontinuity penalty vanishes; None = 1 depth
        unit for "original", 0.1 log-depth (about 10 % relative jump) for "improved".
    obdcl_start_step: training step from which OBDCL is switched on (§2, §8.5).
    ob_start_step: training step from which the OB branch is trained (BCE on) and run in the
        forward pass: depth first, then joint. Before it only the depth loss trains.
    mixture_loss: "assigned" (explicit near/far component assignment, see
        ``assigned_mixture_loss``) or "nll" (the plain mixture NLL, which collapses to one
        component: kept for comparison).
    readout_weight: weight of the log-depth (SILog) term on the component the read-out should
        pick; its variance focus is ``variance_focus``.
    assignment_weight: weight of the BCE that trains w_1 toward the GT assignment.
    edge_window: window (px, odd) in which a pixel's near and far surfaces are looked up.
    edge_jump: depth ratio between 4-neighbours that marks a depth edge for the assignment.
    photometric: options of the self-supervised mixture photometric loss.

    """

    depth_weight: float = 1.2
    variance_focus: float = 0.85
    silog_scale: float = 1.0
    ob_weight: float = 1.0
    side_weights: tuple[float, ...] = DEFAULT_SIDE_WEIGHTS
    bce_neg_lambda: float = 1.1
    obdcl_weight: float = 1.0
    obdcl_form: ObdclForm = "improved"
    obdcl_smooth: bool = False
    obdcl_saturation: float | None = None
    obdcl_start_step: int = 0
    ob_start_step: int = 0
    mixture_loss: str = "assigned"
    readout_weight: float = 1.0
    assignment_weight: float = 1.0
    edge_window: int = 5
    edge_jump: float = 1.1
    photometric: PhotometricConfig = PhotometricConfig()

    def __post_init__(self) -> None:
        if not 0.0 <= self.variance_focus <= 1.0:
            raise LossInputError(f"variance_focus={self.variance_focus} must be in [0, 1]")
        if self.obdcl_form not in ("original", "improved"):
            raise LossInputError(f"obdcl_form={self.obdcl_form!r}; use 'original' or 'improved'")
        if self.mixture_loss not in MIXTURE_LOSSES:
            raise LossInputError(f"mixture_loss={self.mixture_loss!r}; use one of {MIXTURE_LOSSES}")
        if self.edge_window < 3 or self.edge_window % 2 == 0 or self.edge_jump <= 1.0:
            raise LossInputError(f"edge_window={self.edge_window} must be odd >= 3 and "
                                 f"edge_jump={self.edge_jump} > 1")
        if any(w < 0 for w in self.side_weights) or not self.side_weights:
            raise LossInputError(f"side_weights={self.side_weights} must be non-empty and >= 0")


def _check_4d(name: str, t: torch.Tensor) -> None:
    if t.dim() != 4:
        raise LossInputError(f"{name} must be (B,C,H,W), got shape {tuple(t.shape)}")


def valid_depth_mask(gt_depth: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean mask of usable GT pixels (``depth_units.valid_depth_mask``), within ``valid``."""
    mask = depth_units.valid_depth_mask(gt_depth)
    if valid is not None:
        mask = mask & valid.to(torch.bool)
    return mask


def _zero_like_graph(t: torch.Tensor) -> torch.Tensor:
    """A zero loss that stays connected to the graph (empty masks must not break backward)."""
    return t.sum() * 0.0


def silog_loss(pred_depth: torch.Tensor, gt_depth: torch.Tensor, valid: torch.Tensor | None = None,
               variance_focus: float = 0.85, scale: float = 1.0,
               eps: float = 1e-6) -> torch.Tensor:
    """Scale-invariant log loss, modot.md §2.1 (square-root form, **no x10** by default).

    ``L = scale * sqrt(max(mean(g^2) - variance_focus * mean(g)^2, 1e-13))`` with
    ``g = ln(pred) - ln(gt)`` over valid pixels pooled across the batch. The prediction is
    clamped to ``eps`` and the loss is computed in fp32 even under autocast (§8.4).
    """
    _check_4d("pred_depth", pred_depth)
    if pred_depth.shape != gt_depth.shape:
        raise LossInputError(f"pred_depth {tuple(pred_depth.shape)} != "
                             f"gt_depth {tuple(gt_depth.shape)}")
    mask = valid_depth_mask(gt_depth, valid)
    if not bool(mask.any()):
        return _zero_like_graph(pred_depth)
    pred = pred_depth.float().clamp_min(eps)[mask]
    g = torch.log(pred) - torch.log(gt_depth.float()[mask])
    var = (g * g).mean() - variance_focus * g.mean() ** 2
    return scale * torch.sqrt(var.clamp_min(1e-13))


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
    _check_4d("gt_boundary", gt_boundary)
    logits_list = list(logits_list)
    if len(logits_list) != len(side_weights):
        raise LossInputError(f"{len(logits_list)} OB outputs but {len(side_weights)} "
                             "side_weights; "
                             "pass one weight per output")
    weights = balanced_bce_weights(gt_boundary, neg_lambda)
    target = torch.where(gt_boundary == 1, 1.0, 0.0).to(torch.float32)
    total = torch.zeros((), device=gt_boundary.device)
    for beta, logits in zip(side_weights, logits_list):
        _check_4d("OB logits", logits)
        if logits.shape[-2:] != gt_boundary.shape[-2:]:
            logits = F.interpolate(logits, size=gt_boundary.shape[-2:], mode="bilinear",
                                   align_corners=False)
        bce = F.binary_cross_entropy_with_logits(logits.float(), target, weight=weights,
                                                 reduction="mean")
        total = total + beta * bce
    return total


def _shift(x: torch.Tensor, dy: int, dx: int, mode: str) -> torch.Tensor:
    """Neighbour map ``x(i+dy, j+dx)``; outside the image: 0 ("constant") or edge value."""
    padded = F.pad(x, (1, 1, 1, 1), mode=mode)
    h, w = x.shape[-2:]
    return padded[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]


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
    _check_4d("depth", depth)
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
    dv = (_shift(d, -1, 0, mode) - _shift(d, 1, 0, mode)).abs()
    dh = (_shift(d, 0, -1, mode) - _shift(d, 0, 1, mode)).abs()
    delta = torch.minimum(dv, dh) if original else torch.maximum(dv, dh)
    penalty = (m * (1.0 - (delta / saturation).clamp(0.0, 1.0))).sum()
    return penalty / (m.numel() if original else m.sum().clamp_min(1.0))


def _obdcl_smoothness(d: torch.Tensor, m: torch.Tensor, mode: str, original: bool) -> torch.Tensor:
    """4-neighbour ``|D - D_n|`` off the boundary (see :func:`obdcl_loss` for both forms)."""
    total = d.new_zeros(())
    pairs = d.new_zeros(())
    for dy, dx in _NEIGHBOURS:
        diff = (d - _shift(d, dy, dx, mode)).abs()
        if original:
            total = total + ((1.0 - m) * diff).sum()
        else:
            pair = (1.0 - m) * (1.0 - _shift(m, dy, dx, "replicate"))
            total = total + (pair * diff).sum()
            pairs = pairs + pair.sum()
    if original:
        return total / m.numel()
    # Pairs are counted per direction, so this is the mean over off-boundary pixels of the
    # 4-neighbour sum, like the original's sum over directions.
    return 4.0 * total / pairs.clamp_min(1.0)


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
        _check_4d(name, t)
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
        return _zero_like_graph(mu_inv) + _zero_like_graph(sigma_inv) + _zero_like_graph(weight)
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
    _check_4d("gt_depth", gt_depth)
    valid = valid_depth_mask(gt_depth)
    log_z = torch.where(valid, torch.log(gt_depth.float().clamp_min(1e-6)), 0.0)
    edge = torch.zeros_like(valid)
    for dy, dx in ((0, 1), (1, 0)):
        other = _shift(log_z, dy, dx, "replicate")
        both = valid & _shift(valid.float(), dy, dx, "replicate").bool()
        step = both & ((log_z - other).abs() > math.log(jump))
        edge = edge | step | _shift(step.float(), -dy, -dx, "constant").bool()
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
                          window: int = 5, jump: float = 1.1,
                          min_sigma: float = 1e-4) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
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
    """
    _check_4d("params", params)
    if params.shape[1] != 5:
        raise LossInputError(f"params must be a (B,5,H,W) mixture, got {tuple(params.shape)}")
    s = edge_surfaces(gt_depth, window, jump)
    mask = valid_depth_mask(gt_depth)
    if not bool(mask.any()):
        zero = _zero_like_graph(params)
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
    nll = torch.stack([nll_map[g].mean() for g in (mask & s.band, mask & ~s.band)
                       if bool(g.any())]).mean()
    own = torch.where(s.own_near, mu[:, 0:1], mu[:, 1:2])
    readout = silog_loss(1.0 / own.clamp_min(1e-8), gt_depth, variance_focus=variance_focus)
    bce = F.binary_cross_entropy(w1.clamp(1e-6, 1 - 1e-6), s.own_near.float(), reduction="none")
    groups = (mask & s.band & s.own_near, mask & s.band & ~s.own_near, mask & ~s.band)
    parts = [bce[g].mean() for g in groups if bool(g.any())]
    assignment = torch.stack(parts).mean()
    total = nll + readout_weight * readout + assignment_weight * assignment
    return total, {"nll": nll.detach(), "readout": readout.detach(),
                   "assignment": assignment.detach()}
