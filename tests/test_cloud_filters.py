"""The filters users run against flying pixels, as baselines and optional post-filters."""
from __future__ import annotations

import numpy as np
import pytest

from modot_ros.geometry import CameraIntrinsics
from modot_ros.pipeline.cloud_filters import median_filter, radius_filter, statistical_filter, veiling_filter

H, W = 40, 60
INTR = CameraIntrinsics(50.0, 50.0, 29.5, 19.5, W, H)


def _step_with_spike() -> np.ndarray:
    """Near plane (1 m) left, far plane (3 m) right, one isolated spike at 2 m on the far plane."""
    depth = np.full((H, W), 1.0, np.float32)
    depth[:, 30:] = 3.0
    depth[20, 45] = 2.0
    depth[0, 0] = np.nan
    return depth


def test_veiling_filter_drops_both_sides_of_a_jump_and_keeps_flat_surfaces():
    """Pixels whose 3x3 window spans a depth jump go; the planes away from it stay."""
    out = veiling_filter(_step_with_spike(), 0.1)
    assert np.isnan(out[:, 29:31]).all() and np.isnan(out[19:22, 44:47]).all()
    assert np.isfinite(out[5:15, 2:27]).all() and np.isfinite(out[5:15, 33:42]).all()
    assert np.isfinite(veiling_filter(_step_with_spike(), 3.0)[1:]).all()  # a 3x jump is below t=3


def test_median_filter_removes_a_spike_and_keeps_invalid_pixels_invalid():
    out = median_filter(_step_with_spike(), 3)
    assert out[20, 45] == 3.0 and np.isnan(out[0, 0])
    with pytest.raises(ValueError, match="3 or 5"):
        median_filter(_step_with_spike(), 7)


@pytest.mark.parametrize("run", [lambda d: statistical_filter(d, INTR, 8, 1.0),
                                 lambda d: radius_filter(d, INTR, 4, 0.1)])
def test_open3d_outlier_filters_remove_the_isolated_point(run):
    """The spike floats alone between the planes: both open3d filters remove it, the planes stay."""
    out = run(_step_with_spike())
    assert np.isnan(out[20, 45]) and np.isnan(out[0, 0])
    assert np.isfinite(out[5:15, 5:25]).all() and np.isfinite(out[5:15, 35:55]).all()
    kept = np.isfinite(out)
    np.testing.assert_array_equal(out[kept], _step_with_spike()[kept])  # removal only, no moved points
