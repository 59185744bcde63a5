"""Flicker and error of the temporal filter on engine sequences: ``python -m training.temporal_report``.

For each of ``--scenes`` test-split scenes it renders two 30 Hz sequences with ground truth
depth and poses: the scene's own trajectory (a moving camera) and its key frame held still (a
static camera: only the camera noise changes, as on a robot that stands). The shipped model
predicts every frame once; each ``temporal_filter`` mode (off | static | odometry, the node's
``modot_ros.temporal.TemporalFilter`` with the true motion) then runs over the predictions, and
each output is scored: AbsRel (metric and per-frame median-scaled, ``depth_errors``) and flicker
(``modot_ros.evaluation.flicker``). ``--bag`` adds the rows of a bag with GT depth (the demo bag;
motion from its /tf where it has one; ``modot-eval-bag --temporal-filter``). Writes
``temporal_report.md`` / ``.json`` and strip panels (consecutive frames: input, depth per mode,
per-pixel change) under ``--output``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from modot_ros.evaluation import plots
from modot_ros.evaluation.depth_errors import depth_metrics
from modot_ros.evaluation.flicker import FlickerMeter, log_depth_change
from modot_ros.geometry import CameraIntrinsics, invert_rigid
from modot_ros.inference import DepthBoundaryEstimator
from modot_ros.temporal import fusion
from modot_ros.temporal.fusion import TemporalFilter
from modot_ros.temporal.settings import TEMPORAL_FILTERS, TemporalSettings
from training.data.frames import split_seeds

STRIP_FRAMES = 5


def render_sequence(seed: int, frames: int, height: int, width: int, still: bool) -> list[dict]:
    """``frames`` consecutive frames of scene ``seed``: rgb, gt depth, intrinsics, pose (T_world_camera)."""
    from training.data.synth.render import render_batch
    from training.data.synth.sample import sample_scene

    scene = sample_scene(seed, ("indoor_robot", "handheld", "vehicle"), "classic")
    index = [0 if still else f for f in range(frames)]
    out = []
    for start in range(0, frames, 8):  # batches of 8 keep the renderer's memory small
        chunk = index[start:start + 8]
        noise_seeds = [seed * 1009 + start + i for i in range(len(chunk))]  # fresh camera noise per frame
        batch = render_batch([scene] * len(chunk), height, width, [scene.trajectory.frame_pose(f) for f in chunk],
                             seeds=noise_seeds, exposure_ref=[0] * len(chunk))
        for i in range(len(chunk)):
            k = batch["K"][i].double().numpy()
            out.append({"rgb": batch["rgb"][i].permute(1, 2, 0).numpy(), "gt": batch["depth"][i, 0].numpy(),
                        "pose": batch["pose"][i].numpy(),
                        "intrinsics": CameraIntrinsics(k[0, 0], k[1, 1], k[0, 2], k[1, 2], width, height)})
    return out


def run_mode(frames: list[dict], predictions: list, settings: TemporalSettings) -> tuple[list, dict]:
    """The filtered depth of every frame and the sequence's scores for one filter setting."""
    filt, meter = TemporalFilter(settings), FlickerMeter()
    depths, metric, aligned, fused = [], [], [], []
    for i, (frame, pred) in enumerate(zip(frames, predictions)):
        motion = invert_rigid(frame["pose"]) @ frames[i - 1]["pose"] if i else None
        out, step = filt.update(pred, motion)
        fused.append(step.fused_fraction)
        depths.append(out.depth)
        meter.add(out.depth, out.intrinsics, frame["pose"], frame["gt"])
        metric.append(depth_metrics(out.depth, frame["gt"], max_depth=20.0)["abs_rel"])
        aligned.append(depth_metrics(out.depth, frame["gt"], max_depth=20.0, align="median")["abs_rel"])
    scores = meter.summary() | {"abs_rel": float(np.nanmean(metric)), "abs_rel_med": float(np.nanmean(aligned)),
                                "fused": float(np.mean(fused[1:])) if len(fused) > 1 else 0.0}
    return depths, scores


def strip_panel(path: Path, frames: list[dict], depths: dict[str, list], start: int) -> None:
    """Consecutive frames left to right: input, each mode's depth, each mode's per-pixel change."""
    picks = range(start, min(start + STRIP_FRAMES, len(frames)))
    rows = [np.hstack([frames[i]["rgb"] for i in picks])]
    for mode, seq in depths.items():
        rows.append(np.hstack([plots.colorize_inverse_depth(seq[i], frames[i]["gt"]) for i in picks]))
    for mode, seq in depths.items():
        tiles = []
        for i in picks:
            motion = invert_rigid(frames[i]["pose"]) @ frames[i - 1]["pose"]
            change = log_depth_change(seq[i - 1], seq[i], frames[i]["intrinsics"], motion,
                                      frames[i - 1]["gt"], frames[i]["gt"])
            tiles.append(plots.colorize(np.abs(np.nan_to_num(change)), 0.0, 0.1, "inferno"))
        rows.append(np.hstack(tiles))
    labels = ["input"] + [f"depth: {m}" for m in depths] + [f"|change| 0-0.1: {m}" for m in depths]
    for row, label in zip(rows, labels):
        cv2.putText(row, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.imwrite(str(path), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))


