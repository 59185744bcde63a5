"""rosbag2 writer of synthetic video with ground truth (mcap or sqlite3, ROS 2 Jazzy types).

Topics: /camera/image_raw (rgb8), /camera/camera_info, /camera/depth/ground_truth (32FC1 m,
NaN invalid), /camera/occlusion/ground_truth (mono8 0/255); 30 Hz stamps, frame_id
``camera_optical_frame``. Frames are consecutive 30 Hz frames along each scene's trajectory.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from modot_ros.bags.io import BagWriter
from modot_ros.geometry import CameraIntrinsics
from modot_ros.pipeline.messages import array_to_image, intrinsics_to_camera_info
from training.synth.api import render_seeds
from training.synth.trajectory import FRAME_RATE_HZ

FRAME_ID = "camera_optical_frame"
TOPICS = {"image": "/camera/image_raw", "info": "/camera/camera_info",
          "depth": "/camera/depth/ground_truth", "boundary": "/camera/occlusion/ground_truth"}
START_NS = 1_700_000_000_000_000_000
FRAMES_PER_SCENE = 60  # a new scene every 2 s of video


def frame_messages(sample: dict, stamp_ns: int, typestore) -> dict:
    """Typestore messages of one rendered frame (unbatched tensors) keyed like TOPICS."""
    T = typestore.types
    header = T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](
        sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000), frame_id=FRAME_ID)
    Image = T["sensor_msgs/msg/Image"]
    H, W = sample["depth"].shape[-2:]
    K = sample["K"].double().cpu().numpy()
    intr = CameraIntrinsics(K[0, 0], K[1, 1], K[0, 2], K[1, 2], int(W), int(H))
    return {
        "image": array_to_image(sample["rgb"].permute(1, 2, 0).cpu().numpy(), "rgb8", header, Image),
        "info": intrinsics_to_camera_info(intr, header, T["sensor_msgs/msg/CameraInfo"],
                                          T["sensor_msgs/msg/RegionOfInterest"]),
        "depth": array_to_image(sample["depth"][0].cpu().numpy().astype(np.float32), "32FC1", header, Image),
        "boundary": array_to_image(sample["boundary"][0].cpu().numpy().astype(np.uint8) * 255, "mono8", header, Image),
    }


def write_bag(path: str | Path, n_frames: int, height: int, width: int, storage: str = "mcap",
              seed: int = 2_000_000, device: str = "cpu", batch: int = 8) -> Path:
    """Write ``n_frames`` synthetic frames (scene ``seed``, ``seed+1``, ... every 60 frames)."""
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    path = Path(path)
    with BagWriter(path, storage=storage) as writer:
        todo = [(seed + i // FRAMES_PER_SCENE, i % FRAMES_PER_SCENE - FRAMES_PER_SCENE // 2) for i in range(n_frames)]
        period_ns = int(round(1e9 / FRAME_RATE_HZ))
        for start in tqdm(range(0, n_frames, batch), desc=f"bag {path.name}", unit="batch", leave=False):
            chunk = todo[start:start + batch]
            out = render_seeds([s for s, _ in chunk], height, width, device, [f for _, f in chunk])
            for j in range(len(chunk)):
                stamp = START_NS + (start + j) * period_ns
                msgs = frame_messages({k: v[j] for k, v in out.items()}, stamp, writer.typestore)
                for key, msg in msgs.items():
                    writer.write(TOPICS[key], msg, stamp)
    return path
