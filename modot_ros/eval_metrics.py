"""Per-frame depth scores used by the evaluation report (numpy, one frame at a time).

* ``depth_metrics``: AbsRel, SqRel, RMSE, RMSE log, log10, delta < 1.25^k (DESIGN.md "Metrics")
  over pixels with ground truth in [min_depth, max_depth] and a finite prediction; optional
  per-frame median scale alignment for non-metric ground truth. ``coverage`` is the fraction of
  valid ground-truth pixels that have a prediction.
* ``boundary_error``: iBims-1 depth-boundary errors eps_acc / eps_comp (pixels) between Canny
  edges of the predicted and ground-truth depth (log depth, so near and far edges count alike).
* ``flying_pixel_rate``: share of pixels near a ground-truth discontinuity whose predicted depth
  lies in the gap between the predicted near and far surfaces around it (the points a mean
  read-out smears across an edge).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import feature

BOUNDARY_THETA = 10.0  # px, iBims truncation distance
FLYING_BAND = 3        # px either side of a ground-truth discontinuity
FLYING_MARGIN = 0.05   # relative margin to each surface that still counts as "on the surface"


def depth_metrics(pred: np.ndarray, gt: np.ndarray, align: str = "none", min_depth: float = 0.1,
                  max_depth: float = 20.0) -> tuple[dict[str, float], np.ndarray]:
    """Scores of one frame and the (aligned, clamped) prediction they were computed on."""
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in size")
    gt_valid = np.isfinite(gt) & (gt >= min_depth) & (gt <= max_depth)
    valid = gt_valid & np.isfinite(pred) & (pred > 0)
    pred = pred.astype(np.float64)
    if align == "median" and valid.any():
        pred = pred * (np.median(gt[valid]) / np.median(pred[valid]))
    pred = np.clip(pred, min_depth, max_depth)
    scores = {"coverage": float(valid.sum() / max(1, gt_valid.sum()))}
    if not valid.any():
        return scores | dict.fromkeys(("abs_rel", "sq_rel", "rmse", "rmse_log", "log10",
                                       "delta1", "delta2", "delta3"), float("nan")), pred
    p, g = pred[valid], gt[valid].astype(np.float64)
    ratio = np.maximum(p / g, g / p)
    scores |= {
        "abs_rel": float(np.mean(np.abs(p - g) / g)),
        "sq_rel": float(np.mean((p - g) ** 2 / g)),
        "rmse": float(np.sqrt(np.mean((p - g) ** 2))),
        "rmse_log": float(np.sqrt(np.mean((np.log(p) - np.log(g)) ** 2))),
        "log10": float(np.mean(np.abs(np.log10(p) - np.log10(g)))),
        **{f"delta{k}": float(np.mean(ratio < 1.25 ** k)) for k in (1, 2, 3)},
    }
    return scores, pred


def _depth_edges(depth: np.ndarray) -> np.ndarray:
    """Canny edges of log depth normalised to [0, 1] (iBims: sigma sqrt(2), thresholds 0.1/0.2)."""
    depth = np.asarray(depth, np.float64)  # same precision for both maps: Canny is threshold-sensitive
    log = np.log(np.where(np.isfinite(depth) & (depth > 0), depth, np.nan))
    lo, hi = np.nanmin(log), np.nanmax(log)
    if not np.isfinite(lo) or hi - lo < 1e-6:
        return np.zeros(depth.shape, bool)
    norm = np.nan_to_num((log - lo) / (hi - lo), nan=0.0)
    return feature.canny(norm, sigma=np.sqrt(2), low_threshold=0.1, high_threshold=0.2)


def boundary_error(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """iBims depth-boundary errors: eps_acc (predicted edges to GT edges), eps_comp (GT to predicted)."""
    gt_edges, pred_edges = _depth_edges(gt), _depth_edges(pred)
    if not gt_edges.any():
        return {}
    if not pred_edges.any():
        return {"dbe_acc": float("nan"), "dbe_comp": BOUNDARY_THETA}
    to_gt = ndimage.distance_transform_edt(~gt_edges)
    to_pred = ndimage.distance_transform_edt(~pred_edges)
    near = pred_edges & (to_gt <= BOUNDARY_THETA)
    acc = float(to_gt[near].mean()) if near.any() else float("nan")
    comp = float(np.minimum(to_pred[gt_edges], BOUNDARY_THETA).mean())
    return {"dbe_acc": acc, "dbe_comp": comp}


def flying_pixel_rate(pred: np.ndarray, gt: np.ndarray, gt_boundary: np.ndarray | None = None) -> dict[str, float]:
    """Share of pixels near GT discontinuities whose predicted depth floats between the predicted
    near and far surfaces of their neighbourhood (scale-free: a global scale error is no smear)."""
    size = 2 * FLYING_BAND + 1
    gt_near = ndimage.minimum_filter(np.nan_to_num(gt, nan=np.inf), size)
    gt_far = ndimage.maximum_filter(np.nan_to_num(gt, nan=-np.inf), size)
    band = np.isfinite(gt_near) & np.isfinite(gt_far) & (gt_far > gt_near * (1 + 4 * FLYING_MARGIN))
    if gt_boundary is not None:  # restrict to the labelled occlusion boundaries when given
        band &= ndimage.binary_dilation(gt_boundary, iterations=FLYING_BAND)
    band &= np.isfinite(pred)
    if not band.any():
        return {}
    near = ndimage.minimum_filter(np.nan_to_num(pred, nan=np.inf), size)
    far = ndimage.maximum_filter(np.nan_to_num(pred, nan=-np.inf), size)
    flying = band & (pred > near * (1 + FLYING_MARGIN)) & (pred < far * (1 - FLYING_MARGIN))
    return {"flying_pixels": float(flying.sum() / band.sum())}
