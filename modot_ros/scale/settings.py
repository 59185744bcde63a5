"""``ScaleSettings``: the options of the metric-scale engine, in one place (no torch, no numpy).

The node's parameters of the same names (``modot_ros.ros.node_config``) copy their defaults, help
and ranges from these fields (``scale_field``); bag and training evaluation build them from flags.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

from modot_ros.config import config_field as _f

SCALE_SOURCES = ("model", "camera_height", "sparse_depth", "laser_scan", "range")


def parse_extrinsic(text: str) -> list[float]:
    """Parse "x y z roll pitch yaw" into six floats; ValueError naming the expected form."""
    try:
        numbers = [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        numbers = []
    if len(numbers) != 6 or not all(math.isfinite(n) for n in numbers):
        raise ValueError(f"extrinsic {text!r} must be six numbers: x y z (m) roll pitch yaw (deg)")
    return numbers


class LaserScanData(NamedTuple):
    """The fields of a sensor_msgs/LaserScan the fit needs."""

    ranges: Any  # (N,) float array
    angle_min: float
    angle_increment: float
    range_min: float
    range_max: float


class RangeData(NamedTuple):
    """The fields of a sensor_msgs/Range the fit needs."""

    range: float
    min_range: float
    max_range: float


@dataclass(frozen=True)
class ScaleSettings:
    """Where the metric scale comes from and how it is kept steady (README: Metric scale)."""

    scale_source: str = _f("model", "Metric scale from: model (the network's own), camera_height (ground "
                           "plane at camera_height), sparse_depth (registered depth image on 'scale/depth', "
                           "32FC1 m or 16UC1 mm), laser_scan (LaserScan on 'scale/scan' + laser_extrinsic) "
                           "or range (Range on 'scale/range' along range_pixel_u/v).", SCALE_SOURCES,
                           read_only=True)
    camera_height: float = _f(0.0, "Height of the optical centre above a flat floor, m (camera_height).",
                              range=(0.0, 20.0))
    camera_pitch: float = _f(0.0, "Downward pitch of the camera, degrees: the gravity prior of the "
                             "floor fit (camera_height).", range=(-90.0, 90.0))
    ground_tolerance: float = _f(15.0, "Largest angle between the fitted floor normal and the gravity "
                                 "prior, degrees (camera_height).", range=(1.0, 60.0))
    laser_extrinsic: str = _f("0 0 0 0 0 0", "Lidar pose in the camera's body frame (x forward, y left, "
                              "z up): 'x y z roll pitch yaw', metres and degrees (laser_scan).")
    range_pixel_u: float = _f(0.5, "Column of the rangefinder's beam, as a fraction of the image width "
                              "(range).", range=(0.0, 1.0))
    range_pixel_v: float = _f(0.5, "Row of the rangefinder's beam, as a fraction of the image height "
                              "(range).", range=(0.0, 1.0))
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
        return reasons

    @classmethod
    def from_config(cls, config: Any) -> "ScaleSettings":
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls)})


SCALE_FIELDS = {f.name: f for f in fields(ScaleSettings)}


def scale_field(name: str) -> Any:
    """A copy of ``ScaleSettings``' field ``name`` for another config class (the node's)."""
    return dataclasses.field(default=SCALE_FIELDS[name].default, metadata=SCALE_FIELDS[name].metadata)
