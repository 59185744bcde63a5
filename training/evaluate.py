"""Evaluate a checkpoint on a held-out synthetic split with the shared scorer, beside baselines.

    python -m training.evaluate --checkpoint modot_ros/weights/modot_lite0.pt --split test \
        --n 64 --output build/eval/lite0 [--baselines constant,shipped] [--compare OTHER.pt]
    python -m training.evaluate --checkpoint RUN/final.pt --source bag:BAG --n 200 --output DIR

``--source KIND:PATH`` scores real frames (folder, bag, nyu_mat; ``data.sources``) instead. On
real frames (a source or ``--split middlebury``) it also writes the real-frame report
(``training.real_frames_report``: metric and scale-aligned errors per frame beside the constant
and row-prior baselines, paired bootstrap intervals, the row-prior crop test).

Predictions go through ``DepthBoundaryEstimator`` (the runtime contract: uint8 RGB + intrinsics
in, metric depth at input resolution out), so these numbers are what the node would produce.
Every model is scored by ``modot_ros.evaluation.scorer.FrameScorer``, the scorer of the bag
report. Rows: the baselines (``constant``: the training-set median canonical depth, fx-scaled;
``shipped``: the packaged weights) and the checkpoint. Writes ``metrics.md`` / ``metrics.json``
(one column per model), the OB PR curve, PNG panels RGB | GT depth | predicted depth | AbsRel
error | GT OB | predicted OB | side views of the point clouds (this model vs ``--compare``, or vs
its own mean read-out), and a mixture-health panel (dominant component, edge bimodality).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from tqdm import tqdm

from modot_ros.depth_units import valid_depth_mask
from modot_ros.evaluation import plots as report
from modot_ros.evaluation.mixture_health import bimodal_mask
from modot_ros.evaluation.scorer import FrameScorer, summary_table
from modot_ros.geometry import CameraIntrinsics, backproject
from modot_ros.checkpoint import default_weights_path
from modot_ros.inference import DepthBoundaryEstimator, Prediction
from modot_ros.model.canonical import network_focal
from modot_ros.scale.offline import ScaleRun, add_scale_arguments, scale_run
from training.data.frames import DataError, cache_frames, ensure_cache, load_cache
from training.data.middlebury import motorcycle_frame
from training.real_frames_report import load_models, real_frames, write_report

BASELINES = ("constant", "shipped")


def split_frames(split: str, n: int, cache: str | Path | None = None,
                 size: tuple[int, int] = (240, 320)) -> list[dict]:
    """The first ``n`` key frames of ``split`` as numpy dicts (rendered into a cache once, at ``size``).

    ``middlebury``: the one real photograph with metric ground truth (``data.middlebury``).
    """
    if split == "middlebury":
        return [motorcycle_frame()]
    path = ensure_cache(cache or f"build/cache/{split}_240x320.pt", split, n, size=size)
    loaded = load_cache(path)
    frames = cache_frames(loaded, n)
    for frame, pose in zip(frames, loaded["pose"][:, 0].double().numpy()):
        h, w = frame["depth"].shape
        frame["intrinsics"] = CameraIntrinsics.from_matrix(frame.pop("K"), w, h)
        # the engine's floor is z = 0 and its z axis is up: the camera height and gravity (scale sources)
        frame["height"], frame["up"] = float(pose[2, 3]), tuple(pose[:3, :3].T @ np.array([0.0, 0.0, 1.0]))
    return frames


def _canonical_scale(intrinsics: CameraIntrinsics, config) -> float:
    """fx_net / canonical_focal: canonical depth x this = metric depth (``model.canonical``)."""
    return network_focal(intrinsics, config.input_width, config.input_height) / config.canonical_focal


def median_canonical_depth(frames: list[dict], config) -> float:
    """Median over the frames' valid GT pixels of the canonical depth the network is trained on."""
    values = [f["depth"][valid_depth_mask(f["depth"])] / _canonical_scale(f["intrinsics"], config)
              for f in frames]
    return float(np.median(np.concatenate(values)))


