"""Run rclpy participants in separate processes, confined to loopback, with one shared deadline."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from modot_ros.ros.dds_profile import profile_env

REPO = Path(__file__).resolve().parents[2]


def ros_env(domain_id: int, tmp_path: Path) -> dict[str, str]:
    """Environment for a ROS process that keeps DDS on this machine and logs in tmp_path."""
    env = dict(os.environ)
    env.update(
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        ROS_DOMAIN_ID=str(domain_id),
        ROS_LOG_DIR=str(tmp_path / "ros_log"),
        ROS_HOME=str(tmp_path / "ros_home"),
        MODOT_ROS_CACHE=str(tmp_path / "modot_cache"),  # backend auto exports here, never to ~/.cache
        PYTHONUNBUFFERED="1",
    )
    env.update(profile_env(REPO / "config" / "fastdds_shm.xml"))
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``python args...`` with output to ``log``."""
    return subprocess.Popen([sys.executable, *args], env=env, cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT)


class Deadline:
    """One deadline shared by every wait in a test, so no loop can wait forever."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def wait(self, process: subprocess.Popen) -> int:
        try:
            return process.wait(timeout=self.remaining())
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise TimeoutError(f"{process.args} did not finish before the deadline") from None


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
