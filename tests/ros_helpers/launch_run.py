"""Run ``ros2 launch modot_ros <file>`` from this working tree, next to a scenario peer.

The package is found through an ament prefix laid out as ``setup.py``'s data_files install it,
with the share folders linked to the working tree, so the launch files under test are these.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from modot_ros.ros.dds_profile import PROFILE_VARIABLES
from tests.ros_helpers.process import REPO, Deadline, ros_env, start, stop

ROS2 = shutil.which("ros2", path=str(Path(sys.executable).parent))


def ament_prefix(root: Path) -> Path:
    """An install prefix holding modot_ros: index marker, share/ files (linked), lib/modot_ros/modot_node."""
    share = root / "share" / "modot_ros"
    share.mkdir(parents=True)
    (root / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (root / "share" / "ament_index" / "resource_index" / "packages" / "modot_ros").touch()
    (share / "package.xml").symlink_to(REPO / "package.xml")
    for folder in ("launch", "config"):  # file by file: ros2 launch does not walk into linked folders
        (share / folder).mkdir()
        for path in (REPO / folder).iterdir():
            (share / folder / path.name).symlink_to(path)
    node = root / "lib" / "modot_ros" / "modot_node"
    node.parent.mkdir(parents=True)
    node.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m modot_ros.ros.node "$@"\n')
    node.chmod(0o755)
    return root


@dataclass
class Launched:
    result: dict
    log: str
    node_env: dict[str, str]  # the Fast DDS variables the started node had


def node_profile_env(launch: subprocess.Popen, deadline: Deadline) -> dict[str, str]:
    """The profile variables of the modot node process under ``launch`` (read from /proc)."""
    import psutil  # a dependency of launch itself

    while deadline.remaining() and launch.poll() is None:
        for child in psutil.Process(launch.pid).children(recursive=True):
            if "modot_ros.ros.node" in " ".join(child.cmdline()):
                environ = child.environ()
                return {name: environ[name] for name in PROFILE_VARIABLES if name in environ}
        try:
            launch.wait(timeout=0.2)  # also the pause between looks
        except subprocess.TimeoutExpired:
            pass
    raise AssertionError("ros2 launch started no modot node")


def run_launch(tmp: Path, launch_args: list[str], scenario: str, peer_args: list[str] = (),
               seconds: float = 150, domain: int = 0) -> Launched:
    """``ros2 launch modot_ros <launch_args...>`` and a peer running ``scenario``; both stopped after."""
    env = ros_env(domain_id=domain or 60 + os.getpid() % 40, tmp_path=tmp)
    for name in PROFILE_VARIABLES:  # what the node gets must come from the launch file
        env.pop(name, None)
    env["AMENT_PREFIX_PATH"] = os.pathsep.join([str(ament_prefix(tmp / "prefix")), sys.prefix])
    env["OMP_NUM_THREADS"] = "1"
    deadline = Deadline(seconds)
    out, log = tmp / f"{scenario}.json", tmp / "launch.log"
    peer = start(["-m", "tests.ros_helpers.node_scenarios", scenario, "--out", str(out), *peer_args],
                 env, tmp / "peer.log")
    # own session: the launch process and everything it started are stopped together
    launch = subprocess.Popen([ROS2, "launch", "modot_ros", *launch_args], env=env, cwd=tmp, stdout=log.open("w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        node_env = node_profile_env(launch, deadline)
        code = deadline.wait(peer)
    finally:
        stop(peer)
        _stop_group(launch)
    assert code == 0, (tmp / "peer.log").read_text() + log.read_text()
    return Launched(json.loads(out.read_text()), log.read_text(), node_env)


def _stop_group(launch: subprocess.Popen) -> None:
    """SIGINT as Ctrl-C would (launch then stops its processes), SIGKILL to the group if it hangs."""
    if launch.poll() is None:
        os.killpg(launch.pid, signal.SIGINT)
        try:
            launch.wait(timeout=20)
        except subprocess.TimeoutExpired:
            launch.kill()
            launch.wait()
    try:  # anything left of the group (a node launch failed to stop) goes too
        os.killpg(launch.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
