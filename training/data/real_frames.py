"""Real camera frames (folder, bag, NYU) brought to the trainer's sample protocol (``frames.py``).

Every reader yields *frames*: ``rgb`` (H,W,3) uint8, ``depth`` (H,W) float32 metres with NaN
invalid, ``boundary`` (H,W) bool or None (no OB labels), ``intrinsics`` (CameraIntrinsics of
this image), the dicts ``training.evaluate`` scores. For training a frame is resized to the
network input size the way the runtime estimator resizes camera images
(``inference.to_network_input``, intrinsics through ``CameraIntrinsics.scaled_to``), so the
network sees real frames at the pixel scale it will see on the robot; random crops and flips
then come from ``CropDataset``, as for synthetic frames.

Random-access readers (folder, NYU) are read lazily per sample; a frame that cannot be read
mid-run is skipped (the next frame is used), counted and logged. Sequential readers (bags) are
read once at start, at the training size (about 0.4 MB per 320x240 frame).
"""
from __future__ import annotations

import logging
from typing import Iterable, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from modot_ros.geometry import CameraIntrinsics
from modot_ros.inference import to_network_input
from training.data.frames import CropDataset, DataError, epoch_frame, pack_boundary
from training.data.ob_from_depth import DepthEdgeRule, boundary_from_depth
from training.data.resolution import nearest_surface_resize

LOG = logging.getLogger(__name__)
FRAME_ERRORS = (DataError, OSError, ValueError, KeyError)


class FrameReader(Protocol):
    """What a real-data reader offers (``folder.FolderReader``, ``nyu.NyuReader``)."""

    has_labels: bool

    def __len__(self) -> int: ...

    def read(self, i: int) -> dict: ...

    def name(self, i: int) -> str: ...


def check_frame(frame: dict, where: str) -> dict:
    """``frame`` when its arrays agree in size with each other and with its intrinsics."""
    h, w = frame["rgb"].shape[:2]
    shapes = {"depth": frame["depth"].shape}
    if frame.get("boundary") is not None:
        shapes["boundary"] = frame["boundary"].shape
    for key, shape in shapes.items():
        if tuple(shape) != (h, w):
            raise DataError(f"{where}: {key} is {shape[1]}x{shape[0]} but rgb is {w}x{h}; "
                            "they must be pixel-aligned")
    intr = frame["intrinsics"]
    if (intr.width, intr.height) != (w, h):
        raise DataError(f"{where}: intrinsics are for {intr.width}x{intr.height} but rgb is {w}x{h}")
    return frame


def resolve_ob(ob: str, has_labels: bool, where: str) -> str:
    """The OB mode of a source: ``auto`` -> labels when it has them, else from_depth."""
    if ob == "labels" and not has_labels:
        raise DataError(f"{where} has no OB labels; use ob: from_depth or ob: none")
    return ("labels" if has_labels else "from_depth") if ob == "auto" else ob


def fit_frame(frame: dict, height: int, width: int, ob: str, rule: DepthEdgeRule) -> dict:
    """One frame at the network input size as cache arrays (uint8 rgb, depth m, OB + known)."""
    writable = ("C", "W")  # bag messages are read-only buffers; torch wants writable arrays
    rgb = to_network_input(torch.from_numpy(np.require(frame["rgb"], np.uint8, writable))[None], height, width)
    # the nearest surface per target pixel: averaging across an occluding edge would invent flying
    # pixels, and picking one source pixel would drop most of a sparse frame's points
    depth = nearest_surface_resize(torch.from_numpy(np.require(frame["depth"], np.float32, writable)),
                                   height, width)
    if ob == "labels" and frame.get("boundary") is None:
        ob = "none"  # a labelled bag's frame whose mask was not recorded: unknown, not "no OB"
    if ob == "labels":
        labels = torch.from_numpy(np.asarray(frame["boundary"], np.float32))[None, None]
        # any label pixel in the footprint: 1-px lines survive down-sampling
        boundary = (F.interpolate(labels, size=(height, width), mode="area")[0, 0] > 0).float()
    elif ob == "from_depth":
        boundary = torch.from_numpy(boundary_from_depth(depth.numpy(), rule))
    else:
        boundary = torch.full((height, width), torch.nan)
    K = frame["intrinsics"].scaled_to(width, height).matrix()
    return {"rgb": (rgb[0].contiguous() * 255.0).round().to(torch.uint8), "depth": depth,
            "boundary": boundary, "K": torch.from_numpy(K).float()}


def frames_cache(fitted: list[dict]) -> dict:
    """Fitted frames as a ``CropDataset`` cache (NaN OB labels become ``boundary_known`` = 0)."""
    boundary = torch.stack([f["boundary"] for f in fitted])[:, None]
    return {"rgb": torch.stack([f["rgb"] for f in fitted])[:, None],
            "depth": torch.stack([f["depth"] for f in fitted])[:, None].half(),
            "boundary": pack_boundary(torch.nan_to_num(boundary, nan=0.0) > 0.5),
            "boundary_known": pack_boundary(~torch.isnan(boundary)),
            "K": torch.stack([f["K"] for f in fitted]), "seeds": list(range(len(fitted)))}


class LazyFrames(Dataset):
    """Training samples read per draw from a random-access reader (same draw-id rules as CropDataset)."""

    def __init__(self, reader: FrameReader, size: tuple[int, int], crop: tuple[int, int], flip: bool,
                 seed: int, ob: str, rule: DepthEdgeRule) -> None:
        self.reader, self.size, self.crop, self.flip, self.seed = reader, tuple(size), tuple(crop), flip, seed
        self.ob, self.rule = ob, rule
        self.skipped: dict[str, str] = {}
        self._perms: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, draw: int) -> dict:
        n = len(self.reader)
        first = epoch_frame(n, self.seed, draw, self._perms)
        for i in (first + k for k in range(n)):
            name = self.reader.name(i % n)
            if name in self.skipped:
                continue
            try:
                fitted = fit_frame(check_frame(self.reader.read(i % n), name), *self.size, self.ob, self.rule)
            except FRAME_ERRORS as error:
                self.skipped[name] = str(error)
                LOG.warning("skipped frame %s: %s (%d skipped so far)", name, error, len(self.skipped))
                continue
            return CropDataset(frames_cache([fitted]), self.crop, self.flip, seed=self.seed).sample(0, draw)
        raise DataError(f"no readable frame left in {self.reader.name(0)} and its siblings")


def preload(frames: Iterable[dict], size: tuple[int, int], ob: str, rule: DepthEdgeRule, where: str) -> dict:
    """Read a sequential source once into a ``CropDataset`` cache at the training size."""
    fitted = [fit_frame(check_frame(f, f"{where} frame {i}"), *size, ob, rule) for i, f in enumerate(frames)]
    if not fitted:
        raise DataError(f"{where} has no usable frames")
    return frames_cache(fitted)


def intrinsics_or_error(values: dict, width: int, height: int, where: str) -> CameraIntrinsics:
    """CameraIntrinsics from fx/fy/cx/cy values; one-line DataError when they are unusable."""
    try:
        return CameraIntrinsics(float(values["fx"]), float(values["fy"]), float(values["cx"]),
                                float(values["cy"]), int(width), int(height))
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(f"{where}: unusable intrinsics ({type(error).__name__}: {error})") from None
