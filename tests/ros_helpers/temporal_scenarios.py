"""The temporal-filter scenario the node test runs in a peer process (real DDS).

Usage: ``python -m tests.ros_helpers.temporal_scenarios odometry --out X.json``. The peer plays one
rendered engine frame again and again with the camera's pose on ``camera_pose`` (the node's
stand-in for tf where tf2_ros is not importable) at each image's stamp, then frames without a
pose, then with one again, and records the published depth and confidence and the node's /diagnostics after each
frame (the checks are in ``tests/test_node_temporal.py``).
"""
from __future__ import annotations

import argparse
import json

import rclpy
from geometry_msgs.msg import PoseStamped

from tests.ros_helpers.node_peer import RELIABLE
from tests.ros_helpers.scale_scenarios import ScalePeer, scene


class TemporalPeer(ScalePeer):
    def __init__(self, frame: dict) -> None:
        super().__init__(frame)
        self.poses = self.node.create_publisher(PoseStamped, "camera_pose", RELIABLE)

    def pose(self, stamp: int) -> None:
        """The camera standing at the odom origin (identity pose) at ``stamp``."""
        msg = PoseStamped()
        msg.header = self.header(stamp)
        msg.header.frame_id = "odom"
        msg.pose.orientation.w = 1.0
        self.poses.publish(msg)
        self.spin(0.05)  # the pose reaches the node before the image it belongs to


def odometry(peer: TemporalPeer) -> dict:
    with_pose = [peer.play(peer.pose) for _ in range(4)]
    without = [peer.play() for _ in range(2)]
    back = [peer.play(peer.pose) for _ in range(2)]
    return {"with_pose": with_pose, "without_pose": without, "pose_back": back}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["odometry"])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rclpy.init()
    try:
        peer = TemporalPeer(scene())
        assert peer.wait_node(120), "the node never subscribed to the image topics"
        assert peer.wait(lambda: peer.poses.get_subscription_count() > 0, 60), "no camera_pose subscription"
        assert peer.wait(lambda: all(sub.get_publisher_count() > 0 for sub in peer.outputs), 60), \
            "the node's depth/image and depth/confidence never matched our subscriptions"
        peer.spin(1.0)
        with open(args.out, "w") as handle:
            json.dump(odometry(peer), handle)
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
