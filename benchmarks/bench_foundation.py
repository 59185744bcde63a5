"""Message conversion costs: cloud packing and its rclpy message vs a plain memcpy, Image -> network input tensor."""
from __future__ import annotations

import numpy as np
import torch
from rosbags.typesys import Stores, get_typestore

from benchmarks.harness import benchmark, timeit
from modot_ros.config import ModelConfig
from modot_ros.geometry import CameraIntrinsics, backproject
from modot_ros.inference import to_network_input
from modot_ros.pipeline.messages import array_to_image, image_to_rgb
from modot_ros.pipeline.pointcloud import cloud_to_msg, pack_pointcloud

HEIGHT, WIDTH = 480, 640


def _frame():
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.5, 10, (HEIGHT, WIDTH)).astype(np.float32)
    xyz = backproject(depth, CameraIntrinsics(500, 500, 319.5, 239.5, WIDTH, HEIGHT))
    rgb = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    return xyz, rgb, rng.random((HEIGHT, WIDTH), dtype=np.float32), rng.random((HEIGHT, WIDTH), dtype=np.float32)


@benchmark("foundation.cloud_packing")
def cloud_packing(quick: bool) -> list[dict]:
    xyz, rgb, boundary, confidence = _frame()
    repeat = 5 if quick else 30
    packed = timeit(lambda: pack_pointcloud(xyz, rgb=rgb, boundary=boundary, confidence=confidence), repeat=repeat)
    source = np.empty(HEIGHT * WIDTH * 32, np.uint8)
    target = np.empty_like(source)
    memcpy = timeit(lambda: np.copyto(target, source), repeat=repeat)
    ratio = packed["median_ms"] / memcpy["median_ms"]
    message = _rclpy_cloud_message(pack_pointcloud(xyz, rgb=rgb, boundary=boundary, confidence=confidence), repeat)
    message_ratio = message["median_ms"] / memcpy["median_ms"]
    return [
        {"name": "pack 640x480 xyz+boundary+rgb+confidence", "value": packed["median_ms"], "unit": "ms",
         "ratio": ratio, "ratio_to": "memcpy of 9.8 MB", "goal": "<= 3x", "ok": ratio <= 3.0},
        {"name": "memcpy 9.8 MB (same run)", "value": memcpy["median_ms"], "unit": "ms"},
        {"name": "rclpy PointCloud2 around the packed cloud", "value": message["median_ms"], "unit": "ms",
         "ratio": message_ratio, "ratio_to": "memcpy of 9.8 MB", "goal": "<= 2x (one copy)", "ok": message_ratio <= 2},
    ]


def _rclpy_cloud_message(cloud, repeat: int) -> dict:
    """The node's message step for the cloud (rclpy's constructor copied the payload three times)."""
    from sensor_msgs.msg import PointCloud2, PointField
    from std_msgs.msg import Header

    return timeit(lambda: cloud_to_msg(cloud, Header(), PointCloud2, PointField), repeat=repeat)


@benchmark("foundation.image_to_tensor")
def image_to_tensor(quick: bool) -> list[dict]:
    _, rgb, _, _ = _frame()
    Image = get_typestore(Stores.ROS2_JAZZY).types["sensor_msgs/msg/Image"]
    header = get_typestore(Stores.ROS2_JAZZY).types["std_msgs/msg/Header"]
    msg = array_to_image(rgb[..., ::-1], "bgr8", header(stamp=None, frame_id="cam"), Image)

    net = ModelConfig()

    def convert():  # what the estimator does per frame before the forward pass
        pixels = torch.from_numpy(np.ascontiguousarray(image_to_rgb(msg)))[None]
        return to_network_input(pixels, net.input_height, net.input_width)

    timing = timeit(convert, repeat=5 if quick else 30)
    return [{"name": f"bgr8 640x480 Image -> {net.input_width}x{net.input_height} network input",
             "value": timing["median_ms"], "unit": "ms"}]
