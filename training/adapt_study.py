"""How much one room's data teaches: adaptation on real cameras, leave-frames-out (issue 29's tables).

    python -m training.adapt_study --camera oakd=../shared/data/real_indoor_dev \
        --camera realsense=../shared/data/real_indoor_dev_realsense --supervision dense lidar_row points:500 \
        --steps 300 --output build/adapt_study

Each camera's frames are split into folds (``--folds``; or named with ``--fold NAME,NAME``): the
network is adapted (``training.adapt``: the same config, replay and loss) on the frames outside a
fold with one supervision kind, drawn from their ground truth as a sensor would give it (dense:
the depth itself; ``lidar_row`` / ``points:N``: ``scale.samples.ground_truth_samples`` with 2 %
noise), and scored on the fold's frames, never trained on:

* scale-aligned and metric AbsRel before/after, with a constant and a row prior;
* sparse kinds: the same kind of samples drawn on the scored frame (another seed) alone, as depth
  (a lidar row extruded: each column at its row's depth; points interpolated linearly, nearest
  outside their hull), and the adapted / shipped network with its scale fitted to them
  (``scale.fit.fit_points``), as the node would run with that sensor;
* forgetting: every other camera's frames and the engine's test split, before/after.

Writes ``study.json``, ``study.md`` (per run) and, per run, ``runs/RUN/heldout/`` (the held-out
frames' report: per frame, bootstrap, panels of RGB | GT | each model, aligned).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

from modot_ros.checkpoint import default_weights_path, load_checkpoint
from modot_ros.inference import DepthBoundaryEstimator
from modot_ros.scale.fit import fit_points
from modot_ros.scale.samples import ground_truth_samples
from training.adapt import AdaptOptions, _recording_source, adaptation_config, scale_factor, with_camera_scale
from training.data.frames import DataError
from training.data.recording import Recording, TimeSplit, read_recording
from training.real_frames_report import frame_errors, paired_bootstrap, row_prior_depth, row_profile, write_report

SAMPLE_NOISE = 0.02


def supervised_frames(frames: list[dict], kind: str, seed: int) -> list[dict]:
    """Copies of ``frames`` whose depth is what a sensor of ``kind`` would give (dense: the GT)."""
    if kind == "dense":
        return frames
    out = []
    for i, frame in enumerate(frames):
        u, v, z = ground_truth_samples(frame["depth"], frame["intrinsics"], kind, SAMPLE_NOISE, seed + i)
        sparse = np.full(frame["depth"].shape, np.nan, np.float32)
        sparse[v.astype(int), u.astype(int)] = z
        out.append(frame | {"depth": sparse})
    return out


def samples_alone(frame: dict, kind: str, seed: int) -> tuple[np.ndarray, tuple]:
    """(depth from the samples alone, the samples): a row extruded, points interpolated."""
    u, v, z = ground_truth_samples(frame["depth"], frame["intrinsics"], kind, SAMPLE_NOISE, seed)
    h, w = frame["depth"].shape
    if kind == "lidar_row":
        columns = np.interp(np.arange(w), u, z)  # each column at its row's depth
        return np.repeat(columns[None].astype(np.float32), h, axis=0), (u, v, z)
    grid_v, grid_u = np.mgrid[0:h, 0:w]
    depth = LinearNDInterpolator(np.stack([u, v], 1), z)(grid_u, grid_v)
    outside = ~np.isfinite(depth)
    depth[outside] = NearestNDInterpolator(np.stack([u, v], 1), z)(grid_u[outside], grid_v[outside])
    return depth.astype(np.float32), (u, v, z)


def scored(depth: np.ndarray, frame: dict) -> dict[str, float]:
    return {k: float(v) for k, v in frame_errors(depth, frame["depth"]).items()}


def fitted(pred, samples: tuple) -> np.ndarray:
    """The prediction with its scale fitted to the samples (the node's scale step); as is when untrusted."""
    fit = fit_points(pred.depth, *samples, boundary=pred.boundary, confidence=pred.confidence)
    return fit.apply(pred.depth) if fit.trusted else pred.depth


def score_camera(models: dict[str, DepthBoundaryEstimator], frames: list[dict], kind: str,
                 profile: np.ndarray, seed: int = 1000) -> dict[str, list[dict]]:
    """Per-frame errors of the models, a constant, a row prior and (sparse kinds) samples-based depth."""
    rows: dict[str, list[dict]] = {}
    for i, frame in enumerate(frames):
        h, w = frame["depth"].shape
        entries = {"constant": np.full((h, w), np.nanmedian(frame["depth"]), np.float32),
                   "row prior": row_prior_depth(profile, h, w)}
        preds = {name: m.predict(frame["rgb"], frame["intrinsics"]) for name, m in models.items()}
        entries |= {name: p.depth for name, p in preds.items()}
        if kind != "dense":
            alone, samples = samples_alone(frame, kind, seed + i)
            entries[f"{kind} alone"] = alone
            entries |= {f"{name} + {kind} scale": fitted(p, samples) for name, p in preds.items()}
        for name, depth in entries.items():
            rows.setdefault(name, []).append(scored(depth, frame))
        rows["constant"][-1] |= {"abs_rel": float("nan"), "delta1": float("nan")}  # the GT's own median: no scale
    return rows


def _mean(rows: list[dict], key: str) -> float:
    return float(np.nanmean([r[key] for r in rows]))


def synthetic_scores(checkpoint: Path, test_frames: list[dict]) -> dict[str, float]:
    from training.evaluate import evaluate_checkpoint

    return {k: float(v) for k, v in evaluate_checkpoint(checkpoint, test_frames).items()
            if k in ("abs_rel", "abs_rel_med", "delta1", "ods")}


def run_one(camera: str, frames: list[dict], names: list[str], fold: list[int], kind: str, others: dict,
            test_frames: list[dict], output: Path, options: AdaptOptions, init: Path, synthetic_before: dict) -> dict:
    """Adapt on ``frames`` outside ``fold`` with ``kind`` supervision; score everything."""
    from training.trainer import train

    train_frames = [f | {"name": names[i]} for i, f in enumerate(frames) if i not in fold]
    heldout = [frames[i] for i in fold]
    run_dir = output / "runs" / f"{camera}_{kind.replace(':', '')}_fold{'-'.join(map(str, fold))}"
    recording = Recording(run_dir, "folder", "depth", supervised_frames(train_frames, kind, options.seed), 0,
                          {"depth": "dense" if kind == "dense" else "sparse"})
    split = TimeSplit(recording.frames, [], 0.0, 0.0)
    calibration = scale_factor(init, recording.frames) if options.calibrate else {"predicted_over_measured": 1.0}
    factor = calibration["predicted_over_measured"]
    source = _recording_source(recording, split, run_dir, options, factor)
    native = train(adaptation_config(init, source, "depth", options), run_dir / "run", resume=True, init=init)
    final = with_camera_scale(native, factor, run_dir / "run" / "final_camera.pt")
    models = {"before": DepthBoundaryEstimator.from_checkpoint(init, device="cpu", warmup=0)}
    if factor != 1.0:
        calibrated = with_camera_scale(init, factor, run_dir / "calibrated.pt")
        models["calibrated"] = DepthBoundaryEstimator.from_checkpoint(calibrated, device="cpu", warmup=0)
    models["after"] = DepthBoundaryEstimator.from_checkpoint(final, device="cpu", warmup=0)
    profile = row_profile(frames)
    write_report(heldout, [names[i] for i in fold], models, run_dir / "heldout", reference="before")  # + panels
    result = {"camera": camera, "kind": kind, "trained_on": [names[i] for i in range(len(frames)) if i not in fold],
              "scored_on": [names[i] for i in fold], "checkpoint": str(final), "scale_calibration": calibration,
              "heldout": score_camera(models, heldout, kind, profile)}
    result["other_cameras"] = {name: score_camera(models, other, "dense", row_profile(other))
                               for name, other in others.items()}
    # forgetting: the engine's frames in the network's own scale (the camera's factor is not theirs)
    result["synthetic_test"] = {"before": synthetic_before, "after": synthetic_scores(native, test_frames)}
    leg = load_checkpoint(native).training_config["run_stats"]["legs"][-1]
    result["steps"], result["train_seconds"] = leg["end_step"] - leg["start_step"], leg["train_seconds"]
    (run_dir / "result.json").write_text(json.dumps(result, indent=1))
    return result


def folds_of(n: int, k: int) -> list[list[int]]:
    """``k`` contiguous folds of ``n`` frames (each scored once)."""
    return [list(part) for part in np.array_split(np.arange(n), k)]


def markdown(results: list[dict]) -> str:
    lines = ["| camera | supervision | scored on | steps | before aligned / metric | after aligned / metric | "
             "after − before aligned (95 %) | after − before metric (95 %) | other cameras Δ aligned | "
             "synthetic test Δ AbsRel |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        b, a = r["heldout"]["before"], r["heldout"]["after"]
        boot = [paired_bootstrap([x[k] for x in a], [x[k] for x in b], noise_floor=0.02)
                for k in ("abs_rel_aligned", "abs_rel")]
        other = np.mean([_mean(o["after"], "abs_rel_aligned") - _mean(o["before"], "abs_rel_aligned")
                         for o in r["other_cameras"].values()]) if r["other_cameras"] else float("nan")
        syn = r["synthetic_test"]["after"]["abs_rel"] - r["synthetic_test"]["before"]["abs_rel"]
        lines.append(
            f"| {r['camera']} | {r['kind']} | {', '.join(r['scored_on'])} | {r['steps']} | "
            f"{_mean(b, 'abs_rel_aligned'):.3f} / {_mean(b, 'abs_rel'):.3f} | "
            f"{_mean(a, 'abs_rel_aligned'):.3f} / {_mean(a, 'abs_rel'):.3f} | "
            + " | ".join(f"{x.mean:+.3f} [{x.low:+.3f}, {x.high:+.3f}]" for x in boot)
            + f" | {other:+.3f} | {syn:+.3f} |")
    lines += ["", "Every source on the held-out frames (mean aligned / metric AbsRel):", "",
              "| camera | supervision | scored on | source | aligned | metric |", "|---|---|---|---|---|---|"]
    for r in results:
        for source, rows in r["heldout"].items():
            lines.append(f"| {r['camera']} | {r['kind']} | {', '.join(r['scored_on'])} | {source} | "
                         f"{_mean(rows, 'abs_rel_aligned'):.3f} | {_mean(rows, 'abs_rel'):.3f} |")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--camera", action="append", required=True, metavar="NAME=FOLDER")
    p.add_argument("--adapt", nargs="*", metavar="NAME", help="cameras adapted to (default: all)")
    p.add_argument("--supervision", nargs="+", default=["dense"], help="dense, lidar_row, points:N")
    p.add_argument("--folds", type=int, default=2)
    p.add_argument("--only-fold", type=int, help="run this fold only (0-based)")
    p.add_argument("--fold", action="append", metavar="NAME,NAME", help="score these frames (by name) as one "
                   "fold instead of --folds (repeatable)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--replay-cache", default="build/cache/train2k_240x320.pt")
    p.add_argument("--test-n", type=int, default=64)
    p.add_argument("--init", default=None)
    p.add_argument("--no-calibrate", action="store_true",
                   help="train on the measured depth as it is (no camera scale factor; experiment log 16)")
    p.add_argument("--encoder-lr-scale", type=float, default=1.0)
    p.add_argument("--start-decay", type=float, default=AdaptOptions.start_decay,
                   help="L2-SP pull toward the start weights (default modot-adapt's, %(default)s; 0: off, "
                        "as in experiment log 16)")
    p.add_argument("--start-decay-depth", type=float, default=AdaptOptions.start_decay_depth,
                   help="the depth decoder's and head's own pull (-1: --start-decay's)")
    p.add_argument("--freeze-norm-stats", action=argparse.BooleanOptionalAction,
                   default=AdaptOptions.freeze_norm_stats,
                   help="keep the start's BatchNorm statistics (default modot-adapt's; off: entries 16-21)")
    p.add_argument("--boundaries-from-depth", action=argparse.BooleanOptionalAction,
                   default=AdaptOptions.boundaries_from_depth,
                   help="dense: OB labels from the frames' depth train the OB head too (default modot-adapt's)")
    p.add_argument("--output", required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from training.evaluate import split_frames

    cameras = {}
    for spec in args.camera:
        name, _, folder = spec.partition("=")
        try:
            rec = read_recording(folder, "depth", 0)
        except DataError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        cameras[name] = (rec.frames, [f["name"] for f in rec.frames])
    options = AdaptOptions(steps=args.steps, minutes=0.0, threads=args.threads, replay_cache=args.replay_cache,
                           calibrate=not args.no_calibrate, encoder_lr_scale=args.encoder_lr_scale,
                           start_decay=args.start_decay, start_decay_depth=args.start_decay_depth,
                           freeze_norm_stats=args.freeze_norm_stats,
                           boundaries_from_depth=args.boundaries_from_depth)
    init = Path(args.init) if args.init else default_weights_path()
    test_frames = split_frames("test", args.test_n)
    synthetic_before = synthetic_scores(init, test_frames)
    output = Path(args.output)
    results = []
    for camera in args.adapt or list(cameras):
        frames, names = cameras[camera]
        others = {n: f for n, (f, _) in cameras.items() if n != camera}
        folds = ([[names.index(n) for n in spec.split(",")] for spec in args.fold] if args.fold
                 else folds_of(len(frames), args.folds))
        chosen = [folds[args.only_fold]] if args.only_fold is not None else folds
        for fold in chosen:
            for kind in args.supervision:
                results.append(run_one(camera, frames, names, fold, kind, others, test_frames, output, options, init,
                                       synthetic_before))
                (output / "study.json").write_text(json.dumps(results, indent=1))
                (output / "study.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
