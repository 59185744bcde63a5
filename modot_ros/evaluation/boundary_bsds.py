"""Occlusion-boundary metrics with the BSDS protocol: ODS / OIS / AP (modot.md §4.2 (b)).

Per image: Dollár-style edge NMS of the probability map, 99 thresholds linspace(0.01, 0.99),
each thresholded map thinned, then matched one-to-one to the GT boundary pixels within
``max_dist_ratio`` x image diagonal. Counts are summed over the data set for ODS, taken at
each image's best threshold for OIS, and the dataset precision/recall curve gives AP.

Matching: BSDS ``correspondPixels`` solves a min-cost assignment in which leaving a pixel
unmatched costs far more than any match, so its number of matches equals the maximum
cardinality of the bipartite graph "prediction pixel -- GT pixel within the tolerance".
We compute exactly that number as a unit-capacity max flow (Dinic,
``scipy.sparse.csgraph.maximum_flow``); we skip the distance-minimising tie-break among
maximum matchings, which changes which pairs match but not the counts, so precision and
recall are the same. (``maximum_bipartite_matching`` gives the same number but its
Hopcroft-Karp takes exponential time on the layered graphs pixel chains make,
scipy/scipy#26147: seconds per threshold here.)
"""
from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import connected_components, maximum_flow

from modot_ros.evaluation.thinning import thin_levels


def _conv_tri(image: np.ndarray, radius: int) -> np.ndarray:
    """Dollár's triangle filter: separable kernel [1 .. r+1 .. 1] / (r+1)^2, symmetric padding."""
    kernel = np.concatenate([np.arange(1, radius + 2), np.arange(radius, 0, -1)]).astype(np.float64)
    kernel /= kernel.sum()
    out = ndimage.convolve1d(image, kernel, axis=0, mode="reflect")
    return ndimage.convolve1d(out, kernel, axis=1, mode="reflect")


def _edge_normal_angle(edges: np.ndarray) -> np.ndarray:
    """Angle in [0, pi) of the edge normal, from second derivatives of a smoothed map."""
    smooth = _conv_tri(edges, 4)
    oy, ox = np.gradient(smooth)
    oxx = np.gradient(ox, axis=1)
    oxy, oyy = np.gradient(oy, axis=1), np.gradient(oy, axis=0)
    return np.mod(np.arctan(oyy * np.sign(-oxy) / (oxx + 1e-5)), np.pi)


