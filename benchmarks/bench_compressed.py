"""Decode cost of compressed input (image_transport compressed / compressedDepth) at 640x480.

Side by side with the raw bgr8 Image conversion the node does anyway, so the ratio says what
``image_transport:=compressed`` adds per frame on the worker thread.
"""
from __future__ import annotations

import cv2
import numpy as np
from rosbags.typesys import Stores, get_typestore
from skimage import data as skimage_data

from benchmarks.harness import benchmark, timeit
from modot_ros.pipeline.compressed import (array_to_compressed, decode_depth_metres, decode_rgb,
                                           depth_to_compressed_depth)
from modot_ros.pipeline.messages import array_to_image

HEIGHT, WIDTH = 480, 640


def _photo() -> np.ndarray:
    """A real photograph at camera size: noise would make jpeg/png unrealistically slow and large."""
    return cv2.resize(skimage_data.astronaut(), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)


def _depth() -> np.ndarray:
    """A room-like depth: a slanted floor ramp with a box in front (smooth areas and steps)."""
    rows = np.linspace(6.0, 1.0, HEIGHT, dtype=np.float32)[:, None]
    depth = np.repeat(rows, WIDTH, axis=1)
    depth[150:350, 200:420] = 1.8
    return depth


@benchmark("compressed.decode")
def decode(quick: bool) -> list[dict]:
    types = get_typestore(Stores.ROS2_JAZZY).types
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=1, nanosec=0),
                                          frame_id="cam")
    kind, rgb, repeat = types["sensor_msgs/msg/CompressedImage"], _photo(), 5 if quick else 30
    raw = array_to_image(rgb[..., ::-1], "bgr8", header, types["sensor_msgs/msg/Image"])
    baseline = timeit(lambda: np.ascontiguousarray(decode_rgb(raw)), repeat=repeat)["median_ms"]
    rows = [{"name": "bgr8 640x480 Image -> RGB (raw, same run)", "value": baseline, "unit": "ms"}]
    messages = {f"{codec} 640x480 -> RGB": array_to_compressed(rgb, "rgb8", codec, header, kind)
                for codec in ("jpeg", "png")}
    for name, msg in messages.items():
        ms = timeit(lambda: decode_rgb(msg), repeat=repeat)["median_ms"]
        rows.append({"name": name, "value": ms, "unit": "ms", "ratio": ms / baseline, "ratio_to": "raw bgr8",
                     "note": f"{len(msg.data) / 1e3:.0f} kB"})
    for encoding in ("16UC1", "32FC1"):
        msg = depth_to_compressed_depth(_depth(), encoding, header, kind)
        ms = timeit(lambda: decode_depth_metres(msg), repeat=repeat)["median_ms"]
        rows.append({"name": f"compressedDepth {encoding} 640x480 -> metres", "value": ms, "unit": "ms",
                     "note": f"{len(msg.data) / 1e3:.0f} kB"})
    return rows
