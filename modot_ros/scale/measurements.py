"""A scale source's message as the engine's measurement: the node's (rclpy) and a bag's (rosbags) alike.

Only fields are read, so one conversion serves live topics and recorded ones. ``MESSAGE_TYPES``
names the message types each ``scale_source`` takes (the node subscribes the first).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from modot_ros.pipeline.compressed import decode_depth_metres
from modot_ros.pipeline.messages import MessageError
from modot_ros.scale.settings import LaserScanData, RangeData

MESSAGE_TYPES = {"sparse_depth": ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage"),
                 "laser_scan": ("sensor_msgs/msg/LaserScan",), "range": ("sensor_msgs/msg/Range",)}


def measurement_from_message(kind: str, msg: Any) -> Any:
    """The engine's measurement of a ``kind`` message; MessageError naming what is wrong.

    sparse_depth: metres with NaN invalid (32FC1, 16UC1 mm, or a compressedDepth png); laser_scan:
    ``LaserScanData`` with the scan's frame (for a tf lookup); range: ``RangeData`` with its cone.
    """
    if kind == "sparse_depth":
        return decode_depth_metres(msg)
    if kind == "laser_scan":
        if not (msg.angle_increment and np.isfinite(msg.angle_increment)):
            raise MessageError(f"angle_increment={msg.angle_increment} must be a finite non-zero angle")
        return LaserScanData(np.asarray(msg.ranges, np.float64), msg.angle_min, msg.angle_increment,
                             msg.range_min, msg.range_max, msg.header.frame_id)
    if kind == "range":
        fov = float(msg.field_of_view)
        if not 0.0 <= fov < math.pi:  # NaN fails too
            raise MessageError(f"field_of_view={fov} must be the cone's full angle in radians, in [0, pi)")
        return RangeData(float(msg.range), float(msg.min_range), float(msg.max_range), fov)
    raise ValueError(f"scale source {kind!r} takes no messages; allowed: {', '.join(MESSAGE_TYPES)}")
