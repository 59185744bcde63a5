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
