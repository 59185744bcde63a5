"""The flicker measure (``modot_ros.evaluation.flicker``): change of log depth on static surfaces."""
from __future__ import annotations

import numpy as np

from modot_ros.evaluation.flicker import FlickerMeter, cloud_churn, log_depth_change
from modot_ros.geometry import CameraIntrinsics, invert_rigid

INTR = CameraIntrinsics(fx=80.0, fy=80.0, cx=39.5, cy=29.5, width=80, height=60)


def _pose(x: float = 0.0, z: float = 0.0) -> np.ndarray:
    T = np.eye(4)
    T[0, 3], T[2, 3] = x, z
    return T


def _wall(pose: np.ndarray, distance: float = 3.0) -> np.ndarray:
    """Planar depth of the fronto-parallel wall Z = distance (world) from a translated camera."""
    return np.full((INTR.height, INTR.width), distance - pose[2, 3], np.float32)


def test_a_perfect_moving_prediction_does_not_flicker():
    """Depth that follows the true motion exactly scores 0, with or without GT."""
    meter = FlickerMeter()
    for i in range(4):
        pose = _pose(x=0.02 * i, z=0.05 * i)
        row = meter.add(_wall(pose), INTR, pose, _wall(pose))
    assert row["flicker"] < 1e-5 and row["flicker_med"] < 1e-5
    assert meter.summary()["flicker_pairs"] == 3
    prev, cur = _pose(), _pose(z=0.1)
    change = log_depth_change(_wall(prev), _wall(cur), INTR, invert_rigid(cur) @ prev)  # no GT: own warp
    assert np.nanmax(np.abs(change)) < 1e-5 and np.isfinite(change).mean() > 0.8


def test_alternating_noise_is_measured_and_a_steady_scale_error_is_not(rng):
    """Noise that changes frame to frame shows as flicker; a constant wrong scale does not."""
    noisy, scaled = FlickerMeter(), FlickerMeter()
    for i in range(6):
        pose = _pose(z=0.03 * i)
        gt = _wall(pose)
        noisy.add(gt * np.exp(rng.normal(0, 0.05, gt.shape)).astype(np.float32), INTR, pose, gt)
        scaled.add(gt * 1.3, INTR, pose, gt)
    assert 0.04 < noisy.summary()["flicker"] < 0.08  # E|N(0, 0.05 * sqrt 2)| = 0.056
    assert scaled.summary()["flicker"] < 1e-5


def test_per_frame_scale_jumps_count_as_flicker_but_not_after_median_scaling():
    """A depth map whose scale jumps each frame flickers in metric terms, not once median-scaled."""
    meter = FlickerMeter()
    for i in range(4):
        pose = _pose()
        meter.add(_wall(pose) * (1.1 if i % 2 else 0.9), INTR, pose, _wall(pose))
    summary = meter.summary()
    assert summary["flicker"] > 0.15 and summary["flicker_med"] < 1e-5


def test_a_cut_or_an_unknown_pose_starts_a_new_chain():
    """No pair is scored across an unknown pose or a jump bigger than a camera makes between frames."""
    meter = FlickerMeter()
    assert meter.add(_wall(_pose()), INTR, _pose()) == {}
    assert meter.add(_wall(_pose()), INTR, None) == {}
    assert meter.add(_wall(_pose()), INTR, _pose()) == {}
    assert meter.add(_wall(_pose(z=2.0)), INTR, _pose(z=2.0)) == {}
    assert meter.summary()["flicker_pairs"] == 0


def test_cloud_churn_zero_for_the_same_surface_and_high_for_a_shifted_one():
    """The same wall seen twice keeps its voxels; a wall that jumps 20 cm replaces them all."""
    wall = _wall(_pose())
    assert cloud_churn(wall, wall, INTR, np.eye(4)) == 0.0
    assert cloud_churn(wall, wall + 0.2, INTR, np.eye(4)) == 1.0
