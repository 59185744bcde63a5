"""The camera's pose in a fixed frame at an image stamp, for ``temporal_filter`` odometry.

From tf2 (``/tf``: ``T_fixed_camera`` with the image's header.frame_id) where tf2_ros is importable,
as on every ROS install. tf2_ros is not on PyPI (docs/node.md), so it is never required: without it
the node subscribes ``camera_pose`` (geometry_msgs/PoseStamped: the camera's optical frame in
``header.frame_id``, e.g. from visual odometry; remap it) and looks the pose up in the same
``modot_ros.bags.tf_tree.TransformTree`` that bag evaluation reads /tf into (interpolated between
samples). Either way a missing pose is a ``LookupError`` whose text says what is missing.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped

from modot_ros.bags.tf_tree import TfError, TransformTree
from modot_ros.geometry import rigid_transform
from modot_ros.pipeline.stamp_sync import stamp_ns

POSE_TOPIC = "camera_pose"
POSE_FRAME = "camera_pose"  # the child frame the PoseStamped samples are stored under
BUFFER_NS = 10_000_000_000  # pose history kept (s of stamps), as tf2's default cache
TOLERANCE_NS = 50_000_000  # a stamp this far past the newest pose still takes it (topics start apart)


class CameraMotion:
    """``pose(fixed_frame, camera_frame, stamp_ns)`` -> ``T_fixed_camera``; see the module docstring."""

    def __init__(self, node: Any, qos: Any, tf2_ros: Any = None) -> None:
        self.node, self.tf2_ros, self.subscription, self.tree = node, tf2_ros, None, None
        if tf2_ros is not None:
            self.buffer = tf2_ros.Buffer()
            self.listener = tf2_ros.TransformListener(self.buffer, node)
            self.source = "tf"
            return
        self.tree = TransformTree(TOLERANCE_NS)
        self.subscription = node.create_subscription(PoseStamped, POSE_TOPIC, self._on_pose, qos)
        self.source = f"'{node.resolve_topic_name(POSE_TOPIC)}'"
        node.get_logger().info(f"temporal_filter odometry: tf2_ros is not importable here; the camera pose comes "
                               f"from {self.source} (geometry_msgs/PoseStamped)")

    @classmethod
    def for_node(cls, node: Any, qos: Any) -> "CameraMotion":
        try:
            import tf2_ros
        except ImportError:
            tf2_ros = None
        return cls(node, qos, tf2_ros)

    def _on_pose(self, msg: PoseStamped) -> None:
        q, t = msg.pose.orientation, msg.pose.position
        stamp = stamp_ns(msg.header)
        try:
            pose = rigid_transform((q.x, q.y, q.z, q.w), (t.x, t.y, t.z))
            self.tree.add(msg.header.frame_id, POSE_FRAME, stamp, pose, static=False)
        except (TfError, ValueError) as error:
            self.node.warn_once("temporal:pose", f"{self.source}: {error}; pose ignored")
            return
        self.tree.prune(stamp - BUFFER_NS)

    def pose(self, fixed_frame: str, camera_frame: str, stamp: int) -> np.ndarray:
        """``T_fixed_camera`` at ``stamp`` ns; LookupError naming what is missing."""
        if self.tree is not None:
            try:
                return self.tree.lookup(fixed_frame, POSE_FRAME, stamp)
            except TfError as error:
                raise LookupError(f"no camera pose in '{fixed_frame}' on {self.source} at the image stamp "
                                  f"({error})") from None
        from rclpy.time import Time

        try:
            found = self.buffer.lookup_transform(fixed_frame, camera_frame, Time(nanoseconds=stamp))
        except self.tf2_ros.TransformException as error:
            raise LookupError(f"no tf '{camera_frame}' -> '{fixed_frame}' at the image stamp ({error})") from None
        q, t = found.transform.rotation, found.transform.translation
        return rigid_transform((q.x, q.y, q.z, q.w), (t.x, t.y, t.z))
