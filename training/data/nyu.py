"""NYU Depth v2 labeled set: ``nyu_depth_v2_labeled.mat`` (MATLAB v7.3, an HDF5 file).

h5py sees MATLAB's column-major arrays transposed: ``images`` (N, 3, 640, 480) uint8 and
``depths`` (N, 640, 480) float metres, so each frame is transposed back to (480, 640). The
colour camera's intrinsics are the NYU toolbox's (``camera_params.m``). Frames are cut to the
usual evaluation crop (rows 45-471, columns 41-601): outside it the depth was filled in from
the projection border, and ``CameraIntrinsics.cropped`` moves the principal point with it.
There are no OB labels in the file.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from modot_ros.geometry import CameraIntrinsics
from training.data.frames import DataError

FX, FY, CX, CY = 518.8579, 519.4696, 325.5824, 253.7362
WIDTH, HEIGHT = 640, 480
CROP_ROWS, CROP_COLS = (45, 471), (41, 601)  # half-open, as Eigen et al.'s crop


def write_labeled_mat(path: Path, rgbs: list[np.ndarray], depths: list[np.ndarray]) -> Path:
    """(480, 640, 3) uint8 images and (480, 640) metre depths in the labeled .mat's HDF5 layout.

    MATLAB stores column-major, so h5py sees every array transposed: the inverse of NyuReader.
    """
    import h5py  # only the .mat reader and writer need it

    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=np.stack([rgb.transpose(2, 1, 0) for rgb in rgbs]).astype(np.uint8))
        f.create_dataset("depths", data=np.stack([depth.T for depth in depths]).astype(np.float32))
    return path


class NyuReader:
    """Random access to the frames of the labeled .mat (the file stays open, read per frame)."""

    has_labels = False

    def __init__(self, path: str | Path, stride: int = 1, max_frames: int = 0) -> None:
        self.path, self._pid = Path(path), None
        missing = [k for k in ("images", "depths") if k not in self.file]
        if missing:
            raise DataError(f"{self.path}: no {' or '.join(missing)} dataset (not nyu_depth_v2_labeled.mat?)")
        images, depths = self.file["images"], self.file["depths"]
        if images.shape[1:] != (3, WIDTH, HEIGHT) or depths.shape[1:] != (WIDTH, HEIGHT) \
                or images.shape[0] != depths.shape[0]:
            raise DataError(f"{self.path}: images {images.shape} / depths {depths.shape}, expected "
                            f"(N, 3, {WIDTH}, {HEIGHT}) / (N, {WIDTH}, {HEIGHT})")
        self.index = list(range(images.shape[0]))[::stride][:max_frames or None]
        if not self.index:
            raise DataError(f"{self.path} has no frames")
        (r0, r1), (c0, c1) = CROP_ROWS, CROP_COLS
        self.window = (slice(r0, r1), slice(c0, c1))
        self.intrinsics = CameraIntrinsics(FX, FY, CX, CY, WIDTH, HEIGHT).cropped(c0, r0, c1 - c0, r1 - r0)

    @property
    def file(self):
        """The open HDF5 file, opened again in a forked DataLoader worker (h5py handles do not fork)."""
        import h5py

        if self._pid != os.getpid():
            try:
                self._file = h5py.File(self.path, "r")
            except (OSError, ValueError) as error:
                raise DataError(f"{self.path}: not a readable MATLAB v7.3 / HDF5 file ({error})") from None
            self._pid = os.getpid()
        return self._file

    def __len__(self) -> int:
        return len(self.index)

    def name(self, i: int) -> str:
        return f"{self.path} frame {self.index[i]}"

    def read(self, i: int) -> dict:
        """Frame ``i`` (rgb, depth m NaN invalid, no boundary, intrinsics), evaluation crop."""
        j = self.index[i]
        rgb = np.asarray(self.file["images"][j]).transpose(2, 1, 0)[self.window]
        depth = np.asarray(self.file["depths"][j], np.float32).T[self.window]
        depth = np.where(depth > 0, depth, np.nan).astype(np.float32)
        return {"rgb": np.ascontiguousarray(rgb), "depth": np.ascontiguousarray(depth),
                "boundary": None, "intrinsics": self.intrinsics}
