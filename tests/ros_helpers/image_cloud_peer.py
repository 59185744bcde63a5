"""A standalone rclpy peer for the two-process DDS test: publishes or receives Image + PointCloud2.

publish: sends N frames (rgb8 image and its packed cloud) until the subscriber has all of them.
receive: records what arrives and writes a JSON summary (checks done by the test).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, PointCloud2, PointField
from std_msgs.msg import Header

from modot_ros.geometry import CameraIntrinsics, backproject
from modot_ros.pipeline.messages import array_to_image, image_to_rgb
from modot_ros.pipeline.pointcloud import cloud_to_msg, pack_pointcloud, read_cloud_fields

HEIGHT, WIDTH = 240, 320
QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def frame(index: int):
    rng = np.random.default_rng(index)
    rgb = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    depth = np.full((HEIGHT, WIDTH), 1.0 + index, np.float32)
    xyz = backproject(depth, CameraIntrinsics(300, 300, 159.5, 119.5, WIDTH, HEIGHT))
    return rgb, xyz


def publish(count: int, timeout: float) -> None:
    node = rclpy.create_node("peer_publisher")
    images = node.create_publisher(Image, "camera/image", QOS)
    clouds = node.create_publisher(PointCloud2, "camera/points", QOS)
    end = time.monotonic() + timeout
    while (images.get_subscription_count() == 0 or clouds.get_subscription_count() == 0) and time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    for index in range(count):
        rgb, xyz = frame(index)
        header = Header(frame_id="camera_optical_frame")
        header.stamp.sec = index
        images.publish(array_to_image(rgb, "rgb8", header, Image))
        clouds.publish(cloud_to_msg(pack_pointcloud(xyz, rgb=rgb), header, PointCloud2, PointField))
        rclpy.spin_once(node, timeout_sec=0.02)
    time.sleep(1.0)  # let reliable delivery finish before the participant leaves
    node.destroy_node()


def receive(count: int, timeout: float, out: str) -> None:
    node = rclpy.create_node("peer_subscriber")
    seen = {"images": {}, "clouds": {}}

    def on_image(msg):
        rgb, _ = frame(msg.header.stamp.sec)
        seen["images"][msg.header.stamp.sec] = bool(np.array_equal(image_to_rgb(msg), rgb)) and msg.header.frame_id

    def on_cloud(msg):
        _, xyz = frame(msg.header.stamp.sec)
        fields = read_cloud_fields(msg)
        seen["clouds"][msg.header.stamp.sec] = bool(np.array_equal(fields["z"], xyz[..., 2]))

    node.create_subscription(Image, "camera/image", on_image, QOS)
    node.create_subscription(PointCloud2, "camera/points", on_cloud, QOS)
    end = time.monotonic() + timeout
    while (len(seen["images"]) < count or len(seen["clouds"]) < count) and time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    with open(out, "w") as handle:
        json.dump(seen, handle)
    node.destroy_node()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["publish", "receive"])
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    rclpy.init()
    try:
        publish(args.count, args.timeout) if args.role == "publish" else receive(args.count, args.timeout, args.out)
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
