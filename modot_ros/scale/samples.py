"""Metric samples at image pixels: from a LaserScan, a Range beam, or drawn from ground truth.

Functions return ``(u, v, z)``: pixel coordinates on the intrinsics' grid and planar depth z
(metres, REP 103 optical frame), the input of ``fit.fit_points``; a Range beam gives a
``RangeBeam`` (the same plus its cone's footprint), the input of ``fit.fit_range_beam``. No
message types here: the node passes the fields of ``sensor_msgs/LaserScan`` and ``sensor_msgs/Range``.

Ground-truth sampling (``ground_truth_samples``) stands in for a sensor in the evaluations, with
the issue's densities: ``beam`` (one range at the image centre), ``lidar_row`` (a 2D lidar in the
camera's horizontal plane: the GT row through the principal point), ``points:N`` (N random valid
pixels, like the sparse depth of a stereo camera); each range gets relative Gaussian noise.
``laser_scan_from_depth`` is the inverse of ``laser_scan_samples``: the ranges a 2D lidar at the
optical centre, scanning the camera's horizontal plane, would return, read off a GT depth map (the
synthetic robot recordings' /scan).
"""
from __future__ import annotations

import math
import re
from typing import NamedTuple

import numpy as np

from modot_ros.depth_units import valid_depth_mask
from modot_ros.geometry import CameraIntrinsics
from modot_ros.scale.settings import parse_extrinsic, parse_offset

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


def laser_scan_from_depth(gt: np.ndarray, intrinsics: CameraIntrinsics, angle_increment: float,
                          noise: float = 0.02, rng: np.random.Generator | None = None) -> tuple[float, np.ndarray]:
    """(angle_min, ranges) of a lidar at the optical centre in the camera's horizontal plane.

    The beams span the image's width at ``angle_increment`` (radians); each reads the GT row through
    the principal point at its nearest column, as a range along the beam (planar z / cos) with
    relative Gaussian ``noise`` (drawn from ``rng``; without one, a generator seeded 0 per call, so
    the same noise pattern on every frame); +inf where the GT has no depth (REP 117: no return). The laser's
    axes are the camera's body axes (x ahead, y left), so ``extrinsic_from_text("0 0 0 0 0 0")``
    (or ``OPTICAL_FROM_BODY`` on /tf) places it.
    """
    gt = np.asarray(gt, np.float32)
    half_fov = math.atan2(intrinsics.cx + 0.5, intrinsics.fx)
    angles = np.arange(-half_fov, half_fov, angle_increment)
    cols = np.rint(intrinsics.cx - intrinsics.fx * np.tan(angles)).astype(int)  # laser y (left) is optical -x
    row = int(np.clip(round(intrinsics.cy), 0, gt.shape[0] - 1))
    inside = (cols >= 0) & (cols < gt.shape[1])
    z = np.full(angles.size, np.nan, np.float32)
    z[inside] = gt[row, cols[inside]]
    valid = valid_depth_mask(z)
    rng = rng if rng is not None else np.random.default_rng(0)
    ranges = np.full(angles.size, np.inf, np.float32)
    ranges[valid] = z[valid] / np.cos(angles[valid]) * (1.0 + noise * rng.standard_normal(int(valid.sum())))
    return float(angles[0]), ranges


class RangeBeam(NamedTuple):
    """Where a rangefinder's return lies in the image.

    Pixel (u, v), planar depth z (m), and the half-axes (pixels) of its cone's footprint there
    (0: one pixel).
    """

    u: float
    v: float
    z: float
    radius_u: float
    radius_v: float


def offset_from_text(text: str) -> np.ndarray:
    """A sensor position "x y z" in the camera's body frame (m) as an optical-frame vector."""
    return OPTICAL_FROM_BODY @ np.array(parse_offset(text))


def range_beam(range_m: float, field_of_view: float, u_fraction: float, v_fraction: float,
               offset: np.ndarray, intrinsics: CameraIntrinsics) -> RangeBeam:
    """The return of a beam from ``offset`` (optical frame, m) along the ray of a pixel.

    The beam is parallel to the camera's ray through the pixel at (u_fraction, v_fraction) of the
    image. The return ``offset + range * ray`` is projected into the image: a rangefinder beside the
    camera sees its target at another pixel and another depth than the camera's own ray (parallax:
    5 cm at 1 m is 4 pixels at fx = 80). The cone (full angle ``field_of_view``, radians) is
    ``range * tan(fov / 2)`` wide there, so many pixels across for a sonar, one for a laser.
    """
    u = u_fraction * intrinsics.width - 0.5
    v = v_fraction * intrinsics.height - 0.5
    ray = np.array([(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, 1.0])
    x, y, z = np.asarray(offset, np.float64) + range_m * ray / np.linalg.norm(ray)
    if not z > 1e-6:  # behind the camera: nothing to compare with
        return RangeBeam(float("nan"), float("nan"), float("nan"), 0.0, 0.0)
    radius = range_m * math.tan(min(field_of_view, math.pi * 0.99) / 2) / z  # footprint / depth
    return RangeBeam(intrinsics.fx * x / z + intrinsics.cx, intrinsics.fy * y / z + intrinsics.cy, z,
                     intrinsics.fx * radius, intrinsics.fy * radius)


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
