"""Frames of a rosbag2 (mcap or sqlite3) with a colour image, its camera_info and registered depth.

Topics are chosen by ``modot_ros.bags.io.select_topics`` (auto-detected as ``modot-eval-bag``
does, or named in the source config) and frames paired by header stamp by ``iter_frames``: one
reader for evaluation and training. Depth must be registered to the colour camera (same size,
e.g. RealSense ``aligned_depth_to_color``), 32FC1 metres or 16UC1 millimetres, raw or
compressedDepth; the colour image raw or a jpeg/png ``/compressed`` topic (one decoder:
``modot_ros.pipeline.compressed``).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

from modot_ros.bags.io import BagError, iter_frames, open_bag, select_topics
from training.data.frames import DataError

LOG = logging.getLogger(__name__)


def bag_frames(path: str | Path, stride: int = 1, max_frames: int = 0, topics: dict | None = None,
               need_depth: bool = True) -> Iterator[dict]:
    """Frame dicts (rgb, depth m NaN invalid, boundary or None, intrinsics, has_labels) of a bag.

    topics: image / camera_info / depth / boundary names ("" or missing: auto-detected).
    A problem before the first frame raises DataError with one line; a damaged frame later ends
    the bag there with a warning (the frames before it are used). Frames without depth are skipped.
    """
    names = {k: v or None for k, v in (topics or {}).items()}
    try:
        with open_bag(path) as reader:
            selection = select_topics(reader, names.get("image"), names.get("camera_info"),
                                      names.get("depth"), names.get("boundary"))
            if need_depth and not selection.gt_depth:
                raise DataError(f"bag {path} has no depth topic (32FC1 or 16UC1, raw or compressedDepth) registered to "
                                f"{selection.image}; training needs one (set depth: TOPIC)")
            frames = iter_frames(reader, selection, keep=lambda i: i % stride == 0)  # the others stay undecoded
            yield from _frames(frames, path, max_frames, selection.gt_boundary is not None)
    except BagError as error:
        raise DataError(f"bag {path}: {error}; in data.sources name topics with image / camera_info / "
                        "depth / boundary") from None


def _frames(frames, path, max_frames: int, labelled: bool) -> Iterator[dict]:
    used, without_depth = 0, 0
    try:
        for frame in frames:
            if frame.gt_depth is None:
                without_depth += 1
                continue
            yield {"rgb": frame.rgb, "depth": frame.gt_depth, "intrinsics": frame.intrinsics,
                   "boundary": frame.gt_boundary if labelled else None, "has_labels": labelled}
            used += 1
            if used == max_frames:
                break
    except BagError as error:
        if not used:
            raise
        LOG.warning("bag %s: %s; using the %d frames before it", path, error, used)
    if without_depth:
        LOG.warning("bag %s: skipped %d frames without a depth image at their stamp", path, without_depth)
    if not used:
        raise DataError(f"bag {path} has no frames with a colour image, camera_info and depth")
