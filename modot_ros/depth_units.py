"""Depth units and invalid values, in one place (REP 117 / REP 118).

* 32FC1: metres; NaN = no measurement, +Inf = beyond range, -Inf = too close (REP 117).
* 16UC1 (and mono16): millimetres; 0 = invalid (REP 118 / depth_image_proc). The largest
  representable depth is 65.535 m; anything beyond cannot be encoded and becomes 0.
"""
from __future__ import annotations

import numpy as np

MILLIMETRES_PER_METRE = 1000.0
MAX_MILLIMETRE_DEPTH_M = np.iinfo(np.uint16).max / MILLIMETRES_PER_METRE


def metres_to_millimetres(depth_m: np.ndarray) -> np.ndarray:
    """float metres (NaN/Inf/<=0 invalid) -> uint16 millimetres with 0 for invalid or unencodable."""
    depth_m = np.asarray(depth_m, dtype=np.float32)
    millimetres = np.rint(depth_m * MILLIMETRES_PER_METRE)
    encodable = np.isfinite(millimetres) & (millimetres >= 1) & (millimetres <= np.iinfo(np.uint16).max)
    return np.where(encodable, millimetres, 0).astype(np.uint16)


def millimetres_to_metres(depth_mm: np.ndarray) -> np.ndarray:
    """uint16 millimetres (0 invalid) -> float32 metres with NaN for invalid."""
    depth_mm = np.asarray(depth_mm)
    if depth_mm.dtype.kind not in "ui":
        raise TypeError(f"millimetre depth must be an integer array, got dtype {depth_mm.dtype}")
    metres = depth_mm.astype(np.float32) / np.float32(MILLIMETRES_PER_METRE)
    metres[depth_mm == 0] = np.nan
    return metres


def invalidate_out_of_range(depth_m: np.ndarray, min_depth: float, max_depth: float) -> np.ndarray:
    """Copy of ``depth_m`` with values outside [min_depth, max_depth] (and non-finite ones) set to NaN."""
    depth_m = np.array(depth_m, dtype=np.float32, copy=True)
    with np.errstate(invalid="ignore"):
        depth_m[~((depth_m >= min_depth) & (depth_m <= max_depth))] = np.nan
    return depth_m


def valid_depth_mask(depth_m: np.ndarray) -> np.ndarray:
    """True where a metric depth is a usable measurement (finite and positive).

    Written with comparisons only (NaN compares False), so numpy arrays and torch tensors alike
    get a boolean mask of their own kind.
    """
    with np.errstate(invalid="ignore"):
        return (depth_m > 0) & (depth_m < float("inf"))
