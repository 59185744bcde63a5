"""Binary PLY export of point clouds with numpy (MeshLab, CloudCompare, Open3D read it)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_ply(path: str | Path, xyz: np.ndarray, rgb: np.ndarray | None = None,
              scalars: dict[str, np.ndarray] | None = None) -> int:
    """Write the finite points of ``xyz`` (..., 3) with optional uint8 colours and float fields.

    Returns the number of points written. Invalid (NaN) points are skipped, so an organized
    cloud becomes an unorganized PLY.
    """
    xyz = np.asarray(xyz, np.float32).reshape(-1, 3)
    keep = np.isfinite(xyz).all(axis=1)
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if rgb is not None:
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    scalars = scalars or {}
    fields += [(name, "<f4") for name in scalars]
    vertices = np.zeros(int(keep.sum()), dtype=fields)
    for axis, name in enumerate("xyz"):
        vertices[name] = xyz[keep, axis]
    if rgb is not None:
        colours = np.asarray(rgb, np.uint8).reshape(-1, 3)[keep]
        for channel, name in enumerate(("red", "green", "blue")):
            vertices[name] = colours[:, channel]
    for name, values in scalars.items():
        vertices[name] = np.asarray(values, np.float32).reshape(-1)[keep]
    ply_types = {"<f4": "float", "u1": "uchar"}
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {len(vertices)}"]
    header += [f"property {ply_types[kind]} {name}" for name, kind in fields] + ["end_header"]
    with open(path, "wb") as handle:
        handle.write(("\n".join(header) + "\n").encode("ascii"))
        handle.write(vertices.tobytes())
    return len(vertices)
