"""Reprojection primitives of the self-supervised losses: uncertain warping, SSIM, smoothness.

Formulas are restated from ``/work/shared/reference/mixture_depth.md`` §2.3 (uncertainty
propagation through the reprojection), §2.4 (responsibilities) and §5 (monodepth2 SSIM,
photometric error, edge-aware smoothness); the loss built from them is in
:mod:`training.losses.photometric`.

All camera geometry goes through :mod:`modot_ros.geometry`. Images are ``(B, 3, H, W)`` in
[0, 1]; inverse depth and its std are in 1/m of the space the poses' translations use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from modot_ros.geometry import (backproject_torch, pixel_grid_to_normalized, project_torch,
                                transform_points_torch)

_C1 = 0.01 ** 2
_C2 = 0.03 ** 2
_MIN_STD = 1e-6


@dataclass
class Warp:
    """A source image sampled at a component's reprojection: colour, its std, validity."""

    colour: torch.Tensor  # (B, C, H, W)
    colour_std: torch.Tensor | None  # (B, C, H, W), None when no sigma was given
    valid: torch.Tensor  # (B, 1, H, W) float {0, 1}


def relative_pose(cam_to_world_target: torch.Tensor,
                  cam_to_world_source: torch.Tensor) -> torch.Tensor:
    """``T_source_from_target = inv(T_w_source) @ T_w_target`` (B, 4, 4) float32.

    The one relative-pose helper of the project. Inputs are camera-to-world poses (B, 4, 4), as
    the synthetic engine gives them; the target camera is the one whose pixels get warped.

    It maps target-camera points into the source camera, as warping needs (§8.C).
    Computed in float64.
    """
    t_w_t = cam_to_world_target.to(torch.float64)
    t_w_s = cam_to_world_source.to(torch.float64)
    return (torch.linalg.inv(t_w_s) @ t_w_t).to(torch.float32)


