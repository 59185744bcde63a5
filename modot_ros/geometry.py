"""Pinhole camera geometry: the only place where intrinsics are scaled and pixels meet rays.

Conventions (REP 103 optical frame): x right, y down, z forward; depth is planar z in metres.
Pixel coordinates follow OpenCV/ROS: the centre of pixel (u, v) = (0, 0) is at (0.0, 0.0).
Resizing an image by ``s`` moves a point at u to ``(u + 0.5) * s - 0.5`` (what ``cv2.resize`` and
``torch.nn.functional.interpolate(align_corners=False)`` do), so the principal point scales the same
way. image_proc's resize uses ``cx * s`` instead, which is off by ``(s - 1) / 2`` pixels.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

try:  # torch is optional for pure-numpy users of this module (e.g. message tools)
    import torch
except ImportError:  # pragma: no cover - the project always installs torch
    torch = None


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of an image of ``width`` x ``height`` pixels (no distortion)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        values = {"fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy}
        for name, value in values.items():
            if not np.isfinite(value):
                raise ValueError(f"camera intrinsics {name}={value} is not finite")
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"camera intrinsics need positive focal lengths, got fx={self.fx}, fy={self.fy}")
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise ValueError(f"camera intrinsics need a positive size, got {self.width}x{self.height}")

    def scaled_to(self, width: int, height: int) -> "CameraIntrinsics":
        """Intrinsics of the same camera after resizing the image to ``width`` x ``height``."""
        k = resize_affine(width / self.width, height / self.height) @ self.matrix()
        return CameraIntrinsics.from_matrix(k, width, height)

    def cropped(self, x0: int, y0: int, width: int, height: int) -> "CameraIntrinsics":
        """Intrinsics of the sub-image whose top-left pixel is (x0, y0) in this image."""
        if x0 < 0 or y0 < 0 or x0 + width > self.width or y0 + height > self.height:
            raise ValueError(
                f"crop x0={x0} y0={y0} {width}x{height} leaves the {self.width}x{self.height} image"
            )
        return CameraIntrinsics(self.fx, self.fy, self.cx - x0, self.cy - y0, int(width), int(height))

    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K (float64)."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @classmethod
    def from_matrix(cls, K: np.ndarray, width: int, height: int) -> "CameraIntrinsics":
        K = np.asarray(K, dtype=np.float64).reshape(3, 3)
        return cls(float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]), int(width), int(height))


def resize_affine(sx: float, sy: float) -> np.ndarray:
    """3x3 pixel map of a resize by (sx, sy): ``u -> (u + 0.5) * sx - 0.5`` (pixel centres)."""
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


@lru_cache(maxsize=16)
def pixel_rays(intr: CameraIntrinsics) -> np.ndarray:
    """(H, W, 2) float32 table of (x/z, y/z) for every pixel, computed once per intrinsics."""
    u = (np.arange(intr.width, dtype=np.float64) - intr.cx) / intr.fx
    v = (np.arange(intr.height, dtype=np.float64) - intr.cy) / intr.fy
    rays = np.empty((intr.height, intr.width, 2), dtype=np.float32)
    rays[..., 0] = u[None, :]
    rays[..., 1] = v[:, None]
    rays.setflags(write=False)
    return rays


def backproject(depth: np.ndarray, intr: CameraIntrinsics) -> np.ndarray:
    """(H, W) planar depth in metres -> (H, W, 3) float32 points; invalid (NaN) depth stays NaN."""
    depth = np.asarray(depth, dtype=np.float32)
    if depth.shape != (intr.height, intr.width):
        raise ValueError(
            f"depth of shape {depth.shape} does not match intrinsics {intr.width}x{intr.height}"
        )
    rays = pixel_rays(intr)
    points = np.empty(depth.shape + (3,), dtype=np.float32)
    np.multiply(rays[..., 0], depth, out=points[..., 0])
    np.multiply(rays[..., 1], depth, out=points[..., 1])
    points[..., 2] = depth
    return points


# ----------------------------------------------------------------------------------------------
# torch, batched and differentiable (renderer, warping in the self-supervised loss)


def intrinsics_tensor(intrs: CameraIntrinsics | Sequence[CameraIntrinsics], device=None) -> "torch.Tensor":
    """(B, 3, 3) float32 K matrices."""
    if isinstance(intrs, CameraIntrinsics):
        intrs = [intrs]
    K = np.stack([i.matrix() for i in intrs]).astype(np.float32)
    return torch.from_numpy(K).to(device)


def _pixel_grid(height: int, width: int, like: "torch.Tensor") -> "torch.Tensor":
    """(1, 3, H, W) homogeneous pixel coordinates (u, v, 1)."""
    v, u = torch.meshgrid(
        torch.arange(height, device=like.device, dtype=like.dtype),
        torch.arange(width, device=like.device, dtype=like.dtype),
        indexing="ij",
    )
    return torch.stack([u, v, torch.ones_like(u)])[None]


def backproject_torch(depth: "torch.Tensor", K: "torch.Tensor") -> "torch.Tensor":
    """(B, 1, H, W) depth and (B, 3, 3) K -> (B, 3, H, W) points in the camera frame."""
    batch, _, height, width = depth.shape
    pixels = _pixel_grid(height, width, depth).reshape(1, 3, -1)
    rays = torch.linalg.inv(K.to(depth.dtype)) @ pixels
    return (rays * depth.reshape(batch, 1, -1)).reshape(batch, 3, height, width)


def transform_points_torch(points: "torch.Tensor", T: "torch.Tensor") -> "torch.Tensor":
    """Apply (B, 4, 4) rigid transforms to (B, 3, H, W) points."""
    batch, _, height, width = points.shape
    T = T.to(points.dtype)
    flat = points.reshape(batch, 3, -1)
    return (T[:, :3, :3] @ flat + T[:, :3, 3:]).reshape(batch, 3, height, width)


def project_torch(points: "torch.Tensor", K: "torch.Tensor", eps: float = 1e-6):
    """(B, 3, H, W) camera-frame points -> pixel coordinates (B, 2, H, W) and depth z (B, 1, H, W)."""
    batch, _, height, width = points.shape
    pixels = K.to(points.dtype) @ points.reshape(batch, 3, -1)
    z = pixels[:, 2:3]
    uv = pixels[:, :2] / z.clamp(min=eps)
    return uv.reshape(batch, 2, height, width), z.reshape(batch, 1, height, width)


def pixel_grid_to_normalized(uv: "torch.Tensor", width: int, height: int) -> "torch.Tensor":
    """Pixel coordinates (B, 2, H, W) -> grid for ``grid_sample(..., align_corners=False)``, (B, H, W, 2)."""
    scale = uv.new_tensor([2.0 / width, 2.0 / height]).view(1, 2, 1, 1)
    grid = (uv + 0.5) * scale - 1.0
    return grid.permute(0, 2, 3, 1)


# ----------------------------------------------------------------------------------------------
# rigid transforms (4x4 float64, ``T_a_b`` maps points of frame b into frame a, as tf2 does)


def rigid_transform(quaternion_xyzw: Sequence[float], translation: Sequence[float]) -> np.ndarray:
    """4x4 transform from a geometry_msgs rotation (x, y, z, w; normalised here) and translation."""
    from scipy.spatial.transform import Rotation

    T = np.eye(4)
    T[:3, :3] = Rotation.from_quat(np.asarray(quaternion_xyzw, np.float64)).as_matrix()
    T[:3, 3] = np.asarray(translation, np.float64)
    return T


def invert_rigid(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 transform (transpose of the rotation: exact, unlike a general inverse)."""
    inverse = np.eye(4)
    inverse[:3, :3] = T[:3, :3].T
    inverse[:3, 3] = -T[:3, :3].T @ T[:3, 3]
    return inverse


