"""Adapt the depth network to a robot's own rooms from its recording, in one command.

    modot-adapt RECORDING [--output DIR] [--minutes 10] [--supervision auto|depth|scan|tf|none]
    python -m training.adapt RECORDING ...

RECORDING is a rosbag2 (mcap or sqlite3; raw or compressed images) or a frame folder
(docs/robot_data.md). What supervises the network is found in it (``data.recording``): a depth
image registered to the colour camera (dense or sparse), a LaserScan (sparse rows), the camera's
motion from /tf, or nothing but images; and, where given (``--relative``), relative depth from
another model, fitted per frame to the frame's measurements or the start network's prediction and
filling what was not measured (``data.relative_depth``). Steps:

1. **Split by time.** The recording's last ``--holdout`` (20 %) of its time span, after a
   ``--gap``, is never trained on: it is where the result is scored.
2. **Fine-tune** the given weights (default: the packaged ones) for ``--minutes`` of training time,
   every batch half the recording's frames and half the engine's (``--synthetic-share``): the
   engine's exact OB labels keep the OB head, and replay keeps the rooms it learnt (forgetting).
   Real and rendered samples weigh alike in the depth loss whatever their count of measured pixels
   (``loss.balance_samples``), so 500 points or a lidar row per frame supervise as much as a dense
   frame. Resumable (run it again: it continues from ``OUTPUT/run/last.pt``).
3. **Score** before and after on the held-out frames (metric and aligned AbsRel, δ1, a per-frame
   paired bootstrap, panels; ``real_frames_report``) and on the engine's validation split.
4. **Gate.** The adapted weights are written to ``OUTPUT/modot_adapted.pt`` only when the held-out
   frames improve beyond their noise (metric or aligned AbsRel decided better, neither decided
   worse) and the validation split worsens by at most ``--max-synthetic-loss`` (0.01 AbsRel) and
   ``--max-ods-loss`` (0.01 ODS); otherwise one line says why and nothing is written (``--force``
   writes anyway).

Deploy without a restart: ``ros2 param set /modot model_path OUTPUT/modot_adapted.pt``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from modot_ros.checkpoint import CheckpointError, default_weights_path, load_checkpoint
from modot_ros.config import ConfigError
from training.config import SourceConfig, TrainConfig, config_from_dict
from training.data.folder import write_frame
from training.data.frames import DataError, ensure_cache
from training.data.recording import SUPERVISIONS, Recording, TimeSplit, read_recording, split_by_time
from training.data.relative_depth import RELATIVE_KINDS, RelativeDepthModel, fill_from_relative
from training.real_frames_report import NOISE_FLOOR, paired_bootstrap
from training.trainer_state import ResumeError

REPLAY_CACHE = "build/cache/replay_240x320.pt"
REPLAY_VIDEO_CACHE = "build/cache/replay_video_240x320.pt"  # with source frames (self-supervised replay)
VAL_CACHE = "build/cache/val_240x320.pt"
VIDEO_OFFSETS = (-2, 2)


@dataclass(frozen=True)
class AdaptOptions:
    """How one adaptation runs; every field is a command-line flag (``--minutes`` ...)."""

    minutes: float = 10.0  # training time; the LR decays over it
    steps: int = 0  # > 0: a step budget instead (equal-step experiments)
    threads: int = 2
    device: str = "cpu"
    seed: int = 0
    synthetic_share: float = 0.5
    lr: float = 1.0e-4
    encoder_lr_scale: float = 1.0
    # L2-SP pull toward the start weights (training/start_anchor.py): the one strength measured to keep the
    # synthetic split within the gate's 0.01 on both cameras tried (experiment log 17)
    start_decay: float = 500.0
    start_decay_depth: float = -1.0  # the depth decoder's and head's own pull (-1: start_decay's; log 24)
    # BatchNorm statistics kept at the start's (optim.freeze_norm_stats): on four real folds the held-out frames
    # gained more and the engine's rooms stopped forgetting (validation +0.018..+0.027 -> -0.005..+0.003; log 22)
    freeze_norm_stats: bool = True
    # dense depth: occlusion-boundary labels drawn from its discontinuities (data.ob_from_depth) train the OB head
    # on the recording too. Off (default): the recording trains depth only and the engine's exact labels alone
    # teach OB; on six real folds the held-out depth was the same either way and the engine's ODS never lower,
    # on a Kinect's depth 0.008 higher (experiment log 25)
    boundaries_from_depth: bool = False
    # tf/none: the replayed engine frames' GT depth also supervises (loss.replay_depth_weight); it cut video's
    # forgetting of the engine's rooms 2-3x at the same held-out gain (experiment log 21); 0: photometric only
    replay_depth_weight: float = 1.0
    replay_scenes: int = 500
    replay_cache: str = REPLAY_CACHE
    replay_video_cache: str = REPLAY_VIDEO_CACHE
    val_cache: str = VAL_CACHE
    val_frames: int = 64
    camera_height_m: float = 0.0  # tf/none supervision: the camera's height above the floor
    video_stride: int = 3  # tf/none supervision: triplet gap in recorded images
    max_synthetic_loss: float = 0.01  # the engine's validation AbsRel may worsen by this much
    # ... and its occlusion-boundary ODS fall by this much: the OB head is what no other depth node has
    max_ods_loss: float = 0.01
    calibrate: bool = True  # train in the network's own scale, the camera's factor applied at export (scale_factor)
    noise_floor: float = NOISE_FLOOR
    relative: str = ""  # another model's relative depth: a folder of maps or an .onnx file (data.relative_depth)
    relative_kind: str = "disparity"  # what its maps hold: disparity (inverse depth) or depth
    relative_size: tuple[int, int] | None = None  # (width, height) an ONNX model with a dynamic input runs at
    relative_normalize: bool = True  # ImageNet mean/std on an ONNX model's input

    def __post_init__(self) -> None:
        if not (self.minutes > 0 or self.steps > 0):
            raise ConfigError("give a budget: --minutes > 0 or --steps > 0")
        if not 0.0 <= self.synthetic_share < 1.0:
            raise ConfigError(f"--synthetic-share {self.synthetic_share} must be in [0, 1)")
        if self.video_stride < 1:
            raise ConfigError(f"--video-stride {self.video_stride} must be >= 1")
        if self.relative_kind not in RELATIVE_KINDS:
            raise ConfigError(f"--relative-kind {self.relative_kind!r}; allowed: {', '.join(RELATIVE_KINDS)}")


def write_training_frames(frames: list[dict], root: Path) -> Path:
    """The frames in the folder layout ``data.folder`` reads (depth as float metres, K per frame)."""
    for frame in frames:
        write_frame(root, frame["name"], frame["rgb"], frame["depth"], depth_format="npy")
        intr = frame["intrinsics"]
        (root / "intrinsics").mkdir(parents=True, exist_ok=True)
        (root / "intrinsics" / f"{frame['name']}.yaml").write_text(yaml.safe_dump(
            {"fx": intr.fx, "fy": intr.fy, "cx": intr.cx, "cy": intr.cy, "width": intr.width, "height": intr.height}))
    return root


def scale_factor(init: Path, frames: list[dict], max_frames: int = 64) -> dict:
    """How much farther than measured the network puts the training frames: one factor for the camera.

    The network's depth on a new camera is often off by one factor everywhere (the shipped weights
    put a RealSense room at robot height ~2.3x too far). It is the median over frames of each
    frame's median log ratio of predicted to measured depth (dense or sparse: a lidar row or 50
    points suffice). Training then supervises the recording's frames in the network's own scale
    (measured depth x factor), where they agree with the replayed engine frames, and the factor is
    applied once at export (``with_camera_scale``). Taught to the weights instead, the two sources
    disagree by the factor and the network learns to tell them apart by their look: on the
    RealSense room the frames not trained on came out 1.4-1.8x too far (experiment log 16).
    """
    from modot_ros.depth_units import valid_depth_mask
    from modot_ros.inference import DepthBoundaryEstimator

    estimator = DepthBoundaryEstimator.from_checkpoint(init, device="cpu", warmup=0)
    ratios = []
    for i in sorted(set(np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).round().astype(int))):
        frame = frames[i]
        pred = estimator.predict(frame["rgb"], frame["intrinsics"]).depth
        valid = valid_depth_mask(frame["depth"]) & valid_depth_mask(pred)
        if valid.any():
            ratios.append(float(np.median(np.log(pred[valid] / frame["depth"][valid]))))
    if not ratios:
        raise DataError("no training frame has measured depth where the network predicts one: nothing to "
                        "calibrate the scale with")
    return {"predicted_over_measured": round(float(np.exp(np.median(ratios))), 4), "frames": len(ratios)}


def with_camera_scale(source: Path, factor: float, target: Path, record: dict | None = None) -> Path:
    """Write ``source``'s weights with metric depth divided by ``factor`` to ``target``.

    ``canonical_focal`` x factor, as metric = canonical x fx_net / canonical_focal.
    """
    from modot_ros.checkpoint import build_model, save_checkpoint

    model, checkpoint = build_model(source)
    config = dataclasses.replace(checkpoint.model_config,
                                 canonical_focal=checkpoint.model_config.canonical_focal * factor)
    extra = {"camera_scale": {"factor": factor, "canonical_focal": [checkpoint.model_config.canonical_focal,
                                                                    config.canonical_focal]} | (record or {})}
    return save_checkpoint(target, model, config, data=checkpoint.data, metrics=checkpoint.metrics,
                           training_config=checkpoint.training_config | {"model": config.to_dict()} | extra)


def _recording_source(recording: Recording, split: TimeSplit, output: Path, options: AdaptOptions,
                      depth_scale: float = 1.0) -> SourceConfig:
    """The training source of the recording's training part.

    A folder of its frames (depth, scan; depth x ``depth_scale``, the network's own scale) or the
    bag itself up to the split (tf, none: self-supervised video).
    """
    weight = 1.0 - options.synthetic_share
    if recording.supervision in ("depth", "scan", "relative"):
        frames = [f | {"depth": f["depth"] * np.float32(depth_scale)} for f in split.train]
        root = write_training_frames(frames, output / "train_frames")
        # sparse depth has no edges to label (every point borders a hole), dense depth does; a relative
        # model's smooth maps are no occlusion-boundary labels either
        dense = recording.details.get("depth") == "dense" and "relative" not in recording.details
        ob = "from_depth" if dense and options.boundaries_from_depth else "none"
        return SourceConfig(kind="folder", path=str(root), weight=weight, ob=ob)
    images = max(f["index"] for f in split.train) + 1  # bag images before the split (stamp order)
    return SourceConfig(kind="bag", path=str(recording.path), weight=weight, ob="none",
                        stride=options.video_stride, max_frames=math.ceil(images / options.video_stride),
                        poses="tf" if recording.supervision == "tf" else "pose_net",
                        camera_height_m=options.camera_height_m)


def adaptation_config(init: Path, source: SourceConfig, supervision: str, options: AdaptOptions) -> TrainConfig:
    """The init checkpoint's own training config, turned into a fine-tuning leg on ``source``."""
    checkpoint = load_checkpoint(init)
    # the record of earlier runs (statistics, provenance, calibration, adaptation) is not a config group
    values = {k: v for k, v in checkpoint.training_config.items() if k in TrainConfig.__dataclass_fields__}
    if not values.get("model"):
        raise CheckpointError(init, "it records no training config to fine-tune with (was it exported "
                                    "by training.export?)")
    stats = checkpoint.training_config.get("run_stats", {})
    start, start_minutes = int(stats.get("steps", 0)), float(stats.get("train_seconds", 0.0)) / 60.0
    video = supervision in ("tf", "none")
    replay = SourceConfig(kind="synthetic", weight=options.synthetic_share,
                          path=options.replay_video_cache if video else options.replay_cache)
    sources = ([replay] if options.synthetic_share > 0 else []) + [source]
    budget = ({"max_steps": start + options.steps, "time_budget_minutes": 0.0} if options.steps else
              {"max_steps": start + 1_000_000, "time_budget_minutes": start_minutes + options.minutes})
    values["data"] = values.get("data", {}) | {"sources": [dataclasses.asdict(s) for s in sources],
                                               "val_cache": options.val_cache, "val_images": 16}
    values["optim"] = values.get("optim", {}) | {"lr": options.lr, "lr_end_ratio": 0.2,
                                                 "encoder_lr_scale": options.encoder_lr_scale,
                                                 "start_decay": options.start_decay,
                                                 "start_decay_depth": options.start_decay_depth,
                                                 "freeze_norm_stats": options.freeze_norm_stats,
                                                 "encoder_frozen_steps": 0}
    values["loss"] = values.get("loss", {}) | {"balance_samples": True,
                                               "replay_depth_weight": options.replay_depth_weight if video else 0.0}
    values["schedule"] = values.get("schedule", {}) | budget | {"init_lr": "config", "val_every": 0,
                                                                "half_res_fraction": 0.0}
    values["run"] = values.get("run", {}) | {"supervision": "self_supervised" if video else "supervised",
                                             "threads": options.threads, "device": options.device,
                                             "seed": options.seed, "tensorboard": False}
    return config_from_dict(values)


def _size(config: TrainConfig) -> tuple[int, int]:
    return config.model.input_height, config.model.input_width


def ensure_replay(config: TrainConfig, options: AdaptOptions) -> None:
    """Render the engine frames replayed in every batch once (a minute or two; kept in build/cache)."""
    for spec in config.data.sources:
        if spec.kind == "synthetic":
            offsets = VIDEO_OFFSETS if config.run.supervision == "self_supervised" else ()
            ensure_cache(spec.path, "train", options.replay_scenes, source_offsets=offsets, size=_size(config))
    ensure_cache(options.val_cache, "val", options.val_frames, size=_size(config))


def score_heldout(before: Path, candidates: dict[str, Path], heldout: list[dict], output: Path) -> dict:
    """Write the held-out report (the start and each candidate) to ``output``.

    Returns its summary and, per candidate, the bootstraps of candidate - before; {} when no
    held-out frame has a depth image.
    """
    from training.real_frames_report import load_models, write_report

    frames = [{"rgb": f["rgb"], "depth": f["truth"], "intrinsics": f["intrinsics"], "boundary": None}
              for f in heldout if f.get("truth") is not None]
    if not frames:
        return {}
    models = load_models([f"before={before}"] + [f"{name}={path}" for name, path in candidates.items()])
    write_report(frames, [f["name"] for f in heldout if f.get("truth") is not None], models, output,
                 reference="before")
    rep = json.loads((output / "real_frames.json").read_text())
    rows = rep["per_frame"]
    versus = {}
    for name in candidates:
        versus[name] = {}
        for key in ("abs_rel", "abs_rel_aligned"):
            boot = paired_bootstrap([r[key] for r in rows[name]], [r[key] for r in rows["before"]],
                                    noise_floor=NOISE_FLOOR)
            versus[name][key] = dataclasses.asdict(boot) | {"verdict": boot.verdict}
    return {"summary": rep["summary"], "frames": rep["frames"], "minus_before": versus}


def score_synthetic(checkpoint: Path, cache: str, n: int, size: tuple[int, int]) -> dict[str, float]:
    """AbsRel / δ1 / ODS of ``checkpoint`` on the engine's validation split (forgetting)."""
    from training.evaluate import evaluate_checkpoint, split_frames

    summary = evaluate_checkpoint(checkpoint, split_frames("val", n, cache, size))
    return {k: float(summary[k]) for k in ("abs_rel", "delta1", "abs_rel_med", "ods") if k in summary}


def judge(versus: dict) -> tuple[bool, str]:
    """(improved beyond noise and nowhere worse?, why) of one candidate's bootstraps against the start."""
    verdicts = {k: v["verdict"] for k, v in versus.items()}
    better = [k for k, v in verdicts.items() if v.startswith("A lower")]
    worse = [k for k, v in verdicts.items() if v.startswith("B lower")]
    if worse:
        return False, f"worse on the held-out frames ({', '.join(worse)}: {verdicts[worse[0]]})"
    if not better:
        return False, (f"not better beyond the held-out frames' noise ({verdicts['abs_rel']} metric, "
                       f"{verdicts['abs_rel_aligned']} aligned)")
    return True, f"better on the held-out frames ({', '.join(better)})"


def choose(heldout: dict, synthetic: dict, max_synthetic_loss: float,
           max_ods_loss: float = AdaptOptions.max_ods_loss) -> tuple[str | None, str]:
    """The candidate to write and one line saying why.

    ``after`` (the fine-tune), else ``calibrated`` (the start with the camera's scale only); (None,
    why not) when neither improves the held-out frames or ``after`` forgets the engine's frames
    (their depth AbsRel, or their occlusion boundaries' ODS where both runs scored it).

    Choosing between two candidates on the held-out frames makes their score a little optimistic;
    the report shows both beside the start.
    """
    if not heldout:
        return None, ("the recording has no depth image to score its held-out frames with (video supervision "
                      "cannot be checked here); --force writes the fine-tuned weights unchecked")
    loss = synthetic["after"]["abs_rel"] - synthetic["before"]["abs_rel"]
    ods_loss = synthetic["before"].get("ods", math.nan) - synthetic["after"].get("ods", math.nan)
    reasons = []
    for name in ("after", "calibrated"):
        if name not in heldout["minus_before"]:
            continue
        ok, why = judge(heldout["minus_before"][name])
        if ok and name == "after" and loss > max_synthetic_loss:
            ok, why = False, f"the engine's validation frames worsened by {loss:+.3f} AbsRel (> {max_synthetic_loss})"
        elif ok and name == "after" and ods_loss > max_ods_loss:  # NaN (no OB head) compares False
            ok, why = False, (f"the engine's validation frames' occlusion boundaries worsened by {ods_loss:.3f} "
                              f"ODS (> {max_ods_loss})")
        label = "fine-tuned" if name == "after" else "scale calibration alone"
        if ok:
            return name, f"{label}: {why}" + (f"; the fine-tune was not ({reasons[0]})" if reasons else "")
        reasons.append(f"{label} {why}")
    return None, "; ".join(reasons)


def add_relative(recording: Recording, frames: list[dict], init: Path, options: AdaptOptions) -> None:
    """Fill ``frames``' depth from ``options.relative`` (the training frames); recorded in the details.

    With nothing measured to fit to (video or image-only recordings) the maps are fitted to the start
    network's prediction and supervise alone (supervision ``relative``).
    """
    from modot_ros.inference import DepthBoundaryEstimator

    model = RelativeDepthModel(options.relative, options.relative_size, options.relative_normalize)
    estimator = []

    def predict(frame: dict) -> np.ndarray:
        if not estimator:
            estimator.append(DepthBoundaryEstimator.from_checkpoint(init, device="cpu", warmup=0))
        return estimator[0].predict(frame["rgb"], frame["intrinsics"]).depth

    counts = fill_from_relative(frames, model, options.relative_kind, predict)
    if recording.supervision in ("tf", "none"):
        recording.supervision = "relative"
    recording.details["relative"] = {"path": str(options.relative), "kind": options.relative_kind} | counts


def adapt(recording: Recording, output: Path, init: Path, options: AdaptOptions, holdout: float = 0.2,
          gap: float = 0.05, force: bool = False, resume: bool = True) -> dict:
    """Split, fine-tune, score, gate and export; returns the report (also ``OUTPUT/adapt_report.json``)."""
    from training.export import export_runtime
    from training.trainer import train

    output.mkdir(parents=True, exist_ok=True)
    split = split_by_time(recording.frames, holdout, gap)
    if options.relative:
        add_relative(recording, split.train, init, options)
    calibration = (scale_factor(init, split.train) if recording.supervision in ("depth", "scan") and options.calibrate
                   else {"predicted_over_measured": 1.0, "frames": 0})
    factor = calibration["predicted_over_measured"]
    source = _recording_source(recording, split, output, options, factor)
    config = adaptation_config(init, source, recording.supervision, options)
    ensure_replay(config, options)
    started = time.monotonic()
    final = train(config, output / "run", resume=resume, init=init)  # in the network's own scale
    wall = time.monotonic() - started
    leg = load_checkpoint(final).training_config["run_stats"]["legs"][-1]
    steps = leg["end_step"] - leg["start_step"]
    candidates = {"after": with_camera_scale(final, factor, output / "run" / "final_camera.pt")}
    if factor != 1.0:
        candidates = {"calibrated": with_camera_scale(init, factor, output / "calibrated.pt")} | candidates
    heldout = score_heldout(init, candidates, split.heldout, output / "heldout")
    # forgetting: the engine's frames in the network's own scale (the camera's factor is not theirs)
    synthetic = {label: score_synthetic(path, options.val_cache, options.val_frames, _size(config))
                 for label, path in (("before", init), ("after", final))}
    choice, reason = choose(heldout, synthetic, options.max_synthetic_loss, options.max_ods_loss)
    weights = output / "modot_adapted.pt"
    written = choice or ("after" if force else None)
    report = {"recording": recording.describe(), "split": split.describe(), "options": dataclasses.asdict(options),
              "init": str(init), "scale_calibration": calibration, "steps": steps,
              "train_seconds": leg["train_seconds"], "seconds_per_step": round(leg["train_seconds"] / max(steps, 1), 3),
              "wall_seconds": round(wall, 1), "hardware": leg["hardware"], "heldout": heldout,
              "synthetic_val": synthetic, "gate": {"passed": choice is not None, "chosen": written, "reason": reason,
                                                   "forced": force and choice is None},
              "weights": str(weights) if written else None}
    if written:
        export_runtime(candidates[written], weights, half=True, extra_training={"adaptation": {
            k: report[k] for k in ("recording", "split", "scale_calibration", "steps", "train_seconds", "gate")}})
    elif weights.exists():
        weights.unlink()  # a stale file from an earlier run must not look like this run's result
    (output / "adapt_report.json").write_text(json.dumps(report, indent=2, default=str))
    (output / "adapt_report.md").write_text(markdown(report))
    return report


def _relative_line(rec: dict) -> str:
    rel = rec.get("relative")
    return (f" Relative depth ({rel['kind']}) from {rel['path']}: fitted to the measurements on "
            f"{rel['fitted_to_measurement']} frames, to the start network on {rel['fitted_to_network']}, "
            f"not fitted on {rel['not_fitted']}; it fills the pixels without a measurement." if rel else "")


def markdown(report: dict) -> str:
    """The report a person reads: what was used, the before/after tables, the verdict."""
    rec, split, held = report["recording"], report["split"], report["heldout"]
    lines = [f"# Adaptation of {Path(report['init']).name} to {rec['path']}", "",
             f"Supervision **{rec['supervision']}** ({rec.get('depth', '')} {rec.get('depth_valid_share', '')}); "
             f"{rec['frames_kept']} of {rec['images']} images kept; trained on {split['train_frames']} frames "
             f"up to t = {split['train_until_s']} s, held out {split['heldout_frames']} from t = "
             f"{split['heldout_from_s']} s. {report['steps']} steps in {report['train_seconds']:.0f} s of training "
             f"({report['seconds_per_step']} s/step, {report['hardware']})." + _relative_line(rec), "",
             "| held-out frames | metric AbsRel | δ1 | aligned AbsRel | aligned δ1 |", "|---|---|---|---|---|"]
    for name in [n for n in ("constant", "row prior", "before", "calibrated", "after") if n in held.get("summary", {})]:
        s = held["summary"][name]
        lines.append(f"| {name} | {s['abs_rel']:.3f} | {s['delta1']:.3f} | {s['abs_rel_aligned']:.3f} | "
                     f"{s['delta1_aligned']:.3f} |")
    lines += ["", "| minus before | error | mean | 95 % interval | verdict |", "|---|---|---|---|---|"]
    for name, versus in held.get("minus_before", {}).items():
        for key, b in versus.items():
            lines.append(f"| {name} | {key} | {b['mean']:+.3f} | [{b['low']:+.3f}, {b['high']:+.3f}] | "
                         f"{b['verdict']} |")
    syn = report["synthetic_val"]
    ods = {k: syn[k].get("ods", math.nan) for k in ("before", "after")}
    lines += ["", f"Synthetic validation AbsRel: before {syn['before']['abs_rel']:.3f}, after "
                  f"{syn['after']['abs_rel']:.3f}; OB ODS: before {ods['before']:.3f}, after {ods['after']:.3f}.", "",
              f"Camera scale: the start put the training frames "
              f"{report['scale_calibration']['predicted_over_measured']}x "
              "as far as measured; they train in the network's scale and the written weights divide by it.",
              f"**Gate: {'passed' if report['gate']['passed'] else 'not passed'}** — {report['gate']['reason']}.",
              f"Weights: {report['weights'] or 'not written (the old weights stay; --force writes anyway)'}.",
              "Per-frame rows and panels: heldout/real_frames.md, heldout/*.png."]
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    d = AdaptOptions()
    p = argparse.ArgumentParser(prog="modot-adapt", description=__doc__.splitlines()[0])
    p.add_argument("recording", help="a rosbag2 (mcap/sqlite3 file or folder) or a frame folder")
    p.add_argument("--output", help="result folder (default: build/adapt/<recording name>)")
    p.add_argument("--init", help="weights to adapt (default: the packaged weights)")
    p.add_argument("--supervision", default="auto", choices=SUPERVISIONS,
                   help="what supervises: auto picks depth, else scan, else tf, else none")
    p.add_argument("--minutes", type=float, default=d.minutes, help="training minutes (default %(default)s)")
    p.add_argument("--steps", type=int, default=0, help="a step budget instead of --minutes")
    p.add_argument("--device", default=d.device, help="cpu | cuda | auto")
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--synthetic-share", type=float, default=d.synthetic_share,
                   help="share of every batch from the engine (replay; default %(default)s)")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--encoder-lr-scale", type=float, default=d.encoder_lr_scale,
                   help="the encoder's LR as a share of the rest's (0 freezes it)")
    p.add_argument("--start-decay", type=float, default=d.start_decay,
                   help="pull toward the start weights against forgetting (L2-SP; 0: off; default %(default)s)")
    p.add_argument("--start-decay-depth", type=float, default=d.start_decay_depth,
                   help="the depth decoder's and head's own pull (-1: --start-decay's; default %(default)s)")
    p.add_argument("--freeze-norm-stats", action=argparse.BooleanOptionalAction, default=d.freeze_norm_stats,
                   help="keep the start's BatchNorm statistics; the affine weights still train (default on; "
                        "--no-freeze-norm-stats re-estimates them from the batches, as before log 22)")
    p.add_argument("--boundaries-from-depth", action=argparse.BooleanOptionalAction, default=d.boundaries_from_depth,
                   help="dense depth: train the OB head on labels drawn from its discontinuities too (default "
                        "off: the recording trains depth only, the engine's exact labels teach OB; log 25)")
    p.add_argument("--replay-depth-weight", type=float, default=d.replay_depth_weight,
                   help="tf/none: weight of the replayed engine frames' GT depth beside their photometric "
                        "loss (default %(default)s)")
    p.add_argument("--video-stride", type=int, default=d.video_stride,
                   help="tf/none: images between a video triplet's frames (default %(default)s)")
    p.add_argument("--holdout", type=float, default=0.2, help="last share of the time held out (default 0.2)")
    p.add_argument("--gap", type=float, default=0.05, help="share of the time left out before the held-out part")
    p.add_argument("--max-frames", type=int, default=300, help="images kept, evenly over the recording")
    p.add_argument("--image", default="", help="bag: colour image topic (default: auto)")
    p.add_argument("--camera-info", default="", help="bag: CameraInfo topic (default: auto)")
    p.add_argument("--depth", default="", help="bag: registered depth topic (default: auto)")
    p.add_argument("--scan", default="", help="bag: LaserScan topic (default: the only one)")
    p.add_argument("--laser-extrinsic", default="0 0 0 0 0 0",
                   help="lidar pose in the camera's body frame 'x y z roll pitch yaw' (m, deg) where /tf lacks it")
    p.add_argument("--camera-height", type=float, default=0.0,
                   help="tf/none: camera height above the floor, m (metric scale without /tf)")
    p.add_argument("--replay-cache", default=d.replay_cache, help="engine frames replayed (rendered when missing)")
    p.add_argument("--replay-video-cache", default=d.replay_video_cache,
                   help="tf/none: engine frames with source frames, replayed (rendered when missing)")
    p.add_argument("--val-cache", default=d.val_cache,
                   help="engine validation frames (forgetting; rendered when missing)")
    p.add_argument("--val-frames", type=int, default=d.val_frames)
    p.add_argument("--replay-scenes", type=int, default=d.replay_scenes,
                   help="scenes rendered for a missing replay cache")
    p.add_argument("--relative", default="", help="relative depth from another model: a folder of maps named "
                   "as the frames (see --write-frames) or an .onnx file run here on each image")
    p.add_argument("--relative-kind", default=d.relative_kind, choices=RELATIVE_KINDS,
                   help="what the relative maps hold (default %(default)s: inverse depth, as most such models)")
    p.add_argument("--relative-size", default="", metavar="WxH",
                   help="input size of an ONNX model with a dynamic input (default 518x518)")
    p.add_argument("--relative-raw-input", action="store_true",
                   help="feed an ONNX model RGB in [0, 1] without ImageNet normalisation")
    p.add_argument("--write-frames", metavar="DIR", help="write the recording's kept images as DIR/NAME.png "
                   "(the names --relative maps need) and stop")
    p.add_argument("--no-calibrate", action="store_true",
                   help="do not fit the network's global scale to the training frames before fine-tuning")
    p.add_argument("--force", action="store_true", help="write the weights even when the gate fails")
    p.add_argument("--max-synthetic-loss", type=float, default=d.max_synthetic_loss,
                   help="gate: the engine's validation AbsRel may rise by this much (default %(default)s)")
    p.add_argument("--max-ods-loss", type=float, default=d.max_ods_loss,
                   help="gate: the engine's validation OB ODS may fall by this much (default %(default)s)")
    p.add_argument("--restart", action="store_true", help="start over instead of resuming OUTPUT/run")
    return p


