"""A robot's recording (a bag or a folder) as time-ordered frames with the supervision it holds.

``read_recording`` is what ``training.adapt`` starts from. It finds what the recording can teach,
in this order unless told (``supervision``):

* ``depth``: a depth image registered to the colour camera (``modot_ros.bags.io.select_topics``
  auto-detects it as ``modot-eval-bag`` does), dense or sparse (holes, a projected 3D lidar); a
  folder's ``depth/`` images;
* ``scan``: a ``sensor_msgs/LaserScan`` projected into each image as sparse depth (a row of points),
  its pose from the bag's /tf where it connects the scan's frame to the image's, else from
  ``laser_extrinsic`` (the node's parameter, same text);
* ``tf``: the camera's motion from /tf (photometric self-supervision, metric);
* ``none``: images only (photometric self-supervision with the pose network; metric scale only
  from a camera height, when given).

Frames keep their header stamp (a folder: its sorted order, one unit apart), so ``split_by_time``
can hold out the recording's last part in time, after a gap, as the part never trained on.
At most ``max_frames`` images are kept, evenly over the recording, at their own size.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modot_ros.bags.io import BagError, iter_frames, open_bag, select_topics
from modot_ros.bags.tf_tree import TF_MESSAGE
from modot_ros.depth_units import valid_depth_mask
from training.data.frames import DataError

SUPERVISIONS = ("auto", "depth", "scan", "tf", "none")
LASER_SCAN = "sensor_msgs/msg/LaserScan"
# a depth image valid on less than this share of its pixels (median over frames) is "sparse"
SPARSE_SHARE = 0.2


@dataclass
class Recording:
    """Frames and what supervises them.

    Frame dicts: rgb; depth (what trains: metres, NaN invalid; None for video supervision); truth
    (the recorded depth image, which scores held-out frames; None without one); intrinsics,
    stamp_s, name, index.
    """

    path: Path
    kind: str  # bag | folder
    supervision: str  # depth | scan | tf | none
    frames: list[dict]
    images: int  # images in the recording, before thinning to max_frames
    details: dict = field(default_factory=dict)

    def describe(self) -> dict:
        stamps = [f["stamp_s"] for f in self.frames]
        return {"path": str(self.path), "kind": self.kind, "supervision": self.supervision,
                "images": self.images, "frames_kept": len(self.frames),
                "duration_s": round(stamps[-1] - stamps[0], 3) if stamps else 0.0} | self.details


def read_recording(path: str | Path, supervision: str = "auto", max_frames: int = 300,
                   topics: dict | None = None, laser_extrinsic: str = "0 0 0 0 0 0",
                   scan_max_age_s: float = 0.1) -> Recording:
    """The recording at ``path`` with its supervision; one-line ``DataError`` on problems.

    ``path``: a bag (an mcap/sqlite3 file or a folder with metadata.yaml) or a frame folder with
    rgb/, depth/ and intrinsics.

    topics: image / camera_info / depth / scan names ("" or missing: auto-detected).
    """
    path = Path(path)
    if supervision not in SUPERVISIONS:
        raise DataError(f"supervision {supervision!r}; allowed: {', '.join(SUPERVISIONS)}")
    if not path.exists():
        raise DataError(f"recording {path} does not exist")
    if path.is_dir() and (path / "rgb").is_dir():
        return _read_folder(path, supervision, max_frames)
    return _read_bag(path, supervision, max_frames, topics or {}, laser_extrinsic, scan_max_age_s)


def _read_folder(path: Path, supervision: str, max_frames: int) -> Recording:
    from training.data.folder import FolderReader

    if supervision not in ("auto", "depth"):
        raise DataError(f"recording {path} is a frame folder: it supervises with its depth/ images only "
                        f"(--supervision depth), not {supervision}; record a bag for scan or tf")
    reader = FolderReader(path)
    keep = _evenly(len(reader), max_frames)
    frames = []
    for i in keep:
        frame = reader.read(i)
        frames.append(frame | {"truth": frame["depth"], "stamp_s": float(i), "name": Path(reader.name(i)).stem,
                               "index": i})
    return _with_density(Recording(path, "folder", "depth", frames, len(reader), {"time": "file order"}))


def _evenly(n: int, at_most: int) -> list[int]:
    """Indices of at most ``at_most`` of ``n`` items spread evenly, first and last included."""
    if at_most <= 0 or n <= at_most:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, at_most).round().astype(int).tolist()))


def _with_density(recording: Recording) -> Recording:
    """Record whether the depth is dense or sparse (the median valid share over frames)."""
    shares = [float(valid_depth_mask(f["depth"]).mean()) for f in recording.frames if f.get("depth") is not None]
    if shares:
        share = float(np.median(shares))
        recording.details |= {"depth_valid_share": round(share, 4),
                              "depth": "sparse" if share < SPARSE_SHARE else "dense"}
    return recording


def _read_bag(path: Path, supervision: str, max_frames: int, topics: dict, laser_extrinsic: str,
              scan_max_age_s: float) -> Recording:
    try:
        with open_bag(path) as reader:
            available = {c.topic: c.msgtype for c in reader.connections}
            selection = select_topics(reader, topics.get("image") or None, topics.get("camera_info") or None,
                                      topics.get("depth") or None, use_gt=True)
            scans = [t for t, m in available.items() if m == LASER_SCAN]
            scan = topics.get("scan") or (scans[0] if len(scans) == 1 else None)
            has_tf = any(m == TF_MESSAGE for m in available.values())
            chosen = _choose(supervision, selection.gt_depth, scan, has_tf, scans, path)
            images = sum(c.msgcount for c in reader.connections if c.topic == selection.image)
            selection = dataclasses.replace(selection, gt_boundary=None)  # depth may still score held-out frames
            keep = set(_evenly(images, max_frames))
            frames = [_bag_frame(f) for f in iter_frames(reader, selection, keep=keep.__contains__)]
    except BagError as error:
        raise DataError(f"bag {path}: {error}") from None
    if not frames:
        raise DataError(f"bag {path} has no frames with a colour image and camera_info")
    details = {"image_topic": selection.image, "time": "header stamps", "depth_topic": selection.gt_depth}
    if chosen == "depth":
        frames = [f for f in frames if f["depth"] is not None]
    else:  # the depth topic, if any, only scores; what trains is the scan or the video
        for frame in frames:
            frame["depth"] = None
    if chosen == "scan":
        details |= _attach_scans(frames, path, scan, laser_extrinsic, scan_max_age_s)
    return _with_density(Recording(path, "bag", chosen, frames, images, details))


def _choose(supervision: str, depth: str | None, scan: str | None, has_tf: bool, scans: list[str],
            path: Path) -> str:
    """The supervision to use: the one asked for (checked) or the best the bag holds."""
    found = {"depth": depth is not None, "scan": scan is not None, "tf": has_tf, "none": True}
    if supervision == "auto":
        return next(kind for kind, there in found.items() if there)
    if not found[supervision]:
        why = {"depth": "no depth image topic (32FC1 or 16UC1, raw or compressedDepth); name one with --depth",
               "scan": (f"{len(scans)} LaserScan topics ({', '.join(scans)}); name one with --scan" if scans
                        else "no sensor_msgs/msg/LaserScan topic"),
               "tf": "no /tf or /tf_static"}[supervision]
        raise DataError(f"bag {path}: --supervision {supervision} needs what the bag lacks: {why}")
    return supervision


def _bag_frame(frame) -> dict:
    return {"rgb": frame.rgb, "depth": frame.gt_depth, "truth": frame.gt_depth, "boundary": None,
            "intrinsics": frame.intrinsics,
            "stamp_s": frame.stamp_ns / 1e9, "stamp_ns": frame.stamp_ns, "index": frame.index,
            "name": f"frame_{frame.index:06d}", "frame_id": frame.image_msg.header.frame_id}


def _attach_scans(frames: list[dict], path: Path, topic: str, laser_extrinsic: str, max_age_s: float) -> dict:
    """Each frame's LaserScan (nearest stamp within ``max_age_s``) as a sparse depth image."""
    from modot_ros.bags.scale_topic import RecordedScaleTopic
    from modot_ros.scale.samples import extrinsic_from_text, laser_scan_samples

    said: list[str] = []
    try:
        recorded = RecordedScaleTopic(path, topic, "laser_scan", max_age_s, say=said.append)
        fallback = extrinsic_from_text(laser_extrinsic)
    except (BagError, ValueError) as error:
        raise DataError(f"bag {path}: {error}") from None
    poses = {"tf": 0, "laser_extrinsic": 0}
    try:
        for frame in frames:
            scan = recorded.measurement(frame["stamp_ns"], frame["frame_id"])
            depth = np.full(frame["rgb"].shape[:2], np.nan, np.float32)
            if scan is not None:
                pose = scan.T_optical_laser
                poses["tf" if pose is not None else "laser_extrinsic"] += 1
                u, v, z = laser_scan_samples(scan.ranges, scan.angle_min, scan.angle_increment, scan.range_min,
                                             scan.range_max, fallback if pose is None else pose,
                                             frame["intrinsics"])
                _splat_nearest(depth, u, v, z)
            frame["depth"] = depth
    finally:
        recorded.close()
    if not any(valid_depth_mask(f["depth"]).any() for f in frames):
        raise DataError(f"bag {path}: no return of {topic} falls inside the image (check --laser-extrinsic "
                        "or the bag's /tf between the scan's and the camera's frames)")
    return {"scan_topic": topic, "scan_pose": poses, "scan_notes": said}


