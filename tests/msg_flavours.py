"""The two message flavours the conversion core must serve: rclpy and rosbags classes.

Each has its own CDR round trip (rclpy's serialize/deserialize, rosbags' serialize_cdr).
"""
from dataclasses import dataclass
from typing import Any, Callable

from rosbags.typesys import Stores, get_typestore

TYPESTORE = get_typestore(Stores.ROS2_JAZZY)


@dataclass(frozen=True)
class Flavour:
    name: str
    image: type
    info: type
    roi: type
    cloud: type
    field: type
    header: Callable[[str, int], Any]
    round_trip: Callable[[Any], Any]


def _rosbags() -> Flavour:
    types = TYPESTORE.types

    def header(frame_id, sec):
        stamp = types["builtin_interfaces/msg/Time"](sec=sec, nanosec=5)
        return types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)

    def round_trip(msg):
        return TYPESTORE.deserialize_cdr(TYPESTORE.serialize_cdr(msg, msg.__msgtype__), msg.__msgtype__)

    return Flavour("rosbags", types["sensor_msgs/msg/Image"], types["sensor_msgs/msg/CameraInfo"],
                   types["sensor_msgs/msg/RegionOfInterest"], types["sensor_msgs/msg/PointCloud2"],
                   types["sensor_msgs/msg/PointField"], header, round_trip)


def _rclpy() -> Flavour:
    from builtin_interfaces.msg import Time
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField, RegionOfInterest
    from std_msgs.msg import Header

    def header(frame_id, sec):
        return Header(stamp=Time(sec=sec, nanosec=5), frame_id=frame_id)

    def round_trip(msg):
        return deserialize_message(serialize_message(msg), type(msg))

    return Flavour("rclpy", Image, CameraInfo, RegionOfInterest, PointCloud2, PointField, header, round_trip)


FLAVOURS = {"rosbags": _rosbags, "rclpy": _rclpy}
