"""A stand-in for the modot node in replay tests.

It answers each image with the outputs of a known prediction (the constructed bag's ground
truth x ``--scale``), through the node's own ``frame_outputs`` path, with the input header,
so replay tests know the metrics exactly.
"""
from __future__ import annotations

import argparse

import numpy as np
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

from modot_ros.pipeline.frame_outputs import compute_frame_arrays, frame_messages
from modot_ros.pipeline.options import OutputOptions
from modot_ros.pipeline.topics import TOPICS
from modot_ros.inference import Prediction
from modot_ros.pipeline.compressed import decode_rgb
from modot_ros.pipeline.messages import camera_info_to_intrinsics
from modot_ros.ros.image_input import image_input
from modot_ros.ros.message_types import rclpy_message_types
from tests.bag_cases import case_boundary, case_depth


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--skip-every", type=int, default=0, help="drop every Nth frame (0: none)")
    parser.add_argument("--transport", default="raw", help="raw | compressed, as the node's image_transport")
    args, _ = parser.parse_known_args()
    rclpy.init()
    node = rclpy.create_node("modot")
    types, options = rclpy_message_types(), OutputOptions(publish_points=False)
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    pubs = {t: node.create_publisher(message_class, t, qos) for t, message_class in
            (("depth/image", Image), ("depth/camera_info", CameraInfo), ("depth/confidence", Image),
             ("occlusion/boundary", Image), ("occlusion/mask", Image))}
    pending: dict = {}  # stamp -> {"image": msg, "info": msg}: exact-stamp sync as the node does
    seen = [0]

    def on_message(role: str, msg) -> None:
        key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        pending.setdefault(key, {})[role] = msg
        if len(pending[key]) == 2:
            frame = pending.pop(key)
            seen[0] += 1
            if not (args.skip_every and seen[0] % args.skip_every == 0):
                answer(frame["image"], frame["info"])

    def answer(msg, info: CameraInfo) -> None:
        rgb = decode_rgb(msg)
        depth = case_depth(int(rgb[0, 0, 0]), *rgb.shape[:2]) * args.scale
        pred = Prediction(depth, depth, (case_boundary(*rgb.shape[:2]) > 0).astype(np.float32),
                          np.ones_like(depth), np.zeros_like(depth), None, None, camera_info_to_intrinsics(info))
        out = frame_messages(compute_frame_arrays(pred, rgb, options), msg.header, info, types, options)
        for topic, publisher in pubs.items():
            publisher.publish(out[topic])

    node.create_subscription(CameraInfo, "camera_info", lambda m: on_message("info", m), qos)
    node.create_subscription(*image_input(node, args.transport), lambda m: on_message("image", m), qos)
    assert set(pubs) <= set(TOPICS)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass


if __name__ == "__main__":
    main()
