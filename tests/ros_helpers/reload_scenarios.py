"""Model reload on a running node (``ros2 param set /modot model_path X``), played over real DDS.

Usage: ``python -m tests.ros_helpers.reload_scenarios reload --out X.json --new NEW.pt --bad BAD.pt
--missing PATH``. The peer sends one fixed image again and again, so outputs change only when the
model does. It sets model_path to a second checkpoint, waits for the node's 'model reloaded' line
on /rosout, then sets it to a corrupt file and to a missing one. The JSON holds each phase's stamps,
the parameter results, the parameter's value afterwards and the node's /rosout lines; ``X.npz``
holds the published depth per stamp (the checks are in ``tests/test_node_reload.py``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import rclpy
from rcl_interfaces.msg import Log
from rcl_interfaces.srv import GetParameters
from sensor_msgs.msg import CameraInfo, Image, RegionOfInterest
from std_msgs.msg import Header

from modot_ros.pipeline.messages import array_to_image, image_to_depth_metres, intrinsics_to_camera_info
from tests.ros_helpers.node_peer import H, INTR, RELIABLE, W, Peer
from tests.ros_helpers.node_scenarios import play, until_answered

RGB = np.random.default_rng(7).integers(0, 256, (H, W, 3), dtype=np.uint8)
# a reload reads the file inside the parameter callback: seconds on a busy 2-core machine
SET_TIMEOUT_S = 60.0


class ReloadPeer(Peer):
    def __init__(self) -> None:
        super().__init__("", "image", "camera_info", "modot")
        self.depth: dict[str, np.ndarray] = {}
        self.lines: list[str] = []
        self.node.create_subscription(Log, "/rosout", self._on_log, RELIABLE)

    def _on_log(self, msg: Log) -> None:
        if msg.name.split(".")[-1] == self.node_name:
            self.lines.append(msg.msg)

    def _record(self, topic: str, msg) -> None:
        super()._record(topic, msg)
        self.depth[str(self.seen[topic][-1]["stamp"])] = image_to_depth_metres(msg).copy()

    def fixed_frame(self, stamp: int) -> None:
        """Publish camera_info then the one fixed image, stamped ``stamp`` (ns)."""
        header = Header(frame_id="cam_optical_frame")
        header.stamp.sec, header.stamp.nanosec = divmod(stamp, 10**9)
        self.infos.publish(intrinsics_to_camera_info(INTR, header, CameraInfo, RegionOfInterest))
        self.images.publish(array_to_image(RGB, "rgb8", header, Image))

    def get_parameter(self, name: str) -> str:
        client = self.node.create_client(GetParameters, f"/{self.node_name}/get_parameters")
        client.wait_for_service(timeout_sec=60)
        future = client.call_async(GetParameters.Request(names=[name]))
        rclpy.spin_until_future_complete(self.node, future, timeout_sec=10)
        return future.result().values[0].string_value


def reload(peer: ReloadPeer, new: str, bad: str, missing: str) -> dict:
    peer.subscribe(["depth/image"])
    peer.wait(lambda: peer.subs["depth/image"].get_publisher_count() > 0, 30)
    until_answered(peer, peer.fixed_frame)
    out = {"before": play(peer, 2, 0.2, send=peer.fixed_frame)}
    out["set_new"] = peer.set_parameter("model_path", new, SET_TIMEOUT_S)
    out["reloaded"] = peer.wait(lambda: any("model reloaded" in line for line in peer.lines), 120)
    out["after"] = play(peer, 2, 0.2, send=peer.fixed_frame)
    out["set_bad"] = peer.set_parameter("model_path", bad, SET_TIMEOUT_S)
    out["set_missing"] = peer.set_parameter("model_path", missing, SET_TIMEOUT_S)
    out["model_path"] = peer.get_parameter("model_path")
    out["kept"] = play(peer, 2, 0.2, send=peer.fixed_frame)
    peer.spin(1.0)  # the refusals' lines on /rosout
    return out | {"rosout": peer.lines}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["reload"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--new", required=True, help="a second valid checkpoint")
    parser.add_argument("--bad", required=True, help="a corrupt checkpoint")
    parser.add_argument("--missing", required=True, help="a path with no file")
    args = parser.parse_args()
    rclpy.init()
    try:
        peer = ReloadPeer()
        assert peer.wait_node(90), "the node never subscribed to the image topics"
        result = reload(peer, args.new, args.bad, args.missing)
        np.savez(Path(args.out).with_suffix(".npz"), **peer.depth)
        with open(args.out, "w") as handle:
            json.dump(result, handle)
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
