"""Evaluate what the node published during a live replay against the played bag.

The recorded outputs are joined to the input frames by header.stamp (the node copies the input
header); frames the node never answered are drops; latency is the recorder's receive time minus
the player's publish time of the same stamp (both wall clock on one machine).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from modot_ros.bags.io import BagError, TopicSelection, iter_frames, iter_groups, open_bag
from modot_ros.bags.tf_tree import TF_MESSAGE, read_tf
from modot_ros.evaluation.bag_report import EvaluationReport, FrameResult
from modot_ros.temporal.offline import TemporalRun
from modot_ros.temporal.settings import TemporalSettings
from modot_ros.geometry import backproject
from modot_ros.pipeline.messages import camera_info_to_intrinsics, image_to_array, image_to_depth_metres
from modot_ros.pipeline.ply import write_ply
from modot_ros.pipeline.topics import SCORED_ROLES

OUTPUT_ROLES = SCORED_ROLES


def _output_groups(reader: Any, prefix: str):
    present = {c.topic for c in reader.connections}
    roles = {role: prefix + rel for role, rel in OUTPUT_ROLES.items() if prefix + rel in present}
    if "depth" not in roles:
        raise BagError(f"the node published nothing on {prefix}depth/image during the replay")
    return iter_groups(reader, roles, tuple(roles), window=8)


def _result(frame: Any, group: dict, poses: TemporalRun) -> FrameResult:
    depth = image_to_depth_metres(group["depth"][0])
    plane = lambda role: np.asarray(image_to_array(group[role][0]), np.float32) if role in group else None  # noqa: E731
    intr = camera_info_to_intrinsics(group["info"][0]) if "info" in group else \
        frame.intrinsics.scaled_to(depth.shape[1], depth.shape[0])
    return FrameResult(frame.index, frame.stamp_ns, frame.rgb, depth, plane("boundary"), plane("confidence"),
                       intr, frame.gt_depth, frame.gt_boundary,
                       pose=poses.pose(frame.stamp_ns, frame.image_msg.header.frame_id))


def _write_ply(output: Path, result: FrameResult) -> str:
    (output / "ply").mkdir(parents=True, exist_ok=True)
    name = f"ply/frame_{result.index:05d}.ply"
    write_ply(output / name, backproject(result.depth, result.intrinsics),
              result.rgb if result.rgb.shape[:2] == result.depth.shape else None)
    return name


def _timing(published: dict[int, int], received: dict[int, int], frames_in: int) -> dict:
    latency = np.array([(received[s] - published[s]) / 1e6 for s in received if s in published])
    times = np.sort(np.fromiter(received.values(), np.int64)) if received else np.zeros(0)
    rate = (len(times) - 1) / ((times[-1] - times[0]) / 1e9) if len(times) > 1 and times[-1] > times[0] else None
    stats = {}
    if latency.size:
        stats = {"latency_ms_p50": float(np.percentile(latency, 50)),
                 "latency_ms_p95": float(np.percentile(latency, 95)),
                 "latency_ms_mean": float(latency.mean()), "latency_ms_max": float(latency.max())}
    return {"frames_in": frames_in, "frames_out": len(received), "drops": frames_in - len(received),
            "drop_rate": (frames_in - len(received)) / frames_in if frames_in else None,
            "output_rate_hz": rate} | stats


def evaluate_recording(input_bag: str | Path, recorded_bag: str | Path, player_log: str | Path,
                       output: str | Path, selection: TopicSelection, prefix: str = "/", align: str = "none",
                       run: dict | None = None, ply_frames: int = 0, ob_thresholds: int = 99,
                       ob_stride: int = 1) -> dict:
    """Score the recorded node outputs against ``input_bag``'s ground truth and write the report.

    ply_frames: also write ``ply/frame_<index>.ply`` (node depth + camera_info, input colours)
    for the first N answered frames.
    """
    output, run = Path(output), dict(run or {})
    log_path = Path(player_log)
    log = json.loads(log_path.read_text()) if log_path.is_file() else {}
    published = {int(stamp): wall for stamp, wall in log.get(selection.image, {}).items()}
    report, received = EvaluationReport(align=align, ob_thresholds=ob_thresholds, ob_stride=ob_stride), {}
    with open_bag(input_bag) as reader_in, open_bag(recorded_bag) as reader_out:
        frames_in = len(published) or next(c.msgcount for c in reader_in.connections if c.topic == selection.image)
        frames = iter_frames(reader_in, selection)
        # the input bag's /tf, where it has one, gives the camera poses of the flicker measure
        tf = read_tf(reader_in) if any(c.msgtype == TF_MESSAGE for c in reader_in.connections) else None
        poses, frame = TemporalRun(TemporalSettings(), tf), None
        try:
            for stamp, group in _output_groups(reader_out, prefix):
                while frame is None or frame.stamp_ns < stamp:  # outputs come in stamp order, a subset
                    frame = next(frames)
                if frame.stamp_ns != stamp:
                    continue  # an output for a stamp the bag does not have: not ours
                received[stamp] = min(t for _, t in group.values())  # first output of the frame
                if "depth" not in group:  # answered, but the recorder lost the depth sample
                    run["depth_samples_lost"] = run.get("depth_samples_lost", 0) + 1
                    continue
                result = _result(frame, group, poses)
                report.add(result)
                if len(received) <= ply_frames:
                    run.setdefault("ply", []).append(_write_ply(output, result))
        except StopIteration:
            pass
        except BagError as error:
            run["error"] = str(error)
    run |= _timing(published, received, frames_in) | {"frames": report.n_frames, "topics": selection.roles()}
    return report.write(output, run)
