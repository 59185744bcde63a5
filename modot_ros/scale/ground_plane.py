"""Camera height above a flat ground from a depth map: a robust plane fit per image, in torch.

Self-supervised training without /tf learns depth only up to scale; a known camera height
(``camera_height_m`` of a bag source) fixes it, in training (``training.losses.camera_height``) and
at run time (``modot_ros.scale.fit.fit_camera_height``), with this one fit. The lower field of view
(pixels below the principal point, so a crop keeps the rule) is back-projected with
``modot_ros.geometry``; a batched RANSAC over plane hypotheses whose normal lies near the camera's
up direction picks the ground, and a few Tukey-weighted least-squares passes refine it, so objects
on the floor and walls get zero weight instead of pulling the plane. The height is then the
weighted mean distance of the inliers to the optical centre along the normal; normal and weights
are detached, so the height is a differentiable function of the depth, and exactly proportional to
it: every threshold is relative to the plane's own distance, so scaling the depth changes no inlier
and scales the height by the same factor (what makes it a measure of scale).

Why not a library: open3d's ``segment_plane`` fits one CPU point cloud at a time with an absolute
distance threshold (in metres, the unit this estimate is meant to find) and no orientation prior,
so a wall filling the view wins over the floor; scipy's ``least_squares(loss="huber")`` needs a
starting plane and fits one image at a time; kornia has no plane fit. Here one call handles the
batch on the training device.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from modot_ros.geometry import backproject_torch

# Up in the REP 103 optical frame (y points down): a level camera sees the floor normal as -y.
CAMERA_UP = (0.0, -1.0, 0.0)
# Robot and handheld cameras pitch up to ~35 deg (the engine's profiles); a wall tilts 90 deg.
MAX_TILT_DEG = 45.0
# Inlier band, relative to the plane's distance: predicted depth is good to a few per cent.
INLIER_TOLERANCE = 0.05
# The ground must explain this share of the lower field of view: a lone table top does not.
MIN_INLIER_SHARE = 0.3
MIN_POINTS = 64
HYPOTHESES = 128
MAX_POINTS = 4096
REFINE_STEPS = 3


class GroundFit(NamedTuple):
    """Per image (B,): height of the optical centre above the plane, its normal and validity.

    ``height`` is differentiable w.r.t. the depth where ``found``; elsewhere it is NaN.
    ``inlier_share``: share of the lower field of view's valid points within the inlier band;
    ``inliers`` their count; ``residual``: RMS inlier distance to the plane over the plane's distance.
    """

    height: torch.Tensor
    normal: torch.Tensor
    inlier_share: torch.Tensor
    found: torch.Tensor
    inliers: torch.Tensor
    residual: torch.Tensor


def _lower_points(depth: torch.Tensor, K: torch.Tensor,
                  max_points: int = MAX_POINTS) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N, 3) points of pixels below the principal point (every s-th pixel) and (B, N) validity."""
    points = backproject_torch(depth, K)  # (B, 3, H, W)
    height, width = depth.shape[-2:]
    stride = max(1, math.ceil(math.sqrt(height * width / 2 / max_points)))
    points, valid = points[..., ::stride, ::stride], torch.isfinite(depth) & (depth > 0)
    rows = torch.arange(0, height, stride, device=depth.device, dtype=K.dtype)
    valid = valid[..., ::stride, ::stride] & (rows.view(1, 1, -1, 1) > K[:, 1, 2].view(-1, 1, 1, 1))
    points = torch.where(valid, points, 0.0)  # NaN depth would poison the weighted sums
    return points.flatten(2).transpose(1, 2), valid.flatten(1)