def constant_predictions(frames: list[dict], median_canonical: float, config) -> list[Prediction]:
    """The constant baseline: depth = median canonical depth x fx_net / canonical_focal per frame."""
    preds = []
    for f in frames:
        depth = np.full(f["depth"].shape, median_canonical * _canonical_scale(f["intrinsics"], config),
                        np.float32)
        preds.append(Prediction(depth, depth, None, None, None, None, None, f["intrinsics"]))
    return preds


def score(preds: list[Prediction], frames: list[dict], label: str) -> FrameScorer:
    """The shared scorer over ``frames`` (with point-cloud Chamfer / F-score; OB metric on every core)."""
    scorer = FrameScorer(clouds=True, ob_jobs=os.cpu_count() or 1)
    for pred, frame in tqdm(list(zip(preds, frames)), desc=f"score {label}", mininterval=5):
        scorer.add_prediction(pred, frame["depth"], frame["boundary"], frame["intrinsics"])
    return scorer


def _side(pred_depth: np.ndarray | None, frame: dict, title: str, zr, yr) -> np.ndarray:
    h = frame["rgb"].shape[0]
    depth = pred_depth if pred_depth is not None else np.full_like(frame["depth"], np.nan)
    xyz = backproject(depth, frame["intrinsics"])
    return report.point_cloud_side_view(xyz, frame["rgb"], width=int(h * 1.33), height=h,
                                        title=title, z_range=zr, y_range=yr)


def save_frame_panel(path: Path, frame: dict, pred: Prediction, other: Prediction | None,
                     labels: tuple[str, str]) -> Path:
    """One PNG: RGB | GT depth | pred depth | error | GT OB | pred OB | clouds (side view)."""
    gt = frame["depth"]
    lo, hi = float(np.nanmin(gt)), float(np.nanmax(gt))
    depth = pred.depth if pred.depth is not None else np.full_like(gt, np.nan)
    err = np.abs(depth - gt) / gt
    zr = (0.0, hi * 1.1)
    gt_y = backproject(gt, frame["intrinsics"])[..., 1]
    yr = (-float(np.nanmax(gt_y)) - 0.2, -float(np.nanmin(gt_y)) + 0.2)  # both clouds, same axes
    other_depth = other.depth if other is not None else pred.depth_mean
    columns = [("RGB", frame["rgb"]), ("GT depth", report.colorize_depth(gt, lo, hi)),
               ("predicted depth", report.colorize_depth(depth, lo, hi)),
               ("AbsRel error (0-0.3)", report.colorize_depth(np.clip(err, 0, 0.3), 0, 0.3,
                                                              cmap="magma")),
               # dilated for display only: 1-px lines vanish when the panel is scaled down
               ("GT OB", ndimage.binary_dilation(frame["boundary"]).astype(np.float32)),
               ("predicted OB", pred.boundary if pred.boundary is not None else np.zeros_like(gt)),
               ("side view", _side(pred.depth, frame, labels[0], zr, yr)),
               ("side view", _side(other_depth, frame, labels[1], zr, yr))]
    return report.save_panel(path, columns)


def save_mixture_panel(path: Path, frame: dict, pred: Prediction) -> Path | None:
    """RGB | dominant component (1 blue, 2 red) | edge bimodality (band grey, bimodal green)."""
    if pred.params is None or pred.params.shape[0] != 5:
        return None
    dominant = np.where(pred.params[4] >= 0.5, 0.0, 1.0)
    scored, bimodal = bimodal_mask(pred.params, frame["depth"], frame["boundary"])
    band = np.zeros(scored.shape + (3,), np.uint8)
    band[scored] = (110, 110, 110)
    band[bimodal] = (40, 220, 40)
    share = bimodal.sum() / max(1, scored.sum())
    return report.save_panel(path, [("RGB", frame["rgb"]),
                                    ("dominant component (blue 1, red 2)",
                                     report.colorize(dominant, 0.0, 1.0, "coolwarm")),
                                    (f"edge bimodality {share:.1%} (green)", band)])


