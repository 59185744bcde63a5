"""A robot's video bag written from the synthetic engine: images, camera_info and /tf from exact poses.

The camera's exact pose at any time comes from the scene's trajectory (``Trajectory.pose``), so
/tf can run at its own rate (odometry at 60 Hz, images at 30 Hz, stamps between the images) and
the test knows the true motion between any two frames. The chain is
``odom -> base_link`` (dynamic, /tf) ``-> camera_optical_frame`` (static, /tf_static).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from modot_ros.bags.ground_truth import GroundTruthBagWriter
from modot_ros.geometry import CameraIntrinsics, invert_rigid
from training.data.synth.api import render_seeds
from training.data.synth.sample import sample_scene
from training.data.synth.trajectory import FRAME_RATE_HZ

SEED = 2_000_000  # a test-split scene; the camera moves forward about 3 cm per frame
START_NS = 1_700_000_000_000_000_000
PERIOD_NS = int(round(1e9 / FRAME_RATE_HZ))
T_BASE_CAMERA = np.array([[0.0, 0.0, 1.0, 0.20], [-1.0, 0.0, 0.0, 0.0], [0.0, -1.0, 0.0, 0.45], [0, 0, 0, 1]])


def camera_pose(frame: float, seed: int = SEED) -> np.ndarray:
    """Exact camera-to-world pose of (fractional) frame ``frame`` of the scene's 30 Hz video."""
    return sample_scene(seed).trajectory.pose(frame / FRAME_RATE_HZ)


def transform_msg(types, stamp_ns: int, parent: str, child: str, T: np.ndarray):
    """geometry_msgs/TransformStamped of ``T_parent_child``."""
    q = Rotation.from_matrix(T[:3, :3]).as_quat()
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](
        sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000), frame_id=parent)
    transform = types["geometry_msgs/msg/Transform"](
        translation=types["geometry_msgs/msg/Vector3"](x=T[0, 3], y=T[1, 3], z=T[2, 3]),
        rotation=types["geometry_msgs/msg/Quaternion"](x=q[0], y=q[1], z=q[2], w=q[3]))
    return types["geometry_msgs/msg/TransformStamped"](header=header, child_frame_id=child, transform=transform)


def _write_tf(bag: GroundTruthBagWriter, n_frames: int, seed: int, static: bool) -> None:
    types = bag.typestore.types
    message = types["tf2_msgs/msg/TFMessage"]
    if static:
        bag.write("/tf_static", message(transforms=[transform_msg(
            types, START_NS, "base_link", "camera_optical_frame", T_BASE_CAMERA)]), START_NS)
    for half in range(-1, 2 * n_frames + 1):  # 60 Hz, a quarter period off the image stamps
        frame = half / 2 + 0.25
        stamp = START_NS + int(round(frame * PERIOD_NS))
        T_odom_base = camera_pose(frame, seed) @ invert_rigid(T_BASE_CAMERA)
        bag.write("/tf", message(transforms=[transform_msg(types, stamp, "odom", "base_link", T_odom_base)]),
                  max(stamp, START_NS))


def write_video_bag(path: Path, n_frames: int = 9, height: int = 96, width: int = 128, tf: bool = True,
                    seed: int = SEED, static: bool = True) -> Path:
    """``n_frames`` consecutive frames of scene ``seed`` (frame i stamped START_NS + i/30 s).

    tf: write /tf (odom -> base_link); static: also /tf_static (base_link -> camera_optical_frame).
    """
    out = render_seeds([seed] * n_frames, height, width, frames=list(range(n_frames)))
    with GroundTruthBagWriter(path) as bag:
        if tf:
            _write_tf(bag, n_frames, seed, static)
        for i in range(n_frames):
            k = out["K"][i].double().numpy()
            bag.write_frame(START_NS + i * PERIOD_NS, out["rgb"][i].permute(1, 2, 0).numpy(),
                            CameraIntrinsics(k[0, 0], k[1, 1], k[0, 2], k[1, 2], width, height))
    return path
