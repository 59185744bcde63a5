"""The rosbags typestore with this package's messages: ``MessageTypes`` for offline bag outputs."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from modot_ros.pipeline.frame_outputs import MessageTypes


def _msg_dirs() -> list[Path]:
    here = Path(__file__).resolve().parents[2]  # the source checkout
    return [here / "msg" / "msg", Path(sys.prefix) / "share" / "modot_ros_msgs" / "msg"]


def rosbags_message_types(typestore: Any) -> MessageTypes:
    """MessageTypes from a rosbags typestore, registering modot_ros_msgs if missing.

    The modot_ros_msgs types are registered from their .msg files (source checkout ``msg/msg`` or
    the installed ``share/modot_ros_msgs/msg``).
    """
    from rosbags.typesys import get_types_from_msg

    missing = [n for n in ("DepthBoundary", "DepthMixture") if f"modot_ros_msgs/msg/{n}" not in typestore.types]
    for name in missing:
        path = next((d / f"{name}.msg" for d in _msg_dirs() if (d / f"{name}.msg").is_file()), None)
        if path is None:
            raise FileNotFoundError(f"modot_ros_msgs/{name}.msg not found in {[str(d) for d in _msg_dirs()]}")
        typestore.register(get_types_from_msg(path.read_text(), f"modot_ros_msgs/msg/{name}"))
    t = typestore.types
    return MessageTypes(t["sensor_msgs/msg/Image"], t["sensor_msgs/msg/CameraInfo"],
                        t["sensor_msgs/msg/PointCloud2"], t["sensor_msgs/msg/PointField"],
                        t["modot_ros_msgs/msg/DepthBoundary"], t["modot_ros_msgs/msg/DepthMixture"])
