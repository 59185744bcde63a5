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

Cloud quality of an edge-aware or filtered cloud (``cloud_quality``, issue 22): the flying points
above counted over the band (a removed point is never flying), *completeness* = the share of GT
points with a kept point within ``rel_tol`` of their depth (the relative recall above), and the
Chamfer / F-score, on every ``stride``-th row and column because the KD-tree dominates the cost.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from modot_ros.depth_units import valid_depth_mask
from modot_ros.geometry import CameraIntrinsics, backproject
# the GT edge finder is the runtime's veiling filter too: one implementation, in the runtime
from modot_ros.pipeline.cloud_filters import depth_discontinuities  # noqa: F401 (re-exported)


def _band_classes(pred: np.ndarray, gt: np.ndarray, band: int, rel_tol: float, jump: float,
                  boundaries: np.ndarray | None, gt_measured: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band mask, and per band pixel: off both GT surfaces, between them (see module doc)."""
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} differ in shape")
    ok = valid_depth_mask(gt) if gt_measured is None else gt_measured
    edges = depth_discontinuities(gt, jump) if boundaries is None else np.asarray(boundaries, bool)
    in_band = ndimage.binary_dilation(edges, np.ones((2 * band + 1,) * 2, bool)) & ok
    size = 2 * band + 3
    z_fg = ndimage.minimum_filter(np.where(ok, gt, np.inf), size=size, mode="nearest")[in_band]
    z_bg = ndimage.maximum_filter(np.where(ok, gt, -np.inf), size=size, mode="nearest")[in_band]
    z = np.nan_to_num(pred[in_band], nan=0.0, posinf=0.0)  # no prediction counts as off-surface
    off = (np.abs(z - z_fg) > rel_tol * z) & (np.abs(z - z_bg) > rel_tol * z)
    return in_band, off, (z > z_fg) & (z < z_bg)


def flying_mask(pred: np.ndarray, gt: np.ndarray, band: int = 2, rel_tol: float = 0.05,
                jump: float = 0.1) -> np.ndarray:
    """(H, W) bool: band pixels whose predicted point floats strictly between the two GT surfaces."""
    in_band, off, between = _band_classes(pred, gt, band, rel_tol, jump, None)
    mask = np.zeros(in_band.shape, bool)
    mask[in_band] = off & between
    return mask


def flying_pixel_rate(pred: np.ndarray, gt: np.ndarray, band: int = 2, rel_tol: float = 0.05,
                      jump: float = 0.1, boundaries: np.ndarray | None = None,
                      gt_measured: np.ndarray | None = None) -> dict[str, float]:
    """Fraction of band pixels whose predicted depth floats between or off both GT surfaces.

    ``boundaries`` overrides the GT discontinuity mask (e.g. OB labels). ``gt_measured``:
    ``valid_depth_mask(gt)`` when the caller has it (no depth limits: every GT surface counts).
    Returns ``flying_rate``, ``off_surface_rate`` and ``n_band`` (NaN rates when the band is empty).
    """
    in_band, off, between = _band_classes(pred, gt, band, rel_tol, jump, boundaries, gt_measured)
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


def nearest_distances(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Distance from each of ``points`` to its nearest ``reference`` point.

    open3d's KD-tree: the same distances as scipy's cKDTree in about half its time on one thread
    (76,800 points each way; ``benchmarks/bench_clouds.py`` measures both), parallel where cores
    are free.
    """
    import open3d as o3d  # here, not at the top: importing it takes seconds, the node never needs it

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    return np.asarray(cloud.compute_point_cloud_distance(
        o3d.geometry.PointCloud(o3d.utility.Vector3dVector(reference))))


def chamfer_fscore(pred_xyz: np.ndarray, gt_xyz: np.ndarray, tau: float = 0.1,
                   relative: bool = False) -> dict[str, float]:
    """Chamfer distance and precision / recall / F-score of a predicted cloud against GT.

    Non-finite points (NaN invalid pixels of organised clouds) are dropped. With
    ``relative=True`` a pred point counts when its distance < tau * its z (same for GT).
    """
    pred, gt = _finite_points(pred_xyz, "pred_xyz"), _finite_points(gt_xyz, "gt_xyz")
    d_pred, d_gt = nearest_distances(pred, gt), nearest_distances(gt, pred)
    lim_pred = tau * np.abs(pred[:, 2]) if relative else tau
    lim_gt = tau * np.abs(gt[:, 2]) if relative else tau
    precision, recall = float(np.mean(d_pred < lim_pred)), float(np.mean(d_gt < lim_gt))
    f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"chamfer": float(d_pred.mean() + d_gt.mean()), "accuracy": float(d_pred.mean()),
            "completeness": float(d_gt.mean()), "precision": precision, "recall": recall,
            "fscore": f}


def cloud_accuracy(depth: np.ndarray, gt: np.ndarray, intrinsics: CameraIntrinsics, tau: float = 0.05,
                   stride: int = 2) -> dict[str, float]:
    """``chamfer_fscore`` (relative ``tau``) of the clouds of two depth maps, every ``stride``-th pixel."""
    pick = np.s_[::stride, ::stride]
    gt = np.where(valid_depth_mask(gt), gt, np.nan)  # sources that mark invalid GT with 0
    return chamfer_fscore(backproject(depth, intrinsics)[pick], backproject(gt, intrinsics)[pick],
                          tau=tau, relative=True)


def cloud_quality(depth: np.ndarray, gt: np.ndarray, intrinsics: CameraIntrinsics, rel_tol: float = 0.05,
                  band: int = 2, stride: int = 2) -> dict[str, float]:
    """Flying points, completeness and accuracy of the cloud of ``depth`` (NaN = no point) vs GT.

    ``flying_points`` counts band pixels whose kept point lies strictly between the two GT
    surfaces; ``completeness`` is the relative recall at ``rel_tol``; ``kept`` the share of GT-valid
    pixels that still have a point.
    """
    in_band, off, between = _band_classes(depth, gt, band, rel_tol, 0.1, None)
    flying, n_band = float((off & between).sum()), float(in_band.sum())
    gt_valid = valid_depth_mask(gt)
    kept = float((gt_valid & np.isfinite(depth)).sum() / max(1, gt_valid.sum()))
    if not np.isfinite(depth[::stride, ::stride]).any():  # all removed: nothing flies, nothing is complete
        return {"flying_points": 0.0, "n_band": n_band, "completeness": 0.0, "kept": kept,
                "chamfer": float("nan"), "fscore": 0.0}
    cloud = cloud_accuracy(depth, gt, intrinsics, rel_tol, stride)
    return {"flying_points": flying, "n_band": n_band, "completeness": cloud["recall"],
            "kept": kept, "chamfer": cloud["chamfer"], "fscore": cloud["fscore"]}
