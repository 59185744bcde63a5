"""Metric scale from sparse ranges and a known camera height (``modot_ros.scale``), without ROS."""
from __future__ import annotations

import math

import numpy as np
import pytest

from modot_ros.geometry import CameraIntrinsics
from modot_ros.scale import (FitOptions, ScaleFit, ScaleTracker, extrinsic_from_text, fit_camera_height,
                             fit_points, fit_sparse_depth, ground_truth_samples, laser_scan_from_depth,
                             laser_scan_samples,
                             range_beam, scaled_prediction, up_from_pitch)
from modot_ros.scale.samples import parse_sample_kind

INTR = CameraIntrinsics(fx=160.0, fy=160.0, cx=79.5, cy=59.5, width=160, height=120)


def _room(seed: int = 0) -> np.ndarray:
    """A GT depth map with spread: a slanted floor-to-wall ramp plus boxes, 1..6 m."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(1.0, 0.0, INTR.height)[:, None]
    depth = np.broadcast_to(1.2 + 4.5 * rows ** 2, (INTR.height, INTR.width)).copy()
    for _ in range(4):
        y, x = rng.integers(10, 100), rng.integers(10, 140)
        depth[y:y + 20, x:x + 20] = rng.uniform(1.0, 3.0)
    return depth.astype(np.float32)


@pytest.mark.parametrize("error", [0.5, 0.8, 1.9])
@pytest.mark.parametrize("spec", ["points:50", "lidar_row", "points:500"])
def test_injected_scale_errors_are_recovered_from_noisy_sparse_ranges(error, spec):
    """A prediction off by a constant factor gets it back within 2 % from 2 %-noise samples."""
    gt = _room()
    u, v, z = ground_truth_samples(gt, INTR, spec, noise=0.02, seed=1)
    fit = fit_points(gt / error, u, v, z)
    assert fit.trusted, fit.reason
    assert abs(fit.scale / error - 1) < 0.02
    assert fit.residual < 0.05 and fit.inliers >= 0.8 * fit.samples


def test_gross_outliers_do_not_move_the_scale():
    """A third of the ranges wrong by 2-5x (reflections, a misregistered sensor) is ignored."""
    gt = _room()
    u, v, z = ground_truth_samples(gt, INTR, "points:300", noise=0.02, seed=2)
    z = z.copy()
    z[::3] *= np.random.default_rng(0).uniform(2, 5, z[::3].size)
    fit = fit_points(gt / 1.4, u, v, z)
    assert fit.trusted and abs(fit.scale / 1.4 - 1) < 0.03
    assert fit.inliers < 0.75 * fit.samples


def test_samples_on_occlusion_boundaries_and_low_confidence_are_left_out():
    """Ranges on (or near) our OB map or where confidence is low never enter the fit."""
    gt = _room()
    boundary = np.zeros_like(gt)
    boundary[:, 60] = 1.0
    u = np.full(30, 62.0)  # within the 3 px margin of the boundary column
    v = np.linspace(10, 110, 30)
    fit = fit_points(gt, u, v, gt[v.astype(int), 62] * 3, boundary=boundary)
    assert not fit.trusted and "no usable samples" in fit.reason
    confidence = np.ones_like(gt)
    confidence[:, :80] = 0.05
    u, v, z = ground_truth_samples(gt, INTR, "points:400", noise=0.0, seed=3)
    z = np.where(u < 80, z * 3, z)  # wrong only where the model is unsure
    fit = fit_points(gt, u, v, z, confidence=confidence, options=FitOptions(inlier_log=0.05))
    assert fit.trusted and abs(fit.scale - 1) < 1e-3 and fit.samples <= int((u >= 79.5).sum())


def test_too_few_samples_or_a_wide_residual_are_not_trusted():
    """One beam is trusted only when asked for (min_inliers 1); scattered ranges fail the residual."""
    gt = _room()
    u, v, z = ground_truth_samples(gt, INTR, "beam", noise=0.0)
    assert not fit_points(gt, u, v, z).trusted
    single = fit_points(gt / 2, u, v, z, options=FitOptions(min_inliers=1))
    assert single.trusted and abs(single.scale - 2) < 1e-3
    u, v, z = ground_truth_samples(gt, INTR, "points:200", noise=0.0, seed=4)
    scattered = fit_points(gt, u, v, z * np.exp(np.random.default_rng(0).uniform(-1.5, 1.5, z.size)))
    assert not scattered.trusted and "inlier share" in scattered.reason


def test_scale_and_shift_in_inverse_depth():
    """``shift``: a prediction off by an affine map of inverse depth is undone exactly."""
    gt = _room()
    a, b = 0.7, 0.15  # 1/gt = a / pred + b
    pred = a / (1 / gt - b)
    u, v, z = ground_truth_samples(gt, INTR, "points:300", noise=0.0, seed=5)
    fit = fit_points(pred, u, v, z, options=FitOptions(shift=True))
    assert fit.trusted and abs(1 / fit.scale - a) < 1e-3 and abs(fit.shift - b) < 1e-3
    assert np.nanmax(np.abs(fit.apply(pred) / gt - 1)) < 1e-3


def test_a_sparse_depth_image_of_another_resolution_maps_onto_the_prediction():
    """A quarter-resolution registered depth image (NaN and 0 holes) fits the full-size prediction."""
    gt = _room()
    small = gt[2::4, 2::4].copy()  # a 4x downscale: its pixel j is centred at 4j + 1.5 here
    small[::2] = np.nan
    small[:, ::3] = 0
    fit = fit_sparse_depth(gt / 0.6, small, INTR)
    assert fit.trusted and abs(fit.scale / 0.6 - 1) < 1e-3


def _floor(height: float, pitch_deg: float, intr: CameraIntrinsics = INTR) -> np.ndarray:
    """Planar depth of a flat floor ``height`` below a camera pitched down ``pitch_deg``; a wall at 8 m."""
    pitch = math.radians(pitch_deg)
    y = (np.arange(intr.height)[:, None] - intr.cy) / intr.fy + np.zeros((1, intr.width))
    with np.errstate(divide="ignore"):
        floor = height / (y * math.cos(pitch) + math.sin(pitch))
    return np.where((floor > 0) & (floor < 8.0), floor, 8.0).astype(np.float32)


@pytest.mark.parametrize("height, pitch", [(0.3, 0.0), (1.2, 0.0), (0.8, 20.0)])
def test_a_known_camera_height_gives_the_scale(height, pitch):
    """Depth 1.6x too far over a floor: camera height (and the pitch prior) give 1/1.6 back."""
    fit = fit_camera_height(_floor(height, pitch) * 1.6, INTR, height, up=up_from_pitch(pitch))
    assert fit.trusted, fit.reason
    assert abs(fit.scale * 1.6 - 1) < 0.01
    assert abs(fit.extra["ground_height_m"] / (1.6 * height) - 1) < 0.01


def test_the_ground_must_agree_with_the_pitch_prior_and_be_visible():
    """A steeply pitched floor is refused under a level prior; a wall filling the view has no floor."""
    assert not fit_camera_height(_floor(0.8, 40.0), INTR, 0.8, max_tilt_deg=20.0).trusted
    assert fit_camera_height(_floor(0.8, 40.0), INTR, 0.8, up=up_from_pitch(40.0),
                             max_tilt_deg=20.0).trusted
    wall = fit_camera_height(np.full((120, 160), 2.0, np.float32), INTR, 0.8)
    assert not wall.trusted and "no ground plane" in wall.reason
    assert not fit_camera_height(_floor(0.8, 0.0), INTR, 0.0).trusted


def test_engine_frames_with_known_heights():
    """On rendered engine frames the exact depth divided by 1.7 gives a scale of 1.7 (within 5 %)."""
    from training.data.synth.api import render_seeds

    out = render_seeds([2_000_010, 2_000_016], 48, 64, noise=False)
    for i in range(2):
        intr = CameraIntrinsics.from_matrix(out["K"][i].numpy(), 64, 48)
        depth = out["depth"][i, 0].numpy()
        up = out["pose"][i, :3, :3].double().numpy().T @ np.array([0.0, 0.0, 1.0])  # world z is up
        fit = fit_camera_height(depth / 1.7, intr, float(out["pose"][i, 2, 3]), up=tuple(up))
        assert fit.trusted and abs(fit.scale / 1.7 - 1) < 0.05, fit


def test_tracker_smooths_rejects_outliers_holds_and_falls_back():
    """Smoothing shrinks jitter; a jump is ignored once, followed when it lasts; silence holds, then not."""
    rng = np.random.default_rng(0)
    noisy = [ScaleFit(float(np.exp(0.1 * rng.standard_normal())), trusted=True) for _ in range(200)]
    raw = [math.log(f.scale) for f in noisy]
    tracker = ScaleTracker(smoothing=0.2, outlier_log=0.5)
    smooth = [math.log(tracker.update(f, t * 0.1).scale) for t, f in enumerate(noisy)]
    assert np.std(smooth[20:]) < 0.5 * np.std(raw[20:])
    tracker = ScaleTracker(smoothing=1.0, outlier_log=0.3, max_outliers=3, hold_s=1.0)
    assert tracker.update(ScaleFit(2.0, trusted=True), 0.0).mode == "fit"
    jump = tracker.update(ScaleFit(5.0, trusted=True), 0.1)
    assert jump.mode == "outlier" and jump.scale == pytest.approx(2.0)
    assert tracker.update(ScaleFit(5.0, trusted=True), 0.2).mode == "outlier"
    assert tracker.update(ScaleFit(5.0, trusted=True), 0.3).scale == pytest.approx(5.0)
    held = tracker.update(ScaleFit(reason="silent"), 1.2)
    assert held.mode == "held" and held.scale == pytest.approx(5.0) and held.age_s == pytest.approx(0.9)
    assert tracker.update(None, 1.5).mode == "model" and tracker.update(None, 1.5).scale == 1.0


def test_scaled_prediction_keeps_depth_and_mixture_consistent():
    """Depths, inverse-depth mixture parameters and sigma follow the scale; poor frames lose confidence."""
    from modot_ros.inference import Prediction
    from modot_ros.scale import ScaleState

    mu = np.full((2, 4, 4), 0.5, np.float32)
    params = np.concatenate([mu, np.full((2, 4, 4), 0.05, np.float32), np.full((1, 4, 4), 0.7, np.float32)])
    pred = Prediction(depth=np.full((4, 4), 2.0, np.float32), depth_mean=np.full((4, 4), 2.0, np.float32),
                      boundary=None, confidence=np.ones((4, 4), np.float32), ambiguity=None,
                      sigma=np.full((4, 4), 0.2, np.float32), params=params, intrinsics=INTR)
    out = scaled_prediction(pred, ScaleState(1.5, 0.0, "fit", 0.0, None))
    assert np.allclose(out.depth, 3.0) and np.allclose(1 / out.params[0], 3.0) and np.allclose(out.sigma, 0.3)
    assert np.allclose(out.confidence, 1.0) and np.allclose(out.params[4], 0.7)
    held = scaled_prediction(pred, ScaleState(1.5, 0.0, "held", 0.5, None), poor_confidence=0.4)
    assert np.allclose(held.confidence, 0.4)


def test_a_laser_scan_projects_into_the_image_row_of_its_plane():
    """A lidar at the optical centre scanning a wall 2 m ahead lands on row cy with z = 2."""
    angles = np.linspace(-0.6, 0.6, 121)
    ranges = 2.0 / np.cos(angles)
    ranges[60] = np.inf  # REP 117: no return
    T = extrinsic_from_text("0 0 0 0 0 0")
    u, v, z = laser_scan_samples(ranges, -0.6, 0.01, 0.1, 10.0, T, INTR)
    assert u.size == np.sum(np.abs(np.tan(angles)) * 160 < 80) - 1  # in view, less the no-return
    assert np.allclose(v, INTR.cy) and np.allclose(z, 2.0)
    assert np.all(np.diff(u) < 0)  # +angle is to the left (body y), so u decreases
    lowered = laser_scan_samples(ranges, -0.6, 0.01, 0.1, 10.0, extrinsic_from_text("0 0 -0.2 0 0 0"), INTR)
    assert np.allclose(lowered[1], INTR.cy + 160 * 0.2 / 2.0)


def test_a_scan_read_off_the_depth_projects_back_onto_that_depth():
    """The synthetic recordings' lidar: its ranges, projected as the node projects a scan, are the GT row."""
    depth, row = _room(), round(INTR.cy)  # the row through the principal point
    depth[row, 10:20] = np.nan  # no GT there: no return
    angle_min, ranges = laser_scan_from_depth(depth, INTR, math.radians(0.5), noise=0.0)
    assert np.isinf(ranges).sum() > 0 and np.all(np.isfinite(ranges) | np.isinf(ranges))
    u, v, z = laser_scan_samples(ranges, angle_min, math.radians(0.5), 0.05, 40.0, extrinsic_from_text("0 0 0 0 0 0"),
                                 INTR)
    assert u.size > 90 and np.allclose(v, INTR.cy)
    assert np.allclose(z, depth[row, np.rint(u).astype(int)], rtol=1e-5)
    noisy = laser_scan_from_depth(depth, INTR, math.radians(0.5), noise=0.02, rng=np.random.default_rng(1))[1]
    finite = np.isfinite(ranges)
    assert 0.01 < np.std(noisy[finite] / ranges[finite] - 1) < 0.03