def interpolate_rigid(T0: np.ndarray, T1: np.ndarray, fraction: float) -> np.ndarray:
    """Transform ``fraction`` of the way from T0 to T1: slerp of the rotation, linear translation."""
    from scipy.spatial.transform import Rotation, Slerp

    rotations = Rotation.from_matrix(np.stack([T0[:3, :3], T1[:3, :3]]))
    T = np.eye(4)
    T[:3, :3] = Slerp([0.0, 1.0], rotations)([fraction]).as_matrix()[0]
    T[:3, 3] = (1.0 - fraction) * T0[:3, 3] + fraction * T1[:3, 3]
    return T


def pose_from_axis_angle_torch(axis_angle: "torch.Tensor", translation: "torch.Tensor") -> "torch.Tensor":
    """(B, 3) axis-angle (radians) and (B, 3) translation -> (B, 4, 4) transforms, differentiable.

    Rodrigues' formula; a tiny epsilon in the angle keeps the gradient finite at zero rotation,
    where pose networks start.
    """
    angle = torch.sqrt((axis_angle * axis_angle).sum(1, keepdim=True) + 1e-12)  # (B, 1)
    axis = axis_angle / angle
    x, y, z = axis.unbind(1)
    zero = torch.zeros_like(x)
    cross = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], 1).view(-1, 3, 3)
    sin, cos = torch.sin(angle).view(-1, 1, 1), torch.cos(angle).view(-1, 1, 1)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device).expand_as(cross)
    rotation = eye + sin * cross + (1.0 - cos) * (cross @ cross)
    T = torch.cat([rotation, translation.unsqueeze(2)], 2)
    bottom = T.new_tensor([0.0, 0.0, 0.0, 1.0]).expand(T.shape[0], 1, 4)
    return torch.cat([T, bottom], 1)