def write_outputs(out: Path, summaries: dict[str, dict], boundary: dict[str, dict]) -> str:
    """Write metrics.json, all_metrics.json, metrics.md and the OB PR curve; return the table.

    metrics.json is the last model's summary (export embeds it); all_metrics.json has every
    model; metrics.md has a metric per row and a model per column.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(list(summaries.values())[-1], indent=2))
    (out / "all_metrics.json").write_text(json.dumps(summaries, indent=2))
    table = report.write_markdown_table(summary_table(summaries), out / "metrics.md")
    if boundary:
        report.plot_pr_curve(out / "ob_pr_curve.png", boundary)
    return table


def _write_panels(out: Path, frames: list[dict], preds: list[Prediction], compare, labels, panels: int) -> None:
    other = DepthBoundaryEstimator.from_checkpoint(compare, device="cpu", warmup=0) if compare else None
    for i in range(min(panels, len(frames))):
        o = other.predict(frames[i]["rgb"], frames[i]["intrinsics"]) if other else None
        save_frame_panel(out / f"panel_{i:02d}.png", frames[i], preds[i], o, labels)
    if frames:
        save_mixture_panel(out / "mixture_health.png", frames[0], preds[0])


def evaluate_checkpoint(checkpoint: str | Path, frames: list[dict], output: str | Path | None = None,
                        panels: int = 3, compare: str | Path | None = None, label: str = "model",
                        compare_label: str = "compare", baselines: tuple[str, ...] = (),
                        train_frames: list[dict] | None = None, scale: ScaleRun | None = None) -> dict[str, float]:
    """Metrics of ``checkpoint`` on ``frames``; with ``output``, also tables (with baselines) and pictures.

    scale: the node's metric scale (``--scale-source``) applied to this checkpoint's predictions.
    """
    estimator = DepthBoundaryEstimator.from_checkpoint(checkpoint, device="cpu", warmup=0)
    preds = estimator.predict_batch([f["rgb"] for f in frames], [f["intrinsics"] for f in frames], 4)
    if scale is not None:
        preds = [scale.apply(p, f["depth"], i * 0.1, i, f.get("height"), f.get("up"))
                 for i, (p, f) in enumerate(zip(preds, frames))]
    scorers = baseline_scorers(baselines, frames, estimator.config, train_frames, checkpoint)
    scorers[label] = score(preds, frames, label)
    summaries = {name: s.summary() for name, s in scorers.items()}
    if output is not None:
        out = Path(output)
        boundary = {name: s.boundary.result() for name, s in scorers.items() if s.boundary.n_images}
        write_outputs(out, summaries, boundary)
        labels = (label, compare_label if compare else f"{label} mean read-out")
        _write_panels(out, frames, preds, compare, labels, panels)
    return summaries[label]


def baseline_scorers(names: tuple[str, ...], frames: list[dict], config, train_frames: list[dict] | None,
                     checkpoint: str | Path) -> dict[str, FrameScorer]:
    """Scorers of the named baselines; ``shipped`` is left out when it is the checkpoint itself."""
    unknown = set(names) - set(BASELINES)
    if unknown:
        raise ValueError(f"unknown baselines {sorted(unknown)}; allowed: {', '.join(BASELINES)}")
    scorers: dict[str, FrameScorer] = {}
    if "constant" in names:
        if not train_frames:
            raise ValueError("the constant baseline needs training frames for its median depth")
        median = median_canonical_depth(train_frames, config)
        scorers["constant"] = score(constant_predictions(frames, median, config), frames, "constant")
    shipped = default_weights_path()
    if "shipped" in names and Path(checkpoint).resolve() != shipped.resolve():
        estimator = DepthBoundaryEstimator.from_checkpoint(shipped, device="cpu", warmup=0)
        preds = estimator.predict_batch([f["rgb"] for f in frames], [f["intrinsics"] for f in frames], 4)
        scorers["shipped"] = score(preds, frames, "shipped")
    return scorers


def plot_run(run: str | Path, path: str | Path) -> Path:
    """Training curves of a run directory (train.csv loss terms, val.csv monitors) as one PNG."""
    run = Path(run)
    series: dict[str, np.ndarray] = {}
    for name, keys in (("train.csv", ("total", "depth_nll", "depth_silog", "ob_bce", "obdcl")),
                       ("val.csv", ("abs_rel", "delta1", "ob_f1_tol1"))):
        if not (run / name).is_file():
            continue
        with open(run / name) as handle:
            rows = list(csv.DictReader(handle))
        for key in keys:
            if rows and key in rows[0]:
                steps = np.array([float(r["step"]) for r in rows])
                values = np.array([float(r[key]) if r[key] else np.nan for r in rows])
                series[f"{name[:-4]} {key}"] = np.interp(np.arange(1, steps.max() + 1), steps, values)
    return report.plot_series(path, series, xlabel="step", ylabel="value", title=f"run {run.name}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="runtime checkpoint (.pt)")
    parser.add_argument("--split", default="test", help="test | val | middlebury (real, metric GT)")
    parser.add_argument("--source", metavar="KIND:PATH",
                        help="score real frames instead of --split: folder:DIR, bag:BAG or nyu_mat:FILE "
                             "(first --n frames; without OB labels the GT OB is the depth-edge proxy)")
    parser.add_argument("--n", type=int, default=64, help="number of frames")
    parser.add_argument("--output", required=True, help="report directory")
    parser.add_argument("--cache", help="frame cache (default build/cache/SPLIT_240x320.pt)")
    parser.add_argument("--baselines", default="constant,shipped",
                        help=f"comma-separated rows before the checkpoint: {', '.join(BASELINES)} or none")
    parser.add_argument("--train-cache", help="training frames for the constant baseline's median "
                        "(default build/cache/train_240x320.pt)")
    parser.add_argument("--train-n", type=int, default=64, help="training frames for that median")
    parser.add_argument("--compare", help="second checkpoint for the point-cloud side view")
    parser.add_argument("--compare-label", default="compare", help="its title in the panels")
    parser.add_argument("--panels", type=int, default=3, help="PNG panels to write")
    parser.add_argument("--label", default="model", help="column label in the table")
    parser.add_argument("--run", help="also plot this run directory's training curves")
    add_scale_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    torch.set_num_threads(1)
    baselines = tuple(b for b in args.baselines.split(",") if b and b != "none")
    real = args.source or ("middlebury" if args.split == "middlebury" else None)
    try:
        scale = scale_run(args, independent=True)
        if real:
            frames, names = real_frames(real, args.n)
    except (DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not real:
        frames = split_frames(args.split, args.n, args.cache)
    train = split_frames("train", args.train_n, args.train_cache) if "constant" in baselines else None
    evaluate_checkpoint(args.checkpoint, frames, args.output, args.panels, args.compare, args.label,
                        args.compare_label, baselines, train, scale)
    if args.run:
        plot_run(args.run, Path(args.output) / "training_curves.png")
    print((Path(args.output) / "metrics.md").read_text())
    if real:
        print(write_report(frames, names, load_models(_real_report_models(args, baselines)), args.output))
    return 0


def _real_report_models(args: argparse.Namespace, baselines: tuple[str, ...]) -> list[str]:
    """``load_models`` specs of the real-frame report: shipped, --compare, the checkpoint."""
    shipped = Path(args.checkpoint).resolve() == default_weights_path().resolve()
    specs = ["shipped"] if "shipped" in baselines and not shipped else []
    specs += [f"{args.compare_label}={args.compare}"] if args.compare else []
    return specs + [f"{args.label}={args.checkpoint}"]


if __name__ == "__main__":
    sys.exit(main())
