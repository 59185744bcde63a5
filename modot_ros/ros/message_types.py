"""The rclpy flavour of ``modot_ros.pipeline.frame_outputs.MessageTypes``."""
from __future__ import annotations

from modot_ros.pipeline.frame_outputs import MessageTypes


def rclpy_message_types() -> MessageTypes:
    """Message classes of the installed ROS interfaces (sensor_msgs, modot_ros_msgs)."""
    from modot_ros_msgs.msg import DepthBoundary, DepthMixture
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField

    return MessageTypes(Image, CameraInfo, PointCloud2, PointField, DepthBoundary, DepthMixture)
