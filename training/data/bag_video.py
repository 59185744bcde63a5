"""Self-supervised training frames from a robot's video bag: triplets (t-k, t, t+k) with motion.

No depth is needed. Every ``stride``-th image is kept at the network input size (as
``real_frames`` keeps frames, read once into memory), and each kept frame with a kept neighbour
on both sides is a target whose sources are those neighbours. The camera's motion between them:

* ``poses: tf`` reads ``/tf`` + ``/tf_static`` (``modot_ros.bags.tf_tree``) and looks up the
  camera's pose in the odometry frame at each image stamp (the image header's ``frame_id``,
  normally the optical frame), so translations are metric. Triplets where the camera moved less
  than ``min_motion_m`` are left out: a standing robot teaches nothing but costs steps.
* ``poses: pose_net`` leaves the poses unknown (NaN); the trainer's pose network predicts them
  (``training.pose_net``). ``auto``: tf when the bag has any /tf message, else the pose network.

Pixels that move with the camera, and whole frames taken at rest, are dropped inside the loss by
the auto-mask (``losses.photometric``). Samples follow ``frames.CropDataset``'s protocol
(``sources``, ``T_source_from_target``, ``camera_height``), so they mix with the engine's
sequence frames. ``camera_height_m`` rides along with every sample for the camera-height loss.
"""
from __future__ import annotations

import logging

import numpy as np
import torch
from torch.utils.data import Dataset

from modot_ros.bags.io import BagError, iter_frames, open_bag, select_topics
from modot_ros.bags.tf_tree import TF_MESSAGE, TfError, read_tf
from modot_ros.geometry import invert_rigid
from training.data.frames import CropDataset, DataError, epoch_frame
from training.data.real_frames import fit_frame, frames_cache

LOG = logging.getLogger(__name__)


def _ob_mode(ob: str, selection, where: str) -> str:
    """OB labels of a video bag: its mask topic, else edges of its depth topic, else none."""
    have = {"labels": selection.gt_boundary is not None, "from_depth": selection.gt_depth is not None}
    if ob == "auto":
        return next((mode for mode, present in have.items() if present), "none")
    if ob != "none" and not have[ob]:
        topic = "an OB mask topic (boundary: TOPIC)" if ob == "labels" else "a depth topic (depth: TOPIC)"
        raise DataError(f"{where}: ob: {ob} needs {topic}; use ob: none for video without them")
    return ob


def _read_frames(reader, selection, spec, size, ob: str, where: str, check=None) -> tuple[list, list, str, list]:
    """(fitted frames, header stamps, camera frame id, recorded [h, w]) of every ``stride``-th image.

    ``check(frame_id)`` runs on the first image, so a broken tf chain fails before the bag is read.
    """
    fitted, stamps, frame_id, recorded = [], [], "", []
    try:
        for frame in iter_frames(reader, selection):
            if check and not frame_id:
                check(frame.image_msg.header.frame_id.lstrip("/"))
            if frame.index % spec.stride:
                continue
            depth = frame.gt_depth if frame.gt_depth is not None else np.full(frame.rgb.shape[:2], np.nan, np.float32)
            fitted.append(fit_frame({"rgb": frame.rgb, "depth": depth, "boundary": frame.gt_boundary,
                                     "intrinsics": frame.intrinsics}, *size, ob, spec.edge_rule))
            stamps.append(frame.stamp_ns)
            frame_id = frame_id or frame.image_msg.header.frame_id.lstrip("/")
            recorded = recorded or list(frame.rgb.shape[:2])
            if len(fitted) == spec.max_frames:
                break
    except BagError as error:
        if len(fitted) < 3:
            raise
        LOG.warning("%s: %s; using the %d frames before it", where, error, len(fitted))
    if len(fitted) < 3:
        raise DataError(f"{where} has {len(fitted)} usable image(s) at stride {spec.stride}; "
                        "self-supervised training needs at least 3 (a triplet)")
    return fitted, stamps, frame_id, recorded


def _pose_mode(spec, reader, where: str) -> str:
    has_tf = any(c.msgtype == TF_MESSAGE and c.msgcount for c in reader.connections)
    mode = ("tf" if has_tf else "pose_net") if spec.poses == "auto" else spec.poses
    if mode == "tf" and not has_tf:
        raise DataError(f"{where} has no /tf or /tf_static messages, so the camera motion is unknown; "
                        "record them (odometry -> camera frame) or set poses: pose_net")
    return mode


def _odom_frame(tree, spec, camera: str, where: str) -> str:
    """The fixed frame the camera moves in; DataError when /tf does not connect it to the camera."""
    if not camera:
        raise DataError(f"{where}: the image header has no frame_id, so its tf frame is unknown")
    odom = spec.odom_frame or tree.root(camera)
    try:
        tree.path(odom, camera)
    except TfError as error:
        raise DataError(f"{where}: {error}; record the chain from the odometry frame to {camera} "
                        "(/tf and /tf_static), name the fixed frame with odom_frame, or set poses: pose_net") from None
    return odom


