"""What users run today against flying pixels, as functions of an (H, W) depth image.

Each filter returns a copy of the depth with the removed points set to NaN (or, for the median,
with smoothed depth), so a filtered cloud is ``backproject(filtered, intrinsics)`` and every
method is scored by the same per-pixel metrics (``modot_ros.evaluation.cloud_metrics``):

* ``median``: a depth-image median filter (cv2.medianBlur; float32 supports 3 and 5 only);
* ``veiling``: drop a pixel when its valid 3x3 neighbourhood spans a depth ratio max/min above
  ``1 + threshold``, the image-space form of laser_filters' ScanShadowsFilter ("veiling effect");
* ``statistical`` / ``radius``: open3d's ``remove_statistical_outlier`` and
  ``remove_radius_outlier`` on the back-projected cloud, as the PCL filters users chain.
"""
from __future__ import annotations

import cv2
import numpy as np

from modot_ros.depth_units import valid_depth_mask
from modot_ros.geometry import CameraIntrinsics, backproject


def depth_discontinuities(gt: np.ndarray, jump: float = 0.1) -> np.ndarray:
    """GT pixels whose valid 3x3 neighbourhood has max/min depth > 1 + ``jump``."""
    gt = np.asarray(gt)
    gt = gt.astype(np.result_type(gt.dtype, np.float32), copy=False)  # float32 maps stay float32: 2x faster
    ok = valid_depth_mask(gt)
    # cv2's 3x3 grey dilate / erode with replicated borders equal ndimage's max / min filters with
    # mode="nearest" and run ~5x faster: evaluation uses it to find GT depth edges
    window = np.ones((3, 3), np.uint8)
    hi = cv2.dilate(np.where(ok, gt, -np.inf), window, borderType=cv2.BORDER_REPLICATE)
    lo = cv2.erode(np.where(ok, gt, np.inf), window, borderType=cv2.BORDER_REPLICATE)
    return ok & (hi > lo * (1 + jump))


def median_filter(depth: np.ndarray, size: int) -> np.ndarray:
    """Median of each ``size`` x ``size`` window; NaN pixels stay NaN and count as 0 for neighbours."""
    if size not in (3, 5):
        raise ValueError(f"median size must be 3 or 5 (cv2.medianBlur on float32), got {size}")
    valid = np.isfinite(depth)
    smoothed = cv2.medianBlur(np.where(valid, depth, 0).astype(np.float32), size)
    return np.where(valid & (smoothed > 0), smoothed, np.nan).astype(np.float32)


def veiling_filter(depth: np.ndarray, threshold: float) -> np.ndarray:
    """Drop pixels whose valid 3x3 neighbourhood spans max/min depth > 1 + ``threshold``."""
    return np.where(depth_discontinuities(depth, threshold), np.nan, depth).astype(np.float32)


def _kept_pixels(depth: np.ndarray, intr: CameraIntrinsics, remove) -> np.ndarray:
    """Run an open3d outlier filter on the finite points; depth with the removed ones NaN."""
    import open3d as o3d  # here, not at the top: importing it takes seconds, the veiling filter does not need it

    flat = backproject(depth, intr).reshape(-1, 3)
    index = np.flatnonzero(np.isfinite(flat).all(axis=1))
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(flat[index].astype(np.float64)))
    _, kept = remove(cloud)
    out = np.full(depth.size, np.nan, np.float32)
    chosen = index[np.asarray(kept, np.int64)]
    out[chosen] = depth.reshape(-1)[chosen]
    return out.reshape(depth.shape)


def statistical_filter(depth: np.ndarray, intr: CameraIntrinsics, neighbours: int, std_ratio: float) -> np.ndarray:
    """open3d ``remove_statistical_outlier(nb_neighbors, std_ratio)`` on the back-projected points."""
    return _kept_pixels(depth, intr, lambda c: c.remove_statistical_outlier(neighbours, std_ratio))


def radius_filter(depth: np.ndarray, intr: CameraIntrinsics, points: int, radius: float) -> np.ndarray:
    """open3d ``remove_radius_outlier(nb_points, radius)`` (metres) on the back-projected points."""
    return _kept_pixels(depth, intr, lambda c: c.remove_radius_outlier(points, radius))
