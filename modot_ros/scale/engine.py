"""``ScaleEngine``: one frame's measurement -> fit -> steady scale -> scaled prediction.

The node, bag evaluation and training evaluation run the same engine, so a scale measured offline
is the scale the robot gets; its options are ``settings.ScaleSettings``.

A measurement is ROS-free (the node converts messages first): ``sparse_depth`` a metric depth
image (metres, NaN invalid), ``laser_scan`` a ``LaserScanData`` (the lidar's pose from tf where
the measurement carries one, else ``laser_extrinsic``), ``range`` a ``RangeData``;
``camera_height`` needs none. Measurements older than ``scale_max_age`` (relative to the image
stamp) count as silent.
"""
from __future__ import annotations

from typing import Any

from modot_ros.scale.fit import (FitOptions, ScaleFit, fit_camera_height, fit_points, fit_range_beam,
                                 fit_sparse_depth, up_from_pitch)
from modot_ros.scale.samples import extrinsic_from_text, laser_scan_samples, offset_from_text, range_beam
from modot_ros.scale.settings import LaserScanData, RangeData, ScaleSettings
from modot_ros.scale.tracker import ScaleState, ScaleTracker, scaled_prediction


class ScaleEngine:
    """Fits and tracks the scale of successive predictions of one camera."""

    def __init__(self, settings: ScaleSettings = ScaleSettings()) -> None:
        if problems := settings.problems():
            raise ValueError("; ".join(problems))
        self.settings = settings
        self.tracker = ScaleTracker(settings.scale_smoothing, settings.scale_outlier, hold_s=settings.scale_hold)
        self.options = FitOptions(min_inliers=settings.scale_min_inliers, shift=settings.scale_fit_shift)
        self.extrinsic = extrinsic_from_text(settings.laser_extrinsic)
        self.range_offset = offset_from_text(settings.range_offset)

    @property
    def active(self) -> bool:
        return self.settings.scale_source != "model"

    def fit(self, prediction: Any, measurement: Any) -> ScaleFit | None:
        """This frame's fit; None when the source gave nothing (silent)."""
        s, intr = self.settings, prediction.intrinsics
        depth, boundary, confidence = prediction.depth, prediction.boundary, prediction.confidence
        if s.scale_source == "camera_height":
            return fit_camera_height(depth, intr, s.camera_height, boundary, confidence,
                                     up=up_from_pitch(s.camera_pitch), max_tilt_deg=s.ground_tolerance)
        if measurement is None:
            return None
        if s.scale_source == "sparse_depth" or not isinstance(measurement, (LaserScanData, RangeData)):
            return fit_sparse_depth(depth, measurement, intr, boundary, confidence, self.options)
        if s.scale_source == "laser_scan":
            scan = measurement
            pose = self.extrinsic if scan.T_optical_laser is None else scan.T_optical_laser
            u, v, z = laser_scan_samples(scan.ranges, scan.angle_min, scan.angle_increment, scan.range_min,
                                         scan.range_max, pose, intr)
            return fit_points(depth, u, v, z, boundary, confidence, self.options)
        if not measurement.min_range <= measurement.range <= measurement.max_range:
            return ScaleFit(reason=f"range {measurement.range} m outside [{measurement.min_range}, "
                                   f"{measurement.max_range}]")
        beam = range_beam(measurement.range, measurement.field_of_view, s.range_pixel_u, s.range_pixel_v,
                          self.range_offset, intr)
        return fit_range_beam(depth, beam, boundary, confidence, self.options)

    def process(self, prediction: Any, measurement: Any, stamp_s: float) -> tuple[Any, ScaleState | None]:
        """(scaled prediction, state); the prediction unchanged and None for ``scale_source`` model."""
        if not self.active:
            return prediction, None
        state = self.tracker.update(self.fit(prediction, measurement), stamp_s)
        return scaled_prediction(prediction, state, self.settings.scale_poor_confidence), state


def ground_truth_measurement(settings: ScaleSettings, gt: Any, intrinsics: Any, sample: str,
                             noise: float = 0.02, seed: int = 0) -> Any:
    """The measurement a sensor would give, drawn from a GT depth map (offline evaluation).

    ``sparse_depth`` / ``laser_scan``: the ``sample`` pixels (``samples.ground_truth_samples``:
    beam, lidar_row, points:N) as a sparse depth image on the GT grid, fitted like a registered
    depth image; ``range``: the GT range at ``range_pixel_u/v`` with the same relative noise, as
    from a rangefinder at the optical centre with a one-pixel cone (``range_offset`` must be 0);
    ``camera_height`` / ``model``: None (nothing to sample).
    """
    import numpy as np

    from modot_ros.scale.samples import ground_truth_samples

    rng = np.random.default_rng(seed)
    if settings.scale_source == "range":  # a beam from the optical centre, one pixel wide
        beam = range_beam(1.0, 0.0, settings.range_pixel_u, settings.range_pixel_v, np.zeros(3), intrinsics)
        row = int(np.clip(np.rint(beam.v), 0, gt.shape[0] - 1))
        col = int(np.clip(np.rint(beam.u), 0, gt.shape[1] - 1))
        range_m = float(gt[row, col] / beam.z) * (1 + noise * rng.standard_normal())  # beam.z = 1 / |ray|
        return RangeData(range_m, 0.0, float("inf")) if np.isfinite(range_m) else None
    if settings.scale_source not in ("sparse_depth", "laser_scan"):
        return None
    u, v, z = ground_truth_samples(gt, intrinsics, sample, noise, seed)
    sparse = np.full(gt.shape, np.nan, np.float32)
    sparse[v.astype(int), u.astype(int)] = z
    return sparse
