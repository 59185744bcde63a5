"""A steady scale over frames: smoothing in log space, outlier frames, fallback, and its use.

``ScaleTracker.update(fit, now_s)`` turns each frame's ``ScaleFit`` (or None when the source was
silent) into the scale to apply:

* ``fit``: a trusted fit, blended into an exponential average of log scale (and of the shift);
  log space because scale errors are relative (x2 and x0.5 are equally wrong).
* ``outlier``: a trusted fit that jumps more than ``outlier_log`` from the average is ignored,
  unless ``max_outliers`` frames in a row agree on the jump (then the scale really changed, e.g.
  the camera was remounted, and the average restarts from the new fits).
* ``held``: no trusted fit this frame, the last trusted one is at most ``hold_s`` old: keep it.
* ``model``: nothing trusted for longer: the model's own scale (1.0).

``scaled_prediction`` applies the state to an ``inference.Prediction`` (depths, mixture
parameters) and lowers its confidence on frames without a trusted fit of their own.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from modot_ros.scale.fit import ScaleFit

MODES = ("fit", "outlier", "held", "model")


@dataclass(frozen=True)
class ScaleState:
    """The scale applied to one frame and where it came from (``MODES``)."""

    scale: float
    shift: float
    mode: str
    age_s: float            # since the last trusted fit; inf when there was none
    fit: ScaleFit | None    # this frame's fit (None: the source gave nothing)


class ScaleTracker:
    """See the module docstring. ``smoothing`` is the weight of a new fit (1 = no smoothing)."""

    def __init__(self, smoothing: float = 0.3, outlier_log: float = 0.3, max_outliers: int = 5,
                 hold_s: float = 2.0) -> None:
        if not 0 < smoothing <= 1:
            raise ValueError(f"smoothing={smoothing} must be in (0, 1]")
        self.smoothing, self.outlier_log = smoothing, outlier_log
        self.max_outliers, self.hold_s = max_outliers, hold_s
        self.reset()

    def reset(self) -> None:
        self.log_scale: float | None = None
        self.shift = 0.0
        self.last_trusted_s = -math.inf
        self.outliers: list[ScaleFit] = []

    def _blend(self, fit: ScaleFit, weight: float) -> None:
        log_scale = math.log(fit.scale)
        self.log_scale = log_scale if self.log_scale is None else \
            (1 - weight) * self.log_scale + weight * log_scale
        self.shift = (1 - weight) * self.shift + weight * fit.shift

    def update(self, fit: ScaleFit | None, now_s: float) -> ScaleState:
        if fit is not None and fit.trusted:
            jump = None if self.log_scale is None else abs(math.log(fit.scale) - self.log_scale)
            if jump is not None and jump > self.outlier_log:
                self.outliers.append(fit)
                if len(self.outliers) < self.max_outliers:
                    return self._state("outlier", fit, now_s)
                self.log_scale = None  # a lasting change: restart from the agreeing fits
                for earlier in self.outliers[:-1]:
                    self._blend(earlier, self.smoothing)
            self.outliers = []
            self._blend(fit, self.smoothing)
            self.last_trusted_s = now_s
            return self._state("fit", fit, now_s)
        if self.log_scale is not None and now_s - self.last_trusted_s <= self.hold_s:
            return self._state("held", fit, now_s)
        return self._state("model", fit, now_s)

    def _state(self, mode: str, fit: ScaleFit | None, now_s: float) -> ScaleState:
        age = now_s - self.last_trusted_s
        if mode == "model" or self.log_scale is None:
            return ScaleState(1.0, 0.0, "model", age, fit)
        return ScaleState(math.exp(self.log_scale), self.shift, mode, age, fit)


def scaled_prediction(prediction: Any, state: ScaleState, poor_confidence: float = 0.5) -> Any:
    """A copy of an ``inference.Prediction`` at the state's scale.

    Depths follow ``ScaleFit.apply``; mixture means and std-devs are in inverse depth (1/m), so
    they map by ``a * x + b`` and ``a * sigma`` with ``a = 1 / scale``, ``b = shift``. Confidence is
    multiplied by ``poor_confidence`` unless this frame had a trusted fit of its own.
    """
    transform = ScaleFit(state.scale, state.shift)
    changes: dict[str, Any] = {}
    for name in ("depth", "depth_mean"):
        if getattr(prediction, name) is not None:
            changes[name] = transform.apply(getattr(prediction, name))
    if prediction.params is not None:
        params = np.array(prediction.params, np.float32, copy=True)
        a = np.float32(1.0 / state.scale)
        means = slice(0, min(2, params.shape[0]))
        params[means] = params[means] * a + np.float32(state.shift)
        params[2:4] *= a
        changes["params"] = params
    if state.mode != "fit" and prediction.confidence is not None:
        changes["confidence"] = prediction.confidence * np.float32(poor_confidence)
    if prediction.sigma is not None:  # within-surface std-dev of depth (metres) scales with depth
        changes["sigma"] = prediction.sigma * np.float32(state.scale)
    return dataclasses.replace(prediction, **changes)
