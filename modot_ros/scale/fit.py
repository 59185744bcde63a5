"""Fit the metric scale of a predicted depth map to what the robot knows.

Four fits, one result type (``ScaleFit``):

* ``fit_points``: metric depths at pixels (a sparse depth image, lidar points projected into the
  image). Scale only: the maximum-consensus log ratio ``log(z / d)`` (an
  exact 1-D RANSAC: every sample is a hypothesis, found by a sliding window over the sorted
  ratios), refined as the median of its inliers. The median, not the mean, because the model's
  own per-pixel error is skewed (near objects placed too far), and it is what the per-image
  "scale-aligned" ceiling uses too. With ``shift``: scale and shift in inverse depth
  (``1/z = a/d + b``, LARIAD's model), RANSAC over sample pairs then least squares on the inliers.
* ``fit_sparse_depth``: the same on every valid pixel of a metric depth image of any density and
  resolution covering the colour camera's view (registered to it).
* ``fit_range_beam``: one rangefinder return against the median prediction over its cone.
* ``fit_camera_height``: the ground plane of the prediction (``ground_plane.fit_ground``, shared
  with training), scaled so that the optical centre lies at the known height above it.

Samples where the prediction is unreliable are left out first (``reliable_mask``): on or near our
own occlusion boundaries (depth jumps there, so a half-pixel registration error reads a foreground
range against a background prediction), low mixture confidence, and a band along the image
border (lidar-camera registration and lens distortion are worst there).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from modot_ros.depth_units import valid_depth_mask
from modot_ros.geometry import CameraIntrinsics, backproject, resize_affine
from modot_ros.scale.ground_plane import INLIER_TOLERANCE, MIN_POINTS, fit_ground
from modot_ros.scale.samples import RangeBeam


@dataclass(frozen=True)
class FitOptions:
    """How samples are chosen and when a fit is trusted (defaults suit 320x240 .. 640x480)."""

    ob_threshold: float = 0.3      # OB probability at which a pixel counts as boundary
    ob_margin_px: int = 3          # samples this close to a boundary pixel are left out
    min_confidence: float = 0.2    # mixture confidence below this: left out
    border_px: int = 4             # band along the image border left out
    inlier_log: float = 0.3        # inlier band in |log(z / (s d))|: the model's own per-pixel scatter
    min_inliers: int = 10          # fewer inliers: not trusted (a single beam needs 1)
    min_inlier_share: float = 0.4  # inliers over usable samples
    max_residual: float = 0.25     # RMS inlier log residual above this: not trusted
    shift: bool = False            # also fit a shift in inverse depth (needs depth spread)
    max_samples: int = 5000        # larger sample sets are subsampled (seeded) for speed
    seed: int = 0


@dataclass(frozen=True)
class ScaleFit:
    """One frame's fit: ``metric = 1 / (1 / (scale * depth) + shift)`` (shift 0: ``scale * depth``).

    scale: multiplies the predicted depth; shift: inverse-depth offset (1/m); inliers / samples:
    counts of the usable samples; residual: RMS log-depth residual of the inliers; trusted: the
    fit passed ``FitOptions``' tests; reason: why not (empty when trusted).
    """

    scale: float = 1.0
    shift: float = 0.0
    inliers: int = 0
    samples: int = 0
    residual: float = float("nan")
    trusted: bool = False
    reason: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    def apply(self, depth: np.ndarray) -> np.ndarray:
        """Metric depth from predicted depth (NaN stays NaN; a negative inverse depth becomes NaN)."""
        depth = np.asarray(depth, np.float32)
        if self.shift == 0.0:
            return depth * np.float32(self.scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            inverse = 1.0 / (np.float32(self.scale) * depth) + np.float32(self.shift)
            return np.where(inverse > 0, 1.0 / inverse, np.nan).astype(np.float32)


def untrusted(reason: str, samples: int = 0) -> ScaleFit:
    return ScaleFit(samples=samples, reason=reason)


def reliable_mask(shape: tuple[int, int], boundary: np.ndarray | None = None,
                  confidence: np.ndarray | None = None, options: FitOptions = FitOptions()) -> np.ndarray:
    """(H, W) True where a prediction pixel may be compared with a measurement (see module doc)."""
    mask = np.zeros(shape, bool)
    b = options.border_px
    mask[b:shape[0] - b, b:shape[1] - b] = True
    if boundary is not None:
        edges = (boundary >= options.ob_threshold).astype(np.uint8)
        if options.ob_margin_px > 0:
            size = 2 * options.ob_margin_px + 1
            edges = cv2.dilate(edges, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
        mask &= edges == 0
    if confidence is not None and options.min_confidence > 0:
        mask &= confidence >= options.min_confidence
    return mask


def _max_consensus(ratio: np.ndarray, band: float) -> np.ndarray:
    """Inlier mask of the widest-populated window of width 2 * band over 1-D values."""
    order = np.sort(ratio)
    counts = np.searchsorted(order, order + 2 * band, side="right") - np.arange(order.size)
    low = order[int(np.argmax(counts))]
    centre = float(np.median(ratio[(ratio >= low) & (ratio <= low + 2 * band)]))
    return np.abs(ratio - centre) <= band


def _fit_log_scale(pred: np.ndarray, z: np.ndarray, options: FitOptions) -> tuple[float, float, np.ndarray]:
    ratio = np.log(z) - np.log(pred)
    inliers = _max_consensus(ratio, options.inlier_log)
    log_scale = float(np.median(ratio[inliers]))
    inliers = np.abs(ratio - log_scale) <= options.inlier_log
    return math.exp(log_scale), 0.0, inliers


def _fit_inverse_affine(pred: np.ndarray, z: np.ndarray, options: FitOptions,
                        rng: np.random.Generator, hypotheses: int = 200) -> tuple[float, float, np.ndarray]:
    """``1/z = a/d + b`` by RANSAC over sample pairs (inlier test in log depth), then least squares."""
    p, q = 1.0 / pred, 1.0 / z
    pairs = rng.integers(0, p.size, (hypotheses, 2))
    dp = p[pairs[:, 0]] - p[pairs[:, 1]]
    keep = np.abs(dp) > 1e-6
    a = (q[pairs[keep, 0]] - q[pairs[keep, 1]]) / dp[keep]
    b = q[pairs[keep, 0]] - a * p[pairs[keep, 0]]
    keep = a > 0
    a, b = a[keep], b[keep]
    if a.size == 0:  # no depth spread among the samples: fall back to scale only
        return _fit_log_scale(pred, z, options)
    with np.errstate(divide="ignore", invalid="ignore"):
        model = a[:, None] * p[None] + b[:, None]
        inlier = (model > 0) & (np.abs(np.log(np.where(model > 0, model, 1.0) / q)) <= options.inlier_log)
    inliers = inlier[int(np.argmax(inlier.sum(1)))]
    a_fit, b_fit = np.linalg.lstsq(np.stack([p[inliers], np.ones(int(inliers.sum()))], 1), q[inliers],
                                   rcond=None)[0]
    if a_fit <= 0:
        return _fit_log_scale(pred, z, options)
    with np.errstate(divide="ignore", invalid="ignore"):
        model = a_fit * p + b_fit
        inliers = (model > 0) & (np.abs(np.log(np.where(model > 0, model, 1.0) / q)) <= options.inlier_log)
    return 1.0 / float(a_fit), float(b_fit), inliers


def fit_points(depth: np.ndarray, u: np.ndarray, v: np.ndarray, z: np.ndarray,
               boundary: np.ndarray | None = None, confidence: np.ndarray | None = None,
               options: FitOptions = FitOptions()) -> ScaleFit:
    """Scale of the (H, W) predicted ``depth`` from metric planar depths ``z`` at pixels (u, v).

    Pixel coordinates are those of ``depth``'s grid (rounded to the nearest pixel); samples
    outside it, non-finite ones and those ``reliable_mask`` refuses are left out.
    """
    u, v, z = (np.asarray(a, np.float64).ravel() for a in (u, v, z))
    h, w = depth.shape
    col, row = np.rint(u), np.rint(v)
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h) & valid_depth_mask(z)
    col, row, z = col[inside].astype(np.intp), row[inside].astype(np.intp), z[inside]
    pred = np.asarray(depth, np.float64)[row, col]
    usable = reliable_mask((h, w), boundary, confidence, options)[row, col] & valid_depth_mask(pred)
    if not usable.any():
        return untrusted(f"no usable samples ({int(inside.sum())} in view, all on occlusion "
                         "boundaries, low confidence, the border or invalid prediction)"
                         if inside.any() else "no samples in view")
    return fit_pairs(pred[usable], z[usable], options)


def fit_pairs(pred: np.ndarray, z: np.ndarray, options: FitOptions = FitOptions()) -> ScaleFit:
    """The robust fit of metric ``z`` to predicted ``pred`` (usable pairs, at least one), and its trust."""
    if z.size > options.max_samples:
        pick = np.random.default_rng(options.seed).choice(z.size, options.max_samples, replace=False)
        pred, z = pred[pick], z[pick]
    rng = np.random.default_rng(options.seed)
    scale, shift, inliers = (_fit_inverse_affine(pred, z, options, rng) if options.shift and z.size >= 2
                             else _fit_log_scale(pred, z, options))
    fitted = ScaleFit(scale, shift).apply(pred[inliers].astype(np.float32))
    residual = float(np.sqrt(np.mean(np.log(fitted / z[inliers]) ** 2))) if inliers.any() else float("nan")
    count = int(inliers.sum())
    reason = ("" if count >= options.min_inliers else f"{count} inliers < {options.min_inliers}") or \
        ("" if count >= options.min_inlier_share * z.size else
         f"inlier share {count / z.size:.2f} < {options.min_inlier_share}") or \
        ("" if residual <= options.max_residual else f"residual {residual:.3f} > {options.max_residual}")
    return ScaleFit(scale, shift, count, int(z.size), residual, not reason, reason)


def fit_range_beam(depth: np.ndarray, beam: RangeBeam, boundary: np.ndarray | None = None,
                   confidence: np.ndarray | None = None, options: FitOptions = FitOptions()) -> ScaleFit:
    """Scale from one rangefinder return: its planar depth over the median prediction in its cone.

    The median over the cone's footprint (``samples.range_beam``; at least the nearest pixel), of
    the pixels ``reliable_mask`` accepts, is what the beam is compared with: a ToF's range is about
    an average over its cone (a sonar's its nearest echo), never one pixel's depth, and a cone
    straddling an occlusion boundary still has a reliable side. Always one sample (so trusted with
    one inlier), no shift.
    """
    h, w = depth.shape
    col = int(round(beam.u)) if np.isfinite(beam.u) else -1
    row = int(round(beam.v)) if np.isfinite(beam.v) else -1
    if not (0 <= col < w and 0 <= row < h and valid_depth_mask(np.float64(beam.z))):
        return untrusted("the beam's return is not in view")
    ru, rv = max(beam.radius_u, 0.5), max(beam.radius_v, 0.5)  # at least the nearest pixel
    top, bottom = max(0, math.floor(row - rv)), min(h, math.ceil(row + rv) + 1)
    left, right = max(0, math.floor(col - ru)), min(w, math.ceil(col + ru) + 1)
    rows, cols = np.mgrid[top:bottom, left:right]
    # strictly inside, plus the nearest pixel: a one-pixel beam between pixels stays one pixel
    cone = ((cols - beam.u) / ru) ** 2 + ((rows - beam.v) / rv) ** 2 < 1.0
    cone[row - top, col - left] = True
    pred = np.asarray(depth, np.float64)[top:bottom, left:right]
    usable = cone & reliable_mask((h, w), boundary, confidence, options)[top:bottom, left:right] \
        & valid_depth_mask(pred)
    if not usable.any():
        return untrusted(f"no usable pixel in the beam's footprint ({int(cone.sum())} px, all on occlusion "
                         "boundaries, low confidence, the border or invalid prediction)", 1)
    single = dataclasses.replace(options, min_inliers=1, shift=False)
    fit = fit_pairs(np.array([np.median(pred[usable])]), np.array([beam.z]), single)
    return dataclasses.replace(fit, extra={"footprint_px": int(usable.sum())})


def sparse_depth_pixels(sparse: np.ndarray, grid: CameraIntrinsics) -> tuple[np.ndarray, ...]:
    """(u, v, z) on ``grid`` of every valid pixel of a metric depth image covering the same view.

    The sparse image may have any resolution (a depth camera registered to the colour camera
    often has its own): its pixel centres map onto ``grid`` as a resize does.
    """
    sparse = np.asarray(sparse, np.float32)
    row, col = np.nonzero(valid_depth_mask(sparse))
    mapping = resize_affine(grid.width / sparse.shape[1], grid.height / sparse.shape[0])
    return mapping[0, 0] * col + mapping[0, 2], mapping[1, 1] * row + mapping[1, 2], sparse[row, col]


def fit_sparse_depth(depth: np.ndarray, sparse: np.ndarray, grid: CameraIntrinsics,
                     boundary: np.ndarray | None = None, confidence: np.ndarray | None = None,
                     options: FitOptions = FitOptions()) -> ScaleFit:
    """``fit_points`` on every valid pixel of ``sparse`` (metres, NaN/0/inf invalid)."""
    return fit_points(depth, *sparse_depth_pixels(sparse, grid), boundary, confidence, options)


def up_from_pitch(pitch_deg: float) -> tuple[float, float, float]:
    """Gravity's up in the optical frame of a camera pitched down by ``pitch_deg`` (no roll)."""
    pitch = math.radians(pitch_deg)
    return (0.0, -math.cos(pitch), -math.sin(pitch))


def fit_camera_height(depth: np.ndarray, intrinsics: CameraIntrinsics, height_m: float,
                      boundary: np.ndarray | None = None, confidence: np.ndarray | None = None,
                      up: tuple = (0.0, -1.0, 0.0), max_tilt_deg: float = 30.0, max_points: int = 1024,
                      options: FitOptions = FitOptions()) -> ScaleFit:
    """Scale that puts the ground plane of ``depth`` ``height_m`` below the optical centre.

    The plane's normal must lie within ``max_tilt_deg`` of ``up``, gravity's up in the optical
    frame (an IMU's, or ``up_from_pitch`` of the mount); the height is then measured along ``up``
    (``_height_along``). Unreliable pixels (``reliable_mask``) take no part; ``inliers`` are plane
    inliers and the residual their RMS distance to the plane over the plane's distance.
    """
    if not height_m > 0:
        return untrusted(f"camera height {height_m} m must be > 0")
    masked = np.where(reliable_mask(depth.shape, boundary, confidence, options), depth, np.nan)
    # every s-th pixel before back-projection, not after: the fit sees the same points for a
    # fraction of the cost (pixel k of the slice is pixel s * k, so K scales by 1 / s exactly)
    stride = max(1, math.ceil(math.sqrt(depth.size / 2 / max_points)))
    masked = np.ascontiguousarray(masked[::stride, ::stride], np.float32)
    K = intrinsics.matrix()
    K[:2] /= stride
    intrinsics = CameraIntrinsics.from_matrix(K, masked.shape[1], masked.shape[0])
    fit = fit_ground(torch.from_numpy(masked)[None, None], torch.from_numpy(K).float()[None], seed=options.seed,
                     up=tuple(up), max_tilt_deg=max_tilt_deg, max_points=max_points)
    inliers, residual = int(fit.inliers[0]), float(fit.residual[0])
    if not bool(fit.found[0]):
        return ScaleFit(inliers=inliers, residual=residual,
                        reason=f"no ground plane within {max_tilt_deg:g} deg of level in the lower image "
                               f"(inlier share {float(fit.inlier_share[0]):.2f})")
    estimate = _height_along(masked, intrinsics, np.asarray(up, np.float64), INLIER_TOLERANCE)
    if not estimate > 0:
        return ScaleFit(inliers=inliers, residual=residual, reason="no floor points below the horizon")
    share = float(fit.inlier_share[0])
    return ScaleFit(height_m / estimate, 0.0, inliers, round(inliers / share), residual, True, "",
                    {"ground_height_m": estimate, "plane_height_m": float(fit.height[0]),
                     "normal": fit.normal[0].tolist()})


def _height_along(depth: np.ndarray, intrinsics: CameraIntrinsics, up: np.ndarray, band: float) -> float:
    """The floor's height below the optical centre measured along the prior ``up``.

    The plane fit above only decides whether a floor is in view. Its own normal is not used for the
    height: a network's floor is slightly warped, so the fitted plane tilts by several degrees, and
    a tilted plane's offset is biased (on the synthetic test: scale errors of 10-40 %) where the
    height along gravity, the mode of ``-up . p`` over the lower image, is not.
    """
    up = up / np.linalg.norm(up)
    heights = -(backproject(depth, intrinsics) @ up.astype(np.float32))[int(intrinsics.cy) + 1:]
    heights = heights[np.isfinite(heights) & (heights > 0)]
    if heights.size < MIN_POINTS:
        return float("nan")
    log_h = np.log(heights)
    return float(np.exp(np.median(log_h[_max_consensus(log_h, band)])))
