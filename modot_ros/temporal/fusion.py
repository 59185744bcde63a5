"""``TemporalFilter``: per-pixel fusion of successive depth predictions in log depth.

State per pixel (at the prediction's output size): the fused log depth ``x`` and its variance
``P``. Each new frame brings ``z`` = ln depth with variance ``R`` = (sigma / depth)^2, the
dominant mixture component's own relative spread (``Prediction.sigma``: with the log-depth head
that is exactly its log-depth std), so the network's confidence decides how much a frame counts.

* ``static``: the prior is last frame's state, pixel for pixel (a camera that does not move).
* ``odometry``: the prior is last frame's state forward-warped into this view with the camera
  motion (``geometry.forward_warp``: z-buffered, holes left unknown); no motion, or one above
  ``temporal_max_translation`` / ``temporal_max_rotation``, resets the filter.

Where both mixture components of the new frame carry weight (``MODE_MIN_WEIGHT``: an object's
outline, whose heavier component flips between the near and the far surface from frame to frame),
the frame's measurement is the component nearer the prior (``tracked_measurement``) instead of the
heavier one. Then a Kalman update per pixel: ``P += q^2``; where
``|z - x| <= gate * c * sqrt(P + R)`` (``c``: the frame's innovation scale, ``innovation_scale``)
and neither frame has an occlusion boundary there, ``x += K (z - x)`` with ``K = P / (P + R)``
raised towards 1 as the disagreement nears the gate (``RAMP_START``), and ``P`` updated for that
gain; elsewhere (motion, a new object, a disocclusion, a boundary, nothing known) the new depth is
taken as it is, so a change beyond the gate shows at once and leaves no trail, and a smaller real
change within a frame. Scale is handled once: the filter runs after the metric-scale
step, on the depth that is published.
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import cv2
import numpy as np

from modot_ros.geometry import CameraIntrinsics, forward_warp, rotation_angle_deg
from modot_ros.temporal.settings import TemporalSettings

# Relative depth std assumed where the model gives none (regression head): a typical
# single-frame error, so fusion still weighs frames equally.
DEFAULT_RELATIVE_SIGMA = 0.1
MIN_VARIANCE = 1e-6  # keeps the gain finite where a frame claims near-certainty
MIN_SCALE = 0.05  # the gate never narrows below 1/20 of the network's own spread
# ... and never widens beyond 0.3 of it: a moving camera makes every innovation larger, and a gate
# that followed would let ``static`` lag behind the view (a bag like the demo's, static: AbsRel +7 %
# over single frames at 1.0, -1 % at 0.3, for 18 % more flicker; odometry: 4 % more; plain gain)
MAX_SCALE = 0.3
# Where the gain starts to grow towards 1, as a share of the gate: a box 10 % nearer appears within
# one frame instead of 9 (plain gain), for less flicker cut; 0.35 is the latest start that keeps it
# so (tests/test_temporal_filter.py; 0.4 leaves 3.2 % of it a frame later)
RAMP_START = 0.35
# A mixture component with at least this weight can carry the fusion where it agrees with the prior
# better than the heavier one: on an object's outline the frame's dominant component flips between
# the near and the far surface from frame to frame, and following the prior's side removes that
# flicker (8 engine test scenes at RAMP_START 0.3, ``training.temporal_report --mode-min-weight 0.6``
# vs 0.2: odometry 2.14x -> 2.39x less flicker, a still camera 3.0x -> 4.1x)
MODE_MIN_WEIGHT = 0.2


def _log(values: np.ndarray) -> np.ndarray:
    """Natural log of float32 values, NaN/-inf as numpy gives them: OpenCV's, 4-5x numpy's on AVX2."""
    return cv2.log(np.ascontiguousarray(values, np.float32))


def _exp(values: np.ndarray) -> np.ndarray:
    """``exp`` of float32 values (OpenCV's, ~5x numpy's; relative error < 1e-6)."""
    return cv2.exp(np.ascontiguousarray(values, np.float32))


class FilterStep(NamedTuple):
    """What one update did: ``mode`` off | fused | reset, why it reset, the share of pixels fused."""

    mode: str
    reason: str = ""
    fused_fraction: float = 0.0


class _State(NamedTuple):
    log_depth: np.ndarray   # (H, W) float32, NaN unknown
    depth: np.ndarray       # (H, W) float32, the depth published from it (what odometry warps)
    variance: np.ndarray    # (H, W) float32
    boundary: np.ndarray    # (H, W) float32 OB probability of the frame the state was last set from
    intrinsics: CameraIntrinsics


def motion_problem(motion: np.ndarray | None, settings: TemporalSettings) -> str | None:
    """Why ``motion`` (T_current_previous) cannot carry the state over (None when it can)."""
    if motion is None:
        return "no camera motion (tf) for this frame"
    if not np.all(np.isfinite(motion)):
        return "camera motion is not finite"
    moved = float(np.linalg.norm(motion[:3, 3]))
    if moved > settings.temporal_max_translation:
        return f"camera moved {moved:.2f} m > temporal_max_translation={settings.temporal_max_translation}"
    turned = rotation_angle_deg(motion)
    if turned > settings.temporal_max_rotation:
        return f"camera turned {turned:.1f} deg > temporal_max_rotation={settings.temporal_max_rotation}"
    return None


def relative_spread(prediction: Any) -> tuple[np.ndarray, np.ndarray]:
    """(std, variance) of ln depth per pixel: sigma / depth (the default spread without a sigma)."""
    depth = prediction.depth
    if prediction.sigma is None:
        std = np.full(depth.shape, DEFAULT_RELATIVE_SIGMA, np.float32)
    else:
        std = np.divide(prediction.sigma, depth, dtype=np.float32)
    # fmax drops NaN (no depth there, so never fused) for the floor, keeping the gain finite
    return std, np.fmax(std * std, np.float32(MIN_VARIANCE))


def innovation_scale(squared: np.ndarray, S: np.ndarray, clear: np.ndarray) -> float:
    """How wide the frame's innovations are against their predicted std, in [MIN_SCALE, MAX_SCALE].

    The mixture's sigma sizes a pixel's uncertainty relative to its neighbours', but much of it is
    a bias that stays from frame to frame, not noise that changes: gating on it alone would let a
    new object 20 % nearer fuse into the old depth (a ghost). The frame's robust innovation spread
    (median of |d| / sqrt(S), over 0.6745 for a Gaussian) scales the gate down to what the frames
    really disagree by; capped at ``MAX_SCALE`` of the network's own uncertainty, and taken over
    the whole frame (off the boundaries, ``clear``) so that one new object does not
    widen it.
    """
    every = slice(None, None, 7)  # a sample is enough for a median, and 7x cheaper
    ratio = squared.ravel()[every] / S.ravel()[every]
    ratio = ratio[clear.ravel()[every] & np.isfinite(ratio)]
    if ratio.size < 16:
        return 1.0
    return float(np.clip(np.sqrt(np.median(ratio)) / 0.6745, MIN_SCALE, MAX_SCALE))


def _ramp(disagreement: np.ndarray, start: float) -> np.ndarray:
    """0 below ``start`` (a share of the gate), rising linearly to 1 at the gate (in place)."""
    if start >= 1:  # no ramp: the plain Kalman gain up to the gate
        disagreement[...] = 0
        return disagreement
    disagreement -= np.float32(start)
    disagreement *= np.float32(1 / (1 - start))
    return np.clip(disagreement, 0, 1, out=disagreement)


def _copy_where(dst: np.ndarray, src: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``dst[where] = src[where]`` in place (``dst``: a contiguous float32 image or plane), returns ``dst``.

    By OpenCV's masked copy: numpy's ``where`` and ``copyto(where=)`` branch per element, 0.3-0.4 ms
    on a 320x240 frame whose mask is scattered (noisy pixels), against 0.01 ms for ``cv2.copyTo``.
    OpenCV writes into ``dst`` only when type and size match; otherwise it would return a new array,
    so that case is copied back rather than lost.
    """
    written = cv2.copyTo(np.ascontiguousarray(src, dst.dtype), where.view(np.uint8), dst)
    if not np.may_share_memory(written, dst):  # a bounds check: a new array never overlaps
        np.copyto(dst, written)
    return dst


