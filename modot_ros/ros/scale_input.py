"""The node's metric-scale side: the source's subscription, its latest measurement, the engine.

``ScaleInput`` subscribes the topic of ``scale_source`` (relative names, remap them:
``scale/depth`` sensor_msgs/Image 32FC1 m or 16UC1 mm, ``scale/scan`` sensor_msgs/LaserScan,
``scale/range`` sensor_msgs/Range), converts each message to the ROS-free measurement of
``modot_ros.scale.engine`` and keeps the latest; the worker thread pairs it with each image by
stamp (within ``scale_max_age``) and runs the ``ScaleEngine``. Bad measurements are logged once
per kind (topic, problem, what to do) and dropped; the node keeps publishing at the held or the
model's scale. A LaserScan's pose comes from tf2 where it can (``LaserPose``).
"""
from __future__ import annotations

import threading
from typing import Any

from sensor_msgs.msg import Image, LaserScan, Range

from modot_ros.geometry import rigid_transform
from modot_ros.pipeline.messages import MessageError
from modot_ros.pipeline.stamp_sync import stamp_ns
from modot_ros.scale.measurements import measurement_from_message
from modot_ros.scale.settings import LaserScanData, ScaleSettings

TOPICS = {"sparse_depth": ("scale/depth", Image), "laser_scan": ("scale/scan", LaserScan),
          "range": ("scale/range", Range)}


class LaserPose:
    """The lidar's pose in the image's frame from tf2, where tf2_ros is importable and has it.

    tf2_ros is not on PyPI (docs/metric_scale.md), so it is never required: without it, or while
    tf has no transform from the scan's frame to the image's at the scan's stamp, the engine uses
    ``laser_extrinsic``, and the node says which, once. The image's frame is taken to be its
    optical frame (REP 103), so the lookup gives ``T_optical_laser`` directly.
    """

    def __init__(self, node: Any, tf2_ros: Any = None) -> None:
        self.node, self.tf2_ros, self.buffer, self.told_found = node, tf2_ros, None, False
        if tf2_ros is None:
            node.get_logger().info("laser_scan: tf2_ros is not importable here; the lidar pose comes from the "
                                   "laser_extrinsic parameter")
            return
        self.buffer = tf2_ros.Buffer()
        self.listener = tf2_ros.TransformListener(self.buffer, node)  # unsubscribes when collected

    @classmethod
    def for_node(cls, node: Any) -> "LaserPose":
        try:
            import tf2_ros
        except ImportError:
            tf2_ros = None
        return cls(node, tf2_ros)

    def resolve(self, scan: LaserScanData, scan_stamp_ns: int, camera_frame: str) -> LaserScanData:
        """``scan`` with tf's ``T_optical_laser`` when tf has it; unchanged (laser_extrinsic) otherwise."""
        if self.buffer is None:
            return scan
        from rclpy.time import Time

        route = f"'{scan.frame_id}' -> '{camera_frame}'"
        try:
            if not scan.frame_id or not camera_frame:
                raise ValueError("an empty frame_id (scan or image header)")
            found = self.buffer.lookup_transform(camera_frame, scan.frame_id, Time(nanoseconds=scan_stamp_ns))
        except (self.tf2_ros.TransformException, ValueError) as error:
            self.node.warn_first("scale:tf", f"laser_scan: no tf {route} at the scan's stamp ({error}); using "
                                 f"the laser_extrinsic parameter ('{self.node.config.laser_extrinsic}'): publish "
                                 "the lidar's transform or set laser_extrinsic")
            return scan
        q, t = found.transform.rotation, found.transform.translation
        if not self.told_found:  # news, not a problem: no diagnostics warning
            self.told_found = True
            self.node.get_logger().info(f"laser_scan: the lidar pose comes from tf ({route}); laser_extrinsic "
                                        "is not used")
        return scan._replace(T_optical_laser=rigid_transform((q.x, q.y, q.z, q.w), (t.x, t.y, t.z)))


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
        self.laser_pose = LaserPose.for_node(node) if self.kind == "laser_scan" else None
        if self.kind in TOPICS:
            name, msg_type = TOPICS[self.kind]
            self.topic = node.resolve_topic_name(name)
            self.subscription = node.create_subscription(msg_type, name, self._on_message, qos)

    def _on_message(self, msg: Any) -> None:
        try:
            measurement = measurement_from_message(self.kind, msg)
        except MessageError as error:
            self.node.warn_once(f"scale:{error}", f"scale source '{self.topic}' ({self.kind}): {error}; "
                                "message ignored, fix the publisher or set scale_source")
            return
        with self._lock:
            self._latest = (stamp_ns(msg.header), measurement)

    def measurement(self, image_stamp_ns: int, camera_frame: str = "") -> Any:
        """The latest measurement within ``scale_max_age`` of the image stamp, else None (silent)."""
        with self._lock:
            latest = self._latest
        if latest is None or abs(latest[0] - image_stamp_ns) > self.settings.scale_max_age * 1e9:
            return None
        if self.laser_pose is not None:
            return self.laser_pose.resolve(latest[1], latest[0], camera_frame)
        return latest[1]

    def apply(self, prediction: Any, image_stamp_ns: int, camera_frame: str = "") -> Any:
        """The prediction at the engine's scale; the state goes to the diagnostics.

        ``camera_frame``: the image's header.frame_id, the target of a LaserScan's tf lookup.
        """
        settings = ScaleSettings.from_config(self.node.config)
        if settings != self.settings:  # a parameter changed: a new engine (and tracker) for it
            from modot_ros.scale.engine import ScaleEngine
            self.settings, self.engine = settings, ScaleEngine(settings)
        measurement = self.measurement(image_stamp_ns, camera_frame)
        prediction, state = self.engine.process(prediction, measurement, image_stamp_ns / 1e9)
        if state is None:
            return prediction
        fit = state.fit
        self.node.stats.scale = {
            "scale_source": self.kind, "scale": f"{state.scale:.4f}", "scale_shift": f"{state.shift:.4f}",
            "scale_mode": state.mode, "scale_inliers": str(fit.inliers if fit else 0),
            "scale_residual": f"{fit.residual:.4f}" if fit else "nan",
            "scale_fit_age_s": f"{state.age_s:.2f}", "scale_reason": fit.reason if fit else "source silent"}
        if isinstance(measurement, LaserScanData):
            self.node.stats.scale["scale_laser_pose"] = "laser_extrinsic" if measurement.T_optical_laser is None \
                else "tf"
        if state.mode == "model":
            why = fit.reason if fit else f"nothing on '{self.topic}' within scale_max_age of the image"
            self.node.warn_once("scale:model", f"metric scale ({self.kind}): no trusted fit for over "
                                f"scale_hold={self.settings.scale_hold} s ({why}); publishing the model's own scale")
        return prediction
