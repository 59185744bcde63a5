"""Tiny real-data sources the data tests write themselves: a folder, a NYU .mat, a RealSense-style bag.

Scene of every frame: a fronto-parallel step, left half ``NEAR`` m, right half ``FAR`` m, so the
near side of the discontinuity (OB) is column ``width // 2 - 1``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from training.data.folder import write_frame, write_intrinsics
from training.data.nyu import write_labeled_mat

NEAR, FAR = 1.5, 3.0


def step_depth(height: int, width: int) -> np.ndarray:
    depth = np.full((height, width), FAR, np.float32)
    depth[:, : width // 2] = NEAR
    return depth


def write_folder(root: Path, n: int = 3, height: int = 96, width: int = 128, depth_format: str = "png",
                 labels: bool = False, intrinsics: dict | None = None) -> Path:
    """``n`` frames: rgb PNG, depth as 16-bit mm PNG or float-metre NPY, optional OB masks, intrinsics."""
    depth = step_depth(height, width)
    depth[0, 0] = np.nan  # one invalid pixel: 0 mm in the PNG, NaN in the NPY
    mask = np.zeros((height, width), bool)
    mask[:, width // 2 - 1] = True
    for i in range(n):
        rgb = np.zeros((height, width, 3), np.uint8)
        rgb[..., 0] = 40 * i
        rgb[:, width // 2:, 1] = 200
        write_frame(root, f"{i:04d}", rgb, depth, mask if labels else None, depth_format)
    write_intrinsics(root, intrinsics or {"fx": 100.0, "fy": 100.0, "cx": (width - 1) / 2, "cy": (height - 1) / 2})
    return root


def write_nyu_mat(path: Path, n: int = 3) -> Path:
    """``n`` frames in the labeled .mat's HDF5 layout: images (N,3,640,480), depths (N,640,480).

    Depth of frame i at image row r, column c is ``1 + i + c / 1000`` m (a ramp along columns, so
    a wrong transposition shows), zero (invalid) in the top-left pixel of the crop.
    """
    cols = np.arange(640, dtype=np.float32)
    rgbs, depths = [], []
    for i in range(n):
        depth = np.broadcast_to(1.0 + i + cols / 1000.0, (480, 640)).copy()
        depth[45, 41] = 0.0
        rgb = np.zeros((480, 640, 3), np.uint8)
        rgb[:240, :, 0] = 255  # top half red
        rgbs.append(rgb)
        depths.append(depth)
    return write_labeled_mat(path, rgbs, depths)