def _oriented(normal: torch.Tensor, point: torch.Tensor, up: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit normals turned toward the camera's up, and the plane offsets d (n.p + d = 0)."""
    normal = normal / normal.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    normal = torch.where((normal @ up).unsqueeze(-1) < 0, -normal, normal)
    return normal, -(normal * point).sum(-1)


def _inliers(normal, offset, points, valid) -> torch.Tensor:
    """(M, B, N) True where a point lies within the band of plane m: normal (M, B, 3), offset (M, B)."""
    residual = (torch.einsum("mbk,bnk->mbn", normal, points) + offset.unsqueeze(-1)).abs()
    return valid & (residual < INLIER_TOLERANCE * offset.unsqueeze(-1))


def _ransac(points: torch.Tensor, valid: torch.Tensor, generator: torch.Generator, up: torch.Tensor,
            min_cos: float) -> tuple:
    """Best upright plane per image, (B, 3) normal and (B,) offset, from random point triples."""
    batch = points.shape[0]
    weights = valid.float() + 1e-12  # an image without valid points still draws (and fails later)
    picks = torch.multinomial(weights, 3 * HYPOTHESES, replacement=True, generator=generator)
    triples = points.gather(1, picks.unsqueeze(-1).expand(-1, -1, 3)).view(batch, HYPOTHESES, 3, 3)
    normal = torch.cross(triples[:, :, 1] - triples[:, :, 0], triples[:, :, 2] - triples[:, :, 0], dim=-1)
    normal, offset = _oriented(normal, triples[:, :, 0], up)
    upright = normal @ up >= min_cos
    inliers = _inliers(normal.transpose(0, 1), offset.transpose(0, 1), points, valid)  # (M, B, N)
    score = inliers.sum(-1).transpose(0, 1) * (upright & (offset > 0))  # below the camera only
    best = score.argmax(1)
    rows = torch.arange(batch, device=points.device)
    return normal[rows, best], offset[rows, best]


def _refine(points, valid, normal, offset, up) -> tuple:
    """Tukey-weighted least-squares planes started from RANSAC's; off-plane points weigh zero."""
    for _ in range(REFINE_STEPS):
        residual = torch.einsum("bk,bnk->bn", normal, points) + offset.unsqueeze(-1)
        scaled = residual / (2 * INLIER_TOLERANCE * offset.abs().clamp_min(1e-9)).unsqueeze(-1)
        weight = ((1 - scaled**2).clamp_min(0) ** 2) * valid
        total = weight.sum(1, keepdim=True).clamp_min(1e-9)
        centre = (weight.unsqueeze(-1) * points).sum(1) / total
        spread = points - centre.unsqueeze(1)
        covariance = torch.einsum("bn,bni,bnj->bij", weight, spread, spread) / total.unsqueeze(-1)
        normal, offset = _oriented(torch.linalg.eigh(covariance)[1][..., 0], centre, up)
    return normal, offset


def fit_ground(depth: torch.Tensor, K: torch.Tensor, seed: int = 0, up: tuple = CAMERA_UP,
               max_tilt_deg: float = MAX_TILT_DEG, max_points: int = MAX_POINTS) -> GroundFit:
    """Ground plane and camera height of (B, 1, H, W) metric depth with (B, 3, 3) intrinsics.

    Not found (height NaN) where fewer than ``MIN_POINTS`` or ``MIN_INLIER_SHARE`` of the lower
    field of view lie on the plane, or its normal tilts more than ``max_tilt_deg`` from ``up``
    (the gravity prior in the optical frame: a camera pitched down sees up tilted toward -z).
    ``max_points``: lower-field points sampled per image (fewer: faster, coarser).
    """
    K = K.to(depth.dtype)
    points, valid = _lower_points(depth, K, max_points)
    with torch.no_grad():
        generator = torch.Generator(device=depth.device).manual_seed(seed)
        plain = points.detach().float()
        up = plain.new_tensor(up) / float(torch.tensor(up, dtype=torch.float64).norm())
        min_cos = math.cos(math.radians(max_tilt_deg))
        normal, offset = _refine(plain, valid, *_ransac(plain, valid, generator, up, min_cos), up)
        inliers = _inliers(normal[None], offset[None], plain, valid)[0]
        weight = inliers.float()
        share = weight.sum(1) / valid.sum(1).clamp_min(1)
        upright = normal @ up >= min_cos
        found = upright & (offset > 0) & (weight.sum(1) >= MIN_POINTS) & (share >= MIN_INLIER_SHARE)
        relative = (torch.einsum("bk,bnk->bn", normal, plain) + offset.unsqueeze(-1)) / offset.abs().clamp_min(
            1e-9).unsqueeze(-1)
        residual = ((relative**2 * weight).sum(1) / weight.sum(1).clamp_min(1)).sqrt()
    distance = -(points * normal.to(points.dtype).unsqueeze(1)).sum(-1)  # differentiable in depth
    height = (distance * weight).sum(1) / weight.sum(1).clamp_min(1)
    return GroundFit(torch.where(found, height, torch.nan), normal, share, found, weight.sum(1), residual)
