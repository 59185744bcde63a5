"""A real photograph with metric ground truth: the Middlebury 2014 motorcycle in scikit-image.

scikit-image ships the left view of Middlebury's "Motorcycle" (4x down-sampled, 741x500) with its
ground-truth disparity and the calibration of the down-sampled pair (``skimage.data
.stereo_motorcycle``), so depth is metric: ``Z = f * B / (d + doffs)``. It is the one real image
here that the synthetic-trained network can be *scored* on, with its true intrinsics, by the same
``FrameScorer`` as the synthetic test split (``python -m training.evaluate --split middlebury``).

There are no occlusion-boundary labels: ``boundary`` is a proxy, the near side of every GT depth
discontinuity (``ob_from_depth.near_side_edges``: valid 3x3 max/min depth ratio > 1.1), which
is where an occluding contour lies.
OB scores on this frame therefore measure depth-edge recall, not labelled OBs.
"""
from __future__ import annotations

import numpy as np

from modot_ros.geometry import CameraIntrinsics
from training.data.ob_from_depth import near_side_edges

# Calibration of the down-sampled pair, from skimage.data.stereo_motorcycle's docstring.
FOCAL_PX, CX, CY, DOFFS_PX, BASELINE_M = 994.978, 311.193, 254.877, 31.086, 0.193001


def motorcycle_frame() -> dict:
    """The evaluation frame: rgb, metric depth (NaN invalid), the OB proxy, true intrinsics."""
    import skimage.data

    rgb, _, disparity = skimage.data.stereo_motorcycle()
    disparity = np.asarray(disparity, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = FOCAL_PX * BASELINE_M / (disparity + DOFFS_PX)
    depth = np.where(np.isfinite(disparity) & (disparity > 0), depth, np.nan).astype(np.float32)
    h, w = depth.shape
    intrinsics = CameraIntrinsics(fx=FOCAL_PX, fy=FOCAL_PX, cx=CX, cy=CY, width=w, height=h)
    return {"rgb": np.ascontiguousarray(rgb[..., :3]), "depth": depth,
            "boundary": near_side_edges(depth).astype(np.uint8), "intrinsics": intrinsics}