@pytest.mark.parametrize("text", ["0 0 0 0 0", "a b c d e f", "0 0 0 0 0 nan"])
def test_bad_extrinsics_are_refused_with_the_expected_form(text):
    with pytest.raises(ValueError, match="six numbers"):
        extrinsic_from_text(text)


def test_a_range_beam_gives_planar_depth_along_its_ray():
    """A centre beam's range is the depth; off-centre the planar depth is shorter than the range."""
    beam = range_beam(3.0, 0.0, 0.5, 0.5, np.zeros(3), INTR)
    assert (beam.u, beam.v, beam.z, beam.radius_u) == pytest.approx((79.5, 59.5, 3.0, 0.0))
    assert range_beam(3.0, 0.0, 1.0, 0.5, np.zeros(3), INTR).z == pytest.approx(3.0 / math.hypot(1.0, 80 / 160))


@pytest.mark.parametrize("spec, expected", [("beam", ("beam", 1)), ("lidar_row", ("lidar_row", 1)),
                                            ("points:50", ("points", 50))])
def test_sample_kinds_parse(spec, expected):
    assert parse_sample_kind(spec) == expected


@pytest.mark.parametrize("spec", ["points", "points:0", "rows"])
def test_bad_sample_kinds_name_the_allowed_forms(spec):
    with pytest.raises(ValueError, match="allowed: beam, lidar_row, points:N"):
        parse_sample_kind(spec)
