"""Binary PLY export of point clouds through open3d (MeshLab, CloudCompare, Open3D read it).

open3d's tensor point cloud writes every attribute as a vertex property, so the file keeps the
layout the hand-written writer had: float x, y, z, uchar red, green, blue, then one float
property per scalar field, binary little-endian.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_ply(path: str | Path, xyz: np.ndarray, rgb: np.ndarray | None = None,
              scalars: dict[str, np.ndarray] | None = None) -> int:
    """Write the finite points of ``xyz`` (..., 3) with optional uint8 colours and float fields.

    Returns the number of points written. Invalid (NaN) points are skipped, so an organized
    cloud becomes an unorganized PLY. A cloud without any finite point writes no file (PLY
    readers, open3d's own included, reject an empty vertex list) and returns 0.
    """
    import open3d as o3d  # here, not at the top: importing it takes seconds, and bag evaluation
    # imports this module whether or not it writes a PLY
    xyz = np.asarray(xyz, np.float32).reshape(-1, 3)
    keep = np.isfinite(xyz).all(axis=1)
    count = int(keep.sum())
    if count == 0:
        return 0
    cloud = o3d.t.geometry.PointCloud(o3d.core.Tensor(np.ascontiguousarray(xyz[keep])))
    if rgb is not None:
        colours = np.asarray(rgb, np.uint8).reshape(-1, 3)[keep]
        cloud.point.colors = o3d.core.Tensor(np.ascontiguousarray(colours))
    for name, values in (scalars or {}).items():
        column = np.asarray(values, np.float32).reshape(-1)[keep].reshape(-1, 1)
        cloud.point[name] = o3d.core.Tensor(np.ascontiguousarray(column))
    if not o3d.t.io.write_point_cloud(str(path), cloud, write_ascii=False):
        raise OSError(f"could not write PLY {path}: check that its folder exists and is writable")
    return count
