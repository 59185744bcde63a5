"""Metric scale from a known camera height: ``|log(h_est / h_known)|`` on the predicted depth.

``h_est`` is the optical centre's height above the ground plane fitted to the predicted metric
depth (``modot_ros.scale.ground_plane.fit_ground``); ``h_known`` is the bag source's ``camera_height_m``.

Why a loss on the depth network, not the pose network's translation scaled by the detached ratio
``h_known / h_est``: the photometric loss is unchanged when depth and translation scale together,
so a rescaled translation is absorbed by the pose network (it learns to output the inverse factor)
and every scale stays a minimum. A term on the depth has one minimum, at the known height, and
the pose network follows through the photometric loss. L1 in log depth: a pull of bounded size
per image, so an occasional wrong plane (a large table top taken for the floor) cannot dominate.
"""
from __future__ import annotations

import torch

from modot_ros.scale.ground_plane import fit_ground


def camera_height_loss(depth: torch.Tensor, K: torch.Tensor,
                       known: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Mean ``|log(h_est / h_known)|`` over images with a known height and a plausible ground.

    depth: (B, 1, H, W) metric depth; K: (B, 3, 3); known: (B,) metres, NaN or 0 = unknown.
    Terms: ``height_images`` (images the term used), ``height_skipped`` (known height but no
    plausible ground plane) and ``height_log_ratio`` (mean signed log ratio, NaN when none).
    """
    wanted = torch.isfinite(known) & (known > 0)
    zero = depth.new_zeros(())
    if not wanted.any():
        return zero, {}
    fit = fit_ground(depth[wanted], K[wanted])
    log_ratio = torch.log(fit.height[fit.found] / known[wanted][fit.found].to(depth.dtype))
    value = log_ratio.abs().mean() if fit.found.any() else zero
    terms = {"height_images": fit.found.sum().float(), "height_skipped": (~fit.found).sum().float(),
             "height_log_ratio": log_ratio.detach().mean() if fit.found.any() else zero + torch.nan}
    return value, terms
