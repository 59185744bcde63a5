"""Point-cloud metrics: flying-pixel rate at depth discontinuities, Chamfer / F-score.

Flying pixels (mixture_depth.md §8.C "success criteria"; §4.3 edge-band evaluation):
GT discontinuity pixels are those whose 3x3 GT window spans a depth ratio max/min above
``1 + jump``; the band is those pixels dilated by ``band`` px (square window). For each band
pixel with valid GT, the two sides are z_fg = min and z_bg = max of GT in a square window of
radius ``band + 1`` (large enough to reach both sides from anywhere in the band). A predicted
depth z is *off-surface* when |z - z_fg| > rel_tol * z and |z - z_bg| > rel_tol * z, and *flying*
when it is off-surface and between the sides (z_fg < z < z_bg). The comparison is per pixel
along its viewing ray, so it equals the 3-D test without back-projecting.

Chamfer / F-score (mixture_depth.md §4.3, Örnek et al. 2022): nearest-neighbour distances
both ways; chamfer = mean(pred->GT) + mean(GT->pred); precision / recall = fraction of
pred->GT / GT->pred distances below ``tau`` (metres, or a fraction of the point's depth with
``relative=True``), F = 2PR/(P+R).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from modot_ros.depth_units import valid_depth_mask


def depth_discontinuities(gt: np.ndarray, jump: float = 0.1) -> np.ndarray:
    """GT pixels whose valid 3x3 neighbourhood has max/min depth > 1 + ``jump``."""
    gt = np.asarray(gt, dtype=np.float64)
    ok = valid_depth_mask(gt)
    hi = ndimage.maximum_filter(np.where(ok, gt, -np.inf), size=3, mode="nearest")
    lo = ndimage.minimum_filter(np.where(ok, gt, np.inf), size=3, mode="nearest")
    return ok & (hi > lo * (1 + jump))


def flying_pixel_rate(pred: np.ndarray, gt: np.ndarray, band: int = 2, rel_tol: float = 0.05,
                      jump: float = 0.1, boundaries: np.ndarray | None = None) -> dict[str, float]:
    """Fraction of band pixels whose predicted depth floats between or off both GT surfaces.

    ``boundaries`` overrides the GT discontinuity mask (e.g. OB labels). Returns
    ``flying_rate``, ``off_surface_rate`` and ``n_band`` (NaN rates when the band is empty).
    """
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} differ in shape")
    ok = valid_depth_mask(gt)
    edges = depth_discontinuities(gt, jump) if boundaries is None else np.asarray(boundaries, bool)
    in_band = ndimage.binary_dilation(edges, np.ones((2 * band + 1,) * 2, bool)) & ok
    size = 2 * band + 3
    z_fg = ndimage.minimum_filter(np.where(ok, gt, np.inf), size=size, mode="nearest")[in_band]
    z_bg = ndimage.maximum_filter(np.where(ok, gt, -np.inf), size=size, mode="nearest")[in_band]
    z = np.nan_to_num(pred[in_band], nan=0.0, posinf=0.0)  # no prediction counts as off-surface
    off = (np.abs(z - z_fg) > rel_tol * z) & (np.abs(z - z_bg) > rel_tol * z)
    between = (z > z_fg) & (z < z_bg)
    n = int(in_band.sum())
    if n == 0:
        return {"flying_rate": float("nan"), "off_surface_rate": float("nan"), "n_band": 0.0}
    return {"flying_rate": float((off & between).mean()), "off_surface_rate": float(off.mean()),
            "n_band": float(n)}


def _finite_points(xyz: np.ndarray, name: str) -> np.ndarray:
    """(N, 3) float64 finite points from an (N, 3) or organised (H, W, 3) cloud."""
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.ndim not in (2, 3) or xyz.shape[-1] != 3:
        raise ValueError(f"{name} must be (N, 3) or (H, W, 3) points, got shape {xyz.shape}")
    pts = xyz.reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        raise ValueError(f"{name} has no finite point")
    return pts


def chamfer_fscore(pred_xyz: np.ndarray, gt_xyz: np.ndarray, tau: float = 0.1,
                   relative: bool = False) -> dict[str, float]:
    """Chamfer distance and precision / recall / F-score of a predicted cloud against GT.

    Non-finite points (NaN invalid pixels of organised clouds) are dropped. With
    ``relative=True`` a pred point counts when its distance < tau * its z (same for GT).
    """
    pred, gt = _finite_points(pred_xyz, "pred_xyz"), _finite_points(gt_xyz, "gt_xyz")
    d_pred = cKDTree(gt).query(pred, k=1)[0]
    d_gt = cKDTree(pred).query(gt, k=1)[0]
    lim_pred = tau * np.abs(pred[:, 2]) if relative else tau
    lim_gt = tau * np.abs(gt[:, 2]) if relative else tau
    precision, recall = float(np.mean(d_pred < lim_pred)), float(np.mean(d_gt < lim_gt))
    f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"chamfer": float(d_pred.mean() + d_gt.mean()), "accuracy": float(d_pred.mean()),
            "completeness": float(d_gt.mean()), "precision": precision, "recall": recall,
            "fscore": f}
