"""Tiny constructed rosbag2 files for the bag tests (written with rosbags, no ROS install).

Scene per frame i: a fronto-parallel step, left half at ``2 + 0.1 i`` m, right half at
``4 + 0.1 i`` m; the ground-truth occlusion boundary is the left column of the far half's
neighbour, i.e. the near side of the step. The RGB image encodes the frame index in pixel (0, 0)
so a test predictor can look its frame's ground truth up.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from rosbags.typesys import Stores, get_typestore

from modot_ros.bags.io import BagWriter
from modot_ros.depth_units import metres_to_millimetres
from modot_ros.geometry import CameraIntrinsics
from modot_ros.pipeline.messages import array_to_image, intrinsics_to_camera_info

HEIGHT, WIDTH = 48, 64


def case_depth(i: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    depth = np.full((height, width), 2.0 + 0.1 * i, np.float32)
    depth[:, width // 2:] = 4.0 + 0.1 * i
    return depth


def case_boundary(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    mask[:, width // 2 - 1] = 255
    return mask


def case_rgb(i: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[..., 1] = np.linspace(0, 255, width, dtype=np.uint8)[None]
    rgb[0, 0, 0] = i
    return rgb


def write_case_bag(path: Path, n: int = 6, storage: str = "mcap", *, distro=Stores.ROS2_JAZZY,
                   image_encoding: str = "rgb8", depth_encoding: str | None = "32FC1",
                   boundary: bool = True, camera_info: bool = True, gt_size: tuple[int, int] | None = None,
                   period_ns: int = 100_000_000, extra_topics: tuple[str, ...] = (),
                   bad_from: int | None = None) -> Path:
    """Write ``n`` frames: /camera/image_raw, /camera/camera_info, GT depth and GT boundary.

    bad_from: frames from this index on get ground truth of the wrong size (a mid-bag fault).
    """
    ts = get_typestore(distro)
    t = ts.types
    intr = CameraIntrinsics(50.0, 50.0, (WIDTH - 1) / 2, (HEIGHT - 1) / 2, WIDTH, HEIGHT)
    gw, gh = gt_size or (WIDTH, HEIGHT)
    with BagWriter(path, storage, ts) as bag:
        for i in range(n):
            stamp = t["builtin_interfaces/msg/Time"](sec=100 + i // 10, nanosec=(i % 10) * period_ns)
            header = t["std_msgs/msg/Header"](stamp=stamp, frame_id="camera_optical_frame")
            now = 1_000_000_000 + i * period_ns
            rgb = case_rgb(i)
            pixels = rgb[..., ::-1] if image_encoding == "bgr8" else rgb
            pixels = np.full((HEIGHT, WIDTH), 7, np.uint16) if image_encoding == "16UC1" else pixels
            Image = t["sensor_msgs/msg/Image"]
            bag.write("/camera/image_raw", array_to_image(pixels, image_encoding, header, Image), now)
            if camera_info:
                info = intrinsics_to_camera_info(intr, header, t["sensor_msgs/msg/CameraInfo"],
                                                 t["sensor_msgs/msg/RegionOfInterest"])
                bag.write("/camera/camera_info", info, now)
            if bad_from is not None and i >= bad_from:
                gw, gh = WIDTH // 2, HEIGHT // 2
            if depth_encoding:
                depth = case_depth(i, gh, gw)
                pixels = metres_to_millimetres(depth) if depth_encoding == "16UC1" else depth
                bag.write("/camera/depth/ground_truth",
                          array_to_image(pixels, depth_encoding, header, t["sensor_msgs/msg/Image"]), now + 1000)
            if boundary:
                bag.write("/camera/occlusion/ground_truth",
                          array_to_image(case_boundary(gh, gw), "mono8", header, Image), now + 2000)
            for topic in extra_topics:
                bag.write(topic, array_to_image(case_depth(i), "32FC1", header, t["sensor_msgs/msg/Image"]), now + 3000)
    return path
