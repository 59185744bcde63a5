"""The node's temporal filter in bag evaluation: the same options as flags, the motion from the bag's /tf.

``add_temporal_arguments(parser)`` adds ``--temporal-filter`` and its options (defaults from
``TemporalSettings``); ``TemporalRun`` fuses each prediction of a bag in order with the node's
``TemporalFilter``. The camera's pose at each image stamp (``T_fixed_camera``, also what the flicker
measure needs) comes from the bag's /tf + /tf_static (``bags.tf_tree``) where it connects
``--temporal-fixed-frame`` to the image's frame; where it does not, odometry resets that frame.
"""
from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from modot_ros.bags.tf_tree import TfError, TransformTree
from modot_ros.geometry import invert_rigid
from modot_ros.temporal.fusion import FilterStep, TemporalFilter
from modot_ros.temporal.settings import TEMPORAL_FIELDS, TEMPORAL_FILTERS, TemporalSettings

_FLAGS = ("temporal_gate", "temporal_process_noise", "temporal_boundary", "temporal_max_translation",
          "temporal_max_rotation", "temporal_fixed_frame")


def add_temporal_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("temporal filter (as the node's temporal_filter; docs/node.md)")
    group.add_argument("--temporal-filter", choices=TEMPORAL_FILTERS, default=TemporalSettings.temporal_filter,
                       help=TEMPORAL_FIELDS["temporal_filter"].metadata["help"])
    for name in _FLAGS:
        default = getattr(TemporalSettings, name)
        group.add_argument("--" + name.replace("_", "-"), type=type(default), default=default,
                           help=TEMPORAL_FIELDS[name].metadata["help"])


def temporal_settings(args: argparse.Namespace) -> TemporalSettings:
    return TemporalSettings(temporal_filter=args.temporal_filter, **{name: getattr(args, name) for name in _FLAGS})


class TemporalRun:
    """Fuses a bag's predictions in order; ``pose(frame)`` is the camera's pose from the bag's /tf (or None)."""

    def __init__(self, settings: TemporalSettings, tf: TransformTree | None) -> None:
        self.settings, self.tf = settings, tf
        self.filter = TemporalFilter(settings)
        self.previous_pose: np.ndarray | None = None
        self.steps: list[FilterStep] = []

    def pose(self, stamp_ns: int, camera_frame: str) -> np.ndarray | None:
        """``T_fixed_camera`` at the stamp from the bag's /tf, None where it has none."""
        if self.tf is None or not camera_frame:
            return None
        try:
            return self.tf.lookup(self.settings.temporal_fixed_frame, camera_frame, stamp_ns)
        except TfError:
            return None

    def __call__(self, prediction: Any, pose: np.ndarray | None) -> Any:
        previous, self.previous_pose = self.previous_pose, pose
        motion = None if pose is None or previous is None else invert_rigid(pose) @ previous
        prediction, step = self.filter.update(prediction, motion)
        self.steps.append(step)
        return prediction

    def summary(self) -> dict[str, Any]:
        """How many frames fused or reset, the mean share of pixels fused, the reset reasons."""
        fused = [s.fused_fraction for s in self.steps if s.mode == "fused"]
        reasons = sorted({s.reason for s in self.steps if s.mode == "reset"})
        return {"temporal_filter": self.settings.temporal_filter, "frames_fused": len(fused),
                "frames_reset": sum(s.mode == "reset" for s in self.steps),
                "pixels_fused": float(np.mean(fused)) if fused else 0.0, "reset_reasons": reasons}
