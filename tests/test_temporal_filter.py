"""Temporal depth fusion (``modot_ros.temporal``) on synthetic predictions, without ROS or weights."""
from __future__ import annotations

import numpy as np
import pytest

from modot_ros.geometry import CameraIntrinsics, backproject, forward_warp, invert_rigid
from modot_ros.inference import Prediction
from modot_ros.temporal.fusion import TemporalFilter, motion_problem
from modot_ros.temporal.settings import TemporalSettings

INTR = CameraIntrinsics(fx=100.0, fy=100.0, cx=47.5, cy=35.5, width=96, height=72)
SIGMA = 0.03  # the relative noise that really changes from frame to frame
# The shipped network's sigma is ~5x that (a bias that stays, mostly): the fake one claims as much
CLAIMED = 5 * SIGMA


def _prediction(depth: np.ndarray, rng: np.random.Generator | None = None, boundary: np.ndarray | None = None,
                sigma: float = CLAIMED) -> Prediction:
    """A prediction of ``depth`` with log-normal noise SIGMA (none without rng), claiming relative std ``sigma``."""
    noisy = depth * np.exp(rng.normal(0.0, SIGMA, depth.shape)) if rng is not None else depth.copy()
    noisy = noisy.astype(np.float32)
    params = np.stack([1 / noisy, 1 / noisy, sigma / noisy, sigma / noisy, np.ones_like(noisy)]).astype(np.float32)
    return Prediction(depth=noisy, depth_mean=noisy, boundary=boundary if boundary is not None else
                      np.zeros_like(noisy), confidence=np.full_like(noisy, np.exp(-sigma)),
                      ambiguity=np.zeros_like(noisy), sigma=(noisy * sigma).astype(np.float32), params=params,
                      intrinsics=INTR)


def _flicker(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.nanmean(np.abs(np.log(a) - np.log(b))))


def _translation(x: float = 0.0, z: float = 0.0) -> np.ndarray:
    T = np.eye(4)
    T[0, 3], T[2, 3] = x, z
    return T


def test_static_camera_converges_flicker_near_zero_and_error_not_worse(rng):
    """A still camera: the fused depth stops flickering and ends closer to the truth than one frame."""
    truth = np.full((INTR.height, INTR.width), 2.0, np.float32)
    filt = TemporalFilter(TemporalSettings(temporal_filter="static"))
    raw, fused = [], []
    for _ in range(40):
        pred = _prediction(truth, rng)
        raw.append(pred.depth)
        fused.append(filt.update(pred)[0].depth)
    raw_flicker = np.mean([_flicker(a, b) for a, b in zip(raw[20:], raw[21:])])
    fused_flicker = np.mean([_flicker(a, b) for a, b in zip(fused[20:], fused[21:])])
    assert fused_flicker < raw_flicker / 3
    assert np.abs(fused[-1] / truth - 1).mean() < 0.6 * np.abs(raw[-1] / truth - 1).mean()


def test_confidence_reports_the_fused_uncertainty(rng):
    """Fused pixels are more confident than a single frame; the sigma output shrinks with them."""
    truth = np.full((INTR.height, INTR.width), 3.0, np.float32)
    filt = TemporalFilter(TemporalSettings(temporal_filter="static"))
    for _ in range(10):
        out, step = filt.update(_prediction(truth, rng))
    single = _prediction(truth, rng)
    assert step.mode == "fused" and step.fused_fraction > 0.95
    assert np.median(out.confidence) > np.median(single.confidence)
    assert np.median(out.sigma / out.depth) < 0.6 * CLAIMED
    assert np.allclose(1.0 / out.params[0], out.depth, rtol=1e-5)  # the mixture follows the fused depth


def test_without_mixture_readers_the_parameters_are_dropped_not_left_stale(rng):
    """mixture=False (nothing reads them): a fused frame carries no parameters, rather than unfused ones."""
    truth = np.full((INTR.height, INTR.width), 2.0, np.float32)
    filt = TemporalFilter(TemporalSettings(temporal_filter="static"))
    filt.update(_prediction(truth, rng), mixture=False)
    out, step = filt.update(_prediction(truth, rng), mixture=False)
    assert step.mode == "fused" and out.params is None and out.depth is not None


def test_off_returns_the_prediction_untouched(rng):
    """temporal_filter off: the very same prediction comes back."""
    pred = _prediction(np.full((INTR.height, INTR.width), 2.0, np.float32), rng)
    out, step = TemporalFilter(TemporalSettings()).update(pred)
    assert out is pred and step.mode == "off"


