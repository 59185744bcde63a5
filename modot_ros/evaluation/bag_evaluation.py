"""Offline evaluation of a rosbag2 without ROS: ``modot-eval-bag BAG --output DIR``.

Runs the estimator on every frame (batched, CUDA when present), writes an output bag with the
node's topics (``modot_ros.pipeline.frame_outputs``, so it replays into RViz like the live node), the
metrics report (``modot_ros.evaluation.bag_report``) and optional PLY clouds. A bad bag or a fault in the
middle gives one line on stderr and exit status 2; frames evaluated before it stay in the report.
A truncated bag (``modot_ros.bags.recovery``) is evaluated up to its cut: a warning line, exit 0,
unless no frame could be read (exit 2).
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol, Sequence

import numpy as np
from tqdm import tqdm

from modot_ros.bags.io import BagError, BagWriter, Frame, iter_frames, select_topics, typestore_for
from modot_ros.bags.recovery import Recovered, open_or_recover
from modot_ros.backends import BACKENDS
from modot_ros.checkpoint import CheckpointError
from modot_ros.evaluation.bag_report import EvaluationReport, FrameResult
from modot_ros.bags.typestore import rosbags_message_types
from modot_ros.pipeline.frame_outputs import compute_frame_arrays, frame_messages
from modot_ros.pipeline.options import OutputOptions
from modot_ros.geometry import CameraIntrinsics, backproject
from modot_ros.pipeline.messages import intrinsics_to_camera_info
from modot_ros.pipeline.ply import write_ply
from modot_ros.scale.offline import ScaleRun, add_scale_arguments, scale_run
from modot_ros.bags.tf_tree import TF_MESSAGE, read_tf
from modot_ros.temporal.offline import TemporalRun, add_temporal_arguments, temporal_settings
from modot_ros.temporal.settings import TemporalSettings


class Predictor(Protocol):
    """What ``evaluate_bag`` needs from an estimator; ``DepthBoundaryEstimator`` fits.

    One ``modot_ros.inference.Prediction`` per image, at that image's resolution and in order.
    """

    def predict_batch(self, images: Sequence[np.ndarray], intrinsics: Sequence[CameraIntrinsics],
                      batch_size: int = 8) -> list[Any]: ...


def load_predictor(checkpoint: str | None, device: str = "auto", backend: str = "torch") -> Predictor:
    """The estimator from ``checkpoint`` (default: the packaged weights), through its one loader."""
    from modot_ros.inference import DepthBoundaryEstimator

    return DepthBoundaryEstimator.from_checkpoint(checkpoint, device=device, backend=backend)


def _batches(frames: Iterable[Frame], size: int, fault: list) -> Iterator[list[Frame]]:
    """Batches of frames; a BagError while reading ends the stream after the frames read so far."""
    batch: list[Frame] = []
    try:
        for frame in frames:
            batch.append(frame)
            if len(batch) == size:
                yield batch
                batch = []
    except BagError as error:
        fault.append(str(error))
    if batch:
        yield batch


class _OutputSink:
    """Turns each (frame, prediction) into node outputs: report entry, output-bag messages, PLY."""

    def __init__(self, report: EvaluationReport, options: OutputOptions, bag: BagWriter | None,
                 namespace: str, ply_frames: set[int], ply_dir: Path, selection: Any,
                 scale: ScaleRun | None = None, temporal: TemporalRun | None = None) -> None:
        self.report, self.options, self.bag, self.selection = report, options, bag, selection
        self.scale: ScaleRun | None = scale  # None: the model's own scale
        self.temporal = temporal  # the filter (off: only the camera poses, for the flicker measure)
        self.prefix = "/" + namespace.strip("/") + "/" if namespace.strip("/") else "/"
        self.ply_frames, self.ply_dir = ply_frames, ply_dir
        self.types = rosbags_message_types(bag.typestore) if bag else None

    def __call__(self, frame: Frame, prediction: Any) -> None:
        if self.scale is not None:
            prediction = self.scale(frame, prediction)
        pose = None
        if self.temporal is not None:  # after the scale step, as in the node
            pose = self.temporal.pose(frame.stamp_ns, frame.image_msg.header.frame_id)
            prediction = self.temporal(prediction, pose)
        arrays = compute_frame_arrays(prediction, frame.rgb, self.options)
        self.report.add(FrameResult(frame.index, frame.stamp_ns, frame.rgb, arrays.depth, arrays.boundary,
                                    arrays.confidence, arrays.intrinsics, frame.gt_depth, frame.gt_boundary,
                                    prediction.depth_mean, prediction.params, pose))
        if frame.index in self.ply_frames:
            self.ply_dir.mkdir(parents=True, exist_ok=True)
            write_ply(self.ply_dir / f"frame_{frame.index:05d}.ply", backproject(arrays.depth, arrays.intrinsics),
                      frame.rgb if frame.rgb.shape[:2] == arrays.depth.shape else None)
        if self.bag is not None:
            self._write_bag(frame, arrays)

    def _write_bag(self, frame: Frame, arrays: Any) -> None:
        header = frame.image_msg.header
        info = frame.info_msg
        if info is None:
            info = intrinsics_to_camera_info(frame.intrinsics, header, self.types.CameraInfo,
                                             self.bag.typestore.types["sensor_msgs/msg/RegionOfInterest"])
        self.bag.write(self.selection.image, frame.image_msg, frame.bag_time_ns)
        self.bag.write(self.selection.camera_info or self.selection.image.rsplit("/", 1)[0] + "/camera_info",
                       info, frame.bag_time_ns)
        for topic, msg in frame_messages(arrays, header, info, self.types, self.options).items():
            self.bag.write(self.prefix + topic, msg, frame.bag_time_ns)


def evaluate_bag(bag: str | Path, output: str | Path, *, predictor: Predictor | None = None,
                 topics: dict[str, str | None] | None = None, use_gt: bool = True,
                 intrinsics: tuple[float, float, float, float] | None = None, checkpoint: str | None = None,
                 device: str = "auto", backend: str = "torch", batch_size: int = 8, align: str = "none",
                 options: OutputOptions | None = None, write_bag: bool = True, storage: str = "mcap",
                 namespace: str = "", ply_frames: Sequence[int] = (), max_frames: int | None = None,
                 ob_thresholds: int = 99, jobs: int = 0, progress: bool = True,
                 scale: ScaleRun | None = None, temporal: TemporalSettings | None = None) -> dict:
    """Evaluate every frame of ``bag`` and write the report (and output bag) into ``output``.

    predictor: anything with ``predict_batch`` (default: ``load_predictor(checkpoint, device, backend)``);
        tests inject one whose output is known, to check the metrics end to end.
    topics: ``image``, ``camera_info``, ``gt_depth``, ``gt_boundary`` names; missing ones are
        auto-detected. intrinsics: (fx, fy, cx, cy) instead of a camera_info topic.
    align: ``median``: per-frame median scaling for the headline metrics (non-metric GT).
    jobs: worker processes for the OB metric (``BoundaryEvaluator``; 0: one per core); the result
        does not change.
    scale: a ``ScaleRun`` (metric scale as the node's ``scale_source``, measured from the GT), or None.
    temporal: the node's ``temporal_filter`` settings (default off); with a /tf in the bag the camera
        poses also give the flicker measure (``modot_ros.evaluation.flicker``).
    Returns the metrics summary; ``summary['error']`` holds the fault that stopped reading, if any.
    """
    output, options = Path(output), options or OutputOptions()
    output.mkdir(parents=True, exist_ok=True)
    report = EvaluationReport(align=align, min_depth=options.min_depth, max_depth=options.max_depth,
                              ob_thresholds=ob_thresholds, ob_jobs=jobs or os.cpu_count() or 1)
    fault, start = [], time.perf_counter()  # fault: the BagError text that stopped reading
    with open_or_recover(bag, output) as (reader, recovered):
        selection, frames = _open_frames(reader, topics, use_gt, intrinsics, recovered)
        predictor = predictor or load_predictor(checkpoint, device, backend)
        total = next((c.msgcount for c in reader.connections if c.topic == selection.image), None)
        # a full typestore of the bag's distro: the reader's holds only the types found in the bag
        writer = BagWriter(output / "output_bag", storage, typestore_for(Path(bag))) if write_bag else None
        tf = read_tf(reader) if any(c.msgtype == TF_MESSAGE for c in reader.connections) else None
        run_temporal = TemporalRun(temporal or TemporalSettings(), tf)
        sink = _OutputSink(report, options, writer, namespace, set(ply_frames), output / "ply", selection, scale,
                           run_temporal)
        bar = tqdm(total=min(total or 0, max_frames or total or 0) or None, unit="frame",
                   disable=not progress, desc="evaluating")
        try:
            frames = (f for f in frames if max_frames is None or f.index < max_frames)
            predict_s = _predict_all(predictor, _batches(frames, batch_size, fault), sink, batch_size, bar)
        finally:
            if writer is not None:
                writer.close()
        duration_s = reader.duration / 1e9 if reader.duration else 0.0
    run = _run_stats(time.perf_counter() - start, duration_s, report.n_frames, fault)
    run |= {"bag": str(bag), "topics": selection.roles(), "predict_s": predict_s,
            "damaged": _damage_note(recovered, report.n_frames), "temporal": run_temporal.summary()}
    return report.write(output, run)


def _open_frames(reader: Any, topics: dict | None, use_gt: bool, intrinsics: tuple | None,
                 recovered: Recovered | None) -> tuple[Any, Iterator]:
    """The topic selection and its frames; a bag that fails at once fails before the model loads."""
    try:
        selection = select_topics(reader, **(topics or {}), use_gt=use_gt, need_info=intrinsics is None)
        frames = iter_frames(reader, selection, intrinsics)
        first = next(frames, None)
        if first is None:
            raise BagError(f"no frame on {selection.image} could be assembled (image + camera_info)")
    except BagError as error:
        if recovered is None:
            raise
        raise BagError(f"{recovered.problem}; its readable part ({recovered.messages} messages) has no "
                       f"usable frame: {error}") from None
    return selection, itertools.chain([first], frames)


def _damage_note(recovered: Recovered | None, frames: int) -> str | None:
    """What the report says about a damaged bag (None for a sound one)."""
    if recovered is None:
        return None
    return (f"{recovered.problem}; {frames} frames evaluated from its readable part ({recovered.messages} "
            f"messages, rewritten to {recovered.path})")


def _predict_all(predictor: Predictor, batches: Iterable[list[Frame]], sink: _OutputSink, batch_size: int,
                 bar: tqdm) -> float:
    """Run the predictor on every batch and hand each result to ``sink``; returns predict seconds."""
    predict_s = 0.0
    with bar:
        for batch in batches:
            tic = time.perf_counter()
            predictions = predictor.predict_batch([f.rgb for f in batch], [f.intrinsics for f in batch], batch_size)
            predict_s += time.perf_counter() - tic
            for frame, prediction in zip(batch, predictions, strict=True):
                sink(frame, prediction)
            bar.update(len(batch))
    return predict_s


def _run_stats(wall: float, duration_s: float, n_frames: int, fault: list[str]) -> dict:
    return {"wall_s": wall, "bag_duration_s": duration_s, "frames": n_frames,
            "frames_per_s": n_frames / wall if wall else 0.0,
            "realtime_factor": duration_s / wall if wall and duration_s else None,
            "error": fault[0] if fault else None}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="modot-eval-bag", description=__doc__.split("\n\n")[0])
    p.add_argument("bag", help="rosbag2 folder or a single .mcap / .db3 file")
    p.add_argument("--output", "-o", default="bag_eval", help="output folder (report, output_bag/, ply/)")
    p.add_argument("--image", help="colour image topic (default: auto-detect)")
    p.add_argument("--camera-info", help="CameraInfo topic (default: the image's sibling camera_info)")
    p.add_argument("--gt-depth", help="ground-truth depth topic, 32FC1 m or 16UC1 mm (default: auto)")
    p.add_argument("--gt-boundary", help="ground-truth occlusion-boundary mono8 mask topic (default: auto)")
    p.add_argument("--no-gt", action="store_true", help="no ground truth: outputs and timing only")
    p.add_argument("--intrinsics", nargs=4, type=float, metavar=("FX", "FY", "CX", "CY"),
                   help="use these intrinsics (pixels of the image) instead of a camera_info topic")
    p.add_argument("--checkpoint", help="model checkpoint (default: the packaged weights)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]; gpu[.N] | npu with --backend openvino")
    p.add_argument("--backend", default="torch", choices=BACKENDS, help="network forward (docs/benchmarks.md)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--align", choices=("none", "median"), default="none",
                   help="median: per-frame median scale alignment (ground truth not metric)")
    p.add_argument("--ob-thresholds", type=int, default=99,
                   help="OB thresholds for ODS/OIS/AP (BSDS protocol: 99; fewer is faster on big images)")
    p.add_argument("--jobs", type=int, default=0,
                   help="worker processes for the OB metric (same result; default 0: one per core)")
    p.add_argument("--edge-points", choices=("keep", "drop", "snap"), default="drop")
    p.add_argument("--min-depth", type=float, default=0.1)
    p.add_argument("--max-depth", type=float, default=20.0)
    p.add_argument("--no-output-bag", action="store_true", help="report only")
    p.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap", help="output bag storage")
    p.add_argument("--namespace", default="", help="namespace of the output topics (as the node's)")
    p.add_argument("--ply", type=int, nargs="*", default=[], metavar="FRAME", help="export these frames as PLY")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    add_scale_arguments(p)
    add_temporal_arguments(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns 0 on success, 2 on bad input (one line on stderr)."""
    args = _parser().parse_args(argv)
    try:
        summary = evaluate_bag(
            args.bag, args.output, topics=dict(image=args.image, camera_info=args.camera_info,
                                               gt_depth=args.gt_depth, gt_boundary=args.gt_boundary),
            use_gt=not args.no_gt, intrinsics=tuple(args.intrinsics) if args.intrinsics else None,
            checkpoint=args.checkpoint, device=args.device, backend=args.backend,
            batch_size=args.batch_size, align=args.align, write_bag=not args.no_output_bag, storage=args.storage,
            options=OutputOptions(min_depth=args.min_depth, max_depth=args.max_depth, edge_points=args.edge_points),
            namespace=args.namespace, ply_frames=args.ply, max_frames=args.max_frames,
            ob_thresholds=args.ob_thresholds, jobs=args.jobs, scale=scale_run(args),
            temporal=temporal_settings(args))
    except (BagError, CheckpointError, ValueError, FileNotFoundError) as error:
        print(f"modot-eval-bag: error: {error}", file=sys.stderr)
        return 2
    print(f"modot-eval-bag: {summary['run']['frames']} frames, report in {args.output}/report.md")
    if summary["run"]["damaged"]:  # frames were evaluated (else evaluate_bag raised): a warning
        print(f"modot-eval-bag: warning: {summary['run']['damaged']}", file=sys.stderr)
    if summary["run"]["error"]:
        print(f"modot-eval-bag: error: {summary['run']['error']}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
