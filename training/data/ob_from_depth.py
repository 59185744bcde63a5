"""Occlusion-boundary labels from a depth map, for datasets that have depth but no OB labels.

The synthetic engine labels the nearer pixel of every occluding pair (``synth/labels.py``). With
only a depth map the same idea reads: a pixel is an OB when it is the near side of a depth
discontinuity. Real depth adds two problems the rule must survive:

* **Holes.** Stereo and structured-light cameras leave invalid pixels exactly beside occluding
  edges (the occlusion shadow), so the far side of a true OB is often missing. Jumps are measured
  between valid pixels only, and every pixel within ``hole_margin`` of an invalid one is labelled
  *unknown* (NaN): the BCE ignores it instead of learning "no boundary here".
* **Noise.** Depth noise grows with range (about 1-2 % of z for RealSense/ZED at a few metres),
  so a jump must be both relative (``jump``: max/min over the 3x3 window > 1 + jump, 10 % as on
  the Middlebury proxy, well above the noise) and absolute (``min_jump_m``: quantisation and
  speckle at short range). Isolated edge specks (8-connected edge pieces smaller than
  ``min_component`` = 16 pixels: the 8- or 12-pixel ring around a 1-2 px depth dropout, or an
  object under ~4x4 px at the training size) are noise more often than objects; they become
  unknown too.

Labels: 1 = OB, 0 = no OB, NaN = unknown (ignored by ``losses.balanced_bce_loss``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from modot_ros.depth_units import valid_depth_mask
from modot_ros.evaluation.cloud_metrics import depth_discontinuities

EDGE_JUMP = 0.1


@dataclass(frozen=True)
class DepthEdgeRule:
    """Thresholds of ``boundary_from_depth`` (module docstring: why each one)."""

    jump: float = EDGE_JUMP
    min_jump_m: float = 0.05
    hole_margin: int = 2
    min_component: int = 16


def near_side_edges(depth: np.ndarray, jump: float = EDGE_JUMP, min_jump_m: float = 0.0) -> np.ndarray:
    """Pixels on the near side of a depth discontinuity (the occluding contour), bool (H, W).

    A pixel is on a discontinuity when its valid 3x3 window has max/min > 1 + ``jump`` and
    max - min > ``min_jump_m``; it is on the near side when it is closer to the window's minimum.
    """
    disc = depth_discontinuities(depth, jump)
    safe = np.where(valid_depth_mask(depth), depth, np.nan)
    hi = ndimage.maximum_filter(np.nan_to_num(safe, nan=-np.inf), size=3, mode="nearest")
    lo = ndimage.minimum_filter(np.nan_to_num(safe, nan=np.inf), size=3, mode="nearest")
    with np.errstate(invalid="ignore"):
        return disc & ((safe - lo) <= (hi - safe)) & (hi - lo > min_jump_m)


def boundary_from_depth(depth: np.ndarray, rule: DepthEdgeRule = DepthEdgeRule()) -> np.ndarray:
    """OB labels (H, W) float32 from metric depth (NaN/0 invalid): 1 OB, 0 none, NaN unknown."""
    edges = near_side_edges(depth, rule.jump, rule.min_jump_m)
    labels, count = ndimage.label(edges, structure=np.ones((3, 3), bool))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    specks = (sizes < rule.min_component)[labels] & edges
    invalid = ~valid_depth_mask(np.asarray(depth))
    near_hole = ndimage.binary_dilation(invalid, iterations=rule.hole_margin) if rule.hole_margin else invalid
    out = (edges & ~specks).astype(np.float32)
    out[near_hole | specks] = np.nan
    return out
