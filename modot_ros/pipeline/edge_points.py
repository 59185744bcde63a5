"""Edge-aware depth for point clouds: which pixels are "edge" and what depth their points get.

A pixel is an *edge* pixel when the mixture is ambiguous there, ``1 - max_k w_k >=
ambiguity_threshold``, or the occlusion-boundary probability is ``>= occlusion_threshold``.
At edge pixels the cloud uses, per ``edge_points``:

* ``keep``: the read-out depth (dominant mode or weighted mean, per ``edge_mode``);
* ``drop``: no point (NaN);
* ``snap``: the mean of the mixture component whose depth is closest (in log depth) to the median
  depth of the pixel's non-edge neighbours in a ``snap_window`` square, so the point lands on the
  nearer or the farther surface, never in between. Without a mixture (regression head) there is
  nothing to snap to and edge points are dropped.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EDGE_POINTS = ("keep", "drop", "snap")


def edge_mask(ambiguity: np.ndarray | None, boundary: np.ndarray | None,
              ambiguity_threshold: float, occlusion_threshold: float) -> np.ndarray:
    """(H, W) bool: mixture ambiguity or occlusion-boundary probability at/above its threshold."""
    if ambiguity is None and boundary is None:
        raise ValueError("edge_mask needs an ambiguity or a boundary map")
    shape = (ambiguity if ambiguity is not None else boundary).shape
    edges = np.zeros(shape, bool)
    with np.errstate(invalid="ignore"):  # NaN compares False: no edge
        if ambiguity is not None:
            edges |= ambiguity >= ambiguity_threshold
        if boundary is not None:
            edges |= boundary >= occlusion_threshold
    return edges


def component_depths(params: np.ndarray) -> np.ndarray:
    """(2, H, W) metres of the two components from metric inverse-depth params (C=5)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1.0 / params[0:2]).astype(np.float32)


def neighbourhood_median(depth: np.ndarray, edges: np.ndarray, window: int) -> np.ndarray:
    """Median depth of the non-edge, valid pixels around every *edge* pixel (NaN elsewhere).

    Falls back to all valid neighbours where the window holds no non-edge pixel (thick edges).
    """
    if window < 3 or window % 2 == 0:
        raise ValueError(f"snap_window must be an odd number >= 3, got {window}")
    median = np.full(depth.shape, np.nan, np.float32)
    rows, cols = np.nonzero(edges)
    if rows.size == 0:
        return median
    pad = window // 2
    surface = np.where(edges, np.nan, depth).astype(np.float32)
    # only the edge pixels' windows are gathered: a few percent of the image
    values = _nan_median(_windows(surface, rows, cols, pad))
    empty = np.isnan(values)
    if empty.any():  # thick edge: fall back to every valid neighbour
        values[empty] = _nan_median(_windows(depth.astype(np.float32), rows[empty], cols[empty], pad))
    median[rows, cols] = values
    return median


def _windows(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, pad: int) -> np.ndarray:
    """(N, (2 pad + 1)^2) values around the given pixels, NaN outside the image."""
    padded = np.pad(image, pad, constant_values=np.nan)
    size = 2 * pad + 1
    return sliding_window_view(padded, (size, size))[rows, cols].reshape(rows.size, -1)


def _nan_median(values: np.ndarray) -> np.ndarray:
    """Row-wise median ignoring NaN (NaN for all-NaN rows); much faster than np.nanmedian."""
    ordered = np.sort(values, axis=1)  # NaN sort last
    count = np.isfinite(ordered).sum(axis=1)
    index = np.arange(len(ordered))
    low = ordered[index, np.maximum(count - 1, 0) // 2]
    high = ordered[index, np.minimum(count // 2, values.shape[1] - 1)]
    median = np.where(count % 2 == 1, low, 0.5 * (low + high))
    return np.where(count > 0, median, np.nan).astype(np.float32)


def snap_depth(depth: np.ndarray, edges: np.ndarray, params: np.ndarray, window: int) -> np.ndarray:
    """Depth with edge pixels moved to the component mean nearest the neighbourhood median."""
    out = depth.astype(np.float32, copy=True)
    median = neighbourhood_median(depth, edges, window)
    comps = component_depths(params)
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.abs(np.log(comps / median[None]))
    distance = np.where(np.isfinite(distance), distance, np.inf)
    pick = np.where(distance[1] < distance[0], comps[1], comps[0])
    snapped = np.isfinite(median) & edges
    out[snapped] = pick[snapped]
    out[edges & ~snapped] = np.nan  # no valid neighbour at all: no reliable surface to snap to
    return out


def cloud_depth(depth: np.ndarray, edges: np.ndarray, edge_points: str,
                params: np.ndarray | None, window: int = 5) -> np.ndarray:
    """Depth to back-project for the cloud under the ``edge_points`` policy (see module doc)."""
    if edge_points not in EDGE_POINTS:
        raise ValueError(f"edge_points={edge_points!r}; allowed: {', '.join(EDGE_POINTS)}")
    if edge_points == "keep":
        return depth
    if edge_points == "snap" and params is not None and params.shape[0] == 5:
        return snap_depth(depth, edges, params, window)
    out = depth.astype(np.float32, copy=True)
    out[edges] = np.nan
    return out
