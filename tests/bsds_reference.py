"""The BSDS matching and thinning as first written (one thinning and one matching per threshold).

Kept only as the oracle the fast path in ``modot_ros.evaluation`` is compared with: slow, plain,
and unchanged since the metric's numbers were first reported.
"""
import numpy as np

from modot_ros.evaluation.boundary_bsds import _flow
from modot_ros.evaluation.thinning import _LUT_FIRST, _LUT_SECOND


def _matching_size(pair_pred: np.ndarray, pair_gt: np.ndarray, selected: np.ndarray,
                   n_pred: int, n_gt: int) -> int:
    """Maximum matching size of the selected pairs: one unit-capacity max flow over all of them."""
    result = _flow(pair_pred, pair_gt, selected, n_pred, n_gt)
    return 0 if result is None else int(result.flow_value)


def reference_thin(mask: np.ndarray) -> np.ndarray:
    """Thin a binary (H, W) mask (non-zero = foreground) to 8-connected one-pixel-wide curves.

    Iterates to convergence and returns an (H, W) bool mask that is a subset of ``mask``.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"thin expects a 2-D mask, got shape {mask.shape}")
    h, w = mask.shape
    padded = np.zeros((h + 2, w + 2), dtype=np.uint8)
    padded[1:-1, 1:-1] = mask
    flat = padded.ravel()
    stride = w + 2
    # Flat offsets of x1..x8 (E, NE, N, NW, W, SW, S, SE) in the padded image.
    offsets = np.array([1, 1 - stride, -stride, -stride - 1, -1, stride - 1, stride, stride + 1])
    weights = (1 << np.arange(8)).astype(np.int32)
    neighbours = np.concatenate([offsets, [0]])
    # A pixel's decision depends only on its 3x3 window, so after the first full pass only
    # pixels next to a deletion are looked at again (per sub-iteration table).
    dirty = [np.ones(flat.size, dtype=bool), np.ones(flat.size, dtype=bool)]
    active = np.flatnonzero(flat)
    while active.size:
        deleted_any = False
        for which, lut in enumerate((_LUT_FIRST, _LUT_SECOND)):
            todo = active[dirty[which][active]]
            dirty[which][todo] = False
            if todo.size == 0:
                continue
            codes = flat[todo[:, None] + offsets[None, :]].astype(np.int32) @ weights
            delete = todo[lut[codes]]
            if delete.size:
                flat[delete] = 0  # parallel deletion: codes were read before writing
                touched = (delete[:, None] + neighbours[None, :]).ravel()
                dirty[0][touched] = dirty[1][touched] = True
                active = active[flat[active] != 0]
                deleted_any = True
        if not deleted_any:
            break
    return padded[1:-1, 1:-1].astype(bool)


def _candidate_pairs(candidates: np.ndarray, gt: np.ndarray, max_dist: float):
    """All (candidate pixel, GT pixel) pairs closer than ``max_dist``, as compact index arrays."""
    h, w = gt.shape
    cand_r, cand_c = np.nonzero(candidates)
    gt_id = np.full(gt.shape, -1, dtype=np.int64)
    gt_id[gt] = np.arange(int(gt.sum()))
    reach = int(np.floor(max_dist))
    rows, cols = [], []
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            if dy * dy + dx * dx > max_dist * max_dist:
                continue
            rr, cc = cand_r + dy, cand_c + dx
            inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            idx = np.flatnonzero(inside)
            target = gt_id[rr[idx], cc[idx]]
            hit = target >= 0
            rows.append(idx[hit])
            cols.append(target[hit])
    return (cand_r, cand_c), np.concatenate(rows), np.concatenate(cols)


def reference_match_counts(edge_map: np.ndarray, gt: np.ndarray, thresholds: np.ndarray,
                           max_dist: float) -> np.ndarray:
    """Per-threshold counts ``[cnt_R, sum_R, cnt_P, sum_P]``, shape (T, 4), for one image.

    ``edge_map`` (after NMS) is thresholded with ``>=``, thinned, and matched one-to-one
    to ``gt`` within ``max_dist`` pixels.
    """
    gt = np.asarray(gt, dtype=bool)
    counts = np.zeros((len(thresholds), 4), dtype=np.int64)
    counts[:, 1] = n_gt = int(gt.sum())
    candidates = edge_map >= thresholds.min()
    (cand_r, cand_c), pair_pred, pair_gt = _candidate_pairs(candidates, gt, max_dist)
    order = np.lexsort((pair_gt, pair_pred))
    pair_pred, pair_gt = pair_pred[order], pair_gt[order]
    pair_r, pair_c = cand_r[pair_pred], cand_c[pair_pred]
    # Only candidates with a GT pixel in reach can ever match: renumber those compactly.
    reachable, pair_pred = np.unique(pair_pred, return_inverse=True)
    for k, threshold in enumerate(thresholds):
        predicted = reference_thin(edge_map >= threshold)
        counts[k, 3] = predicted.sum()
        matched = _matching_size(pair_pred, pair_gt, predicted[pair_r, pair_c], reachable.size, n_gt)
        counts[k, 0] = counts[k, 2] = matched
    return counts