def _ssim_terms(x: torch.Tensor, y: torch.Tensor):
    """3x3 box-window statistics with reflection padding, monodepth2 style (§5)."""
    def pool(t: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(F.pad(t, (1, 1, 1, 1), mode="reflect"), 3, 1)

    mu_x, mu_y = pool(x), pool(y)
    s_xx = pool(x * x) - mu_x ** 2
    s_yy = pool(y * y) - mu_y ** 2
    s_xy = pool(x * y) - mu_x * mu_y
    a, b = 2 * mu_x * mu_y + _C1, 2 * s_xy + _C2
    c, d = mu_x ** 2 + mu_y ** 2 + _C1, s_xx + s_yy + _C2
    return mu_x, mu_y, a, b, c, d


def ssim_dissimilarity(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-channel ``clamp((1 - SSIM(x, y)) / 2, 0, 1)`` (mixture_depth.md §5)."""
    _, _, a, b, c, d = _ssim_terms(x, y)
    return ((1 - (a * b) / (c * d)) / 2).clamp(0, 1)


def _centre_sensitivity(x, y, mu_x, mu_y, a, b, c, d) -> torch.Tensor:
    p, q = a * b, c * d
    num = mu_y * b * q - mu_x * d * p + a * q * (y - mu_y) - c * p * (x - mu_x)
    return num.abs() / (9.0 * q * q)


def ssim_centre_sensitivity(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``|d rho_SSIM / d x_centre|`` per pixel and channel, closed form of §2.3 step 3 (N = 9)."""
    return _centre_sensitivity(x, y, *_ssim_terms(x, y))


def photometric_error(x: torch.Tensor, y: torch.Tensor, ssim_weight: float = 0.85) -> torch.Tensor:
    """Per-channel ``ssim_weight * rho_SSIM + (1 - ssim_weight) * |x - y|`` (§2.3 step 3, §5)."""
    return ssim_weight * ssim_dissimilarity(x, y) + (1 - ssim_weight) * (x - y).abs()


def photometric_error_with_sensitivity(x: torch.Tensor, y: torch.Tensor, ssim_weight: float = 0.85
                                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`photometric_error` and the detached :func:`ssim_centre_sensitivity` of ``x``.

    One set of window statistics serves both (the SSIM pooling dominates the cost).
    """
    mu_x, mu_y, a, b, c, d = _ssim_terms(x, y)
    rho = ((1 - (a * b) / (c * d)) / 2).clamp(0, 1)
    error = ssim_weight * rho + (1 - ssim_weight) * (x - y).abs()
    stats = (t.detach() for t in (mu_x, mu_y, a, b, c, d))
    return error, _centre_sensitivity(x.detach(), y, *stats)


def edge_aware_smoothness(field: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Mean of ``|dx f| exp(-|dx I|) + |dy f| exp(-|dy I|)`` (§5).

    The image gradient is averaged over channels.
    """
    dfx = (field[..., :, 1:] - field[..., :, :-1]).abs()
    dfy = (field[..., 1:, :] - field[..., :-1, :]).abs()
    dix = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(1, keepdim=True)
    diy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(1, keepdim=True)
    return (dfx * torch.exp(-dix)).mean() + (dfy * torch.exp(-diy)).mean()


def _reproject(inv_depth: torch.Tensor, K: torch.Tensor, T: torch.Tensor):
    """Target pixels at depth 1/inv_depth -> source pixel coordinates and source-frame z."""
    points = transform_points_torch(backproject_torch(1.0 / inv_depth, K), T)
    return project_torch(points, K)


def position_jacobian(inv_depth: torch.Tensor, K: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """``d(u, v)/d(inverse depth)`` per pixel (B, 2, H, W), detached (§2.3 step 1).

    With ``a = K R K^-1 p`` and ``b = K t`` the source pixel is ``h(d) = a + d b`` divided by
    ``h_z``, so ``dx/dd = (b_xy a_z - b_z a_xy) / (a_z + d b_z)^2``. ``K^-1 p`` and ``R K^-1 p``
    come from the geometry module (back-projection at depth 1, rotation-only transform).
    """
    K, T, d = K.detach(), T.detach().to(inv_depth.dtype), inv_depth.detach()
    rotation = T.clone()
    rotation[:, :3, 3] = 0.0
    rays = transform_points_torch(backproject_torch(torch.ones_like(d), K), rotation)
    K = K.to(d.dtype)
    a = torch.einsum("bij,bjhw->bihw", K, rays)
    b = (K @ T[:, :3, 3:]).unsqueeze(-1)  # (B, 3, 1, 1)
    h_z = a[:, 2:] + d * b[:, 2:]
    return (b[:, :2] * a[:, 2:] - b[:, 2:] * a[:, :2]) / (h_z * h_z)


def _sample(image: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    grid = pixel_grid_to_normalized(uv, image.shape[-1], image.shape[-2])
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def bilinear_image_gradient(image: torch.Tensor,
                            uv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact derivative of bilinear sampling w.r.t. the sample position (§2.3 step 2).

    ``dm/dx = (1 - f_y) (c10 - c00) + f_y (c11 - c01)``: the forward horizontal difference image
    sampled at column floor(x), bilinear in y; likewise for y.
    """
    dx = F.pad(image[..., :, 1:] - image[..., :, :-1], (0, 1))
    dy = F.pad(image[..., 1:, :] - image[..., :-1, :], (0, 0, 0, 1))
    u, v = uv[:, :1], uv[:, 1:]
    gx = _sample(dx, torch.cat([torch.floor(u), v], dim=1))
    gy = _sample(dy, torch.cat([u, torch.floor(v)], dim=1))
    return gx, gy


def warp_with_uncertainty(source: torch.Tensor, inv_depth: torch.Tensor,
                          inv_sigma: torch.Tensor | None,
                          K: torch.Tensor, T_source_from_target: torch.Tensor,
                          abs_sensitivity: bool = True) -> Warp:
    """Sample ``source`` at each target pixel's reprojection; propagate sigma (§2.3 steps 1-2).

    Mean colour has gradients to ``inv_depth`` (and the pose); the colour std
    ``(dm/dx . dx/dd) * sigma`` has gradients only to ``inv_sigma``. Valid: 0 < x < W-1,
    0 < y < H-1, in front of the source camera, then a 3x3 erosion (SSIM reads neighbours).
    """
    height, width = source.shape[-2:]
    uv, z = _reproject(inv_depth, K, T_source_from_target)
    colour = _sample(source, uv)
    u, v = uv[:, :1].detach(), uv[:, 1:].detach()
    inside = (u > 0) & (u < width - 1) & (v > 0) & (v < height - 1) & (z.detach() > 1e-3)
    valid = -F.max_pool2d(-inside.to(source.dtype), 3, 1, 1)
    if inv_sigma is None:
        return Warp(colour, None, valid)
    jac = position_jacobian(inv_depth, K, T_source_from_target)
    gx, gy = bilinear_image_gradient(source, uv.detach())
    sensitivity = gx * jac[:, :1] + gy * jac[:, 1:]
    if abs_sensitivity:
        std = sensitivity.abs() * inv_sigma
    else:
        std = (sensitivity * inv_sigma).clamp_min(_MIN_STD)
    return Warp(colour, std, valid)


def responsibilities(loss: torch.Tensor, loss_std: torch.Tensor,
                     weight: torch.Tensor) -> torch.Tensor:
    """Posterior-like ``w_k = alpha_k P_k / sum_j alpha_j P_j`` for K = 2 (§2.4), detached.

    ``P_2 = Phi((L_1 - L_2) / sqrt(s_1^2 + s_2^2))`` is the probability that component 2 has the
    lower loss when each loss is Gaussian. ``loss``/``loss_std``: (2, ...); ``weight``: (2, ...).
    """
    loss, weight = loss.detach(), weight.detach()
    std = loss_std.detach().clamp_min(_MIN_STD)
    scale = torch.sqrt(std[0] ** 2 + std[1] ** 2)
    p2 = 0.5 * (1 + torch.erf((loss[0] - loss[1]) / (scale * math.sqrt(2.0))))
    prob = torch.stack([1 - p2, p2])
    joint = weight * prob
    return joint / joint.sum(0, keepdim=True).clamp_min(1e-12)
