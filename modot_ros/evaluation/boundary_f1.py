"""Scale-invariant boundary F1 of Depth Pro (Bochkovskii et al. 2024, its "boundary F1").

Written from the definition, no reference code: two neighbouring pixels (right and down
pairs) form an *edge pair* at threshold t when the larger of their inverse depths divided by
the smaller exceeds t. Dividing removes the global scale, so a map scaled by any constant
scores the same. Precision = predicted edge pairs that are GT edge pairs / predicted edge pairs;
recall = GT edge pairs that are predicted / GT edge pairs; F1 = 2PR / (P + R). The score is the
mean of F1 over t in ``THRESHOLDS`` weighted by t, so sharper jumps weigh more.
Pairs with an invalid GT pixel are ignored. A threshold at which the GT has no edge pair is
left out of the weighted mean (F1 undefined; counting it as 1 would reward a constant map on
flat frames); a frame with no GT edge pair at any t scores NaN, which the scorer's means skip.
"""
from __future__ import annotations

import numpy as np

from modot_ros.depth_units import valid_depth_mask

THRESHOLDS = (1.05, 1.10, 1.15, 1.20, 1.25)


def _pair_ratios(depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max/min inverse-depth ratio of the right and the down neighbour pairs (NaN if invalid)."""
    inverse = np.where(valid_depth_mask(depth), 1.0 / np.where(depth > 0, depth, 1.0), np.nan)
    ratios = []
    for a, b in ((inverse[:, :-1], inverse[:, 1:]), (inverse[:-1, :], inverse[1:, :])):
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios.append(np.maximum(a, b) / np.minimum(a, b))
    return ratios[0], ratios[1]


def _f1(pred_edges: np.ndarray, gt_edges: np.ndarray) -> float:
    n_pred, n_gt = int(pred_edges.sum()), int(gt_edges.sum())
    if n_gt == 0:
        return float("nan")
    hits = int((pred_edges & gt_edges).sum())
    if hits == 0:
        return 0.0
    precision, recall = hits / n_pred, hits / n_gt
    return 2 * precision * recall / (precision + recall)


def _usable_ratios(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair ratios of prediction and GT over the pairs whose two GT pixels are valid."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} must be equal 2-D shapes")
    pairs = list(zip(_pair_ratios(pred), _pair_ratios(gt)))
    usable = [np.isfinite(g) for _, g in pairs]
    # an invalid prediction next to valid GT is no predicted edge (NaN > t is False)
    return (np.concatenate([p[u] for (p, _), u in zip(pairs, usable)]),
            np.concatenate([g[u] for (_, g), u in zip(pairs, usable)]))


def boundary_f1_at(pred: np.ndarray, gt: np.ndarray, threshold: float) -> float:
    """F1 of predicted vs GT edge pairs at one ratio ``threshold`` (> 1); NaN without GT edge pairs."""
    p, g = _usable_ratios(pred, gt)
    return _f1(p > threshold, g > threshold)


def scale_invariant_boundary_f1(pred: np.ndarray, gt: np.ndarray,
                                thresholds: tuple[float, ...] = THRESHOLDS) -> float:
    """Depth Pro's boundary F1 of one depth map: sum_t t * F1(t) / sum_t t."""
    p, g = _usable_ratios(pred, gt)
    weights = np.asarray(thresholds, np.float64)
    scores = np.array([_f1(p > t, g > t) for t in thresholds])
    defined = np.isfinite(scores)
    if not defined.any():
        return float("nan")
    return float((weights * scores)[defined].sum() / weights[defined].sum())