def _splat_nearest(depth: np.ndarray, u: np.ndarray, v: np.ndarray, z: np.ndarray) -> None:
    """Write planar depths ``z`` at pixels (u, v) into ``depth``, the nearest where two meet."""
    col, row = np.rint(u).astype(np.intp), np.rint(v).astype(np.intp)
    h, w = depth.shape
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h) & np.isfinite(z) & (z > 0)
    flat = np.full(h * w, np.inf)
    np.minimum.at(flat, row[inside] * w + col[inside], z[inside])
    hit = np.isfinite(flat)
    depth.reshape(-1)[hit] = flat[hit]


@dataclass(frozen=True)
class TimeSplit:
    """Which frames train and which are held out: the last ``holdout`` of the time, after a gap."""

    train: list[dict]
    heldout: list[dict]
    heldout_from_s: float  # seconds from the recording's first frame
    train_until_s: float

    def describe(self) -> dict:
        return {"train_frames": len(self.train), "heldout_frames": len(self.heldout),
                "train_until_s": round(self.train_until_s, 3), "heldout_from_s": round(self.heldout_from_s, 3),
                "train_names": [f["name"] for f in self.train],
                "heldout_names": [f["name"] for f in self.heldout]}


def split_by_time(frames: list[dict], holdout: float = 0.2, gap: float = 0.05) -> TimeSplit:
    """Hold out the frames in the last ``holdout`` of the recording's time span.

    Those in the ``gap`` (a share of the span) before it are left out, so nothing trained on sits
    right beside a held-out frame. DataError when either side would be empty.
    """
    if not 0.0 < holdout < 1.0 or not 0.0 <= gap < 1.0 - holdout:
        raise DataError(f"holdout {holdout} must be in (0, 1) and gap {gap} in [0, 1 - holdout)")
    frames = sorted(frames, key=lambda f: f["stamp_s"])
    start, end = frames[0]["stamp_s"], frames[-1]["stamp_s"]
    span = end - start
    heldout_from = start + (1.0 - holdout) * span
    train_until = heldout_from - gap * span
    heldout = [f for f in frames if f["stamp_s"] >= heldout_from - 1e-9]
    train = [f for f in frames if f["stamp_s"] < train_until - 1e-9]
    if not train or not heldout or math.isclose(span, 0.0):
        raise DataError(f"the recording's {len(frames)} frames over {span:.1f} s leave {len(train)} to train on "
                        f"and {len(heldout)} held out (holdout {holdout}, gap {gap}); record longer")
    return TimeSplit(train, heldout, heldout_from - start, train_until - start)
