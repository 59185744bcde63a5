"""Evaluate a checkpoint on a held-out synthetic split with the shared ``modot_ros.evaluation``.

    python -m training.evaluate --checkpoint modot_ros/weights/modot_lite0.pt --split test \
        --n 64 --output build/eval/lite0 [--compare OTHER.pt]

Predictions go through ``DepthBoundaryEstimator`` (the runtime contract: uint8 RGB + intrinsics
in, metric depth at input resolution out), so these numbers are what the node would produce.
Writes ``metrics.md`` / ``metrics.json``, the OB PR curve and PNG panels RGB | GT depth |
predicted depth | AbsRel error | GT OB | predicted OB | side views of the point clouds
(this model vs ``--compare``, or vs its own mean read-out).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from tqdm import tqdm

from modot_ros.evaluation import plots as report
from modot_ros.geometry import CameraIntrinsics, backproject
from modot_ros.inference import DepthBoundaryEstimator, Prediction
from modot_ros.evaluation import (BoundaryEvaluator, DepthAccumulator, chamfer_fscore,
                               depth_boundary_error, flying_pixel_rate)
from training.trainer_data import load_cache, render_cache

DEPTH_COLUMNS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "delta1", "delta2", "delta3")


def split_frames(split: str, n: int, cache: str | Path | None = None) -> list[dict]:
    """The first ``n`` key frames of ``split`` as numpy dicts (rendered into a cache once)."""
    path = Path(cache or f"build/cache/{split}_240x320.pt")
    data = load_cache(path) if path.is_file() else None
    if data is None or len(data["seeds"]) < n:
        data = load_cache(render_cache(path, split, n, source_offsets=()))
    frames = []
    for i in range(n):
        h, w = data["depth"].shape[-2:]
        frames.append({"rgb": data["rgb"][i, 0].permute(1, 2, 0).numpy(),
                       "depth": data["depth"][i, 0].float().numpy(),
                       "boundary": data["boundary"][i, 0].numpy().astype(bool),
                       "intrinsics": CameraIntrinsics.from_matrix(data["K"][i].double().numpy(), w, h),
                       "seed": data["seeds"][i]})
    return frames


class _Scores:
    """Per-frame accumulation of every metric family for one model."""

    def __init__(self) -> None:
        self.depth, self.depth_mean = DepthAccumulator(), DepthAccumulator()
        self.boundary = BoundaryEvaluator()
        self.rows: dict[str, list[float]] = {}

    def _put(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.rows.setdefault(key, []).append(value)

    def add(self, pred: Prediction, frame: dict) -> None:
        gt = frame["depth"]
        if pred.boundary is not None:
            self.boundary.add(pred.boundary, frame["boundary"])
        if pred.depth is None:
            return
        self.depth.add(pred.depth, gt)
        self.depth_mean.add(pred.depth_mean, gt)
        dbe = depth_boundary_error(pred.depth, frame["boundary"])
        fly = flying_pixel_rate(pred.depth, gt)
        fly_mean = flying_pixel_rate(pred.depth_mean, gt)
        # every 2nd row and column: the KD-tree on all 77k points costs seconds per frame
        cloud = chamfer_fscore(backproject(pred.depth, frame["intrinsics"])[::2, ::2],
                               backproject(gt, frame["intrinsics"])[::2, ::2], tau=0.05,
                               relative=True)
        self._put({"dbe_acc": dbe["dbe_acc"], "dbe_comp": dbe["dbe_comp"],
                   "flying_rate": fly["flying_rate"], "flying_rate_mean_readout": fly_mean["flying_rate"],
                   "chamfer": cloud["chamfer"], "fscore_rel5": cloud["fscore"]})

    def summary(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.depth.per_frame["abs_rel"].size:
            mean = self.depth.mean()
            out |= {k: mean[k] for k in DEPTH_COLUMNS}
            out["abs_rel_mean_readout"] = self.depth_mean.mean()["abs_rel"]
            out |= {k: float(np.nanmean(v)) for k, v in self.rows.items()}
        if self.boundary.n_images:
            res = self.boundary.result()
            out |= {"ods": res["ods_f"], "ois": res["ois_f"], "ap": res["ap"]}
        return out


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
    blank = np.zeros_like(gt)
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
               ("predicted OB", pred.boundary if pred.boundary is not None else blank),
               ("side view", _side(pred.depth, frame, labels[0], zr, yr)),
               ("side view", _side(other_depth, frame, labels[1], zr, yr))]
    return report.save_panel(path, columns)


def evaluate_checkpoint(checkpoint: str | Path, frames: list[dict], output: str | Path | None = None,
                        panels: int = 3, compare: str | Path | None = None,
                        label: str = "model", compare_label: str = "compare") -> dict[str, float]:
    """Metrics of ``checkpoint`` on ``frames``; with ``output``, also tables and pictures."""
    estimator = DepthBoundaryEstimator.from_checkpoint(checkpoint, device="cpu", warmup=0)
    other = DepthBoundaryEstimator.from_checkpoint(compare, device="cpu", warmup=0) if compare else None
    preds = estimator.predict_batch([f["rgb"] for f in frames], [f["intrinsics"] for f in frames], 4)
    scores = _Scores()
    for pred, frame in tqdm(list(zip(preds, frames)), desc=f"score {label}", mininterval=5):
        scores.add(pred, frame)
    summary = scores.summary()
    if output is not None:
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(summary, indent=2))
        report.write_markdown_table([{"model": label} | summary], out / "metrics.md")
        if scores.boundary.n_images:
            report.plot_pr_curve(out / "ob_pr_curve.png", {label: scores.boundary.result()})
        labels = (label, compare_label if other else f"{label} mean read-out")
        for i in range(min(panels, len(frames))):
            o = other.predict(frames[i]["rgb"], frames[i]["intrinsics"]) if other else None
            save_frame_panel(out / f"panel_{i:02d}.png", frames[i], preds[i], o, labels)
    return summary


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="runtime checkpoint (.pt)")
    parser.add_argument("--split", default="test", help="test | val")
    parser.add_argument("--n", type=int, default=64, help="number of frames")
    parser.add_argument("--output", required=True, help="report directory")
    parser.add_argument("--cache", help="frame cache (default build/cache/SPLIT_240x320.pt)")
    parser.add_argument("--compare", help="second checkpoint for the point-cloud side view")
    parser.add_argument("--compare-label", default="compare", help="its title in the panels")
    parser.add_argument("--panels", type=int, default=3, help="PNG panels to write")
    parser.add_argument("--label", default="model", help="row label in the table")
    parser.add_argument("--run", help="also plot this run directory's training curves")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    frames = split_frames(args.split, args.n, args.cache)
    summary = evaluate_checkpoint(args.checkpoint, frames, args.output, args.panels, args.compare,
                                  args.label, args.compare_label)
    if args.run:
        plot_run(args.run, Path(args.output) / "training_curves.png")
    print(report.write_markdown_table([{"model": args.label} | summary]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