def boundary_nms(prob: np.ndarray, radius: int = 1, border: int = 5,
                 multiplier: float = 1.01) -> np.ndarray:
    """Non-maximum suppression across the edge direction (structured-edges ``edgesNms`` recipe).

    Smooths ``prob`` with a radius-1 triangle filter, keeps a pixel only if ``multiplier`` x its
    value is >= the bilinearly interpolated values at distances 1..``radius`` on both sides
    along the normal, and tapers the response linearly to 0 within ``border`` px of the image
    border (modot.md §4.2 (b) step 2).
    """
    edges = _conv_tri(np.asarray(prob, dtype=np.float64), 1)
    angle = _edge_normal_angle(edges)
    h, w = edges.shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    keep = edges > 0
    for step in [d for d in range(-radius, radius + 1) if d != 0]:
        r = np.clip(rows + step * np.sin(angle), 0, h - 1.001)
        c = np.clip(cols + step * np.cos(angle), 0, w - 1.001)
        neighbour = ndimage.map_coordinates(edges, [r, c], order=1)
        keep &= edges * multiplier >= neighbour
    out = np.where(keep, edges, 0.0)
    border = min(border, h // 2, w // 2)
    if border > 0:
        ramp_r = np.minimum(1.0, np.minimum(np.arange(h), np.arange(h)[::-1]) / border)
        ramp_c = np.minimum(1.0, np.minimum(np.arange(w), np.arange(w)[::-1]) / border)
        out *= ramp_r[:, None] * ramp_c[None, :]
    return out


def _candidate_pairs(cand_r: np.ndarray, cand_c: np.ndarray, gt: np.ndarray, max_dist: float):
    """All (candidate index, GT pixel) pairs closer than ``max_dist``, sorted by (candidate, GT)."""
    h, w = gt.shape
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
    pair_pred, pair_gt = np.concatenate(rows), np.concatenate(cols)
    order = np.lexsort((pair_gt, pair_pred))
    return pair_pred[order], pair_gt[order]


def _flow(pair_pred: np.ndarray, pair_gt: np.ndarray, selected: np.ndarray, n_pred: int, n_gt: int):
    """Unit-capacity max flow (scipy's result) of the selected pairs; None when none is selected.

    Pairs must be sorted by (pred, gt). The CSR graph is assembled directly because building it
    through ``csr_matrix((data, (i, j)))`` costs more than the flow itself.
    Nodes: 0 = source, 1..n_pred predicted pixels, then the GT pixels, then the sink.
    """
    pred, gt = pair_pred[selected], pair_gt[selected]
    if pred.size == 0:
        return None
    sources = pred[np.concatenate([[True], pred[1:] != pred[:-1]])]  # pairs are sorted by pred
    sink = n_pred + n_gt + 1
    out_degree = np.concatenate([[sources.size], np.bincount(pred, minlength=n_pred),
                                 np.ones(n_gt, np.int64), [0]])
    indptr = np.concatenate([[0], np.cumsum(out_degree)]).astype(np.int32)
    indices = np.concatenate([1 + sources, 1 + n_pred + gt, np.full(n_gt, sink)]).astype(np.int32)
    graph = sparse.csr_matrix((np.ones(indices.size, np.int32), indices, indptr),
                              shape=(sink + 1, sink + 1))
    return maximum_flow(graph, 0, sink, method="dinic")


def _matched_per_component(pair_pred: np.ndarray, pair_gt: np.ndarray, selected: np.ndarray, n_gt: int,
                           component: np.ndarray, n_components: int) -> np.ndarray:
    """Maximum matching size within each connected component of the pair graph, (n_components,)."""
    out = np.zeros(n_components, np.int64)
    result = _flow(pair_pred, pair_gt, selected, component.size, n_gt)
    if result is not None:
        flow = result.flow.tocsr()
        into = flow.indices[flow.indptr[0]:flow.indptr[1]] - 1  # source -> predicted pixel edges
        used = flow.data[flow.indptr[0]:flow.indptr[1]] > 0
        out += np.bincount(component[into[used]], minlength=n_components)
    return out


def _pair_components(pair_pred: np.ndarray, pair_gt: np.ndarray, n_pred: int, n_gt: int) -> tuple[np.ndarray, int]:
    """Connected component of each predicted pixel in the graph of all pairs, and their number."""
    graph = sparse.coo_matrix((np.ones(pair_pred.size, np.int8), (pair_pred, n_pred + pair_gt)),
                              shape=(n_pred + n_gt,) * 2)
    n, labels = connected_components(graph, directed=False)
    return labels[:n_pred], n


def _distinct_maps(edge_map: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each threshold, the index of the first threshold whose ``edge_map >= t`` is the same map.

    The maps are nested (a higher threshold keeps a subset), so two thresholds with the same
    number of pixels above them give identical maps; quantised maps have few distinct levels.
    """
    order = np.argsort(thresholds)
    values = edge_map[~np.isnan(edge_map)]
    # Per value, how many sorted thresholds it reaches; pixels above the i-th = tail sum.
    reached = np.bincount(np.searchsorted(thresholds[order], values, side="right"), minlength=order.size + 1)
    above = np.cumsum(reached[::-1])[::-1][1:]
    first = np.empty(len(thresholds), dtype=np.int64)
    for rank, k in enumerate(order):
        same = rank > 0 and above[rank] == above[rank - 1]
        first[k] = first[order[rank - 1]] if same else k
    return first


def match_counts(edge_map: np.ndarray, gt: np.ndarray, thresholds: np.ndarray,
                 max_dist: float, jobs: int = 1) -> np.ndarray:
    """Per-threshold counts ``[cnt_R, sum_R, cnt_P, sum_P]``, shape (T, 4), for one image.

    ``edge_map`` (after NMS) is thresholded with ``>=``, thinned, and matched one-to-one
    to ``gt`` within ``max_dist`` pixels. Each distinct thresholded map is thinned and matched
    once; with ``jobs`` > 1 the distinct maps are shared out among that many worker processes
    (each map's counts are independent of the others', so the result is the same).
    """
    gt = np.asarray(gt, dtype=bool)
    counts = np.zeros((len(thresholds), 4), dtype=np.int64)
    counts[:, 1] = int(gt.sum())
    first = _distinct_maps(edge_map, thresholds)
    levels = np.unique(first)
    if jobs > 1 and levels.size > 1:
        # interleaved, so that every worker gets some of the large low-threshold maps
        chunks = [levels[i::jobs] for i in range(min(jobs, levels.size))]
        parts = list(_workers(jobs).map(_level_counts, *zip(*[(edge_map, gt, thresholds[c], max_dist)
                                                              for c in chunks])))
    else:
        chunks, parts = [levels], [_level_counts(edge_map, gt, thresholds[levels], max_dist)]
    for chunk, part in zip(chunks, parts):
        for k, (matched, n_pred) in zip(chunk, part):
            counts[first == k, 0] = counts[first == k, 2] = matched
            counts[first == k, 3] = n_pred
    return counts


_pool: tuple[int, ProcessPoolExecutor] | None = None  # (jobs, pool): the process's one worker pool
_pool_lock = threading.Lock()


def _workers(jobs: int) -> ProcessPoolExecutor:
    """The process's one pool of ``jobs`` workers, reused while the count stays.

    Another count replaces it and shuts the old one down, so its workers do not sit idle until
    exit. Spawned, because the caller may hold torch's OpenMP threads.
    """
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != jobs:
            if _pool is not None:
                _pool[1].shutdown(wait=False, cancel_futures=True)
            _pool = (jobs, ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")))
        return _pool[1]


def _level_counts(edge_map: np.ndarray, gt: np.ndarray, levels: np.ndarray,
                  max_dist: float) -> list[tuple[int, int]]:
    """(matched pixels, predicted pixels) of the thinned map ``edge_map >= t`` for each t in ``levels``.

    Only pixels that survive some thinning are paired with GT pixels. A maximum matching is the
    sum of those of the pair graph's connected components, and from one level to the next most
    components keep their selected pairs: only the components whose selection changed are
    matched again.
    """
    n_gt = int(gt.sum())
    thinned = thin_levels(edge_map, levels)
    union = np.unique(np.concatenate([np.empty(0, np.int64), *thinned]))
    pair_pred, pair_gt = _candidate_pairs(*np.unravel_index(union, gt.shape), gt, max_dist)
    pair_pixel = union[pair_pred]
    # Only candidates with a GT pixel in reach can ever match: renumber those compactly.
    reachable, pair_pred = np.unique(pair_pred, return_inverse=True)
    component, n_components = _pair_components(pair_pred, pair_gt, reachable.size, n_gt)
    pair_component = component[pair_pred]
    matched = np.zeros(n_components, np.int64)
    previous = np.zeros(pair_pred.size, dtype=bool)
    predicted = np.zeros(gt.size, dtype=bool)
    out = []
    for pixels in thinned:
        predicted[pixels] = True
        selected = predicted[pair_pixel]
        predicted[pixels] = False
        changed = np.zeros(n_components, dtype=bool)
        changed[pair_component[selected != previous]] = True
        if changed.any():
            redo = _matched_per_component(pair_pred, pair_gt, selected & changed[pair_component], n_gt,
                                          component, n_components)
            matched[changed] = redo[changed]
        previous = selected
        out.append((int(matched.sum()), pixels.size))
    return out


def _prf(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recall, precision, F from ``[..., cnt_R, sum_R, cnt_P, sum_P]`` (0 where undefined)."""
    eps = np.finfo(np.float64).eps
    recall = counts[..., 0] / np.maximum(eps, counts[..., 1])
    precision = counts[..., 2] / np.maximum(eps, counts[..., 3])
    f = 2 * precision * recall / np.maximum(eps, precision + recall)
    return recall, precision, f


def _best_f_interpolated(thresholds, recall, precision) -> tuple[float, float, float, float]:
    """Best (F, P, R, threshold), also searching 100 linear steps between adjacent thresholds (BSDS)."""
    if len(thresholds) == 1:
        f = 2 * precision[0] * recall[0] / max(1e-12, precision[0] + recall[0])
        return float(f), float(precision[0]), float(recall[0]), float(thresholds[0])
    a = np.linspace(0, 1, 100)[None, :]
    mix = lambda v: v[1:, None] * a + v[:-1, None] * (1 - a)  # noqa: E731
    r, p, t = mix(recall), mix(precision), mix(thresholds)
    f = 2 * p * r / np.maximum(1e-12, p + r)
    i = np.unravel_index(np.argmax(f), f.shape)
    return float(f[i]), float(p[i]), float(r[i]), float(t[i])


def _unique_recall(recall: np.ndarray, precision: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r_unique = np.unique(recall)
    return r_unique, np.array([precision[recall == r].max() for r in r_unique])


def _average_precision(recall: np.ndarray, precision: np.ndarray,
                       has_prediction: np.ndarray) -> tuple[float, float]:
    """(ap, ap_bsds): precision interpolated at recall 0, 0.01, ..., 1.

    ``ap_bsds`` copies BSDS: thresholds with no predicted pixel count as precision 0, zero
    outside the curve's recall range, sum / 100, 0 if the curve has a single recall.
    ``ap`` drops thresholds with no prediction (precision undefined), holds the precision of
    the lowest-recall point down to recall 0 and takes the mean of the 101 samples, so a
    perfect detector scores exactly 1.
    """
    grid = np.linspace(0, 1, 101)
    ap = 0.0
    if has_prediction.any():
        r_def, p_def = _unique_recall(recall[has_prediction], precision[has_prediction])
        ap = float(np.interp(grid, r_def, p_def, left=p_def[0], right=0.0).mean())
    r_unique, p_unique = _unique_recall(recall, precision)
    if r_unique.size < 2:
        return ap, 0.0
    inside = (grid >= r_unique[0]) & (grid <= r_unique[-1])
    ap_bsds = float(np.interp(grid[inside], r_unique, p_unique).sum() / 100)
    return ap, ap_bsds


class BoundaryEvaluator:
    """Accumulate per-image BSDS counts; ``result()`` gives ODS / OIS / AP over all images.

    Parameters
    ----------
    n_thresholds : thresholds linspace(1/(n+1), n/(n+1), n); 99 gives 0.01 .. 0.99.
    max_dist_ratio : match tolerance as a fraction of the image diagonal (0.0075: OB default).
    nms : apply ``boundary_nms`` to each probability map first (protocol: yes).
    quantize : round the NMS output to k/255, as the protocol's 8-bit PNG round trip does.
    jobs : worker processes that share each image's thresholds (``match_counts``); 1: none.

    """

    def __init__(self, n_thresholds: int = 99, max_dist_ratio: float = 0.0075,
                 nms: bool = True, quantize: bool = True, jobs: int = 1) -> None:
        if n_thresholds < 1 or max_dist_ratio <= 0:
            raise ValueError("BoundaryEvaluator needs n_thresholds >= 1 and max_dist_ratio > 0")
        self.thresholds = np.linspace(1, n_thresholds, n_thresholds) / (n_thresholds + 1)
        self.max_dist_ratio = max_dist_ratio
        self.nms, self.quantize, self.jobs = nms, quantize, max(1, jobs)
        self._counts: list[np.ndarray] = []

    def add(self, prob: np.ndarray, gt: np.ndarray) -> dict[str, float]:
        """Score one image: ``prob`` (H, W) in [0, 1] (NaN = 0), ``gt`` (H, W) bool boundary mask.

        Returns this image's best F over thresholds and that threshold.
        """
        prob, gt = np.asarray(prob, dtype=np.float64), np.asarray(gt).astype(bool)
        if prob.ndim != 2 or prob.shape != gt.shape:
            raise ValueError(f"boundary prob {prob.shape} and gt {gt.shape} must be equal 2-D "
                             "shapes; resize prob to the GT size (bilinear) first")
        prob = np.nan_to_num(prob, nan=0.0)
        if prob.min() < -1e-6 or prob.max() > 1 + 1e-6:
            raise ValueError(f"boundary prob must lie in [0, 1], got [{prob.min():.3g}, "
                             f"{prob.max():.3g}]; pass sigmoid(logits), not logits")
        edge_map = boundary_nms(prob) if self.nms else prob
        if self.quantize:
            edge_map = np.round(edge_map * 255) / 255
        max_dist = self.max_dist_ratio * float(np.hypot(*gt.shape))
        counts = match_counts(edge_map, gt, self.thresholds, max_dist, self.jobs)
        self._counts.append(counts)
        f = _prf(counts)[2]
        return {"best_f": float(f.max()), "best_threshold": float(self.thresholds[f.argmax()])}

    @property
    def n_images(self) -> int:
        """Number of images added so far."""
        return len(self._counts)

    def ods_of(self, images: np.ndarray) -> float:
        """ODS F of the added images at these indices (repeats count again: a bootstrap resample)."""
        recall, precision, _ = _prf(np.stack(self._counts)[np.asarray(images)].sum(axis=0))
        return _best_f_interpolated(self.thresholds, recall, precision)[0]

    def result(self) -> dict:
        """ODS / OIS / AP and the dataset PR curve (``thresholds``, ``precision``, ``recall``, ``f``)."""
        if not self._counts:
            raise ValueError("BoundaryEvaluator.result() called before any add()")
        stacked = np.stack(self._counts)  # (N, T, 4)
        recall, precision, f = _prf(stacked.sum(axis=0))
        ods_f, ods_p, ods_r, ods_t = _best_f_interpolated(self.thresholds, recall, precision)
        per_image_f = _prf(stacked)[2]
        best = per_image_f.argmax(axis=1)
        ois_r, ois_p, ois_f = _prf(stacked[np.arange(len(best)), best].sum(axis=0))
        ap, ap_bsds = _average_precision(recall, precision, stacked[..., 3].sum(axis=0) > 0)
        return {"ods_f": ods_f, "ods_p": ods_p, "ods_r": ods_r, "ods_threshold": ods_t,
                "ois_f": float(ois_f), "ois_p": float(ois_p), "ois_r": float(ois_r),
                "ap": ap, "ap_bsds": ap_bsds, "n_images": self.n_images,
                "thresholds": self.thresholds.copy(), "precision": precision, "recall": recall,
                "f": f, "image_best_f": per_image_f.max(axis=1)}
