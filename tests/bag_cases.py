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

from modot_ros.bags.ground_truth import GroundTruthBagWriter
from modot_ros.geometry import CameraIntrinsics

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
                   bad_from: int | None = None, image_codec: str = "", compressed_depth: bool = False) -> Path:
    """Write ``n`` frames: /camera/image_raw, /camera/camera_info, GT depth and GT boundary.

    bad_from: frames from this index on get ground truth of the wrong size (a mid-bag fault).
    image_codec jpeg|png: the image as /camera/image_raw/compressed; compressed_depth: GT depth as
    compressedDepth png (16UC1 or 32FC1 per depth_encoding).
    """
    intr = CameraIntrinsics(50.0, 50.0, (WIDTH - 1) / 2, (HEIGHT - 1) / 2, WIDTH, HEIGHT)
    gw, gh = gt_size or (WIDTH, HEIGHT)
    with GroundTruthBagWriter(path, storage, get_typestore(distro), gt_delay_ns=1000) as bag:
        for i in range(n):
            now = 1_000_000_000 + i * period_ns  # bag time; the stamps below differ from it on purpose
            rgb = case_rgb(i)
            pixels = rgb[..., ::-1] if image_encoding == "bgr8" else rgb
            pixels = np.full((HEIGHT, WIDTH), 7, np.uint16) if image_encoding == "16UC1" else pixels
            if bad_from is not None and i >= bad_from:
                gw, gh = WIDTH // 2, HEIGHT // 2
            header = bag.write_frame((100 + i // 10) * 1_000_000_000 + (i % 10) * period_ns, pixels,
                                     intr if camera_info else None,
                                     case_depth(i, gh, gw) if depth_encoding else None,
                                     case_boundary(gh, gw) if boundary else None,
                                     image_encoding=image_encoding, depth_encoding=depth_encoding or "32FC1",
                                     log_ns=now, image_codec=image_codec, compressed_depth=compressed_depth)
            for topic in extra_topics:
                bag.write(topic, bag.image(case_depth(i), "32FC1", header), now + 3000)
    return path