def _size_text(text: str) -> tuple[int, int] | None:
    """'518x518' -> (518, 518); '' -> None; ConfigError otherwise."""
    if not text:
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--relative-size {text!r}: expected WIDTHxHEIGHT, e.g. 518x518") from None
    if width < 1 or height < 1:
        raise ConfigError(f"--relative-size {text!r}: both sides must be positive")
    return width, height


def write_images(recording: Recording, folder: Path) -> int:
    """Write the recording's kept images as ``folder/NAME.png`` for another model to run on."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for frame in recording.frames:
        cv2.imwrite(str(folder / f"{frame['name']}.png"), cv2.cvtColor(frame["rgb"], cv2.COLOR_RGB2BGR))
    print(f"modot-adapt: wrote {len(recording.frames)} images to {folder}; run your model on them, save the map "
          "of NAME.png as MAPS/NAME.npy (or a 16-bit .png/.tif) and pass --relative MAPS")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        options = AdaptOptions(minutes=args.minutes if not args.steps else 0.0, steps=args.steps,
                               threads=args.threads, device=args.device, seed=args.seed,
                               synthetic_share=args.synthetic_share, lr=args.lr,
                               encoder_lr_scale=args.encoder_lr_scale, start_decay=args.start_decay,
                               start_decay_depth=args.start_decay_depth, freeze_norm_stats=args.freeze_norm_stats,
                               boundaries_from_depth=args.boundaries_from_depth,
                               max_synthetic_loss=args.max_synthetic_loss, max_ods_loss=args.max_ods_loss,
                               replay_depth_weight=args.replay_depth_weight, video_stride=args.video_stride,
                               camera_height_m=args.camera_height,
                               replay_cache=args.replay_cache, replay_video_cache=args.replay_video_cache,
                               val_cache=args.val_cache, val_frames=args.val_frames,
                               replay_scenes=args.replay_scenes, calibrate=not args.no_calibrate,
                               relative=args.relative, relative_kind=args.relative_kind,
                               relative_size=_size_text(args.relative_size),
                               relative_normalize=not args.relative_raw_input)
        init = Path(args.init) if args.init else default_weights_path()
        topics = {"image": args.image, "camera_info": args.camera_info, "depth": args.depth, "scan": args.scan}
        recording = read_recording(args.recording, args.supervision, args.max_frames, topics, args.laser_extrinsic)
        if args.write_frames:
            return write_images(recording, Path(args.write_frames))
        output = Path(args.output or f"build/adapt/{Path(args.recording).stem}")
        print(f"modot-adapt: {recording.kind} {recording.path}: supervision {recording.supervision}, "
              f"{len(recording.frames)} frames", file=sys.stderr)
        report = adapt(recording, output, init, options, args.holdout, args.gap, args.force, not args.restart)
    except (ConfigError, DataError, CheckpointError, ResumeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(markdown(report))
    if report["weights"]:
        print(f"deploy: ros2 param set /modot model_path {Path(report['weights']).resolve()}")
    else:
        print(f"modot-adapt: weights not written: {report['gate']['reason']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
