"""rosbag2 writer of synthetic video with ground truth (mcap or sqlite3, ROS 2 Jazzy types).

Topics and encodings are those of ``modot_ros.bags.ground_truth`` (``GT_TOPICS``, and the camera's
pose on /tf in ``odom``).

* ``write_bag``: consecutive 30 Hz frames along each scene's short trajectory, a new scene every 2 s.
* ``write_patrol_bag``: minutes of one room a robot patrols (``sample.sample_patrol_scene``), frames
  at ``rate_hz``: a long recording of a room the network never saw, for ``modot-adapt`` studies,
  with what a 2D lidar in the camera's horizontal plane returns (``/scan``, 2 % range noise, its
  pose on /tf_static) beside the GT depth, so every supervision kind can be tried on one recording.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from modot_ros.bags.ground_truth import GT_TOPICS as TOPICS
from modot_ros.bags.ground_truth import GroundTruthBagWriter
from modot_ros.geometry import CameraIntrinsics
from training.data.synth.api import render_seeds
from training.data.synth.render import render_batch
from training.data.synth.sample import sample_patrol_scene
from training.data.synth.trajectory import FRAME_RATE_HZ

__all__ = ["TOPICS", "write_bag", "write_patrol_bag"]
START_NS = 1_700_000_000_000_000_000
FRAMES_PER_SCENE = 60  # a new scene every 2 s of video


def _write_sample(writer: GroundTruthBagWriter, sample: dict, stamp_ns: int,
                  scan_rng: np.random.Generator | None = None) -> None:
    """One rendered frame (unbatched tensors) into the bag; with ``scan_rng`` also its /scan."""
    height, width = sample["depth"].shape[-2:]
    k = sample["K"].double().cpu().numpy()
    intrinsics = CameraIntrinsics(k[0, 0], k[1, 1], k[0, 2], k[1, 2], int(width), int(height))
    depth = sample["depth"][0].cpu().numpy().astype(np.float32)
    writer.write_frame(stamp_ns, sample["rgb"].permute(1, 2, 0).cpu().numpy(), intrinsics, depth,
                       sample["boundary"][0].cpu().numpy().astype(np.uint8) * 255,
                       pose=sample["pose"].cpu().numpy())
    if scan_rng is not None:
        writer.write_scan(stamp_ns, depth, intrinsics, rng=scan_rng)


def write_bag(path: str | Path, n_frames: int, height: int, width: int, storage: str = "mcap",
              seed: int = 2_000_000, device: str = "cpu", batch: int = 8) -> Path:
    """Write ``n_frames`` synthetic frames (scene ``seed``, ``seed+1``, ... every 60 frames)."""
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    path = Path(path)
    with GroundTruthBagWriter(path, storage=storage) as writer:
        todo = [(seed + i // FRAMES_PER_SCENE, i % FRAMES_PER_SCENE - FRAMES_PER_SCENE // 2) for i in range(n_frames)]
        period_ns = int(round(1e9 / FRAME_RATE_HZ))
        for start in tqdm(range(0, n_frames, batch), desc=f"bag {path.name}", unit="batch", leave=False):
            chunk = todo[start:start + batch]
            out = render_seeds([s for s, _ in chunk], height, width, device, [f for _, f in chunk])
            for j in range(len(chunk)):
                _write_sample(writer, {k: v[j] for k, v in out.items()}, START_NS + (start + j) * period_ns)
    return path


def write_patrol_bag(path: str | Path, minutes: float, rate_hz: float, height: int, width: int,
                     storage: str = "mcap", seed: int = 2_000_500, device: str = "cpu", batch: int = 8) -> Path:
    """Write ``minutes`` of a patrol of scene ``seed``'s room, one frame every ``1 / rate_hz`` seconds."""
    count = int(round(minutes * 60 * rate_hz))
    if count < 1 or rate_hz <= 0:
        raise ValueError(f"a patrol needs minutes > 0 and rate_hz > 0 (got {minutes} min at {rate_hz} Hz)")
    path = Path(path)
    scene = sample_patrol_scene(seed)
    scan_rng = np.random.default_rng(seed)
    with GroundTruthBagWriter(path, storage=storage) as writer:
        writer.write_laser_pose(START_NS)
        for start in tqdm(range(0, count, batch), desc=f"patrol {path.name}", unit="batch", leave=False):
            times = [k / rate_hz for k in range(start, min(start + batch, count))]
            out = render_batch([scene] * len(times), height, width, [scene.trajectory.pose(t) for t in times],
                               device=device, seeds=[seed * 1009 + start + j for j in range(len(times))],
                               exposure_ref=[0] * len(times))
            for j, t in enumerate(times):
                _write_sample(writer, {k: v[j] for k, v in out.items()}, START_NS + int(round(t * 1e9)), scan_rng)
    return path
