"""PLY export through open3d keeps the layout and values the hand-written writer produced."""
from __future__ import annotations

import numpy as np
import pytest

from modot_ros.pipeline.ply import write_ply

# The hand-written writer's vertex layout, which MeshLab / CloudCompare users rely on.
VERTEX = [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1"),
          ("confidence", "<f4")]


def _read_binary_ply(path) -> tuple[list[str], np.ndarray]:
    """Header lines and vertex records, parsed with numpy only (no open3d on the reading side)."""
    raw = path.read_bytes()
    head, _, body = raw.partition(b"end_header\n")
    lines = head.decode("ascii").splitlines()
    count = int(next(line for line in lines if line.startswith("element vertex")).split()[-1])
    names = [line.split()[-1] for line in lines if line.startswith("property")]
    kinds = {"float": "<f4", "uchar": "u1"}
    dtype = [(line.split()[-1], kinds[line.split()[1]]) for line in lines if line.startswith("property")]
    assert names == [name for name, _ in dtype]
    return lines, np.frombuffer(body, dtype=dtype, count=count)


def test_organized_cloud_with_colour_and_scalar_round_trips_byte_layout(tmp_path):
    """Finite points keep their order, colours and scalar; NaN pixels are left out."""
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(4, 5, 3)).astype(np.float32)
    xyz[1, 2] = np.nan
    xyz[3, 0, 2] = np.inf
    rgb = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    confidence = rng.random((4, 5)).astype(np.float32)
    path = tmp_path / "cloud.ply"
    assert write_ply(path, xyz, rgb, {"confidence": confidence}) == 18
    lines, vertices = _read_binary_ply(path)
    assert "format binary_little_endian 1.0" in lines
    assert vertices.dtype.names == tuple(name for name, _ in VERTEX)
    keep = np.isfinite(xyz).all(axis=2).reshape(-1)
    np.testing.assert_array_equal(np.stack([vertices[a] for a in "xyz"], 1), xyz.reshape(-1, 3)[keep])
    np.testing.assert_array_equal(np.stack([vertices[c] for c in ("red", "green", "blue")], 1),
                                  rgb.reshape(-1, 3)[keep])
    np.testing.assert_array_equal(vertices["confidence"], confidence.reshape(-1)[keep])


def test_points_only_and_empty_cloud(tmp_path):
    """Without colours only x, y, z are written; a cloud with no finite point writes no file."""
    xyz = np.arange(12, dtype=np.float32).reshape(4, 3)
    assert write_ply(tmp_path / "xyz.ply", xyz) == 4
    lines, vertices = _read_binary_ply(tmp_path / "xyz.ply")
    assert vertices.dtype.names == ("x", "y", "z")
    np.testing.assert_array_equal(vertices["z"], xyz[:, 2])
    assert write_ply(tmp_path / "none.ply", np.full((2, 3), np.nan)) == 0
    assert not (tmp_path / "none.ply").exists()


def test_unwritable_path_names_the_file(tmp_path):
    """A missing folder fails with one line naming the PLY path."""
    with pytest.raises(OSError, match="missing/x.ply"):
        write_ply(tmp_path / "missing" / "x.ply", np.zeros((1, 3), np.float32))