# ----------------------------------------------------------------------------------------------
# forward warping (temporal fusion, the flicker measure)


def forward_warp(depth: np.ndarray, intr: CameraIntrinsics, T_target_source: np.ndarray,
                 *values: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Splat a depth map seen from ``source`` into the ``target`` camera (same intrinsics), z-buffered.

    Each valid pixel is back-projected, moved by ``T_target_source`` (maps source-frame points
    into the target frame) and lands on its nearest target pixel; where several land on one pixel
    the nearest surface wins (z-buffer), so a surface hidden in the target view never shows
    through. Pixels nothing lands on stay unknown: holes are left, never filled by interpolation,
    which would invent depth across the disoccluded gap.

    Returns (target-frame planar depth (H, W) float32, NaN unknown; source pixel index of each
    target pixel (H, W) int32, -1 unknown; ``values`` carried along by the same winners, NaN unknown).
    """
    height, width = depth.shape
    if depth.shape != (intr.height, intr.width):
        raise ValueError(f"depth of shape {depth.shape} does not match intrinsics {intr.width}x{intr.height}")
    rays = pixel_rays(intr)
    rx, ry, d = rays[0, :, 0], rays[:, 0, 1:2], np.asarray(depth, np.float32).ravel()
    R, t = np.asarray(T_target_source, np.float32)[:3, :3], np.asarray(T_target_source, np.float32)[:3, 3]
    # X' = R (d * ray) + t per pixel, R's row times the ray built from a row and a column of the
    # ray table (one full-size add), not a (N, 3) @ (3, 3) matmul (~50x slower here, BLAS)
    # (in place where it can: on a 320x240 frame each fresh array costs about as much as its op)
    moved = []
    for i in range(3):
        axis = np.add((R[i, 0] * rx)[None, :], R[i, 1] * ry + R[i, 2]).ravel()
        axis *= d
        axis += t[i]
        moved.append(axis)
    z = moved[2]
    count = height * width
    with np.errstate(invalid="ignore", divide="ignore"):
        pixel = []
        for axis, focal, centre in ((moved[0], intr.fx, intr.cx), (moved[1], intr.fy, intr.cy)):
            axis /= z
            axis *= np.float32(focal)
            axis += np.float32(centre)
            pixel.append(np.rint(axis, out=axis).astype(np.int32))
        u, v = pixel
        # as unsigned a negative column is huge: one compare per axis checks both image edges
        keep = (u.view(np.uint32) < width) & (v.view(np.uint32) < height) & (z > 1e-6)  # NaN compares False
    # z-buffer in one scatter-min over every pixel (the ones that land nowhere go to an extra slot):
    # the key packs z (a positive float32's bits order like the float) above the source pixel's
    # index, so the smallest key per target pixel is its nearest surface and says where it came from
    v *= np.int32(width)
    v += u
    v[~keep] = count
    target = v.astype(np.int64)
    key = (z.view(np.int32).astype(np.int64) << 32) | _pixel_index(count)
    empty = np.iinfo(np.int64).max
    nearest = torch.full((count + 1,), empty, dtype=torch.int64)
    nearest.scatter_reduce_(0, torch.from_numpy(target), torch.from_numpy(key), reduce="amin")
    # read the two halves of each key as int32 views, no 64-bit arithmetic: the empty key's low half
    # is -1 (no source pixel) and its high half 0x7FFFFFFF, a NaN as float32 (unknown depth)
    halves = nearest.numpy()[:count].view(np.int32).reshape(count, 2)
    low, high = (0, 1) if sys.byteorder == "little" else (1, 0)
    index = np.ascontiguousarray(halves[:, low])
    warped = np.ascontiguousarray(halves[:, high]).view(np.float32)
    # one gather per value: index -1 reads the NaN appended at the end
    carried = [np.take(np.append(np.asarray(value, np.float32).ravel(), np.float32(np.nan)), index)
               .reshape(height, width) for value in values]
    return warped.reshape(height, width), index.reshape(height, width), carried


@lru_cache(maxsize=4)
def _pixel_index(count: int) -> np.ndarray:
    index = np.arange(count, dtype=np.int64)
    index.setflags(write=False)
    return index


def rotation_angle_deg(T: np.ndarray) -> float:
    """Angle (degrees) of the rotation part of a 4x4 rigid transform."""
    cosine = (np.trace(np.asarray(T)[:3, :3]) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))
