"""Mixture health: whether the two-component depth mixture acts at occlusion boundaries.

``params`` is ``Prediction.params``: (5, H, W) ``[mu_1, mu_2, sigma_1, sigma_2, w_1]`` in metric
inverse depth (1/m), see ``modot_ros.mixture``. Component 1 dominates where w_1 >= 0.5 (the
read-out's tie rule, ``mixture.dominant_index``).

* dominance: share of valid pixels where component 1 / component 2 dominates, over the whole
  frame and over the *OB band*, the GT OB pixels dilated by ``band`` px (5x5 window for 2 px).
* edge bimodality: share of OB-band pixels whose two component means, as depths 1/mu, are each
  within ``rel_tol`` of one of the two surfaces, either assignment: near = min and far = max of
  the GT depth in the 5x5 window. Only band pixels whose surfaces are told apart by the
  tolerance (far (1 - rel_tol) > near (1 + rel_tol)) count, and a component with weight below
  ``min_weight`` is no mode: otherwise a collapsed mixture would pass wherever near ~ far, or
  through the mean of a component it never uses.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from modot_ros.depth_units import valid_depth_mask


def ob_band(gt_boundary: np.ndarray, band: int = 2) -> np.ndarray:
    """GT OB pixels dilated by ``band`` px (square window): "within ``band`` px of a GT OB"."""
    return ndimage.binary_dilation(np.asarray(gt_boundary, bool), np.ones((2 * band + 1,) * 2, bool))


def _surfaces(gt: np.ndarray, band: int, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = 2 * band + 1
    near = ndimage.minimum_filter(np.where(ok, gt, np.inf), size=size, mode="nearest")
    far = ndimage.maximum_filter(np.where(ok, gt, -np.inf), size=size, mode="nearest")
    return near, far


def _within(depth: np.ndarray, surface: np.ndarray, rel_tol: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.abs(depth - surface) <= rel_tol * surface


def bimodal_mask(params: np.ndarray, gt: np.ndarray, gt_boundary: np.ndarray, band: int = 2,
                 rel_tol: float = 0.10, min_weight: float = 0.05,
                 gt_measured: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(scored, bimodal) (H, W) masks: the separable OB-band pixels and those that are bimodal.

    ``gt_measured``: ``valid_depth_mask(gt)`` when the caller has it (no depth limits).
    """
    params, gt = np.asarray(params, np.float64), np.asarray(gt, np.float64)
    ok = valid_depth_mask(gt) if gt_measured is None else gt_measured
    near, far = _surfaces(gt, band, ok)
    with np.errstate(invalid="ignore"):
        separable = far * (1 - rel_tol) > near * (1 + rel_tol)
    scored = ob_band(gt_boundary, band) & ok & np.isfinite(near) & separable
    with np.errstate(divide="ignore"):
        d1, d2 = 1.0 / params[0], 1.0 / params[1]
    w1 = params[4]
    both = (w1 >= min_weight) & (1.0 - w1 >= min_weight)
    matched = ((_within(d1, near, rel_tol) & _within(d2, far, rel_tol))
               | (_within(d2, near, rel_tol) & _within(d1, far, rel_tol)))
    return scored, scored & both & matched


def mixture_health(params: np.ndarray, gt: np.ndarray, gt_boundary: np.ndarray | None,
                   band: int = 2, rel_tol: float = 0.10, gt_measured: np.ndarray | None = None) -> dict[str, float]:
    """Dominance shares (overall / OB band) and edge bimodality of one frame (NaN where empty).

    Keys: ``dominant1``, ``dominant2``, ``dominant1_ob``, ``dominant2_ob``, ``bimodality``
    (fractions in [0, 1]). ``gt_measured``: ``valid_depth_mask(gt)`` when the caller has it.
    """
    params = np.asarray(params, np.float64)
    if params.ndim != 3 or params.shape[0] != 5:
        raise ValueError(f"mixture params must be (5, H, W), got {params.shape}")
    first = params[4] >= 0.5
    ok = valid_depth_mask(np.asarray(gt, np.float64)) if gt_measured is None else gt_measured
    out = {"dominant1": _share(first, ok), "dominant2": _share(~first, ok)}
    if gt_boundary is None:
        return out | {"dominant1_ob": np.nan, "dominant2_ob": np.nan, "bimodality": np.nan}
    near_ob = ob_band(gt_boundary, band) & ok
    scored, bimodal = bimodal_mask(params, gt, gt_boundary, band, rel_tol, gt_measured=ok)
    return out | {"dominant1_ob": _share(first, near_ob), "dominant2_ob": _share(~first, near_ob),
                  "bimodality": _share(bimodal, scored)}


def _share(mask: np.ndarray, within: np.ndarray) -> float:
    n = int(within.sum())
    return float((mask & within).sum() / n) if n else float("nan")