@pytest.mark.parametrize("mode", ["static", "odometry"])
def test_new_object_appears_and_leaves_without_a_ghost(rng, mode):
    """A box that appears is in the very next output; when it goes, no trace of it stays."""
    background = np.full((INTR.height, INTR.width), 3.0, np.float32)
    scene = background.copy()
    scene[20:50, 30:60] = 1.0
    filt = TemporalFilter(TemporalSettings(temporal_filter=mode))
    still = np.eye(4)
    for frames, truth in ((10, background), (5, scene), (3, background)):
        for i in range(frames):
            out, _ = filt.update(_prediction(truth, rng), still)
            error = np.abs(out.depth / truth - 1)
            assert error[20:50, 30:60].max() < 5 * SIGMA, f"ghost at frame {i} after a change"


def test_a_thin_near_object_leaves_no_ghost(rng):
    """A pole 3 px wide, 10 % nearer than the wall (inside the gate): in place one frame later."""
    background = np.full((INTR.height, INTR.width), 3.0, np.float32)
    scene = background.copy()
    scene[:, 40:43] = 3.0 / 1.1
    filt = TemporalFilter(TemporalSettings(temporal_filter="static"))
    for frames, truth in ((15, background), (4, scene), (4, background)):
        for i in range(frames):
            out, _ = filt.update(_prediction(truth, rng, sigma=0.2))
            error = np.abs(out.depth / truth - 1)[:, 40:43]
            if i >= 1:
                assert np.median(error) < 0.03 and np.mean(error > 0.1) < 0.02, f"ghost at frame {i} after a change"


def _two_surfaces(near: float, far: float, weight_near: np.ndarray) -> Prediction:
    """A mixture prediction whose two components sit on a near and a far surface (an object's outline)."""
    shape = weight_near.shape
    mu_near, mu_far = np.full(shape, 1 / near, np.float32), np.full(shape, 1 / far, np.float32)
    params = np.stack([mu_near, mu_far, 0.1 * mu_near, 0.1 * mu_far, weight_near.astype(np.float32)])
    depth = np.where(weight_near >= 0.5, near, far).astype(np.float32)
    return Prediction(depth=depth, depth_mean=depth, boundary=np.zeros(shape, np.float32),
                      confidence=np.full(shape, 0.8, np.float32), ambiguity=np.minimum(weight_near, 1 - weight_near),
                      sigma=0.1 * depth, params=params, intrinsics=INTR)


def test_an_outline_whose_heavier_surface_flips_follows_the_prior():
    """An outline whose heavier mixture component flips between near and far stays on its surface.

    Where both components carry weight, the fused depth keeps the surface it had; a frame sure of
    the other surface is taken at once.
    """
    shape = (INTR.height, INTR.width)
    filt = TemporalFilter(TemporalSettings(temporal_filter="static"))
    filt.update(_two_surfaces(1.5, 3.0, np.full(shape, 0.6)))  # starts on the near surface
    for frame in range(10):
        weight = np.full(shape, 0.45 if frame % 2 == 0 else 0.55)  # the heavier component flips
        out, _ = filt.update(_two_surfaces(1.5, 3.0, weight))
        assert np.allclose(out.depth, 1.5, rtol=1e-4), f"flipped to the far surface at frame {frame}"
    out, _ = filt.update(_two_surfaces(1.5, 3.0, np.full(shape, 0.05)))  # sure of the far surface
    assert np.allclose(out.depth, 3.0, rtol=1e-4)


def test_boundary_pixels_are_never_fused(rng):
    """Where the occlusion-boundary probability is high, the new depth is taken as it is."""
    truth = np.full((INTR.height, INTR.width), 2.0, np.float32)
    boundary = np.zeros_like(truth)
    boundary[:, 40:42] = 0.95
    filt = TemporalFilter(TemporalSettings(temporal_filter="static"))
    for _ in range(5):
        pred = _prediction(truth, rng, boundary)
        out, _ = filt.update(pred)
    assert np.array_equal(out.depth[:, 40:42], pred.depth[:, 40:42])
    assert not np.array_equal(out.depth[:, 10:20], pred.depth[:, 10:20])


def _slanted_wall(T_world_cam: np.ndarray) -> np.ndarray:
    """Planar depth of the world plane n.X = d (a wall seen at an angle) from a camera pose."""
    n, d = np.array([0.3, 0.0, 1.0]) / np.linalg.norm([0.3, 0.0, 1.0]), 4.0
    rays = np.dstack([*np.moveaxis(backproject(np.ones((INTR.height, INTR.width)), INTR)[..., :2], -1, 0),
                      np.ones((INTR.height, INTR.width))])
    R, c = T_world_cam[:3, :3], T_world_cam[:3, 3]
    along = rays @ (R.T @ n)  # n . (R ray) per unit of planar depth
    return ((d - n @ c) / along).astype(np.float32)


