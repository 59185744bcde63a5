"""Depth-error metrics (modot.md §4.1; mixture_depth.md §4.1).

Definitions over the valid pixels, g = GT, p = prediction (metres):
AbsRel = mean(|g-p|/g), SqRel = mean((g-p)^2/g), RMSE = sqrt(mean((g-p)^2)),
RMSE log = sqrt(mean((ln g - ln p)^2)), log10 = mean(|log10 p - log10 g|),
SILog = 100 sqrt(mean(e^2) - mean(e)^2) with e = ln p - ln g,
delta_k = mean(max(g/p, p/g) < 1.25^k).
Protocol: valid = finite GT inside (min_depth, max_depth) [and the caller's mask]; optional
per-frame median scaling (non-metric predictions, mixture_depth.md §4.1); then predictions
are clipped to [min_depth, max_depth] with NaN -> min_depth and +inf -> max_depth
(modot.md §4.1). Data sets are summarised by the mean of per-image metrics (both digests).
"""
from __future__ import annotations

import numpy as np

from modot_ros.depth_units import valid_depth_mask

DEPTH_METRIC_NAMES = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog",
                      "delta1", "delta2", "delta3")


def gt_valid_mask(gt: np.ndarray, min_depth: float = 1e-3, max_depth: float | None = None,
                  measured: np.ndarray | None = None) -> np.ndarray:
    """The GT pixels every depth metric scores: valid depth (REP 117) strictly inside the limits.

    ``measured``: ``valid_depth_mask(gt)``, when the caller has derived it already.
    """
    gt = np.asarray(gt, dtype=np.float64)
    mask = (valid_depth_mask(gt) if measured is None else measured) & (gt > min_depth)
    return mask & (gt < max_depth) if max_depth is not None else mask


def _prepare(pred, gt, valid, min_depth, max_depth, align, gt_valid=None) -> tuple[np.ndarray, np.ndarray, float]:
    """Valid (prediction, GT) pixel values after alignment and clipping, plus the scale used."""
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"depth prediction {pred.shape} and GT {gt.shape} differ in shape; "
                         "resize the prediction to the GT size first")
    if align not in ("none", "median"):
        raise ValueError(f"align must be 'none' or 'median', got {align!r}")
    mask = gt_valid_mask(gt, min_depth, max_depth) if gt_valid is None else np.asarray(gt_valid, dtype=bool)
    if valid is not None:
        mask &= np.asarray(valid, dtype=bool)
    p, g = pred[mask], gt[mask]
    scale = 1.0
    if align == "median" and g.size:
        usable = p[valid_depth_mask(p)]
        scale = float(np.median(g) / np.median(usable)) if usable.size else np.nan
        p = p * scale
    upper = np.inf if max_depth is None else max_depth
    p = np.clip(np.nan_to_num(p, nan=min_depth, posinf=upper if np.isfinite(upper) else
                              np.finfo(np.float64).max, neginf=min_depth), min_depth, upper)
    return p, g, scale


def depth_metrics(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None,
                  min_depth: float = 1e-3, max_depth: float | None = None,
                  align: str = "none", gt_valid: np.ndarray | None = None) -> dict[str, float]:
    """Standard depth metrics for one frame (names in ``DEPTH_METRIC_NAMES``) plus ``scale``.

    All values are NaN when the frame has no valid GT pixel. ``scale`` is the median ratio
    applied (1.0 without alignment). ``gt_valid``: ``gt_valid_mask(gt, min_depth, max_depth)``
    when the caller scores one frame several times and has it already.
    """
    p, g, scale = _prepare(pred, gt, valid, min_depth, max_depth, align, gt_valid)
    if g.size == 0:
        return {name: float("nan") for name in (*DEPTH_METRIC_NAMES, "scale")}
    diff = g - p
    log_err = np.log(p) - np.log(g)
    ratio = np.maximum(g / p, p / g)
    return {
        "abs_rel": float(np.mean(np.abs(diff) / g)),
        "sq_rel": float(np.mean(diff ** 2 / g)),
        "rmse": float(np.sqrt(np.mean(diff ** 2))),
        "rmse_log": float(np.sqrt(np.mean(log_err ** 2))),
        "log10": float(np.mean(np.abs(np.log10(p) - np.log10(g)))),
        "silog": float(100 * np.sqrt(max(0.0, np.mean(log_err ** 2) - np.mean(log_err) ** 2))),
        "delta1": float(np.mean(ratio < 1.25)),
        "delta2": float(np.mean(ratio < 1.25 ** 2)),
        "delta3": float(np.mean(ratio < 1.25 ** 3)),
        "scale": scale,
    }


