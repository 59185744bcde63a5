"""The node's temporal side: the ``TemporalFilter`` of ``temporal_filter`` and, for odometry, the camera motion.

Runs on the worker thread after the metric-scale step (scale is handled once, before fusion).
For ``odometry`` the camera's pose at each image stamp comes from ``CameraMotion`` (tf, or the
``camera_pose`` topic without tf2_ros); a frame without one resets the filter, and the node says
so in one line (log + /diagnostics), throttled per kind. The state goes to the diagnostics
(``temporal_*`` keys).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from modot_ros.geometry import invert_rigid
from modot_ros.temporal.fusion import TemporalFilter
from modot_ros.temporal.settings import TemporalSettings

EXPECTED_RESETS = ("first frame",)  # news, not a problem: no diagnostics warning


class TemporalInput:
    """See the module docstring; ``node`` is the ``ModotNode`` (config, logging, stats)."""

    def __init__(self, node: Any, config: Any, qos: Any) -> None:
        self.node, self.qos = node, qos
        self.settings = TemporalSettings.from_config(config)
        self.filter = TemporalFilter(self.settings)
        self.previous_pose: np.ndarray | None = None
        self.motion = None
        if self.settings.temporal_filter == "odometry":
            from modot_ros.ros.camera_motion import CameraMotion

            self.motion = CameraMotion.for_node(node, qos)

    @property
    def subscription(self) -> Any:
        return None if self.motion is None else self.motion.subscription

    def _motion(self, stamp_ns: int, camera_frame: str) -> tuple[np.ndarray | None, str]:
        """(T_current_previous, "") or (None, why there is none) for odometry."""
        try:
            pose = self.motion.pose(self.settings.temporal_fixed_frame, camera_frame, stamp_ns)
        except LookupError as error:
            self.previous_pose = None
            return None, str(error)
        previous, self.previous_pose = self.previous_pose, pose
        if previous is None:  # the first frame with a pose since the start or a loss: a fresh start
            self.filter.reset()
            return None, ""
        return invert_rigid(pose) @ previous, ""

    def apply(self, prediction: Any, stamp_ns: int, camera_frame: str, mixture: bool = True) -> Any:
        """The prediction fused with the previous frames (unchanged with temporal_filter off).

        ``mixture``: somebody reads the mixture parameters (else the fused prediction has none).
        """
        settings = TemporalSettings.from_config(self.node.config)
        if settings != self.settings:  # a parameter changed at run time: start over with it
            self.settings, self.filter = settings, TemporalFilter(settings)
        if not settings.active:
            return prediction
        start = time.perf_counter()
        motion, missing = (None, "")
        if settings.temporal_filter == "odometry" and self.motion is not None:
            motion, missing = self._motion(stamp_ns, camera_frame)
        prediction, step = self.filter.update(prediction, motion, mixture)
        reason = missing or step.reason
        if step.mode == "reset" and reason not in EXPECTED_RESETS:
            self.node.warn_once(f"temporal:{reason.split(' (')[0]}",
                                f"temporal_filter {settings.temporal_filter}: reset, {reason}")
        self.node.stats.temporal = {
            "temporal_filter": settings.temporal_filter, "temporal_step": step.mode,
            "temporal_fused": f"{step.fused_fraction:.2f}", "temporal_reason": reason,
            "temporal_ms": f"{(time.perf_counter() - start) * 1e3:.2f}"}
        return prediction