def test_odometry_moving_camera_keeps_a_warped_plane_in_place(rng):
    """Forward and sideways motion with true tf: the fused wall stays where it is, closer than one frame."""
    filt = TemporalFilter(TemporalSettings(temporal_filter="odometry"))
    pose = np.eye(4)
    raw_err, fused_err, raw_flick, fused_flick = [], [], [], []
    previous = None
    for frame in range(30):
        step = _translation(x=0.02, z=0.05)
        new_pose = pose @ step
        motion = invert_rigid(new_pose) @ pose  # T_current_previous
        pose = new_pose
        truth = _slanted_wall(pose)
        pred = _prediction(truth, rng)
        out, info = filt.update(pred, motion if frame else None)
        if frame >= 10:
            inner = np.s_[8:-8, 8:-8]  # skip the strip that enters the view each frame
            raw_err.append(np.abs(pred.depth / truth - 1)[inner].mean())
            fused_err.append(np.abs(out.depth / truth - 1)[inner].mean())
            warped_raw, _, _ = forward_warp(previous[0], INTR, motion)
            warped_fused, _, _ = forward_warp(previous[1], INTR, motion)
            raw_flick.append(_flicker(pred.depth[inner], warped_raw[inner]))
            fused_flick.append(_flicker(out.depth[inner], warped_fused[inner]))
        previous = (pred.depth, out.depth)
    assert info.mode == "fused" and info.fused_fraction > 0.8
    assert np.mean(fused_err) < 0.6 * np.mean(raw_err)
    assert np.mean(fused_flick) < np.mean(raw_flick) / 3


def test_odometry_without_noise_tracks_the_plane_exactly():
    """Noise-free frames with true motion: the warp puts the old depth exactly where the new one is."""
    filt = TemporalFilter(TemporalSettings(temporal_filter="odometry"))
    pose = np.eye(4)
    for frame in range(15):
        new_pose = pose @ _translation(x=0.03, z=0.08)
        motion = invert_rigid(new_pose) @ pose
        pose = new_pose
        truth = _slanted_wall(pose)
        out, info = filt.update(_prediction(truth), motion if frame else None)
    assert info.fused_fraction > 0.8
    assert np.abs(out.depth / truth - 1)[8:-8, 8:-8].max() < 0.02


@pytest.mark.parametrize("motion, words", [(None, "no camera motion"), (_translation(z=1.0), "moved 1.00 m")])
def test_odometry_resets_on_missing_or_large_motion(rng, motion, words):
    """No tf, or a jump beyond the limits: the filter restarts from the new frame and says why."""
    truth = np.full((INTR.height, INTR.width), 2.0, np.float32)
    filt = TemporalFilter(TemporalSettings(temporal_filter="odometry"))
    filt.update(_prediction(truth, rng), None)
    filt.update(_prediction(truth, rng), np.eye(4))
    pred = _prediction(truth, rng)
    out, step = filt.update(pred, motion)
    assert step.mode == "reset" and words in step.reason
    assert np.array_equal(out.depth, pred.depth)


def test_motion_problem_names_a_large_rotation():
    """A turn beyond temporal_max_rotation is named with its angle."""
    T = np.eye(4)
    angle = np.radians(30)
    T[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    assert "turned 30.0 deg" in motion_problem(T, TemporalSettings())
    assert motion_problem(np.eye(4), TemporalSettings()) is None


def test_forward_warp_z_buffer_keeps_the_nearest_surface():
    """Two surfaces landing on one pixel: the nearer one wins, and a disocclusion stays a hole."""
    depth = np.full((INTR.height, INTR.width), 4.0, np.float32)
    depth[:, 40:50] = 1.0  # a near post
    warped, index, (carried,) = forward_warp(depth, INTR, _translation(x=0.2), depth)
    # the post moves 100 * 0.2 / 1 = 20 px right, the wall 5 px: the post covers the wall there
    assert np.allclose(warped[:, 60:70], 1.0)
    assert np.isnan(warped[:, 46:55]).all()  # the wall the post hid is a hole, not interpolated
    assert np.allclose(warped[:, 10:40], 4.0)
    assert np.allclose(carried[index >= 0], warped[index >= 0])
    assert (index[:, :4] == -1).all()  # the strip entering the view on the left is unknown


@pytest.mark.parametrize("nearer", [0.1, 0.2])
@pytest.mark.parametrize("mode", ["static", "odometry"])
def test_a_near_object_leaves_no_ghost_when_the_network_overstates_its_spread(rng, mode, nearer):
    """The network claims 20 % spread, frames differ by 3 %: a box 10-20 % nearer is in place one frame later."""
    background = np.full((INTR.height, INTR.width), 3.0, np.float32)
    scene = background.copy()
    scene[20:50, 30:60] = 3.0 / (1 + nearer)
    filt = TemporalFilter(TemporalSettings(temporal_filter=mode))
    for frames, truth in ((15, background), (4, scene), (4, background)):
        for i in range(frames):
            out, _ = filt.update(_prediction(truth, rng, sigma=0.2), np.eye(4))
            error = np.abs(out.depth / truth - 1)[20:50, 30:60]
            if i >= 1:  # the frame of the change itself may still be on its way
                assert np.median(error) < 0.03 and np.mean(error > 0.1) < 0.02, f"ghost at frame {i} after a change"