def _select(where: np.ndarray, then: np.ndarray, otherwise: np.ndarray) -> np.ndarray:
    """``np.where(where, then, otherwise)`` for float32 images (``_copy_where``)."""
    return _copy_where(np.array(otherwise, np.float32, copy=True), then, where)


def tracked_measurement(params: np.ndarray, x: np.ndarray, z: np.ndarray, R: np.ndarray,
                        depth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ln depth, variance, depth) of the frame, following the prior's surface where both components weigh.

    Where both mixture components weigh at least ``MODE_MIN_WEIGHT``, the measurement is the
    component nearer the prior ``x`` instead of the heavier one; elsewhere, and where there is no
    prior, the frame's own (the heavier component's) values are returned.
    """
    weight = params[4]
    second_heavier = weight < 0.5
    mu = _select(second_heavier, params[0], params[1])  # the lighter component's
    z_other = _log(mu)
    np.negative(z_other, out=z_other)
    with np.errstate(invalid="ignore"):
        # NaN (no prior) compares False: the heavier component stays
        switch = np.abs(z_other - x) < np.abs(z - x)
    switch &= np.abs(weight - np.float32(0.5)) <= np.float32(0.5 - MODE_MIN_WEIGHT)
    if not switch.any():
        return z, R, depth
    sigma = _select(second_heavier, params[2], params[3])
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = np.fmax(np.square(sigma / mu), np.float32(MIN_VARIANCE))
        return _select(switch, z_other, z), _select(switch, variance, R), _select(switch, 1 / mu, depth)


class TemporalFilter:
    """Fuses the predictions of one camera frame after frame; see the module docstring."""

    def __init__(self, settings: TemporalSettings = TemporalSettings()) -> None:
        self.settings = settings
        self.state: _State | None = None

    def reset(self) -> None:
        self.state = None

    def _prior(self, intr: CameraIntrinsics, motion: np.ndarray | None) -> tuple[Any, str]:
        """(log depth, variance, boundary or None) of the previous state in this view, or (None, why not)."""
        state = self.state
        if state is None:
            return None, "first frame"
        if state.intrinsics != intr:
            return None, "image size or intrinsics changed"
        if self.settings.temporal_filter == "static":
            return (state.log_depth, state.variance, state.boundary), ""
        if problem := motion_problem(motion, self.settings):
            return None, problem
        # the z-buffer already keeps the old surfaces apart; only this frame's boundaries block fusion
        warped, _, (variance,) = forward_warp(state.depth, intr, motion, state.variance)
        return (_log(warped), variance, None), ""

    def update(self, prediction: Any, motion: np.ndarray | None = None,
               mixture: bool = True) -> tuple[Any, FilterStep]:
        """This frame's prediction fused with the state, and what was done.

        ``prediction``: a ``modot_ros.inference.Prediction`` (after the scale step). ``motion``:
        ``T_current_previous`` (maps the previous camera's points into this one), odometry only.
        ``mixture``: also fuse the mixture parameters; False drops them from a fused prediction
        (the node when nothing reads them: no ``publish_mixture``, no ``edge_points`` snap).
        """
        if not self.settings.active:
            return prediction, FilterStep("off")
        if prediction.depth is None:
            raise ValueError("temporal_filter needs depth; the model predicts none (variant 'boundary')")
        intr = prediction.intrinsics
        z = _log(prediction.depth)
        with np.errstate(invalid="ignore", divide="ignore"):
            spread, R = relative_spread(prediction)
        boundary = prediction.boundary if prediction.boundary is not None else np.zeros_like(z)
        prior, reason = self._prior(intr, motion)
        if prior is None:
            self.state = _State(z, prediction.depth, R, boundary, intr)
            return prediction, FilterStep("reset", reason)
        x, P, previous_boundary = prior
        s = self.settings
        P = P + np.float32(s.temporal_process_noise ** 2)
        frame_depth = prediction.depth
        if prediction.params is not None and prediction.params.shape[0] == 5:
            z, R, frame_depth = tracked_measurement(prediction.params, x, z, R, frame_depth)
        S = P + R
        d = z - x
        with np.errstate(invalid="ignore"):  # NaN (unknown either side) compares False: not fused
            either = boundary if previous_boundary is None else np.maximum(boundary, previous_boundary)
            clear = either < np.float32(s.temporal_boundary)
            squared = np.square(d)
            scale = innovation_scale(squared, S, clear)
            limit = np.float32((s.temporal_gate * scale) ** 2) * S
            agree = squared <= limit
            agree &= clear
            gain = P / S
            # a robust gain: past RAMP_START of the gate the new frame counts more and more, fully at
            # the gate, so a real change inside the gate (an object 10-20 % nearer) is taken within a
            # frame instead of blended in over ~20 (the network's wide spread makes the plain gain
            # small). In place: this runs on every frame (issue 31: <= 3 ms at 320x240).
            ramp = np.divide(squared, limit, out=squared)
            np.sqrt(ramp, out=ramp)
            ramp = _ramp(ramp, RAMP_START)
            ramp *= 1 - gain
            gain += ramp
        unfused = ~agree
        fused_x = np.multiply(gain, d, out=d)
        fused_x += x
        _copy_where(fused_x, z, unfused)
        fused_P = np.square(1 - gain) * P  # Joseph form: right for any gain
        fused_P += np.square(gain) * R
        _copy_where(fused_P, R, unfused)
        depth = _copy_where(_exp(fused_x), frame_depth, unfused)  # the frame's own (tracked) surface
        self.state = _State(fused_x, depth, fused_P, boundary, intr)
        fraction = np.count_nonzero(agree) / agree.size
        fused = self._fused_prediction(prediction, depth, fused_P, spread, agree, mixture)
        return fused, FilterStep("fused", "", fraction)

    @staticmethod
    def _fused_prediction(prediction: Any, depth: np.ndarray, P: np.ndarray, spread: np.ndarray,
                          fused: np.ndarray, mixture: bool) -> Any:
        """The prediction with the fused depth, its spread, confidence and (``mixture``) parameters."""
        std = np.sqrt(P)
        changes: dict[str, Any] = {"depth": depth, "sigma": depth * std}
        if prediction.confidence is not None:
            # confidence = (1 - ambiguity) * exp(-relative std) (``mixture.readout``) times any scale
            # factor: swap the frame's own spread for the fused one (never larger) and keep the rest
            changes["confidence"] = prediction.confidence * _exp(spread - std)
        params = prediction.params if mixture else None
        changes["params"] = None
        if params is not None:
            params = np.array(params, np.float32, copy=True)
            mu = np.float32(1.0) / depth
            if params.shape[0] == 5:  # the dominant component (``mixture.dominant_index``) takes the fusion
                second = params[4] < 0.5
                spread_mu = std * mu  # std(1/z) = std(ln z) / z
                for component, where in ((0, fused & ~second), (1, fused & second)):
                    _copy_where(params[component], mu, where)
                    _copy_where(params[2 + component], spread_mu, where)
            else:
                _copy_where(params[0], mu, fused)
            changes["params"] = params
        return dataclasses.replace(prediction, **changes)
