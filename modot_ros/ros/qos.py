"""QoS from the string presets of the node parameters (isaac_ros_common style)."""
from __future__ import annotations

from rclpy.qos import (DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data,
                       qos_profile_system_default)

from modot_ros.ros.node_config import QOS_PRESETS


def parse_qos(preset: str, depth: int) -> QoSProfile:
    """SENSOR_DATA (best effort), DEFAULT (reliable, volatile) or SYSTEM_DEFAULT, with ``depth``.

    A best-effort subscriber matches any publisher; a reliable publisher serves RViz's default
    reliable subscriptions and ``ros2 bag record``.
    """
    name = preset.upper()
    if name not in QOS_PRESETS:
        raise ValueError(f"QoS preset {preset!r}; allowed: {', '.join(QOS_PRESETS)}")
    if name == "SENSOR_DATA":
        base = qos_profile_sensor_data
    elif name == "SYSTEM_DEFAULT":
        base = qos_profile_system_default
    else:
        return QoSProfile(depth=depth)
    profile = QoSProfile(depth=depth, reliability=base.reliability, durability=base.durability,
                         history=base.history)
    return profile


def qos_compatible(offered, requested) -> bool:
    """DDS request/offer: a reliable reader needs a reliable writer, transient-local one transient-local."""
    return not ((requested.reliability == ReliabilityPolicy.RELIABLE
                 and offered.reliability == ReliabilityPolicy.BEST_EFFORT)
                or (requested.durability == DurabilityPolicy.TRANSIENT_LOCAL
                    and offered.durability == DurabilityPolicy.VOLATILE))


def qos_name(qos) -> str:
    """Reliability and durability as a log shows them: 'best_effort, volatile'."""
    return f"{qos.reliability.name.lower()}, {qos.durability.name.lower()}"
