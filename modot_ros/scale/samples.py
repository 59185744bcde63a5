"""Metric samples at image pixels: from a LaserScan, a Range beam, or drawn from ground truth.

Every function returns ``(u, v, z)``: pixel coordinates on the intrinsics' grid and planar depth z
(metres, REP 103 optical frame), the input of ``fit.fit_points``. No message types here: the node
passes the fields of ``sensor_msgs/LaserScan`` and ``sensor_msgs/Range``.

Ground-truth sampling (``ground_truth_samples``) stands in for a sensor in the evaluations, with
the issue's densities: ``beam`` (one range at the image centre), ``lidar_row`` (a 2D lidar in the
camera's horizontal plane: the GT row through the principal point), ``points:N`` (N random valid
pixels, like the sparse depth of a stereo camera); each range gets relative Gaussian noise.
"""
from __future__ import annotations

import re

import numpy as np

from modot_ros.depth_units import valid_depth_mask
from modot_ros.geometry import CameraIntrinsics
from modot_ros.scale.settings import parse_extrinsic

# REP 103: body x forward, y left, z up; optical x right, y down, z forward.
OPTICAL_FROM_BODY = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])
SAMPLE_KINDS = ("beam", "lidar_row", "points")


def extrinsic_from_text(text: str) -> np.ndarray:
    """4x4 ``T_optical_sensor`` from "x y z roll pitch yaw" (metres, degrees).

    The pose is the sensor's in the camera's *body* frame (x forward, y left, z up: how a mount is
    measured on a robot).

    "0 0 0 0 0 0" is a sensor at the optical centre looking where the camera looks (a 2D lidar
    scanning the camera's horizontal plane). Raises ValueError naming the problem.
    """
    from scipy.spatial.transform import Rotation

    numbers = parse_extrinsic(text)
    body = np.eye(4)
    body[:3, :3] = Rotation.from_euler("xyz", numbers[3:], degrees=True).as_matrix()
    body[:3, 3] = numbers[:3]
    optical = np.eye(4)
    optical[:3, :3] = OPTICAL_FROM_BODY
    return optical @ body


def project_points(points: np.ndarray, intrinsics: CameraIntrinsics) -> tuple[np.ndarray, ...]:
    """(N, 3) optical-frame points in front of the camera and inside the image -> (u, v, z)."""
    points = np.asarray(points, np.float64).reshape(-1, 3)
    ahead = points[:, 2] > 1e-6
    x, y, z = points[ahead].T
    u, v = intrinsics.fx * x / z + intrinsics.cx, intrinsics.fy * y / z + intrinsics.cy
    inside = (u > -0.5) & (u < intrinsics.width - 0.5) & (v > -0.5) & (v < intrinsics.height - 0.5)
    return u[inside], v[inside], z[inside]


def laser_scan_samples(ranges: np.ndarray, angle_min: float, angle_increment: float, range_min: float,
                       range_max: float, T_optical_laser: np.ndarray,
                       intrinsics: CameraIntrinsics) -> tuple[np.ndarray, ...]:
    """A LaserScan's valid returns (range_min..range_max, REP 117) projected into the image."""
    ranges = np.asarray(ranges, np.float64)
    angles = angle_min + angle_increment * np.arange(ranges.size)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(ranges) & (ranges >= range_min) & (ranges <= range_max)
    r, a = ranges[valid], angles[valid]
    points = np.stack([r * np.cos(a), r * np.sin(a), np.zeros_like(r)], 1)  # laser frame: x ahead, z up
    points = points @ T_optical_laser[:3, :3].T + T_optical_laser[:3, 3]
    return project_points(points, intrinsics)


def range_sample(range_m: float, u_fraction: float, v_fraction: float,
                 intrinsics: CameraIntrinsics) -> tuple[np.ndarray, ...]:
    """One beam through the pixel at (u_fraction, v_fraction) of the image, as (u, v, z).

    Its range along the ray becomes the planar depth ``range / |ray|`` (the sensor is taken to sit
    at the optical centre).
    """
    u = u_fraction * intrinsics.width - 0.5
    v = v_fraction * intrinsics.height - 0.5
    ray = np.array([(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, 1.0])
    return np.array([u]), np.array([v]), np.array([range_m / np.linalg.norm(ray)])


def parse_sample_kind(spec: str) -> tuple[str, int]:
    """Parse ``beam`` | ``lidar_row`` | ``points:N`` into (kind, N); ValueError naming the allowed forms."""
    match = re.fullmatch(r"(beam|lidar_row)|points:(\d+)", spec)
    if not match or (match.group(2) is not None and int(match.group(2)) < 1):
        raise ValueError(f"sparse sample {spec!r}; allowed: beam, lidar_row, points:N (N >= 1)")
    return ("points", int(match.group(2))) if match.group(2) else (spec, 1)


def ground_truth_samples(gt: np.ndarray, intrinsics: CameraIntrinsics, spec: str, noise: float = 0.02,
                         seed: int = 0) -> tuple[np.ndarray, ...]:
    """Sensor-like samples of a GT depth map (see the module docstring).

    ``noise``: relative Gaussian noise on the range (so on z).
    """
    kind, n = parse_sample_kind(spec)
    rng = np.random.default_rng(seed)
    valid = valid_depth_mask(np.asarray(gt, np.float32))
    if kind == "beam":
        row, col = np.array([int(round(intrinsics.cy))]), np.array([int(round(intrinsics.cx))])
    elif kind == "lidar_row":
        row = int(np.clip(round(intrinsics.cy), 0, gt.shape[0] - 1))
        col = np.arange(gt.shape[1])
        row = np.full(col.size, row)
    else:
        rows, cols = np.nonzero(valid)
        pick = rng.choice(rows.size, min(n, rows.size), replace=False)
        row, col = rows[pick], cols[pick]
    keep = valid[row, col]
    row, col = row[keep], col[keep]
    z = gt[row, col].astype(np.float64) * (1.0 + noise * rng.standard_normal(row.size))
    return col.astype(np.float64), row.astype(np.float64), z