def abs_rel_by_distance(pred: np.ndarray, gt: np.ndarray, bins: np.ndarray,
                        valid: np.ndarray | None = None, min_depth: float = 1e-3,
                        max_depth: float | None = None, align: str = "none") -> dict[str, np.ndarray]:
    """AbsRel of the pixels in each GT-distance bin (edges ``bins``, metres).

    Returns ``edges``, ``abs_rel`` (NaN for empty bins), ``count`` and ``sum`` (of |g-p|/g,
    so callers can pool bins over frames: pooled AbsRel = sum / count).
    """
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("bins must be an increasing 1-D array of at least 2 edges (metres)")
    p, g, _ = _prepare(pred, gt, valid, min_depth, max_depth, align)
    which = np.digitize(g, edges) - 1
    inside = (which >= 0) & (which < edges.size - 1)
    n_bins = edges.size - 1
    count = np.bincount(which[inside], minlength=n_bins).astype(np.int64)
    total = np.bincount(which[inside], weights=(np.abs(g - p) / g)[inside], minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return {"edges": edges, "abs_rel": mean, "count": count, "sum": total}


class DepthAccumulator:
    """Per-frame depth metrics over a sequence; ``mean()`` is the mean of per-image metrics.

    Frames without valid GT give NaN rows, kept in ``per_frame`` and left out of ``mean()``.
    With ``distance_bins`` it also pools AbsRel per GT-distance bin over all pixels.
    """

    def __init__(self, min_depth: float = 1e-3, max_depth: float | None = None,
                 align: str = "none", distance_bins: np.ndarray | None = None) -> None:
        self.min_depth, self.max_depth, self.align = min_depth, max_depth, align
        self.distance_bins = None if distance_bins is None else np.asarray(distance_bins, float)
        self._rows: list[dict[str, float]] = []
        self._bin_sum = self._bin_count = None

    def add(self, pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> dict[str, float]:
        """Score one frame, store it and return its metrics."""
        row = depth_metrics(pred, gt, valid, self.min_depth, self.max_depth, self.align)
        self._rows.append(row)
        if self.distance_bins is not None:
            binned = abs_rel_by_distance(pred, gt, self.distance_bins, valid, self.min_depth,
                                         self.max_depth, self.align)
            if self._bin_sum is None:
                self._bin_sum, self._bin_count = np.zeros_like(binned["sum"]), np.zeros_like(binned["count"])
            self._bin_sum += binned["sum"]
            self._bin_count += binned["count"]
        return row

    @property
    def per_frame(self) -> dict[str, np.ndarray]:
        """Metric name -> (n_frames,) array in insertion order (NaN for frames without GT)."""
        names = (*DEPTH_METRIC_NAMES, "scale")
        return {k: np.array([row[k] for row in self._rows], dtype=np.float64) for k in names}

    def mean(self) -> dict[str, float]:
        """Mean over frames with valid GT of each metric, plus ``n_frames`` and ``n_empty``."""
        table = self.per_frame
        usable = np.isfinite(table["abs_rel"]) if self._rows else np.zeros(0, bool)
        out = {k: float(np.mean(v[usable])) if usable.any() else float("nan") for k, v in table.items()}
        out.update(n_frames=float(len(self._rows)), n_empty=float((~usable).sum()))
        return out

    def abs_rel_by_distance(self) -> dict[str, np.ndarray]:
        """Pixel-pooled AbsRel per distance bin over all frames added (needs ``distance_bins``)."""
        if self.distance_bins is None or self._bin_sum is None:
            raise ValueError("construct DepthAccumulator(distance_bins=...) and add() frames first")
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(self._bin_count > 0, self._bin_sum / np.maximum(self._bin_count, 1), np.nan)
        return {"edges": self.distance_bins, "abs_rel": mean, "count": self._bin_count.copy(),
                "sum": self._bin_sum.copy()}