def _camera_poses(tree, odom: str, camera: str, stamps: list[int], where: str) -> np.ndarray:
    """(M, 4, 4) camera-to-odometry poses at the image stamps (NaN where /tf does not cover one)."""
    poses = np.full((len(stamps), 4, 4), np.nan)
    for i, stamp in enumerate(stamps):
        try:
            poses[i] = tree.lookup(odom, camera, stamp)
        except TfError as error:
            LOG.warning("%s: image %d left out: %s", where, i, error)
    if np.isnan(poses).all():
        raise DataError(f"{where}: no image stamp lies within the /tf samples of {odom} -> {camera}; "
                        "are /tf and the images from the same recording (and clock)?")
    return poses


def _triplets(n: int, poses: np.ndarray | None, min_motion_m: float) -> tuple[np.ndarray, int]:
    """[target, previous, next] index rows of ``n`` frames, and how many stood still (by /tf)."""
    rows, still = [], 0
    for j in range(1, n - 1):
        idx = [j, j - 1, j + 1]
        if poses is not None:
            if np.isnan(poses[idx]).any():
                continue  # /tf does not cover one of the three stamps
            moved = [np.linalg.norm((invert_rigid(poses[s]) @ poses[j])[:3, 3]) for s in idx[1:]]
            if max(moved) < min_motion_m:
                still += 1
                continue
        rows.append(idx)
    return np.asarray(rows, np.int64).reshape(-1, 3), still


class VideoTriplets(Dataset):
    """Training samples of triplets over frames kept once (a frame serves up to three triplets).

    Same draw-id rules as ``CropDataset`` (a seeded permutation per epoch, crops from the draw);
    ``pose`` holds camera-to-odometry poses, NaN when the pose network must predict them.
    """

    def __init__(self, cache: dict, poses: np.ndarray, triplets: np.ndarray, crop: tuple[int, int],
                 flip: bool, seed: int, camera_height_m: float = 0.0) -> None:
        self.cache, self.triplets, self.crop, self.flip, self.seed = cache, triplets, tuple(crop), flip, seed
        self.poses = torch.from_numpy(poses).float()
        # NaN: unknown, so the camera-height term leaves these samples out
        self.camera_height = torch.tensor([camera_height_m or float("nan")])
        self._perms: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, draw: int) -> dict:
        idx = torch.from_numpy(self.triplets[epoch_frame(len(self.triplets), self.seed, draw, self._perms)])
        t = idx[:1]
        one = {"rgb": self.cache["rgb"][idx, 0][None], "depth": self.cache["depth"][t],
               "boundary": self.cache["boundary"][t], "boundary_known": self.cache["boundary_known"][t],
               "K": self.cache["K"][t], "pose": self.poses[idx][None], "seeds": [0],
               "camera_height": self.camera_height}
        return CropDataset(one, self.crop, self.flip, sequence=True, seed=self.seed).sample(0, draw)


def video_source(spec, size: tuple[int, int], crop: tuple[int, int], flip: bool,
                 seed: int) -> tuple[Dataset, dict]:
    """(triplet dataset, description) of a self-supervised ``bag`` source config."""
    where = f"bag source {spec.path}"
    names = {k: getattr(spec, k) or None for k in ("image", "camera_info", "depth", "boundary")}
    try:
        with open_bag(spec.path) as reader:
            selection = select_topics(reader, names["image"], names["camera_info"], names["depth"],
                                      names["boundary"], use_gt=spec.ob != "none")
            ob = _ob_mode(spec.ob, selection, where)
            mode = _pose_mode(spec, reader, where)
            tree = read_tf(reader, int(spec.tf_tolerance_s * 1e9)) if mode == "tf" else None
            odom = {}
            check = (lambda camera: odom.setdefault("frame", _odom_frame(tree, spec, camera, where))) if tree else None
            fitted, stamps, camera, recorded = _read_frames(reader, selection, spec, size, ob, where, check)
    except BagError as error:
        raise DataError(f"{where}: {error}; in data.sources name topics with image / camera_info") from None
    except TfError as error:
        raise DataError(f"{where}: {error}") from None
    poses = _camera_poses(tree, odom["frame"], camera, stamps, where) if tree else None
    triplets, still = _triplets(len(fitted), poses, spec.min_motion_m)
    if not len(triplets):
        raise DataError(f"{where}: no triplet left ({still} stood still: camera moved < {spec.min_motion_m} m "
                        "to both neighbours); lower min_motion_m or raise stride")
    cache = frames_cache(fitted)
    pose_array = poses if poses is not None else np.full((len(fitted), 4, 4), np.nan)
    described = {"kind": "bag", "path": str(spec.path), "weight": spec.weight, "ob": ob,
                 "frames": len(fitted), "triplets": len(triplets), "stride": spec.stride, "frame_size": recorded,
                 "resized_to": list(size),
                 "supervision": "self_supervised", "poses": mode, "camera_frame": camera}
    if mode == "tf":
        described |= {"odom_frame": odom["frame"], "standing_still_left_out": still}
    if spec.camera_height_m:
        described["camera_height_m"] = spec.camera_height_m
    return VideoTriplets(cache, pose_array, triplets, crop, flip, seed, spec.camera_height_m), described
