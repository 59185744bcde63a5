"""Which environment variables select a Fast DDS XML profile (no rclpy here).

Fast DDS 2.x (Humble, Jazzy: rmw_fastrtps) reads only ``FASTRTPS_DEFAULT_PROFILES_FILE``; 3.x
(Kilted) reads only ``FASTDDS_DEFAULT_PROFILES_FILE``. Setting one name is silently ignored by the
other version, and large images then fall back to UDP fragments, so every launcher sets both.
"""
from __future__ import annotations

from pathlib import Path

PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")


def profile_env(path: str | Path) -> dict[str, str]:
    """Both profile variables pointing at ``path`` (merge into a child process's environment)."""
    return dict.fromkeys(PROFILE_VARIABLES, str(path))


def silent_input_reason(topic: str, publishers: int, seconds: float, qos_mismatch: list[str],
                        profile_set: bool) -> str:
    """One line for an image topic whose ``publishers`` sent nothing that arrived for ``seconds``.

    ``qos_mismatch``: the publishers the subscription cannot match (their QoS named); empty when
    the QoS is compatible, which leaves transport and size as the likely causes.
    """
    head = f"no image arrived on '{topic}' for {seconds:.0f} s although it has {publishers} publisher(s): "
    if qos_mismatch:
        return head + ("QoS mismatch, " + ", ".join(qos_mismatch) + " cannot reach this node's reliable "
                       "subscription; set input_qos:=SENSOR_DATA (best effort matches every publisher)")
    here = "" if profile_set else " and for this node (neither variable is set here)"
    return head + ("the images are probably lost as UDP fragments: set FASTRTPS_DEFAULT_PROFILES_FILE "
                   "(Fast DDS 2.x) and FASTDDS_DEFAULT_PROFILES_FILE (3.x) to config/fastdds_shm.xml for "
                   f"the camera driver{here}; an image above the profile's maxMessageSize is never "
                   "delivered: raise it in a copy of the profile (docs/node.md: DDS for camera images)")
