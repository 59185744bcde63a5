"""A folder of RGB-D frames (docs/robot_data.md shows the tree).

    DATASET/rgb/NAME.png|jpg            colour
    DATASET/depth/NAME.png              16-bit millimetres, 0 invalid (REP 118)
    DATASET/depth/NAME.npy              or float metres, NaN / 0 invalid
    DATASET/boundary/NAME.png           optional OB mask, > 0 = boundary
    DATASET/intrinsics.yaml             fx fy cx cy [width height], or a CameraInfo-style YAML
    DATASET/intrinsics/NAME.yaml        optional per-frame intrinsics (win over the global file)

Frames pair by file stem. Intrinsics without width/height are for the frame's own size.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml

from modot_ros.depth_units import metres_to_millimetres, millimetres_to_metres
from modot_ros.geometry import CameraIntrinsics
from training.data.frames import DataError
from training.data.real_frames import intrinsics_or_error

RGB_SUFFIXES = (".png", ".jpg", ".jpeg")


def read_intrinsics_yaml(path: Path, width: int, height: int) -> CameraIntrinsics:
    """fx/fy/cx/cy keys, CameraInfo's ``k`` (9 values), or calibration's ``camera_matrix.data``."""
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise DataError(f"{path}: cannot read intrinsics ({type(error).__name__})") from None
    if not isinstance(values, dict):
        raise DataError(f"{path}: intrinsics must be a mapping")
    matrix = values.get("k") or values.get("K") or (values.get("camera_matrix") or {}).get("data")
    if matrix is not None:
        if len(matrix) != 9:
            raise DataError(f"{path}: the camera matrix needs 9 values, got {len(matrix)}")
        values = {"fx": matrix[0], "fy": matrix[4], "cx": matrix[2], "cy": matrix[5]} | values
    size = (values.get("width") or values.get("image_width") or width,
            values.get("height") or values.get("image_height") or height)
    if tuple(map(int, size)) != (width, height):
        raise DataError(f"{path}: intrinsics are for {size[0]}x{size[1]} but the frame is {width}x{height}")
    return intrinsics_or_error(values, width, height, str(path))


def read_depth(path: Path) -> np.ndarray:
    """Metric depth (float32, NaN invalid) from a 16-bit mm PNG or a float-metre .npy."""
    if path.suffix == ".npy":
        depth = np.load(path).astype(np.float32)
        depth[~(depth > 0)] = np.nan  # NaN and 0 (and negatives) are invalid
        return depth
    mm = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if mm is None:
        raise DataError(f"{path}: unreadable image")
    if mm.dtype != np.uint16 or mm.ndim != 2:
        raise DataError(f"{path}: depth PNG must be 16-bit single-channel millimetres, got {mm.dtype} "
                        f"with {1 if mm.ndim == 2 else mm.shape[2]} channels")
    return millimetres_to_metres(mm)


def write_frame(root: Path, name: str, rgb: np.ndarray, depth: np.ndarray, boundary: np.ndarray | None = None,
                depth_format: str = "png") -> None:
    """Write one frame in the layout FolderReader reads: rgb PNG, depth as mm PNG or metre NPY, OB mask.

    The one writer of the format (tests and benchmarks build their datasets with it), so a
    change to the layout is made once, beside the reader.
    """
    for sub in ("rgb", "depth") + (("boundary",) if boundary is not None else ()):
        (root / sub).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(root / "rgb" / f"{name}.png"), np.ascontiguousarray(rgb[..., ::-1]))
    if depth_format == "png":
        cv2.imwrite(str(root / "depth" / f"{name}.png"), metres_to_millimetres(depth))
    elif depth_format == "npy":
        np.save(root / "depth" / f"{name}.npy", np.asarray(depth, np.float32))
    else:
        raise ValueError(f"depth_format {depth_format!r}; allowed: png, npy")
    if boundary is not None:
        cv2.imwrite(str(root / "boundary" / f"{name}.png"), np.where(boundary, 255, 0).astype(np.uint8))


def write_intrinsics(root: Path, values: dict) -> Path:
    """The dataset-wide intrinsics.yaml (fx, fy, cx, cy [width, height])."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "intrinsics.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


class FolderReader:
    """Random access to the frames of a dataset folder; problems found at start raise DataError."""

    def __init__(self, root: str | Path, stride: int = 1, max_frames: int = 0) -> None:
        self.root = Path(root)
        if not (self.root / "rgb").is_dir():
            raise DataError(f"folder dataset {self.root} has no rgb/ directory (docs/robot_data.md: the folder layout)")
        rgb = sorted(p for p in (self.root / "rgb").iterdir() if p.suffix.lower() in RGB_SUFFIXES)[::stride]
        self.rgb = rgb[:max_frames or None]
        if not self.rgb:
            raise DataError(f"folder dataset {self.root}/rgb has no .png or .jpg images")
        self.depth = [self._depth_path(p) for p in self.rgb]
        self.has_labels = (self.root / "boundary").is_dir()
        if not (self.root / "intrinsics.yaml").is_file() and not (self.root / "intrinsics").is_dir():
            raise DataError(f"folder dataset {self.root} has no intrinsics.yaml (fx fy cx cy) "
                            "and no intrinsics/ directory")

    def _depth_path(self, rgb: Path) -> Path:
        for suffix in (".png", ".npy"):
            if (path := self.root / "depth" / (rgb.stem + suffix)).is_file():
                return path
        raise DataError(f"{rgb} has no depth/{rgb.stem}.png (16-bit mm) or depth/{rgb.stem}.npy (m)")

    def __len__(self) -> int:
        return len(self.rgb)

    def name(self, i: int) -> str:
        return str(self.rgb[i])

    def _intrinsics(self, stem: str, width: int, height: int) -> CameraIntrinsics:
        own = self.root / "intrinsics" / f"{stem}.yaml"
        path = own if own.is_file() else self.root / "intrinsics.yaml"
        if not path.is_file():
            raise DataError(f"{self.rgb[0].parent.parent}: no intrinsics/{stem}.yaml and no intrinsics.yaml")
        return read_intrinsics_yaml(path, width, height)

    def read(self, i: int) -> dict:
        """Frame ``i`` (rgb, depth m NaN invalid, boundary or None, intrinsics)."""
        bgr = cv2.imread(str(self.rgb[i]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise DataError(f"{self.rgb[i]}: unreadable image")
        boundary = None
        if self.has_labels:
            mask_path = self.root / "boundary" / f"{self.rgb[i].stem}.png"
            mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
            if mask is None:
                raise DataError(f"{mask_path}: missing or unreadable OB mask")
            boundary = mask > 0
        h, w = bgr.shape[:2]
        return {"rgb": np.ascontiguousarray(bgr[..., ::-1]), "depth": read_depth(self.depth[i]),
                "boundary": boundary, "intrinsics": self._intrinsics(self.rgb[i].stem, w, h)}
