"""The one per-frame scorer: training evaluation, the bag report and training validation use it.

``FrameScorer.add(gt_depth, depth=..., ...)`` scores one frame and returns its row of named
floats; ``summary()`` gives the data-set numbers as one flat dict of named floats (keys in
``SUMMARY_LABELS``, the labels every table prints). Metric definitions live in the sibling
modules; this module applies them frame by frame and pools them:

* depth (``depth_errors``): metric AbsRel, SqRel, RMSE, RMSE log, log10, SILog, δ1..3 and the
  per-image median-scaled AbsRel / δ1 (``abs_rel_med``, ``delta1_med``); mean of per-image values.
* pred/gt median per GT-distance bin (``ratio_<lo>-<hi>m``), pooled over all pixels of the bin.
* iBims depth boundary error against ``depth_edges(gt)`` (see ``DBE_CONVENTION``).
* flying pixels (``cloud_metrics.flying_pixel_rate``) of the dominant-mode read-out and of the
  same model's weighted-mean read-out; the scale-invariant boundary F1 of Depth Pro.
* mixture health (``mixture_health``) when mixture parameters are given.
* occlusion boundaries with the BSDS protocol; ``ap`` is the BSDS Area-PR (``ap_bsds``).

The GT's valid pixels are derived once per frame (``GroundTruthMasks``), in two senses that differ
on purpose: ``scored`` (inside the depth limits) for the errors, ``measured`` (every GT
measurement) for what reads the GT's geometry (its edges and the surfaces beside them).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from modot_ros.depth_units import valid_depth_mask
from modot_ros.evaluation.boundary_bsds import BoundaryEvaluator
from modot_ros.evaluation.boundary_f1 import scale_invariant_boundary_f1
from modot_ros.evaluation.cloud_metrics import cloud_accuracy, flying_pixel_rate
from modot_ros.evaluation.depth_errors import DEPTH_METRIC_NAMES, depth_metrics, gt_valid_mask
from modot_ros.evaluation.mixture_health import mixture_health
from modot_ros.evaluation.sharpness import depth_boundary_error, depth_edges

DBE_CONVENTION = """iBims DBE is measured against ``depth_edges(gt, log_depth=True)``, the same Canny
detector on the GT depth as on the prediction, not against the OB labels: a perfect depth map
then scores 0 (one-pixel OB labels vs Canny's edge placement bias eps_acc by ~0.5 px), and bags
with depth ground truth but no OB labels get the same number as the synthetic test split."""
RATIO_BINS = (0.3, 1.0, 2.0, 4.0, 8.0, 20.0)
_LOG_RATIO_EDGES = np.linspace(-3.0, 3.0, 3001)  # ln(pred/gt) histogram: medians to 0.2 %

SUMMARY_LABELS = {
    "abs_rel": "AbsRel", "delta1": "δ<1.25", "abs_rel_med": "AbsRel (median-scaled)",
    "delta1_med": "δ<1.25 (median-scaled)", "sq_rel": "SqRel", "rmse": "RMSE (m)", "rmse_log": "RMSE log",
    "log10": "log10", "silog": "SILog", "delta2": "δ<1.25²", "delta3": "δ<1.25³", "coverage": "coverage",
    "abs_rel_mean_readout": "AbsRel, mean read-out", "dbe_acc": "ε_acc (px)", "dbe_comp": "ε_comp (px)",
    "si_boundary_f1": "boundary F1 (Depth Pro)", "flying_rate": "flying-pixel rate",
    "flying_rate_mean_readout": "flying-pixel rate, mean read-out", "off_surface_rate": "off-surface rate",
    "chamfer": "Chamfer (m)", "fscore_rel5": "cloud F-score (5 %)",
    "dominant1": "component 1 dominant", "dominant2": "component 2 dominant",
    "dominant1_ob": "component 1 dominant, ≤2 px of GT OB", "dominant2_ob": "component 2 dominant, ≤2 px of GT OB",
    "bimodality": "edge bimodality", "ods": "ODS F", "ois": "OIS F", "ap": "AP (BSDS)",
}


@dataclass(frozen=True)
class GroundTruthMasks:
    """The valid pixels of one frame's GT depth, derived once for every metric.

    ``measured``: every usable GT measurement (finite, > 0, no depth limits). The GT's geometry is
    read over it: its Canny edges (DBE), and the near and far surfaces beside a discontinuity
    (flying pixels, mixture health), because a surface beyond ``max_depth`` still bounds the one
    in front of it; limiting it would move or remove edges.
    ``scored``: ``measured`` strictly inside (min_depth, max_depth): the pixels the depth errors,
    coverage, the distance-bin ratios and the boundary F1 score.
    """

    measured: np.ndarray
    scored: np.ndarray

    @classmethod
    def of(cls, gt: np.ndarray, min_depth: float, max_depth: float | None) -> GroundTruthMasks:
        measured = valid_depth_mask(np.asarray(gt, np.float64))
        return cls(measured, gt_valid_mask(gt, min_depth, max_depth, measured=measured))


def ratio_key(lo: float, hi: float) -> str:
    """Summary key of the pred/gt median of the GT-distance bin [lo, hi) metres."""
    return f"ratio_{lo:g}-{hi:g}m"


class FrameScorer:
    """Per-frame scores of one model over a data set.

    align: ``median`` scales each prediction by median(gt)/median(pred) for the headline depth
    metrics and the flying pixels (non-metric GT); the ``_med`` keys are always median-scaled.
    clouds: also Chamfer / F-score of the back-projected clouds (needs intrinsics; slow).
    """

    def __init__(self, min_depth: float = 1e-3, max_depth: float | None = None, align: str = "none",
                 ob_thresholds: int = 99, ob_stride: int = 1, clouds: bool = False, ob_jobs: int = 1) -> None:
        if align not in ("none", "median"):
            raise ValueError(f"align={align!r}; allowed: none, median")
        self.min_depth, self.max_depth, self.align, self.clouds = min_depth, max_depth, align, clouds
        self.boundary = BoundaryEvaluator(n_thresholds=ob_thresholds, jobs=ob_jobs)
        self.ob_stride = max(1, ob_stride)
        self.rows: list[dict[str, float]] = []
        self._ratio_hist = np.zeros((len(RATIO_BINS) - 1, _LOG_RATIO_EDGES.size - 1), np.int64)

    def add_prediction(self, pred: Any, gt_depth: np.ndarray | None, gt_boundary: np.ndarray | None = None,
                       intrinsics: Any = None) -> dict[str, float]:
        """Score a ``modot_ros.inference.Prediction`` (at the GT resolution)."""
        return self.add(gt_depth, depth=pred.depth, depth_mean=pred.depth_mean, params=pred.params,
                        boundary=pred.boundary, gt_boundary=gt_boundary, intrinsics=intrinsics)

    def add(self, gt_depth: np.ndarray | None, depth: np.ndarray | None = None,
            depth_mean: np.ndarray | None = None, params: np.ndarray | None = None,
            boundary: np.ndarray | None = None, gt_boundary: np.ndarray | None = None,
            intrinsics: Any = None) -> dict[str, float]:
        """Score one frame; every array (H, W) at the GT size, ``params`` (C, H, W)."""
        row: dict[str, float] = {}
        if gt_depth is not None and depth is not None:
            masks = GroundTruthMasks.of(gt_depth, self.min_depth, self.max_depth)
            row |= self._depth_scores(depth, gt_depth, depth_mean, masks)
            if params is not None and params.shape[0] == 5:
                row |= mixture_health(params, gt_depth, gt_boundary, gt_measured=masks.measured)
            if self.clouds and intrinsics is not None:
                row |= _cloud_scores(depth, gt_depth, intrinsics)
        if boundary is not None and gt_boundary is not None and len(self.rows) % self.ob_stride == 0:
            row["ob_best_f"] = self.boundary.add(np.clip(boundary, 0, 1), gt_boundary)["best_f"]
        self.rows.append(row)
        return row

    def _depth_scores(self, depth: np.ndarray, gt: np.ndarray, depth_mean: np.ndarray | None,
                      masks: GroundTruthMasks) -> dict:
        gt_valid, measured = masks.scored, masks.measured
        limits = dict(min_depth=self.min_depth, max_depth=self.max_depth, gt_valid=gt_valid)
        scores = depth_metrics(depth, gt, align=self.align, **limits)
        median = depth_metrics(depth, gt, align="median", **limits)
        scores |= {"abs_rel_med": median["abs_rel"], "delta1_med": median["delta1"]}
        scores["coverage"] = float((gt_valid & valid_depth_mask(depth)).sum() / max(1, gt_valid.sum()))
        self._pool_ratios(depth, gt, gt_valid)
        aligned = depth * scores["scale"] if self.align == "median" and np.isfinite(scores["scale"]) else depth
        gt_edges = depth_edges(gt, log_depth=True, measured=measured)
        scores |= depth_boundary_error(aligned, gt_edges, log_depth=True)
        scores["si_boundary_f1"] = scale_invariant_boundary_f1(depth, np.where(gt_valid, gt, np.nan))
        fly = flying_pixel_rate(aligned, gt, gt_measured=measured)
        scores |= {"flying_rate": fly["flying_rate"], "off_surface_rate": fly["off_surface_rate"]}
        if depth_mean is not None:
            scale = scores["scale"] if self.align == "median" else 1.0
            scores["flying_rate_mean_readout"] = flying_pixel_rate(depth_mean * scale, gt,
                                                                   gt_measured=measured)["flying_rate"]
            scores["abs_rel_mean_readout"] = depth_metrics(depth_mean, gt, align=self.align, **limits)["abs_rel"]
        return scores

    def _pool_ratios(self, depth: np.ndarray, gt: np.ndarray, gt_valid: np.ndarray) -> None:
        usable = gt_valid & valid_depth_mask(depth)
        g, log_ratio = gt[usable], np.log(depth[usable] / gt[usable])
        which = np.digitize(g, RATIO_BINS) - 1
        for b in range(len(RATIO_BINS) - 1):
            self._ratio_hist[b] += np.histogram(log_ratio[which == b], _LOG_RATIO_EDGES)[0]

    def ratio_medians(self) -> dict[str, float]:
        """Median of pred/gt per GT-distance bin over all pixels scored (NaN for empty bins)."""
        centres = 0.5 * (_LOG_RATIO_EDGES[1:] + _LOG_RATIO_EDGES[:-1])
        out = {}
        for b, counts in enumerate(self._ratio_hist):
            key = ratio_key(RATIO_BINS[b], RATIO_BINS[b + 1])
            total = counts.sum()
            out[key] = float(np.exp(centres[np.searchsorted(np.cumsum(counts), total / 2)])) if total else np.nan
        return out

    def summary(self) -> dict[str, float]:
        """Data-set numbers: mean over frames of each per-frame score, ratio medians, ODS/OIS/AP."""
        out: dict[str, float] = {"n_frames": float(len(self.rows))}
        keys = [k for k in dict.fromkeys(k for row in self.rows for k in row) if k not in ("ob_best_f", "scale")]
        with np.errstate(invalid="ignore"):  # frames without valid GT are NaN rows, left out
            for key in keys:
                values = np.array([row.get(key, np.nan) for row in self.rows], np.float64)
                out[key] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        if any("abs_rel" in row for row in self.rows):
            out |= self.ratio_medians()
        if self.boundary.n_images:
            res = self.boundary.result()
            out |= {"ods": res["ods_f"], "ois": res["ois_f"], "ap": res["ap_bsds"], "ap_ours": res["ap"]}
        return out


def _cloud_scores(depth: np.ndarray, gt: np.ndarray, intrinsics: Any) -> dict[str, float]:
    """Chamfer and F-score at 5 % of depth on every 2nd row and column (the KD-tree is slow)."""
    cloud = cloud_accuracy(depth, gt, intrinsics, tau=0.05, stride=2)
    return {"chamfer": cloud["chamfer"], "fscore_rel5": cloud["fscore"]}


def summary_table(summaries: dict[str, dict[str, float]]) -> list[dict[str, object]]:
    """Rows ``metric | key | <model> ...`` of the labelled summary keys, ratio bins after the depth keys."""
    keys = [k for k in SUMMARY_LABELS if any(k in s for s in summaries.values())]
    ratios = [ratio_key(lo, hi) for lo, hi in zip(RATIO_BINS[:-1], RATIO_BINS[1:])]
    keys[4:4] = [k for k in ratios if any(k in s for s in summaries.values())]
    labels = SUMMARY_LABELS | {k: f"median pred/gt, GT {k[6:]}" for k in ratios}
    return [{"metric": labels[k], "key": k} | {name: s.get(k, float("nan")) for name, s in summaries.items()}
            for k in keys]


__all__ = ["DBE_CONVENTION", "DEPTH_METRIC_NAMES", "FrameScorer", "GroundTruthMasks", "RATIO_BINS", "SUMMARY_LABELS",
           "ratio_key", "summary_table"]
