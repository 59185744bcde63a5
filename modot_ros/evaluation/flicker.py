"""Flicker: how much depth changes from frame to frame where the scene did not (sequences).

``log_depth_change(prev, cur, intr, T_cur_prev, gt_prev, gt_cur)`` is the per-pixel change of log
depth on static surfaces after the previous frame is moved into the current view with the *true*
camera motion (``geometry.forward_warp``, z-buffered). With ground truth in both frames the
correspondence comes from the GT depth and the change is that of the log *error*,
``(ln pred - ln gt)_cur - (ln pred - ln gt)_prev``, so neither the motion's own change of depth nor
a wrong predicted depth moving the correspondence counts; static = the warped previous GT agrees
with the current GT within ``STATIC_LOG_TOLERANCE`` (disocclusions and moving things drop out).
Without GT (a real bag with /tf) the previous prediction itself is warped and compared.

``FlickerMeter`` pools a sequence: mean |change| (``flicker``), the same after scaling every frame
to its GT median (``flicker_med``, the shape flicker left when scale is handled elsewhere), and
``cloud_churn``: the share of occupied voxels (``VOXEL_M``) that appear or disappear between two
frames' clouds, both in the current camera frame and limited to what both cameras see.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from modot_ros.geometry import CameraIntrinsics, backproject, forward_warp, invert_rigid

STATIC_LOG_TOLERANCE = 0.02  # |ln| of the GT's own change: above it the surface moved or was hidden
VOXEL_M = 0.05
FLICKER_LABELS = {"flicker": "flicker |Δ ln z|", "flicker_med": "flicker (median-scaled)",
                  "cloud_churn": "cloud voxel churn", "flicker_pairs": "frame pairs"}


def log_depth_change(prev: np.ndarray, cur: np.ndarray, intr: CameraIntrinsics, T_cur_prev: np.ndarray,
                     gt_prev: np.ndarray | None = None, gt_cur: np.ndarray | None = None) -> np.ndarray:
    """Per-pixel signed change of log depth (H, W) on static surfaces; NaN where not comparable."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if gt_prev is not None and gt_cur is not None:
            error_prev = np.log(prev) - np.log(gt_prev)
            warped_gt, _, (carried,) = forward_warp(gt_prev, intr, T_cur_prev, error_prev)
            static = np.abs(np.log(warped_gt) - np.log(gt_cur)) <= STATIC_LOG_TOLERANCE
            change = (np.log(cur) - np.log(gt_cur)) - carried
        else:
            warped, _, _ = forward_warp(prev, intr, T_cur_prev)
            static = np.isfinite(warped)
            change = np.log(cur) - np.log(warped)
    change = change.astype(np.float32)
    change[~(static & np.isfinite(change))] = np.nan
    return change


def _voxels(points: np.ndarray) -> np.ndarray:
    keys = np.floor(points / VOXEL_M).astype(np.int64) + (1 << 20)
    return np.unique((keys[:, 0] << 42) | (keys[:, 1] << 21) | keys[:, 2])


def _seen_by(points: np.ndarray, intr: CameraIntrinsics) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        z = points[:, 2]
        u = points[:, 0] / z * intr.fx + intr.cx
        v = points[:, 1] / z * intr.fy + intr.cy
        return (z > 0) & (u > -0.5) & (u < intr.width - 0.5) & (v > -0.5) & (v < intr.height - 0.5)


def cloud_churn(prev: np.ndarray, cur: np.ndarray, intr: CameraIntrinsics, T_cur_prev: np.ndarray,
                stride: int = 2) -> float:
    """Share of occupied voxels that appear or disappear between two depth maps' clouds (NaN: no points)."""
    def cloud(depth: np.ndarray) -> np.ndarray:
        points = backproject(depth, intr)[::stride, ::stride].reshape(-1, 3)
        return points[np.isfinite(points[:, 2])].astype(np.float64)

    a, b = cloud(prev), cloud(cur)
    a = a @ T_cur_prev[:3, :3].T + T_cur_prev[:3, 3]
    back = invert_rigid(T_cur_prev)
    a = a[_seen_by(a, intr)]  # what the current camera can see of the previous cloud ...
    b = b[_seen_by(b @ back[:3, :3].T + back[:3, 3], intr)]  # ... and the previous one of the current
    va, vb = _voxels(a), _voxels(b)
    union = len(np.union1d(va, vb))
    return float(len(np.setxor1d(va, vb, assume_unique=True)) / union) if union else float("nan")


class FlickerMeter:
    """Flicker of one sequence, frame by frame; ``add`` returns the frame's row, ``summary`` the pooled one.

    ``pose``: ``T_world_camera`` of the frame (true motion: the engine's poses, a bag's /tf), or None
    when unknown (that frame starts a new pair chain). ``gt``: GT depth at the prediction's size, or None.
    """

    def __init__(self, max_translation: float = 0.5) -> None:
        self.max_translation = max_translation  # a bigger jump is a cut (a new scene), not motion
        self.previous: tuple | None = None
        self.sums = {"flicker": [], "flicker_med": [], "cloud_churn": []}

    def add(self, depth: np.ndarray, intr: CameraIntrinsics, pose: np.ndarray | None,
            gt: np.ndarray | None = None) -> dict[str, float]:
        previous, self.previous = self.previous, (depth, intr, pose, gt)
        if previous is None or pose is None or previous[2] is None or previous[1] != intr:
            return {}
        motion = invert_rigid(pose) @ previous[2]
        if np.linalg.norm(motion[:3, 3]) > self.max_translation:
            return {}
        change = log_depth_change(previous[0], depth, intr, motion, previous[3], gt)
        row = {"flicker": float(np.nanmean(np.abs(change))) if np.isfinite(change).any() else float("nan")}
        if gt is not None and previous[3] is not None:
            row["flicker_med"] = _median_scaled_flicker(change, depth, gt, previous[0], previous[3])
        row["cloud_churn"] = cloud_churn(previous[0], depth, intr, motion)
        for key, value in row.items():
            if np.isfinite(value):
                self.sums[key].append(value)
        return row

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: float(np.mean(v)) for k, v in self.sums.items() if v}
        return out | {"flicker_pairs": len(self.sums["flicker"])}


def _median_log_error(depth: np.ndarray, gt: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        error = np.log(depth) - np.log(gt)
    return float(np.nanmedian(error)) if np.isfinite(error).any() else 0.0


def _median_scaled_flicker(change: np.ndarray, depth: np.ndarray, gt: np.ndarray, prev: np.ndarray,
                           gt_prev: np.ndarray) -> float:
    """Flicker after each frame is scaled to its GT median: the per-frame scale jump taken out."""
    shift = _median_log_error(depth, gt) - _median_log_error(prev, gt_prev)
    return float(np.nanmean(np.abs(change - shift))) if np.isfinite(change).any() else float("nan")
