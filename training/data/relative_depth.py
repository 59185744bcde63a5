"""Relative depth from another model as ``modot-adapt`` supervision, used scale- and shift-invariantly.

A large relative-depth model (one a robot owner can run offline, on a workstation) gives each
frame's structure up to an unknown scale and shift, usually as inverse depth ("disparity"). Its
maps reach training as follows, per frame:

* ``RelativeDepthModel`` reads them: a folder with one map per frame, named as ``modot-adapt``
  names the frames (a frame folder's ``rgb/`` file stems; a bag's ``frame_NNNNNN``, the image's
  index in the bag: ``--write-frames`` writes those images for the other model to run on), or an
  ONNX file run here on each image (NCHW float RGB, ImageNet-normalised unless told otherwise).
* ``aligned_depth`` fits the map's two numbers (least squares in the model's own space, robust to outliers)
  to the frame's metric samples where the recording has some (a depth image, dense or sparse; a
  LaserScan's row), else to the start network's prediction (its own scale, so the structure
  teaches and the scale stays the network's).
* The fitted map fills the pixels that have no measurement; measured pixels keep their value.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from modot_ros.depth_units import valid_depth_mask
from training.data.frames import DataError

RELATIVE_KINDS = ("disparity", "depth")
MIN_SAMPLES = 20  # fewer measured pixels than this: the fit falls back to the network's prediction
IMAGENET_MEAN, IMAGENET_STD = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)
MAP_SUFFIXES = (".npy", ".png", ".tif", ".tiff", ".exr", ".pfm")


class RelativeDepthModel:
    """Per-frame relative maps at the frame's size, from a folder of maps or an ONNX file."""

    def __init__(self, path: str | Path, size: tuple[int, int] | None = None, normalize: bool = True) -> None:
        """size: (width, height) an ONNX model with a dynamic input runs at (default 518x518)."""
        self.path, self.normalize, self._session, self.size = Path(path), normalize, None, None
        if not self.path.exists():
            raise DataError(f"--relative {self.path} does not exist (a folder of depth maps or an .onnx file)")
        if self.path.is_file():
            if self.path.suffix != ".onnx":
                raise DataError(f"--relative {self.path}: a folder of maps or an .onnx file, not {self.path.suffix}")
            import onnxruntime

            try:
                self._session = onnxruntime.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
            except Exception as error:  # noqa: BLE001 - onnxruntime raises its own types for a bad file
                raise DataError(f"--relative {self.path}: onnxruntime cannot load it ({error})") from None
            shape = self._session.get_inputs()[0].shape
            static = [d if isinstance(d, int) else None for d in shape[-2:]]
            self.size = (static[1], static[0]) if None not in static else (size or (518, 518))

    def __call__(self, frame: dict) -> np.ndarray:
        """The frame's map (H, W) float32 at its image's size; DataError naming a missing/bad map."""
        height, width = frame["rgb"].shape[:2]
        raw = self._run(frame["rgb"]) if self._session is not None else self._read(frame["name"])
        raw = np.asarray(raw, np.float32).squeeze()
        if raw.ndim != 2:
            raise DataError(f"--relative {self.path}: the map of {frame['name']} has shape {raw.shape}, not (H, W)")
        return cv2.resize(raw, (width, height), interpolation=cv2.INTER_LINEAR) if raw.shape != (height, width) else raw

    def _read(self, name: str) -> np.ndarray:
        for suffix in MAP_SUFFIXES:
            file = self.path / f"{name}{suffix}"
            if file.exists():
                data = np.load(file) if suffix == ".npy" else cv2.imread(str(file), cv2.IMREAD_UNCHANGED)
                if data is None:
                    raise DataError(f"--relative {file}: cannot be read as an image")
                return data[..., 0] if data.ndim == 3 else data
        raise DataError(f"--relative {self.path} has no map for frame {name} (expected {name}.npy or .png/.tif/"
                        f".exr/.pfm; bag frames are named by their image index: write them with --write-frames)")

    def _run(self, rgb: np.ndarray) -> np.ndarray:
        x = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        if self.normalize:
            x = (x - IMAGENET_MEAN) / IMAGENET_STD
        inputs = {self._session.get_inputs()[0].name: np.ascontiguousarray(x.transpose(2, 0, 1)[None])}
        return self._session.run(None, inputs)[0]


def fit_affine(relative: np.ndarray, target: np.ndarray, mask: np.ndarray,
               rounds: int = 2) -> tuple[float, float] | None:
    """(a, b) of least squares ``a * relative + b = target`` over ``mask``, refitted without outliers.

    Outliers: residuals beyond 3 median absolute deviations (edges where the two disagree).
    None with fewer than ``MIN_SAMPLES`` pixels or a non-positive slope.
    """
    r, t = relative[mask].astype(np.float64), target[mask].astype(np.float64)
    keep = np.ones(r.size, bool)
    coef = None
    for _ in range(rounds):
        if keep.sum() < MIN_SAMPLES or np.ptp(r[keep]) <= 0:
            return None
        coef = np.polyfit(r[keep], t[keep], 1)
        residual = np.abs(coef[0] * r + coef[1] - t)
        keep = residual <= 3.0 * max(np.median(residual[keep]), 1e-12) * 1.4826
    return (float(coef[0]), float(coef[1])) if coef is not None and coef[0] > 0 else None


def aligned_depth(relative: np.ndarray, reference: np.ndarray, kind: str) -> tuple[np.ndarray, tuple] | None:
    """``relative`` as metric depth fitted to ``reference`` (metres, NaN where unknown); None if no fit.

    kind ``disparity``: fitted in inverse depth (1 / reference); ``depth``: in depth. Pixels whose
    fitted inverse depth is not positive are NaN.
    """
    if kind not in RELATIVE_KINDS:
        raise DataError(f"--relative-kind {kind!r}; allowed: {', '.join(RELATIVE_KINDS)}")
    mask = valid_depth_mask(reference) & np.isfinite(relative)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = 1.0 / reference if kind == "disparity" else reference
        coef = fit_affine(relative, target, mask)
        if coef is None:
            return None
        fitted = coef[0] * relative + coef[1]
        depth = 1.0 / fitted if kind == "disparity" else fitted
    return np.where(np.isfinite(depth) & (depth > 0), depth, np.nan).astype(np.float32), coef


def fill_from_relative(frames: list[dict], model: RelativeDepthModel, kind: str, predict=None) -> dict:
    """Fill each frame's ``depth`` holes with its relative map, fitted as the module docstring says.

    ``predict(frame) -> depth``: the start network's metric depth, the reference of frames without
    enough measured pixels (None: such frames keep their depth). Returns counts for the report.
    """
    counts = {"fitted_to_measurement": 0, "fitted_to_network": 0, "not_fitted": 0}
    for frame in frames:
        relative = model(frame)
        measured = frame.get("depth")
        has_samples = measured is not None and int(valid_depth_mask(measured).sum()) >= MIN_SAMPLES
        reference = measured if has_samples else (predict(frame) if predict is not None else None)
        fit = aligned_depth(relative, reference, kind) if reference is not None else None
        if fit is None:
            counts["not_fitted"] += 1
            continue
        counts["fitted_to_measurement" if has_samples else "fitted_to_network"] += 1
        filled = fit[0]
        if measured is not None:
            filled = np.where(valid_depth_mask(measured), measured, filled).astype(np.float32)
        frame["depth"] = filled
    if not counts["fitted_to_measurement"] + counts["fitted_to_network"]:
        raise DataError(f"--relative {model.path}: no frame's map could be fitted (a map constant, or no "
                        "measured depth and no network to fit it to)")
    return counts