def evaluate(estimator: DepthBoundaryEstimator, args: argparse.Namespace, output: Path) -> dict:
    """Scores per (camera, mode), averaged over the scenes; strip panels of the first scene."""
    base = TemporalSettings(temporal_process_noise=args.process_noise, temporal_gate=args.gate)
    results: dict[str, dict[str, list]] = {}
    for n, seed in enumerate(tqdm(split_seeds("test", args.scenes), desc="scenes", unit="scene")):
        for camera in ("moving", "static"):
            frames = render_sequence(seed, args.frames, args.height, args.width, camera == "static")
            # with the mixture parameters: the filter follows the prior's surface where both weigh
            predictions = [estimator.predict(f["rgb"], f["intrinsics"]) for f in frames]
            depths = {}
            for mode in TEMPORAL_FILTERS:
                depths[mode], scores = run_mode(frames, predictions,
                                                dataclasses.replace(base, temporal_filter=mode))
                for key, value in scores.items():
                    results.setdefault(f"{camera}/{mode}", {}).setdefault(key, []).append(value)
            if n == 0:
                strip_panel(output / f"strip_{camera}.png", frames, depths, start=args.frames // 2)
    return {row: {k: float(np.mean(v)) for k, v in scores.items()} | {"scenes": len(scores["abs_rel"])}
            for row, scores in results.items()}


def evaluate_bag_modes(bag: str, estimator: DepthBoundaryEstimator, args: argparse.Namespace, output: Path) -> dict:
    """The bag's rows: ``modot-eval-bag`` once per mode (motion from the bag's /tf), report in ``bag_<mode>/``."""
    from modot_ros.evaluation.bag_evaluation import evaluate_bag

    base = TemporalSettings(temporal_process_noise=args.process_noise, temporal_gate=args.gate)
    rows = {}
    for mode in TEMPORAL_FILTERS:
        summary = evaluate_bag(bag, output / f"bag_{mode}", predictor=estimator, write_bag=False, ob_thresholds=9,
                               temporal=dataclasses.replace(base, temporal_filter=mode), progress=False)
        depth, flicker, temporal = summary.get("depth", {}), summary.get("flicker", {}), summary["run"]["temporal"]
        rows[f"bag/{mode}"] = {"abs_rel": depth.get("abs_rel", float("nan")),
                               "abs_rel_med": depth.get("abs_rel_med", float("nan")),
                               "fused": temporal["pixels_fused"], **flicker}
    return rows


def markdown(results: dict, command: str) -> str:
    lines = ["| camera | temporal_filter | flicker | flicker (median-scaled) | cloud churn | AbsRel | "
             "AbsRel (median-scaled) | pixels fused |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row, s in results.items():
        camera, mode = row.split("/")
        lines.append(f"| {camera} | {mode} | {s.get('flicker', float('nan')):.4f} | "
                     f"{s.get('flicker_med', float('nan')):.4f} | {s.get('cloud_churn', float('nan')):.3f} | "
                     f"{s['abs_rel']:.4f} | {s['abs_rel_med']:.4f} | {s['fused']:.2f} |")
    return "\n".join(lines) + f"\n\n`{command}`\n"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.temporal_report", description=__doc__.splitlines()[0])
    p.add_argument("--output", "-o", default="build/temporal", help="folder for the report and panels")
    p.add_argument("--checkpoint", help="model checkpoint (default: the packaged weights)")
    p.add_argument("--scenes", type=int, default=4, help="test-split scenes (each: a moving and a static sequence)")
    p.add_argument("--frames", type=int, default=30, help="frames per sequence (30 Hz)")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--process-noise", type=float, default=TemporalSettings().temporal_process_noise,
                   help="temporal_process_noise of the filters")
    p.add_argument("--gate", type=float, default=TemporalSettings().temporal_gate, help="temporal_gate of the filters")
    p.add_argument("--bag", help="also a bag with GT depth (and /tf for the flicker and odometry), e.g. the demo's")
    ablation = p.add_argument_group("ablation (the filter's design constants, modot_ros/temporal/fusion.py)")
    ablation.add_argument("--ramp-start", type=float, help=f"RAMP_START (default {fusion.RAMP_START}; 1: plain gain)")
    ablation.add_argument("--mode-min-weight", type=float,
                          help=f"MODE_MIN_WEIGHT (default {fusion.MODE_MIN_WEIGHT}; above 0.5: the heavier component)")
    ablation.add_argument("--max-gate-scale", type=float, help=f"MAX_SCALE (default {fusion.MAX_SCALE})")
    return p


def _set_design_constants(args: argparse.Namespace) -> None:
    """Apply the ablation flags to the filter module (this process only; the node never sets them)."""
    for flag, name in (("ramp_start", "RAMP_START"), ("mode_min_weight", "MODE_MIN_WEIGHT"),
                       ("max_gate_scale", "MAX_SCALE")):
        if getattr(args, flag) is not None:
            setattr(fusion, name, getattr(args, flag))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _set_design_constants(args)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    estimator = DepthBoundaryEstimator.from_checkpoint(args.checkpoint, device="cpu")
    results = evaluate(estimator, args, output) if args.scenes else {}
    if args.bag:
        results |= evaluate_bag_modes(args.bag, estimator, args, output)
    command = "python -m training.temporal_report " + " ".join(argv if argv is not None else sys.argv[1:])
    (output / "temporal_report.json").write_text(json.dumps({"results": results, "args": vars(args)}, indent=1))
    (output / "temporal_report.md").write_text(markdown(results, command.strip()))
    print(markdown(results, command.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
