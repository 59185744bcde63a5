"""The node's metric scale in offline evaluation: the same flags for bag and training evaluation.

``add_scale_arguments(parser)`` adds ``--scale-source`` and its options; ``scale_run(args)`` gives a
``ScaleRun`` (None for the model's own scale) that rescales each prediction with the node's
``ScaleEngine``, the measurement drawn from the frame's ground truth (``--scale-sample``: ``beam``,
``lidar_row`` or ``points:N``, with ``--scale-noise`` relative range noise), or, for a bag, read
from one of its topics (``--scale-topic``: the robot's own sensor, paired by stamp within
``--scale-max-age``; ``modot_ros.bags.scale_topic``). A bag evaluation keeps one engine over the
bag's frames (smoothing and fallback as on the robot); independent frames (the synthetic test
split) get a fresh one per frame.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
from typing import Any

from modot_ros.scale.settings import SCALE_SOURCES, ScaleSettings


def add_scale_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("metric scale (as the node's scale_source; docs/metric_scale.md)")
    group.add_argument("--scale-source", choices=SCALE_SOURCES, default="model",
                       help="where the metric scale comes from (default: the model's own)")
    group.add_argument("--scale-sample", default="points:50",
                       help="sparse_depth / laser_scan: what to sample from the GT depth: beam, lidar_row, points:N")
    group.add_argument("--scale-noise", type=float, default=0.02, help="relative range noise of the samples")
    group.add_argument("--camera-height", type=float, default=0.0,
                       help="camera_height: metres above the floor (0: each frame's own, where the data knows it)")
    group.add_argument("--camera-pitch", type=float, default=0.0, help="camera_height: downward pitch, degrees")
    group.add_argument("--range-pixel", type=float, nargs=2, default=(0.5, 0.5), metavar=("U", "V"),
                       help="range: the beam's pixel as fractions of the image width and height")
    group.add_argument("--scale-topic", help="a bag's topic with the sensor's own data (sparse_depth: Image, "
                       "laser_scan: LaserScan, range: Range) instead of sampling the ground truth")
    group.add_argument("--scale-max-age", type=float, default=ScaleSettings.scale_max_age,
                       help="--scale-topic: largest stamp difference (s) to the image; none nearer: a silent frame")
    group.add_argument("--laser-extrinsic", type=float, nargs=6, default=(0.0,) * 6,
                       metavar=("X", "Y", "Z", "ROLL", "PITCH", "YAW"),
                       help="--scale-topic laser_scan: lidar pose in the camera's body frame (m, deg), where the "
                       "bag's /tf does not give it")
    group.add_argument("--range-offset", type=float, nargs=3, default=(0.0,) * 3, metavar=("X", "Y", "Z"),
                       help="--scale-topic range: rangefinder position in the camera's body frame (m)")
    group.add_argument("--scale-smoothing", type=float, default=ScaleSettings.scale_smoothing,
                       help="weight of a new fit in the log-scale average (1: none)")
    group.add_argument("--scale-fit-shift", action="store_true", help="also fit a shift in inverse depth")


class ScaleRun:
    """Rescales predictions frame by frame; ``states`` keeps each frame's ``ScaleState``.

    ``recorded``: a ``bags.scale_topic.RecordedScaleTopic`` whose messages replace the GT samples.
    """

    def __init__(self, settings: ScaleSettings, sample: str, noise: float, independent: bool = False,
                 frame_heights: bool = False, recorded: Any = None) -> None:
        from modot_ros.scale.engine import ScaleEngine
        from modot_ros.scale.samples import parse_sample_kind

        parse_sample_kind(sample)  # a bad spec fails before any frame is read
        self.settings, self.sample, self.noise, self.independent = settings, sample, noise, independent
        self.frame_heights = frame_heights  # camera_height: each frame's own height and up, not the settings'
        self.recorded = recorded
        self.engine = ScaleEngine(settings)
        self.states: list[Any] = []

    def apply(self, prediction: Any, gt: Any, stamp_s: float, seed: int, height: float | None = None,
              up: tuple | None = None) -> Any:
        """The prediction at the engine's scale; ``height`` / ``up``: this frame's camera, where known."""
        from modot_ros.scale.engine import ScaleEngine, ground_truth_measurement

        settings = self.settings
        if settings.scale_source == "camera_height" and self.frame_heights and height:
            pitch = math.degrees(math.asin(max(-1.0, min(1.0, -up[2])))) if up is not None else settings.camera_pitch
            settings = dataclasses.replace(settings, camera_height=height, camera_pitch=pitch)
        if self.independent or settings != self.engine.settings:
            self.engine = ScaleEngine(settings)
        measurement = None if gt is None else ground_truth_measurement(
            settings, gt, prediction.intrinsics, self.sample, self.noise, seed)
        return self._process(prediction, measurement, stamp_s)

    def _process(self, prediction: Any, measurement: Any, stamp_s: float) -> Any:
        prediction, state = self.engine.process(prediction, measurement, stamp_s)
        self.states.append(state)
        return prediction

    def __call__(self, frame: Any, prediction: Any) -> Any:
        """A ``modot_ros.bags.io.Frame`` and its prediction (bag evaluation)."""
        if self.recorded is not None:
            measurement = self.recorded.measurement(frame.stamp_ns, frame.image_msg.header.frame_id)
            return self._process(prediction, measurement, frame.stamp_ns / 1e9)
        return self.apply(prediction, frame.gt_depth, frame.stamp_ns / 1e9, frame.index)


def _as_text(values: Any) -> str:
    return " ".join(f"{v:g}" for v in values)


def scale_run(args: argparse.Namespace, independent: bool = False) -> ScaleRun | None:
    """The ``ScaleRun`` the flags ask for; None for ``--scale-source model``. ValueError names a bad flag."""
    if args.scale_source == "model":
        return None
    settings = ScaleSettings(scale_source=args.scale_source, camera_height=args.camera_height,
                             camera_pitch=args.camera_pitch, scale_smoothing=args.scale_smoothing,
                             range_pixel_u=args.range_pixel[0], range_pixel_v=args.range_pixel[1],
                             scale_fit_shift=args.scale_fit_shift, scale_max_age=args.scale_max_age,
                             laser_extrinsic=_as_text(args.laser_extrinsic), range_offset=_as_text(args.range_offset),
                             scale_min_inliers=1 if args.scale_sample == "beam" else ScaleSettings.scale_min_inliers)
    if settings.scale_source == "camera_height" and not settings.camera_height and not independent:
        raise ValueError("--scale-source camera_height needs --camera-height (metres above the floor)")
    if args.scale_topic:
        return ScaleRun(settings, args.scale_sample, args.scale_noise, recorded=_recorded(args, settings))
    if any(args.range_offset):
        raise ValueError("--range-offset is for a recorded Range (--scale-topic): beams sampled from the ground "
                         "truth start at the optical centre")
    frame_heights = settings.scale_source == "camera_height" and not settings.camera_height
    if frame_heights:
        settings = dataclasses.replace(settings, camera_height=1.0)  # replaced by each frame's own
    return ScaleRun(settings, args.scale_sample, args.scale_noise, independent, frame_heights)


def _recorded(args: argparse.Namespace, settings: ScaleSettings) -> Any:
    """The bag's topic ``--scale-topic`` as a measurement source; ValueError / BagError naming the problem."""
    if not getattr(args, "bag", None):
        raise ValueError("--scale-topic reads a topic of the evaluated bag and there is none here; "
                         "sample the ground truth with --scale-sample instead")
    from modot_ros.bags.scale_topic import RecordedScaleTopic

    return RecordedScaleTopic(args.bag, args.scale_topic, settings.scale_source, settings.scale_max_age)
