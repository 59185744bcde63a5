"""The node's metric-scale side: the source's subscription, its latest measurement, the engine.

``ScaleInput`` subscribes the topic of ``scale_source`` (relative names, remap them:
``scale/depth`` sensor_msgs/Image 32FC1 m or 16UC1 mm, ``scale/scan`` sensor_msgs/LaserScan,
``scale/range`` sensor_msgs/Range), converts each message to the ROS-free measurement of
``modot_ros.scale.engine`` and keeps the latest; the worker thread pairs it with each image by
stamp (within ``scale_max_age``) and runs the ``ScaleEngine``. Bad measurements are logged once
per kind (topic, problem, what to do) and dropped; the node keeps publishing at the held or the
model's scale.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np
from sensor_msgs.msg import Image, LaserScan, Range

from modot_ros.pipeline.messages import MessageError, image_to_depth_metres
from modot_ros.pipeline.stamp_sync import stamp_ns
from modot_ros.scale.settings import LaserScanData, RangeData, ScaleSettings

TOPICS = {"sparse_depth": ("scale/depth", Image), "laser_scan": ("scale/scan", LaserScan),
          "range": ("scale/range", Range)}


def to_measurement(kind: str, msg: Any) -> Any:
    """The engine's measurement of a message; MessageError naming what is wrong."""
    if kind == "sparse_depth":
        return image_to_depth_metres(msg)
    if kind == "laser_scan":
        if not (msg.angle_increment and np.isfinite(msg.angle_increment)):
            raise MessageError(f"angle_increment={msg.angle_increment} must be a finite non-zero angle")
        return LaserScanData(np.asarray(msg.ranges, np.float64), msg.angle_min, msg.angle_increment,
                             msg.range_min, msg.range_max)
    return RangeData(float(msg.range), float(msg.min_range), float(msg.max_range))


class ScaleInput:
    """See the module docstring; ``node`` is the ``ModotNode`` (its logging and stats)."""

    def __init__(self, node: Any, config: Any, qos: Any) -> None:
        from modot_ros.scale.engine import ScaleEngine

        self.node, self.settings = node, ScaleSettings.from_config(config)
        self.engine = ScaleEngine(self.settings)
        self.kind = self.settings.scale_source
        self._lock = threading.Lock()
        self._latest: tuple[int, Any] | None = None
        self.topic, self.subscription = None, None
        if self.kind in TOPICS:
            name, msg_type = TOPICS[self.kind]
            self.topic = node.resolve_topic_name(name)
            self.subscription = node.create_subscription(msg_type, name, self._on_message, qos)

    def _on_message(self, msg: Any) -> None:
        try:
            measurement = to_measurement(self.kind, msg)
        except MessageError as error:
            self.node.warn_once(f"scale:{error}", f"scale source '{self.topic}' ({self.kind}): {error}; "
                                "message ignored, fix the publisher or set scale_source")
            return
        with self._lock:
            self._latest = (stamp_ns(msg.header), measurement)

    def measurement(self, image_stamp_ns: int) -> Any:
        """The latest measurement within ``scale_max_age`` of the image stamp, else None (silent)."""
        with self._lock:
            latest = self._latest
        if latest is None or abs(latest[0] - image_stamp_ns) > self.settings.scale_max_age * 1e9:
            return None
        return latest[1]

    def apply(self, prediction: Any, image_stamp_ns: int) -> Any:
        """The prediction at the engine's scale; the state goes to the diagnostics."""
        settings = ScaleSettings.from_config(self.node.config)
        if settings != self.settings:  # a parameter changed: a new engine (and tracker) for it
            from modot_ros.scale.engine import ScaleEngine
            self.settings, self.engine = settings, ScaleEngine(settings)
        prediction, state = self.engine.process(prediction, self.measurement(image_stamp_ns), image_stamp_ns / 1e9)
        if state is None:
            return prediction
        fit = state.fit
        self.node.stats.scale = {
            "scale_source": self.kind, "scale": f"{state.scale:.4f}", "scale_shift": f"{state.shift:.4f}",
            "scale_mode": state.mode, "scale_inliers": str(fit.inliers if fit else 0),
            "scale_residual": f"{fit.residual:.4f}" if fit else "nan",
            "scale_fit_age_s": f"{state.age_s:.2f}", "scale_reason": fit.reason if fit else "source silent"}
        if state.mode == "model":
            why = fit.reason if fit else f"nothing on '{self.topic}' within scale_max_age of the image"
            self.node.warn_once("scale:model", f"metric scale ({self.kind}): no trusted fit for over "
                                f"scale_hold={self.settings.scale_hold} s ({why}); publishing the model's own scale")
        return prediction
