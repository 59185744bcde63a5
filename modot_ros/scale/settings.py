"""``ScaleSettings``: the options of the metric-scale engine, in one place (no torch, no numpy).

The node's parameters of the same names (``modot_ros.ros.node_config``) copy their defaults, help
and ranges from these fields (``scale_field``); bag and training evaluation build them from flags.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

from modot_ros.config import config_field as _f, copied_field, fields_from

SCALE_SOURCES = ("model", "camera_height", "sparse_depth", "laser_scan", "range")


def _numbers(text: str, count: int, form: str) -> list[float]:
    try:
        numbers = [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        numbers = []
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        raise ValueError(f"{text!r} must be {form}")
    return numbers


def parse_extrinsic(text: str) -> list[float]:
    """Parse "x y z roll pitch yaw" into six floats; ValueError naming the expected form."""
    return _numbers(text, 6, "six numbers: x y z (m) roll pitch yaw (deg)")


def parse_offset(text: str) -> list[float]:
    """Parse "x y z" (metres) into three floats; ValueError naming the expected form."""
    return _numbers(text, 3, "three numbers: x y z (m)")


class LaserScanData(NamedTuple):
    """The fields of a sensor_msgs/LaserScan the fit needs, and the lidar's pose where tf knows it."""

    ranges: Any  # (N,) float array
    angle_min: float
    angle_increment: float
    range_min: float
    range_max: float
    frame_id: str = ""
    T_optical_laser: Any = None  # 4x4 from tf (the node's tf2, a bag's /tf_static); None: laser_extrinsic


class RangeData(NamedTuple):
    """The fields of a sensor_msgs/Range the fit needs."""

    range: float
    min_range: float
    max_range: float
    field_of_view: float = 0.0  # full cone angle, radians; 0: one pixel


@dataclass(frozen=True)
class ScaleSettings:
    """Where the metric scale comes from and how it is kept steady (README: Metric scale)."""

    scale_source: str = _f("model", "Metric scale from: model (the network's own), camera_height (ground "
                           "plane at camera_height), sparse_depth (registered depth image on 'scale/depth', "
                           "32FC1 m or 16UC1 mm), laser_scan (LaserScan on 'scale/scan'; its pose from tf2, else "
                           "laser_extrinsic) or range (Range on 'scale/range' from range_offset along "
                           "range_pixel_u/v, over its field_of_view).", SCALE_SOURCES,
                           read_only=True)
    camera_height: float = _f(0.0, "Height of the optical centre above a flat floor, m (camera_height).",
                              range=(0.0, 20.0))
    camera_pitch: float = _f(0.0, "Downward pitch of the camera, degrees: the gravity prior of the "
                             "floor fit (camera_height).", range=(-90.0, 90.0))
    ground_tolerance: float = _f(15.0, "Largest angle between the fitted floor normal and the gravity "
                                 "prior, degrees (camera_height).", range=(1.0, 60.0))
    laser_extrinsic: str = _f("0 0 0 0 0 0", "Lidar pose in the camera's body frame (x forward, y left, "
                              "z up): 'x y z roll pitch yaw', metres and degrees (laser_scan; used where "
                              "tf2 has no transform from the scan's frame to the image's).")
    range_pixel_u: float = _f(0.5, "Column of the rangefinder's beam, as a fraction of the image width "
                              "(range).", range=(0.0, 1.0))
    range_pixel_v: float = _f(0.5, "Row of the rangefinder's beam, as a fraction of the image height "
                              "(range).", range=(0.0, 1.0))
    range_offset: str = _f("0 0 0", "Rangefinder position in the camera's body frame (x forward, y left, "
                           "z up): 'x y z', metres; its beam is parallel to the camera's ray through "
                           "range_pixel_u/v (range).")
    scale_fit_shift: bool = _f(False, "Also fit a shift in inverse depth (needs samples at several "
                               "depths; sparse_depth and laser_scan).")
    scale_min_inliers: int = _f(10, "Fewest inlier samples for a trusted fit (range: always 1).",
                                range=(1, 100_000))
    scale_smoothing: float = _f(0.3, "Weight of a new fit in the log-scale average; 1 = no smoothing.",
                                range=(0.01, 1.0))
    scale_outlier: float = _f(0.3, "A fit this far from the average in |log scale| is an outlier frame "
                              "(5 in a row: accepted as a real change).", range=(0.01, 5.0))
    scale_hold: float = _f(2.0, "Seconds the last trusted scale is kept without a new trusted fit, "
                           "then the model's own.", range=(0.0, 3600.0))
    scale_max_age: float = _f(0.5, "A scale measurement further than this (s) from the image stamp is "
                              "ignored (silent source).", range=(0.0, 60.0))
    scale_poor_confidence: float = _f(0.5, "Confidence factor on frames without a trusted fit of their "
                                      "own (scale held or from the model).", range=(0.0, 1.0))

    def problems(self) -> list[str]:
        reasons = []
        if self.scale_source == "camera_height" and self.camera_height <= 0:
            reasons.append("scale_source=camera_height needs camera_height > 0 (metres above the floor)")
        try:
            parse_extrinsic(self.laser_extrinsic)
        except ValueError as error:
            reasons.append(f"laser_extrinsic: {error}")
        try:
            parse_offset(self.range_offset)
        except ValueError as error:
            reasons.append(f"range_offset: {error}")
        return reasons

    @classmethod
    def from_config(cls, config: Any) -> "ScaleSettings":
        return fields_from(cls, config)


SCALE_FIELDS = {f.name: f for f in fields(ScaleSettings)}


def scale_field(name: str) -> Any:
    """A copy of ``ScaleSettings``' field ``name`` for another config class (the node's)."""
    return copied_field(ScaleSettings, name)
